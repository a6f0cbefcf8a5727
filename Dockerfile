# flowlens container image: the exporter, its BPF objects and its native addon
# on Node.js 24 (LTS) and Debian 12's libbpf. The Helm chart (charts/flowlens) runs it.
#
#   docker build -t ghcr.io/flowlens/flowlens:0.1.0 .
#
# The tag is package.json's version, which is the chart's appVersion. Without
# Docker or a registry, `make image` builds the same layout with podman
# (image/Containerfile); keep the two in step.

ARG NODE_VERSION=24.22

# --- build: BPF objects (clang), native addon (node-gyp, libbpf), TypeScript ---
FROM node:${NODE_VERSION}-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang llvm libbpf-dev libelf-dev zlib1g-dev pkg-config make g++ python3 \
 && rm -rf /var/lib/apt/lists/*
# node-gyp builds against this Node.js's own headers instead of downloading them.
ENV npm_config_nodedir=/usr/local
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# The packages and node modules the Makefile's `deps` step would install are
# here already: mark it done, build, then keep only the runtime modules.
RUN touch node_modules/.flowlens-deps \
 && make bpf addon ts \
 && npm prune --omit=dev --no-audit --no-fund \
 && find node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' -o -name '*.md' \) -delete \
 && find node_modules -regextype posix-extended -type d \
      -regex '.*/node_modules/(@[^/]+/)?[^/@]+/(test|tests|__tests__)' -prune -exec rm -rf {} + \
 && find dist -name '*.map' -delete

# --- runtime -----------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libbpf1 libelf1 zlib1g \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/flowlens
# The layout the code expects: dist/ next to bpf/.output and build/Release.
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bpf/.output ./bpf/.output
COPY --from=build /src/build/Release/flowlens_native.node ./build/Release/
# Root with only CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (the chart drops every
# other capability): see charts/flowlens/README.md for why not another user.
USER 0
EXPOSE 19965
ENTRYPOINT ["node", "/opt/flowlens/dist/cli.js"]
CMD ["run"]

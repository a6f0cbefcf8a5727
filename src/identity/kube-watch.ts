// One resource kept in sync with the API server: @kubernetes/client-node's
// ListWatch does list + watch from the list's resourceVersion, follows
// BOOKMARK events, and relists when the server answers 410 Gone. What it
// leaves to its user is added here: bookmarks are asked for, every failure
// (the server unreachable, a refused request) is retried with capped
// exponential backoff from the last resourceVersion, and lists are paged.

import { DELETE, ADD, ERROR, ListWatch, UPDATE, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { KubeObject } from './kube-objects.js';

export type ListPage = {
  items: KubeObject[];
  metadata?: { resourceVersion?: string; _continue?: string };
};

export type ResourceSpec = {
  /** For logs and status: 'pods', 'nodes', ... */
  name: string;
  /** API path the watch requests, e.g. /api/v1/pods. */
  path: string;
  /** One page of the list; `continueToken` is the previous page's. */
  list: (limit: number, continueToken: string | undefined) => Promise<ListPage>;
  labelSelector?: string;
};

export type ChangeType = 'add' | 'update' | 'delete';

export type ResourceWatchOptions = {
  kubeconfig: KubeConfig;
  spec: ResourceSpec;
  onChange: (type: ChangeType, obj: KubeObject) => void;
  /** After each complete list was applied (the first one and every relist). */
  onSynced: () => void;
  /** Connection state changed (watch established, or lost). */
  onState: () => void;
  onError: (error: unknown) => void;
  pageSize?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Asks the server to end each watch after this long (the client then resumes it). */
  watchTimeoutSeconds?: number;
};

export class ResourceWatch {
  private readonly informer: ListWatch<KubernetesObject>;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private listedSinceWatch = false;
  private watches = 0;
  private listCount = 0;
  private isConnected = false;
  private hasSynced = false;

  constructor(private readonly options: ResourceWatchOptions) {
    const { spec } = options;
    const pageSize = options.pageSize ?? 500;
    const listAll = async () => {
      const items: KubeObject[] = [];
      let token: string | undefined;
      let resourceVersion: string | undefined;
      // Bounded: a server that keeps handing out continue tokens is cut off.
      for (let page = 0; page < 100_000; page++) {
        const result = await spec.list(pageSize, token);
        items.push(...(result.items ?? []));
        resourceVersion = result.metadata?.resourceVersion;
        token = result.metadata?._continue || undefined;
        if (!token) break;
      }
      this.listCount++;
      this.listedSinceWatch = true;
      return { items, metadata: { resourceVersion } };
    };
    const watch = new ResumingWatch(options.kubeconfig, this, options.watchTimeoutSeconds ?? 540);
    this.informer = new ListWatch(
      spec.path,
      watch,
      listAll as never,
      false,
      spec.labelSelector,
    );
    this.informer.on(ADD, (obj) => options.onChange('add', obj as KubeObject));
    this.informer.on(UPDATE, (obj) => options.onChange('update', obj as KubeObject));
    this.informer.on(DELETE, (obj) => options.onChange('delete', obj as KubeObject));
    this.informer.on(ERROR, (err) => this.failed(err));
  }

  start(): void {
    this.stopped = false;
    this.informer.start().catch((err: unknown) => this.failed(err));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.informer.stop();
    this.setConnected(false);
  }

  get name(): string {
    return this.options.spec.name;
  }

  /** A watch stream is open now. */
  get connected(): boolean {
    return this.isConnected;
  }

  /** The last resourceVersion seen: from a list, an event or a BOOKMARK; a resumed watch starts here. */
  get resourceVersion(): string {
    return this.informer.latestResourceVersion();
  }

  /** A complete list has been applied at least once. */
  get synced(): boolean {
    return this.hasSynced;
  }

  /** Watch requests after the first one: resumed after a disconnect or a failure. */
  get watchRestarts(): number {
    return Math.max(0, this.watches - 1);
  }

  /** Complete lists after the first one (410 Gone, or a resourceVersion the server no longer had). */
  get relists(): number {
    return Math.max(0, this.listCount - 1);
  }

  /** @internal the watch wrapper reports here. */
  watchStarting(): void {
    this.watches++;
    if (this.listedSinceWatch) {
      this.listedSinceWatch = false;
      this.hasSynced = true;
      this.options.onSynced();
    }
  }

  /** @internal */
  watchOpen(): void {
    this.failures = 0;
    this.setConnected(true);
  }

  /** @internal */
  watchEnded(): void {
    this.setConnected(false);
  }

  private setConnected(value: boolean): void {
    if (this.isConnected === value) return;
    this.isConnected = value;
    this.options.onState();
  }

  // ListWatch stops on any error but 410; it is restarted here, from the
  // last resourceVersion it saw, after a delay that doubles per failure.
  private failed(err: unknown): void {
    this.setConnected(false);
    if (this.stopped) return;
    this.options.onError(err);
    if (this.timer) return;
    const base = this.options.backoffBaseMs ?? 500;
    const max = this.options.backoffMaxMs ?? 30_000;
    const delay = Math.min(max, base * 2 ** Math.min(this.failures, 16));
    this.failures++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) this.informer.start().catch((e: unknown) => this.failed(e));
    }, delay);
    this.timer.unref();
  }
}

/** The client's Watch, asking for bookmarks and a server-side timeout, and telling its ResourceWatch how it goes. */
class ResumingWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly owner: ResourceWatch,
    private readonly timeoutSeconds: number,
  ) {
    super(config);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    this.owner.watchStarting();
    let ended = false;
    const controller = await super.watch(
      path,
      { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: this.timeoutSeconds },
      callback,
      (err) => {
        ended = true;
        this.owner.watchEnded();
        done(err);
      },
    );
    if (!ended) this.owner.watchOpen();
    return controller;
  }
}

/** A loaded BPF program: test runs, statistics and attachment (TC or per its SEC()). */
import { addon } from './addon.js';
import { BpfError, bpfError } from './errors.js';
import type { Releasable, ResourceOwner } from './owner.js';

export type TcHook = 'ingress' | 'egress';
export type TcMode = 'tcx' | 'clsact';

export interface TcAttachment {
  readonly mode: TcMode;
  readonly ifindex: number;
  readonly hook: TcHook;
  /** Idempotent; does not throw when the interface is already gone. */
  detach(): void;
}

export interface TcAttachOptions {
  /** 'auto' (default) uses tcx and falls back to clsact on kernels without tcx. */
  mode?: 'auto' | TcMode;
  /** clsact filter priority (1..65535); 0 or absent lets the kernel choose. Ignored by tcx. */
  priority?: number;
}

export interface BpfLink {
  destroy(): void;
}

export interface TestRunResult {
  retval: number;
  data: Buffer;
  durationNs: number;
}

export interface TestRunOptions {
  repeat?: number;
  /** Room for the output packet; defaults to the input's length plus 512 bytes. */
  dataOutSize?: number;
}

export interface ProgramInfo {
  id: number;
  name: string;
  runCount: bigint;
  runTimeNs: bigint;
}

/* Errors with which a kernel without tcx (before 6.6) refuses BPF_TCX_* attach types. */
const NO_TCX_CODES = new Set(['EINVAL', 'EOPNOTSUPP', 'ENOTSUPP']);

/** One addon handle released once, by its owner or by the user. */
class OwnedHandle implements Releasable {
  #handle: number | undefined;

  constructor(
    readonly owner: ResourceOwner,
    handle: number,
  ) {
    this.#handle = handle;
    owner.adopt(this);
  }

  release(): void {
    const handle = this.#handle;
    if (handle === undefined) return;
    this.#handle = undefined;
    this.owner.disown(this);
    addon().close(handle);
  }
}

class TcAttachmentImpl extends OwnedHandle implements TcAttachment {
  constructor(
    owner: ResourceOwner,
    handle: number,
    readonly mode: TcMode,
    readonly ifindex: number,
    readonly hook: TcHook,
  ) {
    super(owner, handle);
  }

  detach(): void {
    this.release();
  }
}

class LinkImpl extends OwnedHandle implements BpfLink {
  destroy(): void {
    this.release();
  }
}

export class BpfProgram {
  readonly #owner: ResourceOwner;

  /** Obtained from BpfObject.program(); not constructed directly. */
  constructor(
    owner: ResourceOwner,
    readonly name: string,
    readonly fd: number,
  ) {
    this.#owner = owner;
  }

  testRun(data: Buffer, opts: TestRunOptions = {}): TestRunResult {
    this.#owner.assertOpen(`test run of program '${this.name}'`);
    const repeat = opts.repeat ?? 1;
    const dataOutSize = opts.dataOutSize ?? data.length + 512;
    if (!Number.isInteger(repeat) || repeat < 1) throw bpfError('EINVAL', `testRun: repeat must be a positive integer, got ${repeat}`);
    if (!Number.isInteger(dataOutSize) || dataOutSize < 0) {
      throw bpfError('EINVAL', `testRun: dataOutSize must be a non-negative integer, got ${dataOutSize}`);
    }
    return addon().progTestRun(this.fd, data, repeat, dataOutSize);
  }

  attachTc(ifindex: number, hook: TcHook, opts: TcAttachOptions = {}): TcAttachment {
    this.#owner.assertOpen(`attach of program '${this.name}'`);
    if (!Number.isInteger(ifindex) || ifindex <= 0) throw bpfError('EINVAL', `attachTc: bad ifindex ${ifindex}`);
    if (hook !== 'ingress' && hook !== 'egress') throw bpfError('EINVAL', `attachTc: hook must be 'ingress' or 'egress', got '${String(hook)}'`);
    const mode = opts.mode ?? 'auto';
    const priority = opts.priority ?? 0;
    if (!Number.isInteger(priority) || priority < 0 || priority > 0xffff) {
      throw bpfError('EINVAL', `attachTc: priority must be in 0..65535, got ${priority}`);
    }
    if (mode === 'tcx' || mode === 'clsact') return this.#attachTc(ifindex, hook, mode, priority);
    if (mode !== 'auto') throw bpfError('EINVAL', `attachTc: mode must be 'auto', 'tcx' or 'clsact', got '${String(mode)}'`);
    try {
      return this.#attachTc(ifindex, hook, 'tcx', priority);
    } catch (e) {
      if (!(e instanceof BpfError) || !NO_TCX_CODES.has(e.code)) throw e;
      return this.#attachTc(ifindex, hook, 'clsact', priority);
    }
  }

  #attachTc(ifindex: number, hook: TcHook, mode: TcMode, priority: number): TcAttachment {
    const handle = addon().tcAttach(this.fd, ifindex, hook === 'egress', mode, priority);
    return new TcAttachmentImpl(this.#owner, handle, mode, ifindex, hook);
  }

  /** Attaches where the program's SEC() says (tp_btf, tracepoint, ...). */
  attach(): BpfLink {
    this.#owner.assertOpen(`attach of program '${this.name}'`);
    const handle = addon().programAttach(this.#owner.handle, this.name);
    return new LinkImpl(this.#owner, handle);
  }

  /** Run counters are only kept while statistics are enabled (enableBpfStats). */
  info(): ProgramInfo {
    this.#owner.assertOpen(`info of program '${this.name}'`);
    return addon().progInfo(this.fd);
  }
}

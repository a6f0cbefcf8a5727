import type { Cidr } from '../../src/net/cidr.js';
import type { IpcacheWriter } from '../../src/bpf/ipcache.js';

export type IpcacheCall = { op: 'set'; cidr: string; identity: number } | { op: 'delete'; cidr: string };

/** An ipcache that records every call and keeps the resulting contents. */
export class MemoryIpcache implements IpcacheWriter {
  readonly calls: IpcacheCall[] = [];
  readonly entries = new Map<string, number>();
  /** When set, the next call for this prefix throws (once). */
  failOn: string | undefined;

  set(cidr: Cidr, identity: number): void {
    this.maybeFail(cidr);
    this.calls.push({ op: 'set', cidr: cidr.text, identity });
    this.entries.set(cidr.text, identity);
  }

  delete(cidr: Cidr): void {
    this.maybeFail(cidr);
    this.calls.push({ op: 'delete', cidr: cidr.text });
    this.entries.delete(cidr.text);
  }

  clearCalls(): void {
    this.calls.length = 0;
  }

  private maybeFail(cidr: Cidr): void {
    if (this.failOn === cidr.text) {
      this.failOn = undefined;
      throw new Error(`injected failure for ${cidr.text}`);
    }
  }
}

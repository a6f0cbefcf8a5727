// Keeps the kernel's ipcache (LPM trie: prefix -> identity) equal to the
// store's view while touching only what changed: rewriting the whole map on
// every update would open windows where a live prefix is missing and packets
// are attributed to 'world'.

import type { IpcacheWriter } from '../bpf/ipcache.js';
import type { Cidr } from '../net/cidr.js';

export type DesiredPrefixes = Map<string, { cidr: Cidr; identity: number }>;

export type SyncResult = { set: number; deleted: number };

export class IpcacheSync {
  /** Prefix text -> what was last written successfully. */
  private readonly written = new Map<string, { cidr: Cidr; identity: number }>();

  constructor(private readonly writer: IpcacheWriter) {}

  /**
   * Applies the difference to `desired`: new or changed prefixes are set
   * before vanished ones are deleted, so a prefix moving to a narrower or
   * wider entry is never briefly uncovered. A writer error stops the pass;
   * what was written so far is remembered, so the next sync retries the rest.
   */
  sync(desired: DesiredPrefixes): SyncResult {
    let set = 0;
    let deleted = 0;
    for (const [text, want] of desired) {
      const have = this.written.get(text);
      if (have && have.identity === want.identity) continue;
      this.writer.set(want.cidr, want.identity);
      this.written.set(text, { cidr: want.cidr, identity: want.identity });
      set++;
    }
    for (const [text, have] of this.written) {
      if (desired.has(text)) continue;
      this.writer.delete(have.cidr);
      this.written.delete(text);
      deleted++;
    }
    return { set, deleted };
  }

  /** Assumes the map already holds these entries (e.g. found pinned after a restart). */
  adopt(existing: DesiredPrefixes): void {
    this.written.clear();
    for (const [text, entry] of existing) this.written.set(text, { cidr: entry.cidr, identity: entry.identity });
  }

  /** Number of prefixes currently written. */
  get size(): number {
    return this.written.size;
  }
}

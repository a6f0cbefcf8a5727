// Strings the recent-flow store keeps once however many records hold them
// (node, workload and namespace names, summaries, HTTP paths...), each by a
// small integer id. Counted references: a string is dropped when the last
// record holding it is evicted, so a storm of unique strings (unique HTTP
// paths, say) costs no more than the records that hold them, and its strings
// go when they do.

/** Heap bytes of one interned string besides its characters: its header, the map entry and the table slots. */
export const INTERNED_OVERHEAD_BYTES = 16 + 32 + 16;

export class Interner {
  private readonly ids = new Map<string, number>();
  private readonly values: Array<string | undefined> = [];
  private readonly refs: number[] = [];
  private readonly free: number[] = [];
  private chars = 0;

  /** The id of `text`, with one more reference to it. */
  ref(text: string): number {
    let id = this.ids.get(text);
    if (id !== undefined) {
      this.refs[id]!++;
      return id;
    }
    id = this.free.pop() ?? this.values.length;
    this.ids.set(text, id);
    this.values[id] = text;
    this.refs[id] = 1;
    this.chars += text.length;
    return id;
  }

  /** One more reference to an id held already (the caller remembered it: no lookup). */
  again(id: number): number {
    this.refs[id]!++;
    return id;
  }

  /** Drops one reference to `id`; true when that was the last and the string is gone. */
  unref(id: number): boolean {
    if (--this.refs[id]! > 0) return false;
    const text = this.values[id]!;
    this.ids.delete(text);
    this.values[id] = undefined;
    this.chars -= text.length;
    this.free.push(id);
    return true;
  }

  get(id: number): string {
    return this.values[id]!;
  }

  /** Whether `id` is held now. */
  has(id: number): boolean {
    return this.values[id] !== undefined;
  }

  /** Strings held now. */
  get size(): number {
    return this.ids.size;
  }

  /** Estimated heap bytes of the strings held (one byte a character: V8 keeps ASCII one byte wide). */
  get bytes(): number {
    return this.chars + this.ids.size * INTERNED_OVERHEAD_BYTES;
  }
}

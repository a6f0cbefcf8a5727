/**
 * Consumer of a BPF_MAP_TYPE_RINGBUF map on the Node.js event loop. Each
 * wakeup delivers every record available at that moment (up to 4096) as one
 * array of Buffers (copies, safe to keep). While open, the consumer keeps the
 * event loop alive, like a listening socket; closing the map's object closes it.
 */
import { addon } from './addon.js';
import { bpfError } from './errors.js';
import { MAP_TYPE, mapOwner, type BpfMap } from './map.js';
import type { Releasable, ResourceOwner } from './owner.js';

export class RingBuffer implements Releasable {
  #handle: number | undefined;
  readonly #owner: ResourceOwner | undefined;

  constructor(map: BpfMap, onEvents: (events: Buffer[]) => void) {
    if (map.type !== MAP_TYPE.RINGBUF) {
      throw bpfError('EINVAL', `map '${map.name}' is not a ring buffer (type ${map.type})`);
    }
    this.#owner = mapOwner(map);
    this.#owner?.assertOpen(`ring buffer on map '${map.name}'`);
    this.#handle = addon().ringBufferOpen(map.fd, onEvents);
    this.#owner?.adopt(this);
  }

  /**
   * Delivers the records waiting now. For rings whose producer submits with
   * BPF_RB_NO_WAKEUP (nothing wakes the poll) and are read on a timer instead.
   */
  consume(): void {
    if (this.#handle === undefined) throw bpfError('EBADF', 'ring buffer is closed');
    addon().ringBufferConsume(this.#handle);
  }

  /** Stops polling and frees the ring buffer; idempotent. */
  close(): void {
    const handle = this.#handle;
    if (handle === undefined) return;
    this.#handle = undefined;
    this.#owner?.disown(this);
    addon().close(handle);
  }

  release(): void {
    this.close();
  }
}

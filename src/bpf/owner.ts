/**
 * What programs, maps and ring buffers need from the object they came from,
 * kept apart from object.ts so that those modules do not import it back.
 */

/** Something an object releases when it is closed (links, tc attachments, ring buffers). */
export interface Releasable {
  release(): void;
}

export interface ResourceOwner {
  /** The object's addon handle. */
  readonly handle: number;
  /** Throws once the object is closed: its fds are gone and their numbers may be reused. */
  assertOpen(operation: string): void;
  adopt(resource: Releasable): void;
  disown(resource: Releasable): void;
}

import type { Cidr } from '../net/cidr.js';

/**
 * Writes to the kernel's ipcache (LPM trie: prefix -> identity). The datapath
 * implements it over the map it owns (FlowDatapath.ipcacheWriter); the
 * identity layer's IpcacheSync drives it. Declared here, below both, so
 * neither has to import the other.
 */
export interface IpcacheWriter {
  set(cidr: Cidr, identity: number): void;
  delete(cidr: Cidr): void;
}

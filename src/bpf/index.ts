/**
 * src/bpf: the only door to the kernel side. Everything outside src/bpf uses
 * these classes (or interfaces of its own) and never the native addon.
 */
export { BpfError } from './errors.js';
export { BpfObject, type OpenOptions } from './object.js';
export {
  BpfProgram,
  type BpfLink,
  type ProgramInfo,
  type TcAttachment,
  type TcAttachOptions,
  type TcHook,
  type TcMode,
  type TestRunOptions,
  type TestRunResult,
} from './program.js';
export { BpfMap, MAP_TYPE, type UpdateFlag } from './map.js';
export { RingBuffer } from './ringbuf.js';
export { RingReader, type OnBatch, type ReaderThreadStatus } from './ring-reader.js';
export { forEachRecord } from './ring-batch.js';
export { enableBpfStats, isBpfFsMounted, possibleCpus } from './system.js';

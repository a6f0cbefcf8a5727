/**
 * The one error type of src/bpf: a failed bpf(2) or libbpf call, or a bad
 * argument caught before one. `errno`/`code` are the kernel's (or libc's)
 * error; `verifierLog` is set when a program failed to load.
 */
export class BpfError extends Error {
  errno: number;
  code: string;
  verifierLog?: string;

  constructor(message: string, errno: number, code: string, verifierLog?: string) {
    super(message);
    this.name = 'BpfError';
    this.errno = errno;
    this.code = code;
    if (verifierLog !== undefined) this.verifierLog = verifierLog;
  }
}

const ERRNO = {
  ENOENT: 2,
  EBADF: 9,
  EBUSY: 16,
  EINVAL: 22,
  ERANGE: 34,
} as const;

/** A BpfError raised by the TypeScript side itself (argument checks, misuse). */
export function bpfError(code: keyof typeof ERRNO, message: string): BpfError {
  return new BpfError(message, ERRNO[code], code);
}

interface NativeErrorShape {
  message: string;
  errno: number;
  code: string;
  verifierLog?: unknown;
}

function isNativeError(e: unknown): e is NativeErrorShape {
  return (
    e instanceof Error &&
    typeof (e as Partial<NativeErrorShape>).errno === 'number' &&
    typeof (e as Partial<NativeErrorShape>).code === 'string'
  );
}

/** Turns an error thrown by the addon into a BpfError; anything else passes through. */
export function fromNative(e: unknown): unknown {
  if (e instanceof BpfError || !isNativeError(e)) return e;
  const log = typeof e.verifierLog === 'string' ? e.verifierLog : undefined;
  return new BpfError(e.message, e.errno, e.code, log);
}

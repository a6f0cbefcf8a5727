import { existsSync, readFileSync } from 'node:fs';
import { KERNEL_BTF_PATH } from './bpf/btf.js';
import { createError } from './errors.js';

/** Capability bit numbers from linux/capability.h. */
const CAPABILITIES = {
  CAP_NET_ADMIN: 12,
  CAP_SYS_ADMIN: 21,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
} as const;

/** Effective capability set of this process, from /proc/self/status. */
export function effectiveCapabilities(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const line = status.split('\n').find((l) => l.startsWith('CapEff:'));
  if (!line) return 0n;
  return BigInt('0x' + line.slice('CapEff:'.length).trim());
}

/**
 * Names of the capabilities flowlens lacks to load and attach its programs.
 * CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON (kernels before 5.8
 * only knew it); CAP_NET_ADMIN is needed for TC either way.
 */
export function missingCapabilities(capEff: bigint): string[] {
  const has = (bit: number) => (capEff >> BigInt(bit)) & 1n;
  const missing: string[] = [];
  const sysAdmin = has(CAPABILITIES.CAP_SYS_ADMIN) === 1n;
  if (!sysAdmin && !has(CAPABILITIES.CAP_BPF)) missing.push('CAP_BPF');
  if (!sysAdmin && !has(CAPABILITIES.CAP_PERFMON)) missing.push('CAP_PERFMON');
  if (!has(CAPABILITIES.CAP_NET_ADMIN)) missing.push('CAP_NET_ADMIN');
  return missing;
}

/**
 * Fails fast, with a message that names what is missing, before anything
 * touches the kernel: privileges first (without them nothing else can be
 * checked reliably), then the kernel's BTF, which CO-RE relocations need.
 */
export function preflight(opts: { capEff?: bigint; btfPath?: string } = {}): void {
  const missing = missingCapabilities(opts.capEff ?? effectiveCapabilities());
  if (missing.length > 0) throw createError('FLOWLENS_ERR_NOT_ROOT', missing);
  const btfPath = opts.btfPath ?? KERNEL_BTF_PATH;
  if (!existsSync(btfPath)) throw createError('FLOWLENS_ERR_NO_BTF', btfPath);
}

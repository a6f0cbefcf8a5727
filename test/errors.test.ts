import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ERRORS,
  ERROR_CODES,
  EXIT,
  FlowlensError,
  createError,
  exitStatusOf,
  isFlowlensError,
  wrapError,
} from '../src/errors.js';

const docPath = fileURLToPath(new URL('../docs/errors.md', import.meta.url));

function documentedCodes(): string[] {
  const text = readFileSync(docPath, 'utf8');
  return [...text.matchAll(/^## (FLOWLENS_ERR_[A-Z0-9_]+)\s*$/gm)].map((m) => m[1]!);
}

describe('error registry', () => {
  it('documents every registered code in docs/errors.md, and nothing else', () => {
    expect([...documentedCodes()].sort()).toEqual([...ERROR_CODES].sort());
  });

  it('states each code\'s exit status in its documentation section', () => {
    const text = readFileSync(docPath, 'utf8');
    for (const code of ERROR_CODES) {
      const section = text.split(`## ${code}\n`)[1]!.split('\n## ')[0]!;
      expect(section.toLowerCase(), code).toContain(`exit status ${ERRORS[code].exitStatus}`);
    }
  });

  it('has the required codes', () => {
    for (const name of [
      'CONFIG_INVALID', 'CONFIG_FILE_UNREADABLE', 'CONFIG_UNKNOWN_KEY', 'IDENTITY_FILE_INVALID',
      'IDENTITY_FILE_UNREADABLE', 'IDENTITY_COLLISION', 'NOT_ROOT', 'NO_BTF', 'BPFFS_UNAVAILABLE',
      'BPF_LOAD_FAILED', 'ATTACH_FAILED', 'INTERFACE_NOT_FOUND', 'LISTEN_FAILED', 'ADDON_MISSING', 'ALREADY_RUNNING',
      'SHUTDOWN_INCOMPLETE',
    ]) {
      expect(ERROR_CODES).toContain(`FLOWLENS_ERR_${name}`);
    }
  });

  it('builds errors with code, exit status and a message naming the problem', () => {
    const err = createError('FLOWLENS_ERR_CONFIG_INVALID', 'metrics.seriesLimit', 'expected an integer from 1 to 100000, got "abc"');
    expect(err).toBeInstanceOf(FlowlensError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('FLOWLENS_ERR_CONFIG_INVALID');
    expect(err.exitStatus).toBe(EXIT.CONFIG);
    expect(err.message).toContain('metrics.seriesLimit: expected an integer from 1 to 100000, got "abc"');
    expect(err.name).toBe('FlowlensError');
  });

  it('names the missing capabilities for NOT_ROOT', () => {
    const err = createError('FLOWLENS_ERR_NOT_ROOT', ['CAP_BPF', 'CAP_PERFMON']);
    expect(err.message).toContain('missing CAP_BPF, CAP_PERFMON');
    expect(err.exitStatus).toBe(3);
  });

  it('uses distinct exit statuses per failure class', () => {
    expect(ERRORS.FLOWLENS_ERR_CONFIG_UNKNOWN_KEY.exitStatus).toBe(2);
    expect(ERRORS.FLOWLENS_ERR_NO_BTF.exitStatus).toBe(6);
    expect(ERRORS.FLOWLENS_ERR_BPF_LOAD_FAILED.exitStatus).toBe(4);
    expect(ERRORS.FLOWLENS_ERR_ATTACH_FAILED.exitStatus).toBe(5);
    expect(ERRORS.FLOWLENS_ERR_LISTEN_FAILED.exitStatus).toBe(1);
    expect(ERRORS.FLOWLENS_ERR_ALREADY_RUNNING.exitStatus).toBe(8);
    expect(new Set(Object.values(EXIT)).size).toBe(Object.keys(EXIT).length);
  });

  it('keeps the cause when wrapping', () => {
    const cause = new Error('EACCES');
    const err = wrapError(cause, 'FLOWLENS_ERR_IDENTITY_FILE_UNREADABLE', '/etc/ids.yaml', 'permission denied');
    expect(err.cause).toBe(cause);
    expect(err.message).toContain('/etc/ids.yaml');
  });

  it('recognises its errors and maps anything else to the runtime status', () => {
    const err = createError('FLOWLENS_ERR_NO_BTF', '/sys/kernel/btf/vmlinux');
    expect(isFlowlensError(err)).toBe(true);
    expect(isFlowlensError(err, 'FLOWLENS_ERR_NO_BTF')).toBe(true);
    expect(isFlowlensError(err, 'FLOWLENS_ERR_NOT_ROOT')).toBe(false);
    expect(isFlowlensError(new Error('x'))).toBe(false);
    expect(exitStatusOf(err)).toBe(6);
    expect(exitStatusOf(new Error('x'))).toBe(1);
  });
});

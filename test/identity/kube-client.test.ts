import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlowlensError } from '../../src/errors.js';
import { inCluster, loadKubeConfig } from '../../src/identity/kube-client.js';

let tmp: string;

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: { server: "https://10.227.0.20:6443", insecure-skip-tls-verify: true }
users:
- name: u1
  user: { token: t }
contexts:
- name: dev
  context: { cluster: c1, user: u1 }
- name: prod
  context: { cluster: c1, user: u1 }
- name: broken
  context: { cluster: nowhere, user: u1 }
current-context: dev
`;

function write(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

function errorOf(fn: () => unknown): FlowlensError {
  try {
    fn();
  } catch (err) {
    if (err instanceof FlowlensError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'flowlens-kubeconfig-'));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('loadKubeConfig', () => {
  it('loads the current context, or the one asked for', () => {
    const path = write('ok', KUBECONFIG);
    expect(loadKubeConfig({ path, context: null }).getCurrentContext()).toBe('dev');
    const kc = loadKubeConfig({ path, context: 'prod' });
    expect(kc.getCurrentContext()).toBe('prod');
    expect(kc.getCurrentCluster()?.server).toBe('https://10.227.0.20:6443');
  });

  it('names a missing file', () => {
    const path = join(tmp, 'missing');
    const err = errorOf(() => loadKubeConfig({ path, context: null }));
    expect(err.code).toBe('FLOWLENS_ERR_KUBECONFIG_UNREADABLE');
    expect(err.exitStatus).toBe(2);
    expect(err.message).toContain(`cannot read kubeconfig ${path}: no such file.`);
  });

  it('names an unreadable file', () => {
    // a directory cannot be read as a file, even by root
    const err = errorOf(() => loadKubeConfig({ path: tmp, context: null }));
    expect(err.code).toBe('FLOWLENS_ERR_KUBECONFIG_UNREADABLE');
    expect(err.message).toContain(`cannot read kubeconfig ${tmp}: EISDIR`);
  });

  it('names a file that is not a kubeconfig', () => {
    const path = write('garbage', 'clusters: [ {');
    const err = errorOf(() => loadKubeConfig({ path, context: null }));
    expect(err.code).toBe('FLOWLENS_ERR_KUBECONFIG_UNREADABLE');
    expect(err.message).toContain(`cannot read kubeconfig ${path}: not a valid kubeconfig`);
  });

  it('names an unknown context and lists the known ones', () => {
    const path = write('ok2', KUBECONFIG);
    const err = errorOf(() => loadKubeConfig({ path, context: 'staging' }));
    expect(err.code).toBe('FLOWLENS_ERR_KUBE_CONTEXT_UNKNOWN');
    expect(err.exitStatus).toBe(2);
    expect(err.message).toContain(`context "staging" is not defined in kubeconfig ${path} (it has: dev, prod, broken).`);
  });

  it('names a current-context that is not defined, and a context without its cluster', () => {
    const path = write('dangling', KUBECONFIG.replace('current-context: dev', 'current-context: gone'));
    expect(errorOf(() => loadKubeConfig({ path, context: null })).message).toContain('context "gone" is not defined in kubeconfig');
    const err = errorOf(() => loadKubeConfig({ path, context: 'broken' }));
    expect(err.code).toBe('FLOWLENS_ERR_KUBECONFIG_INVALID');
    expect(err.message).toContain('context "broken" names cluster "nowhere", which the file does not define');
  });

  it('asks for a context when the file has no current-context', () => {
    const path = write('nocurrent', KUBECONFIG.replace('current-context: dev\n', ''));
    const err = errorOf(() => loadKubeConfig({ path, context: null }));
    expect(err.code).toBe('FLOWLENS_ERR_KUBECONFIG_INVALID');
    expect(err.message).toContain('no current-context; pick one of (dev, prod, broken) with --kube-context');
  });

  it('refuses the in-cluster config outside a pod, and a context without a file', () => {
    expect(inCluster({}, '/nonexistent')).toBe(false);
    expect(inCluster({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, '/nonexistent')).toBe(false);
    expect(inCluster()).toBe(false); // the test machine is not a pod
    expect(errorOf(() => loadKubeConfig({ path: null, context: null })).message).toContain('not running in a pod with a service account');
    expect(errorOf(() => loadKubeConfig({ path: null, context: 'dev' })).message).toContain('--kube-context dev needs a kubeconfig file');
  });
});

import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FlowlensError } from '../../src/errors.js';
import { deriveIdentityId } from '../../src/identity/identity.js';
import { loadStaticIdentities, parseStaticIdentities, StaticIdentitySource } from '../../src/identity/static-source.js';
import { IdentityStore } from '../../src/identity/store.js';

const EXAMPLE = `
identities:
  - namespace: shop
    workload: frontend
    labels: { app: frontend, tier: web }
    addresses: [10.20.1.5/32, "fd00::5/128"]
  - name: corporate-vpn
    addresses: [192.0.2.0/24]
`;

function parseError(yaml: string): FlowlensError {
  try {
    parseStaticIdentities(yaml, '/etc/ids.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(FlowlensError);
    return err as FlowlensError;
  }
  throw new Error('expected the file to be rejected');
}

/** Polls until `check` holds; the bound only turns a hang into a failure. */
async function eventually(check: () => boolean, what: string, boundMs = 30_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('parseStaticIdentities', () => {
  it('turns each entry into one identity with its prefixes', () => {
    const entries = parseStaticIdentities(EXAMPLE, '/etc/ids.yaml', []);
    expect(entries).toHaveLength(2);
    const [shop, vpn] = entries;
    expect(shop!.identity).toEqual({
      id: deriveIdentityId('shop', { app: 'frontend', tier: 'web' }, []),
      namespace: 'shop',
      workload: 'frontend',
      labels: { app: 'frontend', tier: 'web' },
      source: 'static',
    });
    expect(shop!.prefixes.map((p) => p.text)).toEqual(['10.20.1.5/32', 'fd00::5/128']);
    expect(vpn!.identity).toEqual({
      id: deriveIdentityId('', { name: 'corporate-vpn' }, []),
      namespace: '',
      workload: 'corporate-vpn',
      name: 'corporate-vpn',
      labels: { name: 'corporate-vpn' },
      source: 'static',
    });
    expect(vpn!.prefixes.map((p) => p.text)).toEqual(['192.0.2.0/24']);
  });

  it('derives the same id a workload with those labels gets anywhere, minus excluded labels', () => {
    const [e] = parseStaticIdentities(
      'identities:\n  - namespace: shop\n    labels: { app: api, pod-template-hash: abc, version: 2 }\n    addresses: [10.0.0.1]\n',
      'f', ['pod-template-hash'],
    );
    expect(e!.identity.id).toBe(deriveIdentityId('shop', { app: 'api', version: '2' }, []));
    expect(e!.identity.labels).toEqual({ app: 'api', version: '2' });
    expect(e!.identity.workload).toBe('api');
    expect(e!.prefixes[0]!.text).toBe('10.0.0.1/32');
  });

  it('uses the workload as app label when an entry has no labels', () => {
    const [a, b] = parseStaticIdentities(
      'identities:\n  - { namespace: shop, workload: db, addresses: [10.0.0.1] }\n  - { namespace: shop, workload: cache, addresses: [10.0.0.2] }\n',
      'f',
    );
    expect(a!.identity.id).toBe(deriveIdentityId('shop', { app: 'db' }, []));
    expect(b!.identity.id).not.toBe(a!.identity.id);
  });

  it('accepts an empty file and an empty list', () => {
    expect(parseStaticIdentities('', 'f')).toEqual([]);
    expect(parseStaticIdentities('identities: []\n', 'f')).toEqual([]);
  });

  it.each([
    ['identities:\n  - { namespace: a, workload: x, addresses: [10.0.0.1/32] }\n  - { namespace: a, workload: y, addresses: [10.0.0.2/32] }\n  - { namespace: a, workload: z, addresses: [10.0.0.300/32] }\n',
      'identities[2].addresses[0]: "10.0.0.300/32" is not a valid CIDR'],
    ['identities:\n  - { namespace: a, workload: x }\n', 'identities[0].addresses: expected a list of CIDRs or addresses, got nothing'],
    ['identities:\n  - { namespace: a, workload: x, addresses: [] }\n', 'identities[0].addresses: expected at least one address, got []'],
    ['identities:\n  - { namespace: a, workload: x, adresses: [10.0.0.1] , addresses: [10.0.0.2] }\n', 'identities[0].adresses: unknown key'],
    ['identity: []\n', 'identity: unknown key'],
    ['identities:\n  - { workload: x, addresses: [10.0.0.1] }\n', 'identities[0]: expected a namespace (a workload) or a name'],
    ['identities:\n  - { namespace: a, addresses: [10.0.0.1] }\n', 'identities[0].workload: expected a workload'],
    ['identities:\n  - { namespace: a, workload: x, addresses: [10.0.0.0/24] }\n  - { name: b, addresses: ["10.0.0.0/24"] }\n',
      'identities[1].addresses[0]: 10.0.0.0/24 is already claimed by identities[0].addresses[0]'],
    ['identities:\n  - { namespace: a, workload: x, addresses: [fd00::1, "FD00:0::1"] }\n',
      'identities[0].addresses[1]: fd00::1/128 is already claimed by identities[0].addresses[0]'],
    ['identities:\n  - { namespace: a, labels: {app: x}, addresses: [10.0.0.1] }\n  - { namespace: a, labels: {app: x}, addresses: [10.0.0.2] }\n',
      'identities[1]: same namespace and labels as identities[0]'],
    ['identities:\n  - { namespace: a, workload: x, labels: [a], addresses: [10.0.0.1] }\n', 'identities[0].labels: expected a mapping of labels'],
    ['identities: 5\n', 'identities: expected a list of entries, got 5'],
    ['hello\n', '(top level): expected a mapping with an "identities" list, got "hello"'],
  ])('rejects %j', (yaml, message) => {
    const err = parseError(yaml);
    expect(err.code).toBe('FLOWLENS_ERR_IDENTITY_FILE_INVALID');
    expect(err.exitStatus).toBe(2);
    expect(err.message).toContain('/etc/ids.yaml');
    expect(err.message).toContain(message);
  });

  it('reports YAML syntax errors and missing files as unreadable', () => {
    const err = parseError('identities: [\n');
    expect(err.code).toBe('FLOWLENS_ERR_IDENTITY_FILE_UNREADABLE');
    expect(err.message).toContain('not valid YAML');
    expect(() => loadStaticIdentities('/nonexistent/ids.yaml')).toThrow('cannot read identity file /nonexistent/ids.yaml: no such file');
  });
});

describe('StaticIdentitySource', () => {
  let dir: string;
  let source: StaticIdentitySource | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'flowlens-ids-'));
  });
  afterEach(() => {
    source?.stop();
    source = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const shopApi = deriveIdentityId('shop', { app: 'api' }, []);
  const shopWeb = deriveIdentityId('shop', { app: 'web' }, []);
  const fileWith = (app: string, addr: string) =>
    `identities:\n  - namespace: shop\n    workload: ${app}\n    addresses: [${addr}]\n`;

  it('fails start-up on a bad file, with the error', () => {
    const path = join(dir, 'ids.yaml');
    writeFileSync(path, 'identities:\n  - { namespace: a, workload: x, addresses: [nope] }\n');
    source = new StaticIdentitySource({ path, store: new IdentityStore() });
    expect(() => source!.start()).toThrow('identities[0].addresses[0]: "nope" is not a valid CIDR');
    expect(source.up).toBe(false);
  });

  it('reloads on change, keeps the last good set on a bad edit, and recovers', async () => {
    const path = join(dir, 'ids.yaml');
    writeFileSync(path, fileWith('api', '10.0.0.1/32'));
    const store = new IdentityStore();
    const errors: FlowlensError[] = [];
    source = new StaticIdentitySource({ path, store, onError: (e) => errors.push(e), debounceMs: 20, pollMs: 100 });
    source.start();
    expect(source.up).toBe(true);
    expect(store.prefixes().get('10.0.0.1/32')?.identity).toBe(shopApi);

    // a changed file is picked up without a restart
    writeFileSync(path, fileWith('web', '10.0.0.2/32'));
    await eventually(() => store.prefixes().has('10.0.0.2/32'), 'the changed file to load');
    expect(Object.fromEntries([...store.prefixes()].map(([k, v]) => [k, v.identity]))).toEqual({ '10.0.0.2/32': shopWeb });
    expect(store.counts().get('static')).toBe(1);

    // garbage: the last good identities stay, the failure is counted and reported
    writeFileSync(path, 'identities: [ {{{ not yaml\n');
    await eventually(() => source!.reloadFailures === 1, 'the bad reload to be counted');
    expect(source.up).toBe(false);
    expect(errors.map((e) => e.code)).toEqual(['FLOWLENS_ERR_IDENTITY_FILE_UNREADABLE']);
    expect(store.prefixes().get('10.0.0.2/32')?.identity).toBe(shopWeb);
    expect(store.resolve(shopWeb)?.workload).toBe('web');

    // an invalid (but YAML) edit is reported as invalid
    writeFileSync(path, fileWith('web', '10.0.0.999/32'));
    await eventually(() => source!.reloadFailures === 2, 'the invalid reload to be counted');
    expect(errors[1]!.code).toBe('FLOWLENS_ERR_IDENTITY_FILE_INVALID');
    expect(store.prefixes().has('10.0.0.2/32')).toBe(true);

    // replaced by rename, as editors and ConfigMap updates do
    writeFileSync(join(dir, 'ids.yaml.tmp'), fileWith('api', '10.0.0.3/32'));
    renameSync(join(dir, 'ids.yaml.tmp'), path);
    await eventually(() => store.prefixes().has('10.0.0.3/32'), 'the renamed file to load');
    expect(source.up).toBe(true);
    expect(store.prefixes().has('10.0.0.2/32')).toBe(false);
    expect(source.reloadFailures).toBe(2);
  });

  it('follows changes through the directory watch alone', async () => {
    const path = join(dir, 'ids.yaml');
    writeFileSync(path, fileWith('api', '10.0.0.1/32'));
    const store = new IdentityStore();
    source = new StaticIdentitySource({ path, store, debounceMs: 20, pollMs: 600_000 });
    source.start();
    writeFileSync(path, fileWith('web', '10.0.0.2/32'));
    await eventually(() => store.prefixes().has('10.0.0.2/32'), 'the watch to reload');
    expect(store.resolve(shopWeb)?.workload).toBe('web');
  });

  it('follows changes through the stat fallback alone', async () => {
    const path = join(dir, 'ids.yaml');
    writeFileSync(path, fileWith('api', '10.0.0.1/32'));
    const store = new IdentityStore();
    const changes: number[] = [];
    store.subscribe((s) => changes.push(s.prefixes().size));
    source = new StaticIdentitySource({ path, store, debounceMs: 20, pollMs: 50, watch: false });
    source.start();
    writeFileSync(path, `${fileWith('web', '10.0.0.2/32')}  - { namespace: shop, workload: db, addresses: [10.0.0.3] }\n`);
    await eventually(() => store.prefixes().has('10.0.0.3/32'), 'the poll to reload');
    expect(changes).toEqual([1, 2]); // one load at start, one reload: no spurious reloads
  });

  it('counts a vanished file as a failed reload and keeps the identities', () => {
    const path = join(dir, 'ids.yaml');
    writeFileSync(path, fileWith('api', '10.0.0.1/32'));
    const store = new IdentityStore();
    source = new StaticIdentitySource({ path, store, pollMs: 60_000 });
    source.start();
    rmSync(path);
    expect(source.reload()).toBe(false);
    expect(source.up).toBe(false);
    expect(source.reloadFailures).toBe(1);
    expect(source.lastError?.message).toContain('no such file');
    expect(store.prefixes().get('10.0.0.1/32')?.identity).toBe(shopApi);
  });

  it('does not count the same bad content twice', () => {
    const path = join(dir, 'ids.yaml');
    writeFileSync(path, fileWith('api', '10.0.0.1/32'));
    source = new StaticIdentitySource({ path, store: new IdentityStore(), pollMs: 60_000 });
    source.start();
    source.stop();
    writeFileSync(path, 'hello');
    expect(source.reload()).toBe(false);
    expect(source.reload()).toBe(false);
    expect(source.reloadFailures).toBe(1);
  });
});

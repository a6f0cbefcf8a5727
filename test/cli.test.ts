import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from './common/exporter.js';

/**
 * The built CLI as a user meets it: bad input stops it before anything is
 * attached, with a message naming the item and the exit status of its kind.
 */

const tmp = mkdtempSync(join(tmpdir(), 'flowlens-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function flowlens(args: string[], opts: { prefix?: string[] } = {}) {
  const cmd = [...(opts.prefix ?? []), process.execPath, join(REPO, 'dist', 'cli.js'), ...args];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

describe('flowlens CLI', () => {
  it('documents every run option in --help', () => {
    const r = flowlens(['run', '--help']);
    expect(r.status).toBe(0);
    for (const flag of ['--config', '--listen', '--interface', '--identities', '--cluster-cidr', '--pin-path', '--kubeconfig', '--otlp-endpoint', '--log-level']) {
      expect(r.stdout).toContain(flag);
    }
  });

  it('rejects a config value of the wrong type, naming the field (exit 2)', () => {
    const r = flowlens(['run', '--config', file('wrong-type.yaml', 'metrics:\n  seriesLimit: "abc"\n')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('metrics.seriesLimit: expected an integer from 1 to 100000');
    expect(r.stderr).toContain('[FLOWLENS_ERR_CONFIG_INVALID]');
  });

  it('refuses an oversized setting with its name and range, not a RangeError (exit 2)', () => {
    const config = file('oversized.yaml', 'flows:\n  capacity: 1e12\n');
    const r = flowlens(['run', '--config', config]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `flowlens: invalid configuration (from ${config}): flows.capacity: expected an integer from 1 to 1000000, got 1000000000000. ` +
        'Fix the value; see "flowlens run --help" for the accepted values and defaults. [FLOWLENS_ERR_CONFIG_INVALID]\n',
    );
  });

  it('rejects an unknown config key, naming it (exit 2)', () => {
    const r = flowlens(['run', '--config', file('unknown-key.yaml', 'listne: "127.0.0.1:19965"\n')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown configuration key "listne"');
  });

  it('rejects an unknown flag, naming it (exit 2)', () => {
    const r = flowlens(['run', '--interfcae', 'veth*']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('interfcae');
  });

  it('rejects an identity file with an invalid CIDR, naming the entry and value (exit 2)', () => {
    const identities = file(
      'bad-identities.yaml',
      'identities:\n  - namespace: shop\n    workload: web\n    addresses: [10.0.0.300/32]\n',
    );
    const r = flowlens(['run', '--listen', '127.0.0.1:0', '--interface', 'nosuch*', '--identities', identities]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('identities[0].addresses[0]');
    expect(r.stderr).toContain('10.0.0.300/32');
  });

  it('refuses a literally named interface that does not exist (exit 5)', () => {
    const r = flowlens(['run', '--listen', '127.0.0.1:0', '--interface', 'flnosuch0']);
    expect(r.status).toBe(5);
    expect(r.stderr).toContain('interface "flnosuch0" does not exist');
  });

  it('names a pinned map whose layout does not match, and how to recover (exit 4)', () => {
    const pinPath = `/sys/fs/bpf/flowlens-cli-${process.pid}`;
    // as an earlier version with a 16-byte flow_traffic value would have left it
    const r0 = flowlens(['run', '--listen', '127.0.0.1:0', '--interface', 'flnosuch*', '--pin-path', pinPath], {
      prefix: ['sh', '-c', `(mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf) && mkdir -p ${pinPath} && bpftool map create ${pinPath}/flow_traffic type percpu_hash key 16 value 16 entries 16384 name flow_traffic && exec "$@"`, 'sh'],
    });
    rmSync(pinPath, { recursive: true, force: true });
    expect(r0.status).toBe(4);
    expect(r0.stderr).toContain(`the map pinned at ${pinPath}/flow_traffic does not match`);
    expect(r0.stderr).toContain('[FLOWLENS_ERR_PINNED_MAP_MISMATCH]');
  });

  it('says which privileges are missing when not root (exit 3)', () => {
    // an unprivileged user with no capabilities, as in a container without them
    const r = flowlens(['run', '--listen', '127.0.0.1:0'], {
      prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all'],
    });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('insufficient privileges: missing CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN');
  });
});

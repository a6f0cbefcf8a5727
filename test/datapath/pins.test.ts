import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateRenamedPins, RENAMED_PINS } from '../../src/datapath/pins.js';
import type { Logger } from '../../src/log.js';

/**
 * The renaming of old-name pins, on plain files: rename and unlink behave
 * alike on bpffs (test/datapath/pinned-maps.test.ts runs it on real pins).
 */

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowlens-pins-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function recorder(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string) => lines.push(`${level} ${msg}`);
  return { log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

describe('migrateRenamedPins', () => {
  it('names every map renamed since the counter maps took their metric names', () => {
    expect(RENAMED_PINS).toEqual({
      flow_starts: 'flows',
      drop_flow_starts: 'dropped_flows',
      tcp_outcomes: 'tcp_attempts',
      http_messages: 'http_unmatched',
    });
  });

  it('moves an old-name pin to its new name, contents and all, and leaves other pins alone', () => {
    writeFileSync(join(dir, 'flow_starts'), 'old counts');
    writeFileSync(join(dir, 'flow_traffic'), 'traffic');
    const { log, lines } = recorder();
    migrateRenamedPins(dir, log);
    expect(readdirSync(dir).sort()).toEqual(['flow_traffic', 'flows']);
    expect(readFileSync(join(dir, 'flows'), 'utf8')).toBe('old counts');
    expect(readFileSync(join(dir, 'flow_traffic'), 'utf8')).toBe('traffic');
    expect(lines).toEqual([`info pinned map ${dir}/flow_starts renamed to ${dir}/flows, its name since maps are named after their metric`]);
  });

  it('removes an old-name pin whose new name is pinned too, keeping the new one', () => {
    writeFileSync(join(dir, 'tcp_outcomes'), 'stale');
    writeFileSync(join(dir, 'tcp_attempts'), 'current');
    const { log, lines } = recorder();
    migrateRenamedPins(dir, log);
    expect(readdirSync(dir)).toEqual(['tcp_attempts']);
    expect(readFileSync(join(dir, 'tcp_attempts'), 'utf8')).toBe('current');
    expect(lines).toEqual([`warn removed the pinned map ${dir}/tcp_outcomes: its new name ${dir}/tcp_attempts is pinned too and keeps counting`]);
  });

  it('migrates all four at once, and a second run finds nothing to do', () => {
    for (const old of Object.keys(RENAMED_PINS)) writeFileSync(join(dir, old), old);
    migrateRenamedPins(dir);
    const { log, lines } = recorder();
    migrateRenamedPins(dir, log);
    expect(lines).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(['dropped_flows', 'flows', 'http_unmatched', 'tcp_attempts']);
    for (const [old, now] of Object.entries(RENAMED_PINS)) expect(readFileSync(join(dir, now), 'utf8')).toBe(old);
  });

  it('does nothing in a directory of current pins', () => {
    writeFileSync(join(dir, 'flows'), 'x');
    migrateRenamedPins(dir);
    expect(readdirSync(dir)).toEqual(['flows']);
  });

  it('fails with the registered bpffs error when a pin cannot be moved, naming it', () => {
    writeFileSync(join(dir, 'flow_starts'), 'x');
    // the new name in a directory that does not exist: rename(2) fails with ENOENT
    expect(() => migrateRenamedPins(dir, undefined, { flow_starts: 'gone/flows' })).toThrow(
      expect.objectContaining({
        code: 'FLOWLENS_ERR_BPFFS_UNAVAILABLE',
        message: expect.stringContaining(`BPF filesystem not usable at ${dir}/flow_starts: could not move it to its new name gone/flows: ENOENT`),
      }),
    );
    expect(readdirSync(dir)).toEqual(['flow_starts']);
  });
});

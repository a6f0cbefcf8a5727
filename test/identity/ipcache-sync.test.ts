import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/net/cidr.js';
import { IpcacheSync, type DesiredPrefixes } from '../../src/identity/ipcache-sync.js';
import { MemoryIpcache } from '../common/memory-ipcache.js';

function desired(entries: Record<string, number>): DesiredPrefixes {
  return new Map(Object.entries(entries).map(([text, identity]) => {
    const cidr = parseCidr(text);
    return [cidr.text, { cidr, identity }];
  }));
}

describe('IpcacheSync', () => {
  it('writes everything on the first sync', () => {
    const map = new MemoryIpcache();
    const sync = new IpcacheSync(map);
    expect(sync.sync(desired({ '10.0.0.0/8': 3, '10.1.2.3/32': 70000 }))).toEqual({ set: 2, deleted: 0 });
    expect(map.calls).toEqual([
      { op: 'set', cidr: '10.0.0.0/8', identity: 3 },
      { op: 'set', cidr: '10.1.2.3/32', identity: 70000 },
    ]);
  });

  it('applies only the difference: new and changed set, vanished deleted, unchanged untouched', () => {
    const map = new MemoryIpcache();
    const sync = new IpcacheSync(map);
    sync.sync(desired({ '10.0.0.0/8': 3, '10.1.2.3/32': 70000, 'fd00::5/128': 70001 }));
    map.clearCalls();

    const result = sync.sync(desired({ '10.0.0.0/8': 3, '10.1.2.3/32': 70002, '192.0.2.0/24': 80000 }));
    expect(result).toEqual({ set: 2, deleted: 1 });
    expect(map.calls).toEqual([
      { op: 'set', cidr: '10.1.2.3/32', identity: 70002 },
      { op: 'set', cidr: '192.0.2.0/24', identity: 80000 },
      { op: 'delete', cidr: 'fd00::5/128' },
    ]);
    expect(Object.fromEntries(map.entries)).toEqual({ '10.0.0.0/8': 3, '10.1.2.3/32': 70002, '192.0.2.0/24': 80000 });
    expect(sync.size).toBe(3);
  });

  it('does nothing when nothing changed', () => {
    const map = new MemoryIpcache();
    const sync = new IpcacheSync(map);
    sync.sync(desired({ '10.0.0.0/8': 3 }));
    map.clearCalls();
    expect(sync.sync(desired({ '10.0.0.0/8': 3 }))).toEqual({ set: 0, deleted: 0 });
    expect(map.calls).toEqual([]);
  });

  it('retries what a failed write left undone on the next sync', () => {
    const map = new MemoryIpcache();
    const sync = new IpcacheSync(map);
    map.failOn = '10.0.0.2/32';
    const want = desired({ '10.0.0.1/32': 70000, '10.0.0.2/32': 70001 });
    expect(() => sync.sync(want)).toThrow('injected failure for 10.0.0.2/32');
    map.clearCalls();
    expect(sync.sync(want)).toEqual({ set: 1, deleted: 0 });
    expect(map.calls).toEqual([{ op: 'set', cidr: '10.0.0.2/32', identity: 70001 }]);
  });

  it('adopts existing entries so a restart does not rewrite them, and deletes stale ones', () => {
    const map = new MemoryIpcache();
    const sync = new IpcacheSync(map);
    sync.adopt(desired({ '10.0.0.1/32': 70000, '10.0.0.9/32': 70009 }));
    expect(sync.sync(desired({ '10.0.0.1/32': 70000 }))).toEqual({ set: 0, deleted: 1 });
    expect(map.calls).toEqual([{ op: 'delete', cidr: '10.0.0.9/32' }]);
  });
});

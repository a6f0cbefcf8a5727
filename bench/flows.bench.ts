import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeHttpEvent, HTTP_EVENT } from '../src/bpf/codecs.js';
import { FlowStore } from '../src/flows/store.js';
import { KernelClock } from '../src/datapath/clock.js';
import { RecordBuilder } from '../src/flows/record.js';
import { compileFilter, parseFilter } from '../src/flows/filter.js';
import { report } from './report.js';

/**
 * The recent-flow store at its default capacity: real heap bytes per record
 * (growth of the heap and of the ArrayBuffers outside it, for a full store,
 * after a forced GC) against the store's own
 * estimate (flowlens_flow_store_memory_bytes), for flow and drop records; and
 * a filtered /api/flows query over the full store against a bare scan of the
 * same records; and what the exporter spends on each HTTP event it reads
 * (decode, record, push into a full store) against decoding alone.
 */

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const N = 65535;
const LABELS = { app: 'x', tier: 'web' };

function builder() {
  return new RecordBuilder({
    node: 'node-a',
    resolve: (id) => ({ identityName: String(id), namespace: 'shop', workload: `w${id % 50}`, pod: '', labels: LABELS }),
    dropReason: () => ({ name: 'netfilter_drop', reasonClass: 'policy' }),
    clock: new KernelClock(),
  });
}

/**
 * The JS heap and the ArrayBuffers outside it (where a packed store keeps its
 * rows), after full GCs: the second one waits for the first's freeing of
 * ArrayBuffers, which runs behind it.
 */
function heapBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

const addr = (n: number) => {
  const b = Buffer.alloc(16);
  b.writeUInt32BE((10 << 24) | (n & 0xffffff));
  return b;
};

function fill(kind: 'flow' | 'drop', capacity = N): { store: FlowStore; realBytes: number } {
  const b = builder();
  const before = heapBytes();
  const store = new FlowStore(capacity);
  for (let i = 0; i < 2 * capacity; i++) {
    const e = {
      type: 1, family: 4 as const, protocol: 6, direction: 2, ifindex: 3, timestampNs: process.hrtime.bigint(),
      srcIdentity: 70000 + (i % 500), dstIdentity: 70500 + (i % 500), saddr: addr(i), daddr: addr(i + 7),
      sport: 30000 + (i % 30000), dport: 8080, tcpFlags: 2, verdict: 1, reason: 11,
    };
    store.push(kind === 'flow' ? b.fromFlow(e) : b.fromDrop(e));
  }
  return { store, realBytes: heapBytes() - before };
}

describe('recent-flow store', () => {
  // the first fill would also measure what runs once (compiled code, the tables' first growth)
  beforeAll(() => {
    fill('flow', 4096);
    fill('drop', 4096);
  });

  for (const kind of ['flow', 'drop'] as const) {
    it(`memory of ${N} ${kind} records: estimate against the heap`, () => {
      const { store, realBytes } = fill(kind);
      const est = store.stats().bytes;
      report(`flow store: ${kind} records, heap bytes/record (estimate)`, `${(realBytes / N).toFixed(0)} (${(est / N).toFixed(0)}), estimate/heap ${(est / realBytes).toFixed(2)}, ${(realBytes / 2 ** 20).toFixed(1)} MiB in all`);
      expect(store.size).toBe(N);
      expect(realBytes).toBeGreaterThan(0);
    });
  }

  it('filtered query over a full store, against a bare scan', () => {
    const { store } = fill('flow');
    const records = [...store.records()];
    const match = compileFilter(parseFilter({ from_namespace: 'shop', to_port: '8080', verdict: 'forwarded', since: '1h' }));
    const time = (f: () => number) => {
      const runs: number[] = [];
      for (let r = 0; r < 12; r++) {
        const t0 = performance.now();
        f();
        if (r >= 2) runs.push(performance.now() - t0);
      }
      return runs.sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
    };
    const bare = time(() => records.filter((r) => r.destination.port === 8080).length);
    const query = time(() => store.query(match, N).length);
    report(`flow store: /api/flows query over ${N} records (4 filters)`, `${query.toFixed(1)} ms vs bare scan ${bare.toFixed(1)} ms: ${(query / bare).toFixed(1)}x`);
    expect(store.query(match, N)).toHaveLength(N);
  });

  it('an HTTP event read into a full store, against decoding it alone', () => {
    const b = builder();
    const store = new FlowStore(N);
    const event = Buffer.alloc(HTTP_EVENT.size);
    const at = (field: string) => HTTP_EVENT.fields[field]!.offset;
    event.writeUInt8(5, at('type'));
    event.writeUInt8(4, at('family'));
    event.writeUInt8(1, at('method'));
    event.writeUInt8(2, at('reporter'));
    event.writeUInt32LE(70001, at('src_identity'));
    event.writeUInt32LE(70002, at('dst_identity'));
    addr(2).copy(event, at('saddr'));
    addr(3).copy(event, at('daddr'));
    event.writeUInt16LE(8080, at('dport'));
    event.writeUInt16LE(200, at('status'));
    event.writeUInt8(1, at('path_known'));
    event.write('/api/orders', at('path'), 'latin1');
    event.writeUInt8(11, at('path_len'));
    const perEvent = (handle: (e: ReturnType<typeof decodeHttpEvent>) => void) => {
      const runs: number[] = [];
      for (let r = 0; r < 5; r++) {
        const t0 = performance.now();
        for (let i = 0; i < 2 * N; i++) {
          event.writeBigUInt64LE(BigInt(i) * 1000n, at('timestamp_ns'));
          handle(decodeHttpEvent(event));
        }
        runs.push(((performance.now() - t0) * 1e6) / (2 * N));
      }
      return runs.sort((x, y) => x - y)[2]!;
    };
    const decodeOnly = perEvent(() => {});
    const full = perEvent((e) => store.push(b.fromHttp(e)));
    report('HTTP event: decode + record + push into a full store (ns)', `${full.toFixed(0)} vs decode alone ${decodeOnly.toFixed(0)}: ${(full / decodeOnly).toFixed(1)}x`);
    expect(store.size).toBe(N);
  });
});

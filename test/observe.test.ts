import { describe, expect, it } from 'vitest';
import { formatTableLine, parseObserveArgs, RecordPrinter, runObserve, type ObserveOptions } from '../src/observe.js';
import { isFlowlensError } from '../src/errors.js';
import type { FlowRecord } from '../src/flows/record.js';
import { API, FRONTEND, rec, WORLD } from './common/flows.js';

const DROPPED = rec(7, { source: WORLD(51000), destination: API(7000), verdict: 'dropped', type: 'drop', direction: 'ingress',
  drop: { reason: 'no_socket', reasonClass: 'no_socket' }, summary: 'dropped by the kernel: no_socket' }, 123_456_789);
const FORWARDED = rec(8, { source: FRONTEND(40001), destination: API(8080), tcpFlags: ['SYN'], summary: 'new flow, TCP flags SYN' });

describe('parseObserveArgs', () => {
  it('reads servers, filters, follow, last and output', () => {
    const r = parseObserveArgs(['--server', 'http://a:19965/,http://b:19965', '--from-namespace', 'shop', '--verdict', 'DROPPED', '-f', '-n', '5', '-o', 'jsonl']);
    expect(r).toEqual({
      help: false,
      options: { servers: ['http://a:19965', 'http://b:19965'], filters: { 'from-namespace': ['shop'], verdict: ['DROPPED'] }, follow: true, last: 5, output: 'jsonl', token: undefined },
    });
  });
  it('defaults: FLOWLENS_SERVER, else the local exporter; table; the token from its file', () => {
    const r = parseObserveArgs(['--token-file', '/t'], { FLOWLENS_SERVER: 'http://x:1' }, () => 'tok\n');
    expect(r.help === false && [r.options.servers, r.options.output, r.options.last, r.options.token]).toEqual([['http://x:1'], 'table', undefined, 'tok']);
    const d = parseObserveArgs([]);
    expect(d.help === false && d.options.servers).toEqual(['http://127.0.0.1:19965']);
  });
  it('refuses bad flags as usage errors', () => {
    const message = (argv: string[]) => {
      try {
        parseObserveArgs(argv);
      } catch (err) {
        expect(isFlowlensError(err, 'FLOWLENS_ERR_CLI_USAGE')).toBe(true);
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(message(['-o', 'yaml'])).toContain('-o: expected one of table, json, jsonl, got "yaml"');
    expect(message(['--verdict', 'lost'])).toContain('--verdict: "lost" is not one of forwarded, dropped');
    expect(message(['--server', 'ftp://a'])).toContain('--server: "ftp://a" is not an http(s) URL');
    expect(message(['--last', 'x'])).toContain('--last: expected a whole number, got "x"');
    expect(message(['--nope'])).toContain('bad option "--nope"');
  });
  it('has help listing every filter flag', () => {
    const r = parseObserveArgs(['--help']);
    expect(r.help).toBe(true);
    if (r.help) for (const flag of ['--from-namespace', '--to-workload', '--verdict', '--type', '--http-status', '--dns-rcode', '--since']) expect(r.text).toContain(flag);
  });
});

describe('output formats', () => {
  it('table: one line per record, no colours off a terminal', () => {
    expect(formatTableLine(DROPPED, false)).toBe(
      '2026-01-01T00:00:07.123Z node-a reserved:world 192.0.2.7:51000 -> shop/api 10.0.0.2:7000 tcp ingress drop DROPPED dropped by the kernel: no_socket',
    );
    expect(formatTableLine(FORWARDED, false)).toBe(
      '2026-01-01T00:00:08.000Z node-a shop/frontend 10.0.0.1:40001 -> shop/api 10.0.0.2:8080 tcp egress flow FORWARDED new flow, TCP flags SYN',
    );
  });
  it('table on a terminal: verdict red or green, unknown sources yellow', () => {
    const line = formatTableLine(DROPPED, true);
    expect(line).toContain('\x1b[31mDROPPED\x1b[0m');
    expect(line).toContain('\x1b[33mreserved:world 192.0.2.7:51000\x1b[0m');
    expect(formatTableLine(FORWARDED, true)).toContain('\x1b[32mFORWARDED\x1b[0m');
  });
  it('json: one array; jsonl: one compact object a line', () => {
    let out = '';
    new RecordPrinter('json', (t) => (out += t), false).all([DROPPED, FORWARDED]);
    expect(JSON.parse(out)).toEqual([DROPPED, FORWARDED]);
    out = '';
    new RecordPrinter('jsonl', (t) => (out += t), false).all([DROPPED, FORWARDED]);
    expect(out.split('\n')).toEqual([JSON.stringify(DROPPED), JSON.stringify(FORWARDED), '']);
  });
});

/** A fetch that answers each server from a table: JSON lists, SSE bodies, or failures. */
function fakeFetch(answers: Record<string, (url: URL) => Response>) {
  const calls: string[] = [];
  const f = (async (input: string | URL | Request) => {
    const url = new URL(String(input));
    calls.push(url.toString());
    const answer = answers[url.origin];
    if (!answer) throw new TypeError('fetch failed');
    return answer(url);
  }) as typeof fetch;
  return { f, calls };
}

const json = (flows: FlowRecord[]) => () => new Response(JSON.stringify({ flows }), { headers: { 'content-type': 'application/json' } });
const sse = (flows: FlowRecord[]) => () =>
  new Response(flows.map((r) => `id: ${r.seq}\nevent: flow\ndata: ${JSON.stringify(r)}\n\n`).join('') + ': ping\n\n', { headers: { 'content-type': 'text/event-stream' } });

const base: ObserveOptions = { servers: ['http://a:1', 'http://b:1'], filters: {}, follow: false, last: undefined, output: 'jsonl', token: undefined };
const on = (node: string, second: number, seq: number): FlowRecord => ({ ...rec(second, { node }), seq });

describe('runObserve', () => {
  it('merges several servers by time and keeps the newest --last', async () => {
    const { f, calls } = fakeFetch({ 'http://a:1': json([on('a', 1, 1), on('a', 4, 2)]), 'http://b:1': json([on('b', 2, 1), on('b', 3, 2)]) });
    let out = '';
    const status = await runObserve({ ...base, last: 3, filters: { verdict: ['DROPPED'], 'to-port': ['80'] } }, { stdout: (t) => (out += t), stderr: () => {}, color: false, fetch: f });
    expect(status).toBe(0);
    expect(out.trim().split('\n').map((l) => { const r = JSON.parse(l); return `${r.node}#${r.seq}`; })).toEqual(['b#1', 'b#2', 'a#2']);
    expect(calls).toEqual(['http://a:1/api/flows?to_port=80&verdict=DROPPED&limit=3', 'http://b:1/api/flows?to_port=80&verdict=DROPPED&limit=3']);
  });

  it('warns about a failing server and shows the others; fails when none answers', async () => {
    const { f } = fakeFetch({ 'http://a:1': json([on('a', 1, 1)]), 'http://b:1': () => new Response(JSON.stringify({ error: 'unauthorized', message: 'needs a token' }), { status: 401 }) });
    let out = '';
    let err = '';
    await runObserve(base, { stdout: (t) => (out += t), stderr: (t) => (err += t), color: false, fetch: f });
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(err).toBe('flowlens observe: warning: http://b:1: HTTP 401: needs a token\n');
    const none = fakeFetch({});
    await expect(runObserve(base, { stdout: () => {}, stderr: () => {}, color: false, fetch: none.f })).rejects.toMatchObject({ code: 'FLOWLENS_ERR_OBSERVE_UNREACHABLE' });
  });

  it('--follow merges the live streams by time and sends the token', async () => {
    const seen: Array<string | null> = [];
    const { f, calls } = fakeFetch({
      'http://a:1': sse([on('a', 1, 1), on('a', 5, 2)]),
      'http://b:1': sse([on('b', 2, 1), on('b', 3, 2)]),
    });
    const tracking = (async (input: string | URL | Request, init?: RequestInit) => {
      seen.push(new Headers(init?.headers).get('authorization'));
      return f(input, init);
    }) as typeof fetch;
    let out = '';
    let err = '';
    await runObserve({ ...base, follow: true, last: 2, token: 'tok' }, { stdout: (t) => (out += t), stderr: (t) => (err += t), color: false, fetch: tracking });
    expect(out.trim().split('\n').map((l) => { const r = JSON.parse(l); return `${r.node}#${r.seq}`; })).toEqual(['a#1', 'b#1', 'b#2', 'a#2']);
    expect(calls).toEqual(['http://a:1/api/flows?follow=true&limit=2', 'http://b:1/api/flows?follow=true&limit=2']);
    expect(seen).toEqual(['Bearer tok', 'Bearer tok']);
    expect(err).toBe('flowlens observe: http://a:1 closed the stream\nflowlens observe: http://b:1 closed the stream\n');
  });
});

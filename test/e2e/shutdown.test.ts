import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExporterProcess, ownedProgramIds } from '../common/exporter.js';
import { runTag, sh, TestNetwork, type TestHost } from '../common/netns.js';

/**
 * SIGTERM ends the exporter whatever its clients hold open: live flow streams
 * (as a browser with the UI open holds one), an idle keep-alive connection and
 * a request that never completes. The streams end cleanly, everything is
 * detached, and the process exits 0. How long it takes is a bench's business;
 * here the test's own bound only turns a hang into a failure.
 */

const FOLLOWERS = 3;
const tag = runTag();
const prefix = `fq${tag}`;
let net: TestNetwork;
let hosts: TestHost[];
let exporter: ExporterProcess;
const sockets: Socket[] = [];


function programIds(): number[] {
  return (JSON.parse(sh('bpftool', ['prog', 'show', '-j'])) as Array<{ id: number }>).map((p) => p.id);
}

/**
 * The TC attachments of `programs` on the test's interfaces: tcx links (type
 * 11 to this bpftool, "tcx" to newer ones), or clsact filters, one for each
 * interface and direction.
 */
function attachments(programs: number[]): number {
  const links = JSON.parse(sh('bpftool', ['link', 'show', '--json'])) as Array<{ type: string | number; prog_id: number }>;
  const tcx = links.filter((l) => (String(l.type) === '11' || l.type === 'tcx') && programs.includes(l.prog_id)).length;
  const filters = hosts.flatMap((h) => ['ingress', 'egress'].map((dir) => sh('tc', ['filter', 'show', 'dev', h.hostIf, dir])));
  return tcx + filters.filter((text) => text !== '').length;
}

/** A follower of /api/flows?follow=true: resolves `opened` on the stream's first line, `ended` with how it ended. */
async function follow(base: string): Promise<{ opened: Promise<void>; ended: Promise<string> }> {
  const res = await fetch(`${base}/api/flows?follow=true`);
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let opened!: () => void;
  const openedP = new Promise<void>((r) => (opened = r));
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return 'ended cleanly';
        text += decoder.decode(value);
        if (text.includes(': flowlens flow stream')) opened();
      }
    } catch (err) {
      return `broke: ${(err as Error).message}`;
    }
  })();
  return { opened: openedP, ended };
}

function rawConnection(port: number, send: string): Promise<Socket> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.write(send);
      resolve(s);
    });
    s.on('error', () => {});
    sockets.push(s);
  });
}

const closed = (s: Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

describe('shutdown with clients connected (real exporter, real kernel)', () => {
  beforeAll(async () => {
    net = new TestNetwork(prefix, '10.242.0');
    hosts = [net.addHost('cli', 2), net.addHost('srv', 3)];
    exporter = new ExporterProcess(['--interface', `${prefix}*`]);
    await exporter.ready();
  });

  afterAll(() => {
    for (const s of sockets) s.destroy();
    exporter?.kill();
    net?.cleanup();
  });

  it('ends the live streams, detaches everything and exits 0 on SIGTERM', async () => {
    // what the exporter holds in the kernel, to check it is all gone afterwards
    const ours = ownedProgramIds(exporter.pid);
    expect(attachments(ours)).toBe(2 * hosts.length);

    const followers = await Promise.all(Array.from({ length: FOLLOWERS }, () => follow(exporter.base)));
    await Promise.all(followers.map((f) => f.opened));
    // an idle keep-alive connection, after one answered request
    const keepAlive = await rawConnection(exporter.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    await new Promise((r) => keepAlive.once('data', r));
    // a request whose headers never end
    const stalled = await rawConnection(exporter.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n');

    const exit = exporter.terminate();
    const bound = new Promise<string>((r) => setTimeout(() => r('still running 20 s after SIGTERM'), 20_000).unref());
    expect(await Promise.race([exit, bound])).toBe(0);

    for (const f of followers) expect(await f.ended).toBe('ended cleanly');
    await Promise.all([closed(keepAlive), closed(stalled)]);
    expect(exporter.output).toContain('SIGTERM: ending live streams, detaching and shutting down');
    expect(exporter.output).toContain(`HTTP server closed: ended ${FOLLOWERS} live flow streams; destroyed 1 connection still open after 500 ms`);
    expect(exporter.output).toMatch(/ info {2}stopped in \d+ ms\n$/);
    expect(exporter.output).not.toContain('FLOWLENS_ERR_SHUTDOWN_INCOMPLETE');

    // nothing of the exporter's is left on the test's interfaces, nor anywhere
    expect(attachments(ours)).toBe(0);
    const remaining = new Set(programIds());
    expect(ours.filter((id) => remaining.has(id))).toEqual([]);
  });
});

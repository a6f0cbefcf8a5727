// DNS families: queries, responses and response latency by the identities of
// client (source) and server (destination), qtype, rcode and reporter, from
// the kernel's counters; messages it could not parse, by reason.

import { Counter, type Registry } from 'prom-client';
import { registerIdentityPairCounter } from './core/identity-pair-counter.js';
import { CONTEXT_HELP, OVERFLOW_HELP, type FamilyContext } from './core/family-context.js';
import { KernelHistogram, type HistogramSeries } from './core/kernel-histogram.js';
import { OVERFLOW } from './core/labels.js';
import { qtypeLabel, rcodeLabel, reporterLabel } from '../datapath/code-names.js';
import { KEY_SEPARATOR, type ScrapeScope, type ScrapeView } from './core/scrape.js';
import { SeriesTable, type Labels, type Series } from './core/series.js';
import { DNS_LATENCY_BOUNDS_SECONDS, OVERFLOW_IDENTITY, type DnsResponseRecord } from '../datapath/records.js';
import { DNS_QUERIES_TOTAL, DNS_RESPONSES_TOTAL, DNS_RESPONSE_DURATION_SECONDS, DNS_MALFORMED_MESSAGES_TOTAL } from './names.js';

const REPORTER_HELP =
  'reporter says which end\'s interface saw the message (client or server); an exchange between two ' +
  'endpoints of this node is counted once by each side.';
const DNS_CONTEXT_HELP = 'The source is the client, the destination the server (resolver).';

export function registerDns(ctx: FamilyContext, registers: Registry[]): void {
  registerIdentityPairCounter(ctx, {
    name: DNS_QUERIES_TOTAL,
    help: `DNS queries (standard QUERY opcode) seen on the configured DNS ports, over UDP and TCP, by qtype. ${DNS_CONTEXT_HELP} ${REPORTER_HELP} ${CONTEXT_HELP} ${OVERFLOW_HELP}`,
    extraLabelNames: ['qtype', 'reporter'],
    records: (view) => view.snapshot.dns?.queries ?? [],
    render: (r) => [qtypeLabel(r.qtype), reporterLabel(r.reporter)],
    value: (r) => r.count,
  });
  registerIdentityPairCounter(ctx, {
    name: DNS_RESPONSES_TOTAL,
    help: `DNS responses by the qtype of their question and their RCODE, matched to a query or not. ${DNS_CONTEXT_HELP} ${REPORTER_HELP} ${CONTEXT_HELP} ${OVERFLOW_HELP}`,
    extraLabelNames: ['qtype', 'rcode', 'reporter'],
    records: (view) => view.snapshot.dns?.responses ?? [],
    render: (r) => [qtypeLabel(r.qtype), rcodeLabel(r.rcode), reporterLabel(r.reporter)],
    value: (r) => r.responses,
  });
  registerResponseDuration(ctx);
  registerMalformed(registers, ctx.scope);
}

/**
 * Time from a query to its response, both seen at the same side; responses
 * without a pending query (sent before flowlens started, or after the query
 * was swept as unanswered) are not observed.
 */
function registerResponseDuration(ctx: FamilyContext): void {
  const labelNames = [...ctx.contextLabelNames, 'qtype', 'rcode', 'reporter'];
  // admission and the overflow series as for the counters; the table's value is the count
  const table = new SeriesTable(DNS_RESPONSE_DURATION_SECONDS, labelNames, ctx.seriesLimit, OVERFLOW);
  ctx.tables.push(table);
  // this scrape's histogram of each admitted series (and of the overflow series)
  const current = new WeakMap<object, { epoch: number; series: { labels: Labels; buckets: number[]; sum: number } }>();
  let epoch = 0;

  const seriesOf = (view: ScrapeView, r: DnsResponseRecord): Series => {
    const src = view.end(r.srcIdentity);
    const dst = view.end(r.dstIdentity);
    const extra = [qtypeLabel(r.qtype), rcodeLabel(r.rcode), reporterLabel(r.reporter)];
    const key = [src.key, dst.key, ...extra].join(KEY_SEPARATOR);
    const found = table.find(key);
    if (found) return found;
    const labels: Record<string, string> = {};
    [...src.values, ...dst.values, ...extra].forEach((v, i) => (labels[labelNames[i]!] = v));
    return table.admit(key, labels);
  };

  const read = (): HistogramSeries[] => {
    const view = ctx.scope.current();
    epoch += 1;
    table.beginScrape();
    const out: HistogramSeries[] = [];
    for (const r of view.snapshot.dns?.responses ?? ([] as DnsResponseRecord[])) {
      const matched = r.latencyBuckets.reduce((a, b) => a + b, 0);
      if (matched === 0) continue;
      const series = r.srcIdentity === OVERFLOW_IDENTITY ? table.overflowSeries : seriesOf(view, r);
      table.add(series, matched);
      let entry = current.get(series);
      if (!entry || entry.epoch !== epoch) {
        entry = { epoch, series: { labels: series.labels, buckets: new Array<number>(DNS_LATENCY_BOUNDS_SECONDS.length + 1).fill(0), sum: 0 } };
        current.set(series, entry);
        out.push(entry.series);
      }
      r.latencyBuckets.forEach((n, i) => (entry!.series.buckets[i]! += n));
      entry.series.sum += r.latencySumSeconds;
    }
    return out;
  };

  new KernelHistogram({
    name: DNS_RESPONSE_DURATION_SECONDS,
    help:
      'Time from a DNS query to its response, both seen at the same side (the kernel\'s clock at each), for responses ' +
      `matched to their query by client address, port and DNS id. ${DNS_CONTEXT_HELP} ${REPORTER_HELP} ${CONTEXT_HELP} ${OVERFLOW_HELP}`,
    labelNames,
    bounds: DNS_LATENCY_BOUNDS_SECONDS,
    registers: ctx.registers,
    read,
  });
}

function registerMalformed(registers: Registry[], scope: ScrapeScope): void {
  new Counter({
    name: DNS_MALFORMED_MESSAGES_TOTAL,
    help:
      'Messages on the configured DNS ports that were not counted as queries or responses, by why: header_truncated, ' +
      'tcp_length, unsupported_opcode (not a standard QUERY), no_question, name_truncated, label_too_long, ' +
      'compression_pointer (in the question), name_too_long, question_truncated.',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const m of scope.current().snapshot.dns?.malformed ?? []) this.inc({ reason: m.reason }, m.count);
    },
  });
}

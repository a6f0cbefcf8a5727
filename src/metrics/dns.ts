// DNS families: queries, responses and response latency by the identities of
// client (source) and server (destination), qtype, rcode and reporter, from
// the kernel's counters; messages it could not parse, by reason.

import type { Registry } from 'prom-client';
import { registerIdentityPairCounter } from './core/identity-pair-counter.js';
import { registerIdentityPairHistogram } from './core/identity-pair-histogram.js';
import { CONTEXT_HELP, OVERFLOW_HELP, type FamilyContext } from './core/family-context.js';
import { KernelCounter } from './core/kernel-counter.js';
import { qtypeLabel, rcodeLabel, reporterLabel } from '../datapath/code-names.js';
import type { ScrapeScope } from './core/scrape.js';
import { sumByLabels } from './core/series.js';
import { DNS_LATENCY_BOUNDS_SECONDS, type DnsResponseRecord } from '../datapath/records.js';
import { dnsRecordKey, type ExchangeExemplars } from './exemplars.js';
import { DNS_QUERIES_TOTAL, DNS_RESPONSES_TOTAL, DNS_RESPONSE_DURATION_SECONDS, DNS_MALFORMED_MESSAGES_TOTAL } from './names.js';

const REPORTER_HELP =
  'reporter says which end\'s interface saw the message (client or server); an exchange between two ' +
  'endpoints of this node is counted once by each side.';
const DNS_CONTEXT_HELP = 'The source is the client, the destination the server (resolver).';

export function registerDns(ctx: FamilyContext, registers: Registry[], exemplars?: ExchangeExemplars): void {
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
  registerResponseDuration(ctx, exemplars);
  registerMalformed(registers, ctx.scope);
}

/**
 * Time from a query to its response, both seen at the same side; responses
 * without a pending query (sent before flowlens started, or after the query
 * was swept as unanswered) are not observed.
 */
function registerResponseDuration(ctx: FamilyContext, exemplars: ExchangeExemplars | undefined): void {
  registerIdentityPairHistogram(ctx, {
    name: DNS_RESPONSE_DURATION_SECONDS,
    help:
      'Time from a DNS query to its response, both seen at the same side (the kernel\'s clock at each), for responses ' +
      `matched to their query by client address, port and DNS id. ${DNS_CONTEXT_HELP} ${REPORTER_HELP} ${CONTEXT_HELP} ${OVERFLOW_HELP}`,
    extraLabelNames: ['qtype', 'rcode', 'reporter'],
    bounds: DNS_LATENCY_BOUNDS_SECONDS,
    records: (view) => view.snapshot.dns?.responses ?? [],
    render: (r) => [qtypeLabel(r.qtype), rcodeLabel(r.rcode), reporterLabel(r.reporter)],
    buckets: (r) => r.latencyBuckets,
    sum: (r) => r.latencySumSeconds,
    ...(exemplars ? { exemplars: (r: DnsResponseRecord) => exemplars.dns.get(dnsRecordKey(r)) } : {}),
  });
}

function registerMalformed(registers: Registry[], scope: ScrapeScope): void {
  new KernelCounter({
    name: DNS_MALFORMED_MESSAGES_TOTAL,
    help:
      'Messages on the configured DNS ports that were not counted as queries or responses, by why: header_truncated, ' +
      'tcp_length, unsupported_opcode (not a standard QUERY), no_question, name_truncated, label_too_long, ' +
      'compression_pointer (in the question), name_too_long, question_truncated.',
    labelNames: ['reason'],
    registers,
    read: () => sumByLabels((scope.current().snapshot.dns?.malformed ?? []).map((m) => [{ reason: m.reason }, m.count])),
  });
}

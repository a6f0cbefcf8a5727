import { describe, expect, it } from 'vitest';
import { contextLabelNames, PortFolder } from '../../../src/metrics/core/labels.js';
import { directionLabel, protocolLabel, tcpFlagLabel, verdictLabel } from '../../../src/datapath/code-names.js';

describe('label rendering', () => {
  it('names IP protocols and keeps the number of the others', () => {
    expect([1, 6, 17, 58, 132, 47, 0, 255].map(protocolLabel)).toEqual(['icmp', 'tcp', 'udp', 'icmpv6', 'sctp', 'ip-47', 'ip-0', 'ip-255']);
  });

  it('names directions, verdicts and tcp flags, and marks codes it does not know', () => {
    expect([1, 2, 0, 3].map(directionLabel)).toEqual(['ingress', 'egress', 'unknown', 'unknown']);
    expect([1, 2, 0].map(verdictLabel)).toEqual(['forwarded', 'dropped', 'unknown']);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8].map(tcpFlagLabel)).toEqual(['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr', 'unknown']);
  });

  it('folds unconfigured ports into IANA ranges at their boundaries', () => {
    const ports = new PortFolder([53, 8080]);
    expect([53, 8080, 0, 1, 1023, 1024, 49151, 49152, 65535].map((p) => ports.label(p))).toEqual([
      '53', '8080', '0', '1-1023', '1-1023', '1024-49151', '1024-49151', '49152-65535', '49152-65535',
    ]);
  });

  it('prefixes context labels with the end, source first', () => {
    expect(contextLabelNames(['identity', 'pod'])).toEqual(['source_identity', 'source_pod', 'destination_identity', 'destination_pod']);
  });
});

// The OpenAPI 3.1 description of the flows API, served at /api/openapi.json.
// Filter parameters come from the same table the handlers parse (FILTERS).

import { FILTERS, MAX_FILTER_VALUE_LENGTH, MAX_FILTER_VALUES } from '../flows/filter.js';
import { DEFAULT_QUERY_BUDGET_MS } from '../flows/scan.js';
import { FLOW_TYPES, VERDICTS } from '../flows/record.js';

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;

const endpointSchema = {
  type: 'object',
  required: ['identity', 'identityName', 'namespace', 'workload', 'pod', 'labels', 'ip', 'port'],
  properties: {
    identity: { ...int, description: 'identity number (2 world, 3 unmanaged, ...)' },
    identityName: { ...str, description: 'reserved:world for reserved identities, else the number' },
    namespace: str,
    workload: { ...str, description: 'workload name, or the reserved name' },
    pod: str,
    labels: { type: 'object', additionalProperties: str },
    ip: { ...str, description: "'' when the event carried no readable address" },
    port: int,
  },
};

const recordSchema = {
  type: 'object',
  required: ['seq', 'time', 'node', 'type', 'verdict', 'direction', 'protocol', 'ipVersion', 'source', 'destination', 'ifindex', 'summary'],
  properties: {
    seq: { ...int, description: "position in this exporter's stream; the SSE event id" },
    time: { ...str, format: 'date-time', description: 'RFC 3339 UTC with nanoseconds' },
    node: { ...str, description: 'host name of the exporter that saw it' },
    type: { ...str, enum: [...FLOW_TYPES] },
    verdict: { ...str, enum: [...VERDICTS] },
    direction: { ...str, enum: ['ingress', 'egress', 'unknown'] },
    protocol: str,
    ipVersion: { ...int, enum: [0, 4, 6] },
    source: { $ref: '#/components/schemas/Endpoint' },
    destination: { $ref: '#/components/schemas/Endpoint' },
    ifindex: int,
    tcpFlags: { type: 'array', items: str },
    tcp: { type: 'object', properties: { outcome: { ...str, enum: ['established', 'refused', 'unanswered'] } } },
    drop: { type: 'object', properties: { reason: str, reasonClass: str } },
    policy: {
      type: 'object',
      description: 'policy-class drops, with NetworkPolicies watched: which NetworkPolicies select the source (egress) and destination (ingress) pods and whether one allows the packet',
      properties: {
        verdict: { ...str, enum: ['denied', 'unexplained', 'unknown'] },
        explanation: { ...str, description: '"denied: namespace N has default-deny policy P selecting pod X (ingress); no rule allows identity I (...) on tcp/8080", or "no NetworkPolicy explains this drop: ..."' },
        egress: { $ref: '#/components/schemas/PolicyDirection' },
        ingress: { $ref: '#/components/schemas/PolicyDirection' },
      },
    },
    dns: { type: 'object', properties: { qname: str, qtype: str, rcode: str, latencySeconds: num } },
    http: { type: 'object', properties: { method: str, path: str, status: int, latencySeconds: num } },
    summary: str,
  },
};

const policyRef = { type: 'object', properties: { namespace: str, name: str } };

const policyDirectionSchema = {
  type: 'object',
  properties: {
    direction: { ...str, enum: ['ingress', 'egress'] },
    pod: { type: ['object', 'null'], properties: { namespace: str, name: str } },
    policies: { type: 'array', items: { ...policyRef, properties: { ...policyRef.properties, defaultDeny: { type: 'boolean' } } } },
    allowedBy: { type: 'array', items: { ...policyRef, properties: { ...policyRef.properties, rule: int } } },
    verdict: { ...str, enum: ['denied', 'allowed', 'not-selected', 'no-pod'] },
  },
};

const ratioObject = (count: string) => ({
  type: 'object',
  properties: { [count]: int, errors: int, errorRatio: num },
});

const graphSchema = {
  type: 'object',
  properties: {
    windowSeconds: num,
    from: { ...str, format: 'date-time' },
    to: { ...str, format: 'date-time' },
    records: int,
    flows: int,
    flowsPerSecond: num,
    reportingNodes: { type: 'array', items: str },
    nodes: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          identity: int, identityName: str, name: str, namespace: str, workload: str,
          labels: { type: 'object', additionalProperties: str },
          reserved: { type: 'boolean' },
          unknownSource: { type: 'boolean', description: 'world or unmanaged' },
        },
      },
    },
    edges: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          source: int, destination: int,
          flows: { ...int, description: 'distinct connections (5-tuples) in the window' },
          flowsPerSecond: num, forwarded: int, dropped: int,
          dropReasons: { type: 'object', additionalProperties: int },
          ports: { type: 'array', items: int },
          protocols: { type: 'array', items: str },
          http: {
            type: 'object',
            properties: {
              ...ratioObject('requests').properties,
              p95Seconds: { ...num, description: "95th percentile of the exchanges' latencies (nearest rank); absent when none had one" },
            },
          },
          dns: ratioObject('queries'),
        },
      },
    },
  },
};

const errorBody = { 'application/json': { schema: { type: 'object', properties: { error: str, message: str } } } };
const errorResponse = { description: 'a parameter is invalid or out of bounds; the message names it', content: errorBody };
const overBudgetResponse = {
  description: `the query took more than its budget of work (${DEFAULT_QUERY_BUDGET_MS} ms by default) and was stopped; narrow it`,
  content: errorBody,
};

export function openApiDocument(version: string): unknown {
  const filterParams = FILTERS.map((f) => ({
    name: f.param,
    in: 'query',
    description: `${f.description}. Repeat or comma-separate for alternatives (at most ${MAX_FILTER_VALUES}, of at most ${MAX_FILTER_VALUE_LENGTH} characters each).`,
    schema: f.key === 'since' || f.key === 'until' ? str : { type: 'array', items: str },
    style: 'form',
    explode: true,
  }));
  return {
    openapi: '3.1.0',
    info: {
      title: 'flowlens flows API',
      version,
      description:
        'Recent flows, drops, TCP connection outcomes, DNS and HTTP exchanges seen by one flowlens exporter, and the service map built from them. ' +
        'Different filters must all match; several values of one filter match any of them.',
    },
    paths: {
      '/api/flows': {
        get: {
          summary: 'recent records, newest last; with follow=true a live Server-Sent Events stream',
          parameters: [
            ...filterParams,
            { name: 'limit', in: 'query', description: 'the newest N matching records (default 100; more than the store capacity is the store capacity); with follow, the history to send first (none by default)', schema: int },
            { name: 'follow', in: 'query', description: 'stream new records as Server-Sent Events (event "flow", id = seq, data = one record)', schema: { type: 'boolean' } },
          ],
          responses: {
            200: {
              description: 'records oldest first',
              content: {
                'application/json': { schema: { type: 'object', properties: { flows: { type: 'array', items: { $ref: '#/components/schemas/FlowRecord' } } } } },
                'text/event-stream': { schema: str },
              },
            },
            400: errorResponse,
            429: { description: 'too many live streams, or over the rate limit' },
            503: overBudgetResponse,
          },
        },
      },
      '/api/graph': {
        get: {
          summary: 'service map: identities as nodes, identity pairs as edges, over a window',
          parameters: [
            ...filterParams,
            { name: 'window', in: 'query', description: 'how far back: 30s, 5m, 1h (default 60s, at most 365d)', schema: str },
          ],
          responses: {
            200: { description: 'the graph', content: { 'application/json': { schema: { $ref: '#/components/schemas/ServiceGraph' } } } },
            400: errorResponse,
            429: { description: 'over the rate limit' },
            503: overBudgetResponse,
          },
        },
      },
    },
    components: {
      schemas: { Endpoint: endpointSchema, FlowRecord: recordSchema, PolicyDirection: policyDirectionSchema, ServiceGraph: graphSchema },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'when api.token is set' } },
    },
  };
}

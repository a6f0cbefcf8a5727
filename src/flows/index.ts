export {
  FLOW_TYPES,
  VERDICTS,
  RecordBuilder,
  endpointName,
  formatTimeNs,
  reasonExplanation,
  recordBytes,
  timeMs,
  type DnsFields,
  type EndpointIdentity,
  type FlowEndpoint,
  type FlowRecord,
  type FlowType,
  type HttpFields,
  type IdentityResolver,
  type VerdictName,
} from './record.js';
export { DEFAULT_FLOW_STORE_CAPACITY, FlowStore, type FlowListener, type FlowStoreStats } from './store.js';
export {
  DNS_RCODES,
  FILTERS,
  FilterError,
  compileFilter,
  filterToQuery,
  parseFilter,
  parseTime,
  type FilterSpec,
  type FlowFilter,
  type RawFilter,
} from './filter.js';
export { buildGraph, type GraphEdge, type GraphNode, type ServiceGraph } from './graph.js';
export { TimeOrderedMerger, compareRecords, mergeByTime } from './merge.js';
export { identityResolver } from './identities.js';

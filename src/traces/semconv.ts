// Semantic-convention attribute names that flowlens' spans and resources use.
// Stable ones come from @opentelemetry/semantic-conventions' main entry point
// (small, so the exporter may load it at start). The few still incubating are
// copied here, as that package asks of its `incubating` entry point (about
// 1 MB of constants, and its names may change between minor versions):
// test/traces/semconv.test.ts checks each copy against the package.

export {
  ATTR_CLIENT_ADDRESS,
  ATTR_CLIENT_PORT,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_K8S_CRONJOB_NAME,
  ATTR_K8S_DAEMONSET_NAME,
  ATTR_K8S_DEPLOYMENT_NAME,
  ATTR_K8S_JOB_NAME,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_NODE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_K8S_REPLICASET_NAME,
  ATTR_K8S_STATEFULSET_NAME,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_NETWORK_TRANSPORT,
  ATTR_NETWORK_TYPE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_NAMESPACE,
  ATTR_SERVICE_VERSION,
  ATTR_URL_FULL,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';

/** dns.question.name (incubating): the name being queried. */
export const ATTR_DNS_QUESTION_NAME = 'dns.question.name' as const;

/** Incubating names copied above, by the constant's name in the package's `incubating` entry point. */
export const INCUBATING: Readonly<Record<string, string>> = {
  ATTR_DNS_QUESTION_NAME,
};

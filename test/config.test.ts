import { describe, expect, it } from 'vitest';
import { DEFAULT_DESTINATION_PORTS, defaultConfig, loadConfig, OPTIONS, optionDefault, settingRanges } from '../src/config.js';
import { FlowlensError } from '../src/errors.js';

function fromFiles(files: Record<string, string>) {
  return (path: string) => {
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  };
}

function loadError(fn: () => unknown): FlowlensError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FlowlensError);
    return err as FlowlensError;
  }
  throw new Error('expected an error');
}

function fileError(yaml: string): FlowlensError {
  return loadError(() => loadConfig({ flags: { config: '/etc/flowlens.yaml' }, readFile: fromFiles({ '/etc/flowlens.yaml': yaml }) }));
}

describe('defaults', () => {
  it('match the documented defaults', () => {
    const c = defaultConfig();
    expect(c.listen).toBe('0.0.0.0:19965');
    expect(c.interfaces).toEqual(['lxc*', 'cali*', 'veth*', 'azv*', 'eni*', 'gke*']);
    expect(c.nodeInterfaces).toEqual([]);
    expect(c.identities).toBeNull();
    expect(c.clusterCidrs).toEqual([]);
    expect(c.kubeconfig).toBeNull();
    expect(c.pinPath).toBeNull();
    expect(c.otlpEndpoint).toBeNull();
    expect(c.logLevel).toBe('info');
    expect(c.datapath).toEqual({
      attachMode: 'auto', flowIdleTimeoutSeconds: 30, eventsPerSecond: 1000, ringBufferBytes: 262144,
      interfaceScanMilliseconds: 250, mapEntries: 16384, tcpUnansweredTimeoutSeconds: 3, programStats: false,
    });
    expect(c.http).toEqual({ enabled: true, redactPaths: [] });
    expect(c.dns.queryNames).toEqual({ mode: 'off', suffixes: [], top: 10 });
    expect(c.metrics.contexts).toEqual(['namespace', 'workload', 'identity']);
    expect(c.metrics.seriesLimit).toBe(10000);
    expect(c.metrics.destinationPorts).toEqual([...DEFAULT_DESTINATION_PORTS]);
    expect(c.identityLabels.exclude).toContain('pod-template-hash');
    expect(c.identityLabels.exclude).toContain('batch.kubernetes.io/controller-uid');
  });

  it('returns a fresh object each time', () => {
    const a = defaultConfig();
    a.interfaces.push('x*');
    expect(defaultConfig().interfaces).not.toContain('x*');
  });

  it('normalises DNS name suffixes: lower case, no trailing dot, each once', () => {
    const yaml = 'dns:\n  queryNames:\n    mode: suffixes\n    suffixes: [Example.COM., svc.cluster.local, example.com]\n';
    const c = loadConfig({ flags: { config: 'c.yaml' }, readFile: fromFiles({ 'c.yaml': yaml }) });
    expect(c.dns.queryNames).toEqual({ mode: 'suffixes', suffixes: ['example.com', 'svc.cluster.local'], top: 10 });
  });

  it('loads defaults when nothing is given, and for an empty file', () => {
    expect(loadConfig()).toEqual(defaultConfig());
    expect(loadConfig({ flags: { config: 'c.yaml' }, readFile: fromFiles({ 'c.yaml': '' }) })).toEqual(defaultConfig());
  });
});

describe('file', () => {
  it('takes drop reason classes, and names a class it does not know', () => {
    const file = (text: string) => ({ flags: { config: '/c.yaml' }, readFile: fromFiles({ '/c.yaml': text }) });
    expect(loadConfig(file('http:\n  enabled: false\n')).http).toEqual({ enabled: false, redactPaths: [] });
    expect(() => loadConfig(file('http:\n  enabled: sometimes\n'))).toThrow('http.enabled: expected true or false, got "sometimes"');
    expect(loadConfig(file('drops:\n  reasonClasses: { socket_filter: policy }\n')).drops.reasonClasses).toEqual({ socket_filter: 'policy' });
    expect(() => loadConfig(file('drops:\n  reasonClasses: { socket_filter: firewall }\n'))).toThrow(
      'drops.reasonClasses.socket_filter: expected one of policy|no_socket|congestion|routing|malformed|socket|other',
    );
  });

  it('reads nested settings and keeps defaults for the rest', () => {
    const c = loadConfig({
      flags: { config: '/etc/flowlens/config.yaml' },
      readFile: fromFiles({
        '/etc/flowlens/config.yaml': [
          'listen: "[::]:9100"',
          'clusterCidrs: [10.244.0.0/16, "FD00:10::/32"]',
          'identities: ids.yaml',
          'datapath:',
          '  attachMode: clsact',
          '  ringBufferBytes: 4096',
          'metrics:',
          '  contexts: [app, pod, app]',
          '  destinationPorts: [8080, 80, 80]',
        ].join('\n'),
      }),
    });
    expect(c.listen).toBe('[::]:9100');
    expect(c.clusterCidrs).toEqual(['10.244.0.0/16', 'fd00:10::/32']);
    expect(c.identities).toBe('/etc/flowlens/ids.yaml'); // relative to the file
    expect(c.datapath.attachMode).toBe('clsact');
    expect(c.datapath.ringBufferBytes).toBe(4096);
    expect(c.datapath.mapEntries).toBe(16384);
    expect(c.metrics.contexts).toEqual(['app', 'pod']);
    expect(c.metrics.destinationPorts).toEqual([80, 8080]);
    expect(c.metrics.seriesLimit).toBe(10000);
  });

  it('takes the file path from FLOWLENS_CONFIG when --config is absent', () => {
    const readFile = fromFiles({ '/a.yaml': 'logLevel: debug', '/b.yaml': 'logLevel: warn' });
    expect(loadConfig({ env: { FLOWLENS_CONFIG: '/a.yaml' }, readFile }).logLevel).toBe('debug');
    expect(loadConfig({ flags: { config: '/b.yaml' }, env: { FLOWLENS_CONFIG: '/a.yaml' }, readFile }).logLevel).toBe('warn');
  });

  it('names the field, the expectation and the value', () => {
    const err = fileError('metrics:\n  seriesLimit: abc\n');
    expect(err.code).toBe('FLOWLENS_ERR_CONFIG_INVALID');
    expect(err.exitStatus).toBe(2);
    expect(err.message).toContain('metrics.seriesLimit: expected an integer from 1 to 100000, got "abc"');
    expect(err.message).toContain('/etc/flowlens.yaml');
  });

  it.each([
    ['datapath:\n  ringBufferBytes: 5000', 'datapath.ringBufferBytes: expected a power of two from 4096 to 67108864, got 5000'],
    ['datapath:\n  ringBufferBytes: 2048', 'datapath.ringBufferBytes: expected a power of two from 4096 to 67108864, got 2048'],
    ['datapath:\n  attachMode: xdp', 'datapath.attachMode: expected one of auto|tcx|clsact, got "xdp"'],
    ['datapath:\n  flowIdleTimeoutSeconds: 1.5', 'datapath.flowIdleTimeoutSeconds: expected an integer from 1 to 3600, got 1.5'],
    ['datapath:\n  eventsPerSecond: 0', 'datapath.eventsPerSecond: expected an integer from 1 to 10000000, got 0'],
    ['datapath: 5', 'datapath: expected a mapping, got 5'],
    ['metrics:\n  contexts: [namespace, bad]', 'metrics.contexts[1]: expected one of identity|namespace|workload|workload_kind|app|pod, got "bad"'],
    ['metrics:\n  contexts: []', 'metrics.contexts: expected at least one context, got []'],
    ['metrics:\n  destinationPorts: [80, 70000]', 'metrics.destinationPorts[1]: expected a port number from 1 to 65535, got 70000'],
    ['listen: localhost', 'listen: expected HOST:PORT'],
    ['listen: "0.0.0.0:99999"', 'listen: expected a port from 0 to 65535 after the colon, got "0.0.0.0:99999"'],
    ['listen: "::1:19965"', 'listen: expected HOST:PORT'],
    ['interfaces: ["eth0", "a/b"]', 'interfaces[1]: expected an interface name or pattern (no "/", ":" or whitespace), got "a/b"'],
    ['interfaces: ["averyveryverylongname"]', 'interfaces[0]: expected an interface name of at most 15 characters'],
    ['interfaces: eth0', 'interfaces: expected a list of interface patterns, got "eth0"'],
    ['clusterCidrs: [10.0.0.300/8]', 'clusterCidrs[0]: "10.0.0.300/8" is not a valid CIDR'],
    ['clusterCidrs: [10.0.0.1/8]', 'clusterCidrs[0]: "10.0.0.1/8" is not a valid CIDR (host bits set; did you mean 10.0.0.0/8?)'],
    ['logLevel: trace', 'logLevel: expected one of debug|info|warn|error, got "trace"'],
    ['otlpEndpoint: collector:4317', 'otlpEndpoint: expected an http:// or https:// URL, got "collector:4317"'],
    ['pinPath: flowlens', 'pinPath: expected an absolute path (a directory on bpffs), got "flowlens"'],
    ['identityLabels:\n  exclude: ["bad key!"]', 'identityLabels.exclude[0]: expected a Kubernetes label key'],
    ['identities: 5', 'identities: expected a path, got 5'],
    ['http:\n  redactPaths: ["/users/(["]', 'http.redactPaths[0]: expected a valid regular expression'],
    ['dns:\n  queryNames: { mode: all }', 'dns.queryNames.mode: expected one of off|suffixes|top, got "all"'],
    ['dns:\n  queryNames: { mode: suffixes }', 'dns.queryNames: mode suffixes needs at least one name in suffixes'],
    ['dns:\n  queryNames: { mode: suffixes, suffixes: [example.com, "bad..com"] }', 'dns.queryNames.suffixes[1]: expected a domain name such as example.com (an empty label), got "bad..com"'],
    ['dns:\n  queryNames: { suffixes: [other] }', 'dns.queryNames.suffixes[0]: "other" is the label of the names outside the list'],
    ['dns:\n  queryNames: { suffixes: ["."] }', 'dns.queryNames.suffixes[0]: expected a domain name such as example.com (the root matches every name: use mode top)'],
    ['dns:\n  queryNames: { mode: top, top: 0 }', 'dns.queryNames.top: expected an integer from 1 to 1000, got 0'],
    ['dns:\n  queryNames: { mode: top, top: 1001 }', 'dns.queryNames.top: expected an integer from 1 to 1000, got 1001'],
  ])('rejects %j', (yaml, message) => {
    const err = fileError(yaml);
    expect(err.code).toBe('FLOWLENS_ERR_CONFIG_INVALID');
    expect(err.message).toContain(message);
  });

  it('rejects unknown keys at any depth, naming the key', () => {
    const top = fileError('bogus: 1\n');
    expect(top.code).toBe('FLOWLENS_ERR_CONFIG_UNKNOWN_KEY');
    expect(top.message).toContain('"bogus"');
    const nested = fileError('metrics:\n  series_limit: 5\n');
    expect(nested.code).toBe('FLOWLENS_ERR_CONFIG_UNKNOWN_KEY');
    expect(nested.message).toContain('"metrics.series_limit"');
    expect(nested.exitStatus).toBe(2);
    const names = fileError('dns:\n  queryNames: { mode: top, topN: 5 }\n');
    expect(names.code).toBe('FLOWLENS_ERR_CONFIG_UNKNOWN_KEY');
    expect(names.message).toContain('"dns.queryNames.topN"');
  });

  it('reports a missing file, non-YAML and a non-mapping top level with the path', () => {
    const missing = loadError(() => loadConfig({ flags: { config: '/nope.yaml' }, readFile: fromFiles({}) }));
    expect(missing.code).toBe('FLOWLENS_ERR_CONFIG_FILE_UNREADABLE');
    expect(missing.message).toContain('cannot read configuration file /nope.yaml: no such file');

    const garbage = fileError('a: [\n');
    expect(garbage.code).toBe('FLOWLENS_ERR_CONFIG_FILE_UNREADABLE');
    expect(garbage.message).toContain('/etc/flowlens.yaml: not valid YAML');

    const list = fileError('- a\n- b\n');
    expect(list.code).toBe('FLOWLENS_ERR_CONFIG_FILE_UNREADABLE');
    expect(list.message).toContain('top level must be a mapping');
  });

  it('reads a real file from disk by default', () => {
    const err = loadError(() => loadConfig({ flags: { config: '/nonexistent/flowlens.yaml' } }));
    expect(err.code).toBe('FLOWLENS_ERR_CONFIG_FILE_UNREADABLE');
  });
});

describe('precedence', () => {
  const readFile = fromFiles({
    '/c.yaml': 'listen: "127.0.0.1:1000"\nlogLevel: warn\ninterfaces: [file*]\nkubeconfig: /file/kube\n',
  });

  it('applies flags over env over file over defaults', () => {
    const c = loadConfig({
      flags: { config: '/c.yaml', listen: '127.0.0.1:3000' },
      env: { FLOWLENS_LISTEN: '127.0.0.1:2000', FLOWLENS_LOG_LEVEL: 'debug' },
      readFile,
    });
    expect(c.listen).toBe('127.0.0.1:3000'); // flag
    expect(c.logLevel).toBe('debug'); // env over file
    expect(c.interfaces).toEqual(['file*']); // file over default
    expect(c.kubeconfig).toBe('/file/kube');
    expect(c.metrics.seriesLimit).toBe(10000); // default
  });

  it('splits comma-separated env lists and lets repeated flags replace them', () => {
    const env = {
      FLOWLENS_INTERFACES: 'eth0, veth*,,',
      FLOWLENS_CLUSTER_CIDRS: '10.244.0.0/16,fd00::/8',
      FLOWLENS_NODE_INTERFACES: 'ens*',
    };
    const fromEnv = loadConfig({ env });
    expect(fromEnv.interfaces).toEqual(['eth0', 'veth*']);
    expect(fromEnv.clusterCidrs).toEqual(['10.244.0.0/16', 'fd00::/8']);
    expect(fromEnv.nodeInterfaces).toEqual(['ens*']);

    const withFlags = loadConfig({ env, flags: { interfaces: ['lxc*', 'cali*'], clusterCidrs: ['192.168.0.0/16'] } });
    expect(withFlags.interfaces).toEqual(['lxc*', 'cali*']);
    expect(withFlags.clusterCidrs).toEqual(['192.168.0.0/16']);
  });

  it('sets every env variable of the option table', () => {
    const c = loadConfig({
      env: {
        FLOWLENS_LISTEN: '[::1]:1', FLOWLENS_INTERFACES: 'a*', FLOWLENS_NODE_INTERFACES: 'b*',
        FLOWLENS_IDENTITIES: 'ids.yaml', FLOWLENS_CLUSTER_CIDRS: '10.0.0.0/8', FLOWLENS_KUBECONFIG: 'kube',
        FLOWLENS_KUBE_CONTEXT: 'prod', FLOWLENS_NODE_NAME: 'node-a',
        FLOWLENS_PIN_PATH: '/sys/fs/bpf/flowlens', FLOWLENS_OTLP_ENDPOINT: 'http://otel:4317', FLOWLENS_LOG_LEVEL: 'error',
        FLOWLENS_API_TOKEN_FILE: 'token',
      },
    });
    expect(c).toMatchObject({
      listen: '[::1]:1', interfaces: ['a*'], nodeInterfaces: ['b*'], identities: 'ids.yaml', clusterCidrs: ['10.0.0.0/8'],
      kubeconfig: 'kube', kubeContext: 'prod', nodeName: 'node-a', pinPath: '/sys/fs/bpf/flowlens', otlpEndpoint: 'http://otel:4317', logLevel: 'error',
      apiTokenFile: 'token',
    });
    expect(OPTIONS.filter((o) => o.key !== 'config').length).toBe(12);
  });

  it('treats empty env variables as unset', () => {
    expect(loadConfig({ env: { FLOWLENS_LISTEN: '', FLOWLENS_INTERFACES: ' ' } })).toEqual(defaultConfig());
  });

  it('names the env variable or flag a bad value came from', () => {
    const fromEnv = loadError(() => loadConfig({ env: { FLOWLENS_CLUSTER_CIDRS: '10.0.0.0/8,nope' } }));
    expect(fromEnv.code).toBe('FLOWLENS_ERR_CONFIG_INVALID');
    expect(fromEnv.message).toContain('(from FLOWLENS_CLUSTER_CIDRS): clusterCidrs[1]: "nope" is not a valid CIDR');

    const fromFlag = loadError(() => loadConfig({ flags: { logLevel: 'loud' } }));
    expect(fromFlag.message).toContain('(from --log-level): logLevel: expected one of debug|info|warn|error, got "loud"');
  });
});

describe('optionDefault', () => {
  it('renders defaults for help', () => {
    expect(optionDefault('listen')).toBe('0.0.0.0:19965');
    expect(optionDefault('interfaces')).toBe('lxc*,cali*,veth*,azv*,eni*,gke*');
    expect(optionDefault('identities')).toBe('none');
    expect(optionDefault('clusterCidrs')).toBe('none');
  });
});

describe('flows and api settings', () => {
  it('defaults: 65535 records, 20 API requests per second, no token', () => {
    const c = loadConfig({});
    expect([c.flows.capacity, c.api.requestsPerSecond, c.apiTokenFile]).toEqual([65535, 20, null]);
  });
  it('refuses a capacity that is not a positive integer, naming the field', () => {
    expect(() => loadConfig({ flags: { config: 'f.yaml' }, readFile: () => 'flows: { capacity: 0 }' })).toThrow(
      'invalid configuration (from f.yaml): flows.capacity: expected an integer from 1 to 1000000, got 0',
    );
  });
  it('resolves the token file against the config file directory', () => {
    const c = loadConfig({ flags: { config: '/etc/flowlens/f.yaml' }, readFile: () => 'apiTokenFile: token' });
    expect(c.apiTokenFile).toBe('/etc/flowlens/token');
  });
});

describe('bounds of numeric settings', () => {
  // One row per numeric setting: a value beyond each end (where there is room
  // for one), and the exact error. A setting without a row fails the last test.
  const fix = 'Fix the value; see "flowlens run --help" for the accepted values and defaults.';
  const int = (min: number, max: number) => `expected an integer from ${min} to ${max}`;
  const cases: Array<[setting: string, yaml: string, got: string, expected: string]> = [
    ['flows.capacity', 'flows: { capacity: 1e12 }', '1000000000000', int(1, 1000000)],
    ['flows.capacity', 'flows: { capacity: 1000001 }', '1000001', int(1, 1000000)],
    ['flows.capacity', 'flows: { capacity: .inf }', 'Infinity', int(1, 1000000)],
    ['datapath.mapEntries', 'datapath: { mapEntries: 100000000 }', '100000000', int(1, 1048576)],
    ['datapath.mapEntries', 'datapath: { mapEntries: 0 }', '0', int(1, 1048576)],
    ['datapath.flowIdleTimeoutSeconds', 'datapath: { flowIdleTimeoutSeconds: 3601 }', '3601', int(1, 3600)],
    ['datapath.flowIdleTimeoutSeconds', 'datapath: { flowIdleTimeoutSeconds: 0 }', '0', int(1, 3600)],
    ['datapath.eventsPerSecond', 'datapath: { eventsPerSecond: 10000001 }', '10000001', int(1, 10000000)],
    ['datapath.ringBufferBytes', 'datapath: { ringBufferBytes: 134217728 }', '134217728', 'expected a power of two from 4096 to 67108864'],
    ['datapath.ringBufferBytes', 'datapath: { ringBufferBytes: 2048 }', '2048', 'expected a power of two from 4096 to 67108864'],
    ['datapath.interfaceScanMilliseconds', 'datapath: { interfaceScanMilliseconds: 9 }', '9', int(10, 60000)],
    ['datapath.interfaceScanMilliseconds', 'datapath: { interfaceScanMilliseconds: 60001 }', '60001', int(10, 60000)],
    ['datapath.tcpUnansweredTimeoutSeconds', 'datapath: { tcpUnansweredTimeoutSeconds: 601 }', '601', int(1, 600)],
    ['datapath.tcpUnansweredTimeoutSeconds', 'datapath: { tcpUnansweredTimeoutSeconds: -1 }', '-1', int(1, 600)],
    ['metrics.seriesLimit', 'metrics: { seriesLimit: 100001 }', '100001', int(1, 100000)],
    ['metrics.seriesLimit', 'metrics: { seriesLimit: 0 }', '0', int(1, 100000)],
    ['metrics.identityTtlSeconds', 'metrics: { identityTtlSeconds: 86401 }', '86401', int(1, 86400)],
    ['metrics.identityTtlSeconds', 'metrics: { identityTtlSeconds: 0 }', '0', int(1, 86400)],
    ['dns.unansweredTimeoutSeconds', 'dns: { unansweredTimeoutSeconds: 301 }', '301', int(1, 300)],
    ['dns.unansweredTimeoutSeconds', 'dns: { unansweredTimeoutSeconds: 0 }', '0', int(1, 300)],
    ['dns.queryNames.top', 'dns: { queryNames: { top: 1001 } }', '1001', int(1, 1000)],
    ['dns.queryNames.top', 'dns: { queryNames: { top: 0 } }', '0', int(1, 1000)],
    ['traces.samplingRatio', 'traces: { samplingRatio: 1.5 }', '1.5', 'expected a number from 0 to 1'],
    ['traces.samplingRatio', 'traces: { samplingRatio: -0.1 }', '-0.1', 'expected a number from 0 to 1'],
    ['traces.maxQueueSize', 'traces: { maxQueueSize: 100001 }', '100001', int(1, 100000)],
    ['traces.maxQueueSize', 'traces: { maxQueueSize: 0 }', '0', int(1, 100000)],
    ['traces.maxExportBatchSize', 'traces: { maxExportBatchSize: 100001 }', '100001', int(1, 100000)],
    ['traces.maxExportBatchSize', 'traces: { maxExportBatchSize: 0 }', '0', int(1, 100000)],
    ['traces.exportIntervalMilliseconds', 'traces: { exportIntervalMilliseconds: 3000000000 }', '3000000000', int(10, 600000)],
    ['traces.exportIntervalMilliseconds', 'traces: { exportIntervalMilliseconds: 9 }', '9', int(10, 600000)],
    ['traces.exportTimeoutMilliseconds', 'traces: { exportTimeoutMilliseconds: 600001 }', '600001', int(100, 600000)],
    ['traces.exportTimeoutMilliseconds', 'traces: { exportTimeoutMilliseconds: 99 }', '99', int(100, 600000)],
    ['flowLogs.maxQueueSize', 'flowLogs: { maxQueueSize: 100001 }', '100001', int(1, 100000)],
    ['flowLogs.maxQueueSize', 'flowLogs: { maxQueueSize: 0 }', '0', int(1, 100000)],
    ['flowLogs.maxExportBatchSize', 'flowLogs: { maxExportBatchSize: 100001 }', '100001', int(1, 100000)],
    ['flowLogs.maxExportBatchSize', 'flowLogs: { maxExportBatchSize: 0 }', '0', int(1, 100000)],
    ['flowLogs.exportIntervalMilliseconds', 'flowLogs: { exportIntervalMilliseconds: 3000000000 }', '3000000000', int(10, 600000)],
    ['flowLogs.exportIntervalMilliseconds', 'flowLogs: { exportIntervalMilliseconds: 9 }', '9', int(10, 600000)],
    ['flowLogs.exportTimeoutMilliseconds', 'flowLogs: { exportTimeoutMilliseconds: 600001 }', '600001', int(100, 600000)],
    ['flowLogs.exportTimeoutMilliseconds', 'flowLogs: { exportTimeoutMilliseconds: 99 }', '99', int(100, 600000)],
    ['kubernetes.staleGraceSeconds', 'kubernetes: { staleGraceSeconds: 3600.5 }', '3600.5', 'expected a number from 0 to 3600'],
    ['kubernetes.staleGraceSeconds', 'kubernetes: { staleGraceSeconds: -1 }', '-1', 'expected a number from 0 to 3600'],
    ['api.requestsPerSecond', 'api: { requestsPerSecond: 100001 }', '100001', 'expected a number from 0 to 100000'],
    ['api.requestsPerSecond', 'api: { requestsPerSecond: -1 }', '-1', 'expected a number from 0 to 100000'],
  ];

  it.each(cases)('refuses %s from %j', (setting, yaml, got, expected) => {
    const err = fileError(yaml);
    expect(err.code).toBe('FLOWLENS_ERR_CONFIG_INVALID');
    expect(err.exitStatus).toBe(2);
    expect(err.message).toBe(`invalid configuration (from /etc/flowlens.yaml): ${setting}: ${expected}, got ${got}. ${fix}`);
  });

  it('accepts each bound itself', () => {
    for (const [setting, { min, max }] of settingRanges()) {
      for (const value of setting === 'datapath.ringBufferBytes' ? [4096, 67108864] : [min, max]) {
        const [section, ...rest] = setting.split('.');
        const nested = rest.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
        const c = loadConfig({ flags: { config: 'c.yaml' }, readFile: () => JSON.stringify({ [section!]: nested }) });
        expect(rest.reduce<any>((o, k) => o[k], (c as any)[section!]), setting).toBe(value);
      }
    }
  });

  it('has a row for every numeric setting of the schema', () => {
    expect([...new Set(cases.map((c) => c[0]))].sort()).toEqual([...settingRanges().keys()].sort());
  });
});

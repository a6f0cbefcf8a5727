import { describe, expect, it } from 'vitest';
import { mainHelpText, parseCli, runHelpText } from '../src/cli-args.js';
import { defaultConfig, loadConfig, OPTIONS, optionDefault, settingRanges } from '../src/config.js';
import { FlowlensError } from '../src/errors.js';

function usageError(argv: string[]): FlowlensError {
  try {
    parseCli(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(FlowlensError);
    const e = err as FlowlensError;
    expect(e.code).toBe('FLOWLENS_ERR_CLI_USAGE');
    expect(e.exitStatus).toBe(2);
    return e;
  }
  throw new Error(`expected ${argv.join(' ')} to fail`);
}

describe('parseCli run', () => {
  it('parses every option in both --flag value and --flag=value form', () => {
    const r = parseCli([
      'run', '--config', '/etc/f.yaml', '--listen=127.0.0.1:9000', '--interface', 'lxc*', '--interface=eth0',
      '--node-interface', 'ens*', '--identities', 'ids.yaml', '--cluster-cidr', '10.0.0.0/8', '--cluster-cidr=fd00::/8',
      '--kubeconfig=/k', '--pin-path', '/sys/fs/bpf/flowlens', '--otlp-endpoint', 'http://otel:4317', '--log-level', 'debug',
    ]);
    expect(r.command).toBe('run');
    expect(r.flags).toEqual({
      config: '/etc/f.yaml',
      listen: '127.0.0.1:9000',
      interfaces: ['lxc*', 'eth0'],
      nodeInterfaces: ['ens*'],
      identities: 'ids.yaml',
      clusterCidrs: ['10.0.0.0/8', 'fd00::/8'],
      kubeconfig: '/k',
      pinPath: '/sys/fs/bpf/flowlens',
      otlpEndpoint: 'http://otel:4317',
      logLevel: 'debug',
    });
  });

  it('leaves unset flags out, so env and file values survive', () => {
    expect(parseCli(['run']).flags).toEqual({});
    const r = parseCli(['run', '--log-level', 'warn']);
    const c = loadConfig({ flags: r.flags, env: { FLOWLENS_LISTEN: '127.0.0.1:1' } });
    expect(c.listen).toBe('127.0.0.1:1');
    expect(c.logLevel).toBe('warn');
  });

  it('rejects unknown flags, naming them', () => {
    expect(usageError(['run', '--interfaces', 'x']).message).toContain('unknown option "--interfaces" for "flowlens run"');
    expect(usageError(['run', '--bogus']).message).toContain('Run "flowlens run --help"');
  });

  it('rejects a flag without its value, and stray arguments', () => {
    expect(usageError(['run', '--listen']).message).toContain('option "--listen" needs a value');
    expect(usageError(['run', '--listen', '--interface', 'x']).message).toContain('option "--listen" needs a value');
    expect(usageError(['run', 'extra']).message).toContain('unexpected argument "extra"');
    expect(usageError(['run', '--help=yes']).message).toContain('option "--help" does not take a value');
  });
});

describe('parseCli commands', () => {
  it('shows main help without a command and for --help, -h and help', () => {
    for (const argv of [[], ['--help'], ['-h'], ['help']]) {
      const r = parseCli(argv);
      expect(r.command).toBe('help');
      expect(r.helpText).toBe(mainHelpText());
    }
  });

  it('shows run help for run --help and help run', () => {
    expect(parseCli(['run', '--help']).helpText).toBe(runHelpText());
    expect(parseCli(['run', '-h']).helpText).toBe(runHelpText());
    expect(parseCli(['help', 'run']).helpText).toBe(runHelpText());
  });

  it('recognises --version', () => {
    expect(parseCli(['--version']).command).toBe('version');
    expect(parseCli(['-V']).command).toBe('version');
  });

  it('hands observe its arguments untouched', () => {
    const r = parseCli(['observe', '--server', 'http://a:19965', '--follow', '-o', 'json']);
    expect(r.command).toBe('observe');
    expect(r.args).toEqual(['--server', 'http://a:19965', '--follow', '-o', 'json']);
  });

  it('rejects unknown commands and options before a command', () => {
    expect(usageError(['start']).message).toContain('unknown command "start"');
    expect(usageError(['help', 'start']).message).toContain('unknown command "start"');
    expect(usageError(['--listen', 'x']).message).toContain('unknown option "--listen"');
  });
});

describe('help text', () => {
  const help = runHelpText();

  it('documents every flag-settable setting with its flag, env variable and default', () => {
    expect(OPTIONS.length).toBe(13);
    for (const opt of OPTIONS) {
      expect(help).toContain(`--${opt.flag} ${opt.value}`);
      expect(help).toContain(`env ${opt.env}`);
      if (opt.key !== 'config') {
        const block = help.split(`--${opt.flag} `)[1]!.split('\n  --')[0]!;
        expect(block, opt.flag).toContain(`default ${optionDefault(opt.key)}`);
      }
    }
    expect(help).toContain('default 0.0.0.0:19965');
    expect(help).toContain('default lxc*,cali*,veth*,azv*,eni*,gke*');
  });

  it('covers every top-level config key, by flag or in the file-only list', () => {
    const flagKeys = new Set<string>(OPTIONS.map((o) => o.key));
    for (const [key, value] of Object.entries(defaultConfig())) {
      if (flagKeys.has(key)) continue;
      for (const sub of Object.keys(value as object)) expect(help).toContain(`${key}.${sub}: `);
    }
    expect(help).toContain('datapath.ringBufferBytes: 262144');
    expect(help).toContain('metrics.seriesLimit: 10000');
  });

  it('follows each numeric default with the range it accepts', () => {
    expect(help).toContain('flows.capacity: 65535 (1 to 1000000)');
    expect(help).toContain('datapath.mapEntries: 16384 (1 to 1048576)');
    expect(help).toContain('datapath.ringBufferBytes: 262144 (4096 to 67108864)');
    expect(help).toContain('top: 10 (1 to 1000)');
    for (const [setting, { min, max }] of settingRanges()) {
      const last = setting.split('.').pop()!;
      expect(help, setting).toMatch(new RegExp(`${last}: [^ ]+ \\(${min} to ${max}\\)`));
    }
  });

  it('marks list options as repeatable and comma-separated in env', () => {
    expect(help).toContain('--cluster-cidr CIDR (repeatable)');
    expect(help).toContain('env FLOWLENS_CLUSTER_CIDRS (comma-separated)');
  });

  it('lists the commands in the main help', () => {
    expect(mainHelpText()).toContain('  run ');
    expect(mainHelpText()).toContain('  observe ');
    expect(mainHelpText()).toContain('--version');
  });
});

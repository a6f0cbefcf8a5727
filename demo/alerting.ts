// The demo's Prometheus and Alertmanager configuration: flowlens's own rules,
// generated from alerts/src with demo-short windows, and the example
// Alertmanager configuration (alerts/alertmanager.example.yaml) with its
// receivers pointed at the demo's webhook receiver.

import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { DEFAULT_CONFIG, withShortWindows, type AlertsConfig } from '../alerts/src/config.js';
import { renderRuleFile } from '../alerts/src/render.js';

/** Prometheus scrapes and evaluates this often. */
export const SCRAPE_INTERVAL = '2s';

/**
 * The shipped rules with the demo's windows: rates over 1 minute, 10 s `for:`.
 * The demo's public-facing workload is frontend/web, and its policy drops are
 * a client's occasional direct call to the backend, so the burst threshold is
 * lower than a production cluster's.
 */
export function demoAlertsConfig(): AlertsConfig {
  const short = withShortWindows(DEFAULT_CONFIG, { rateWindow: '1m', forDuration: '10s' });
  return {
    ...short,
    publicFacing: [{ destination_namespace: 'frontend', destination_workload: 'web' }],
    security: { ...short.security, policyDropsPerSecond: 0.5 },
  };
}

export function demoRuleFile(): string {
  return renderRuleFile(demoAlertsConfig());
}

export function prometheusConfig(opts: { exporter: string; alertmanager: string; ruleFile: string }): string {
  return YAML.stringify({
    global: { scrape_interval: SCRAPE_INTERVAL, evaluation_interval: SCRAPE_INTERVAL },
    rule_files: [opts.ruleFile],
    alerting: { alertmanagers: [{ static_configs: [{ targets: [opts.alertmanager] }] }] },
    scrape_configs: [{ job_name: 'flowlens', static_configs: [{ targets: [opts.exporter] }] }],
  });
}

interface AmConfig {
  route: { group_wait?: string; group_interval?: string; repeat_interval?: string; routes?: { repeat_interval?: string }[] };
  receivers: { name: string; webhook_configs?: { url: string }[] }[];
}

/**
 * The example Alertmanager configuration as it is, except: every webhook goes
 * to the demo's receiver (same path, so the receiver knows pager from work
 * queue), and groups are sent after 5 s instead of 30 s.
 */
export function alertmanagerConfig(examplePath: string, webhookBase: string): string {
  const config = YAML.parse(readFileSync(examplePath, 'utf8')) as AmConfig;
  config.route.group_wait = '5s';
  config.route.group_interval = '1m';
  for (const receiver of config.receivers) {
    for (const hook of receiver.webhook_configs ?? []) hook.url = new URL(new URL(hook.url).pathname, webhookBase).toString();
  }
  return YAML.stringify(config);
}

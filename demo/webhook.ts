// The demo's pager: a webhook receiver for Alertmanager that prints each
// notification on the terminal and appends it, one JSON object per alert and
// line, to a file (what the end-to-end test reads).
//
//   node webhook.js PORT PAGES_FILE STARTED_AT_MS

import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';

/** What Alertmanager posts (webhook_config, version 4), as far as the demo reads it. */
interface Notification {
  receiver: string;
  status: 'firing' | 'resolved';
  alerts: { status: 'firing' | 'resolved'; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string }[];
}

/** One line of the pages file. */
export interface Page {
  receivedAt: string;
  /** Seconds since the demo started. */
  afterSeconds: number;
  /** The webhook's path: /pager or /queue (alerts/alertmanager.example.yaml). */
  path: string;
  receiver: string;
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

const [portText, pagesFile, startedText] = process.argv.slice(2);
const port = Number(portText);
const startedAt = Number(startedText);
if (!Number.isInteger(port) || !pagesFile || !Number.isFinite(startedAt)) {
  console.error('usage: webhook.js PORT PAGES_FILE STARTED_AT_MS');
  process.exit(2);
}

const color = process.stdout.isTTY && process.env.NO_COLOR === undefined;
const paint = (code: string, text: string): string => (color ? `\x1b[${code}m${text}\x1b[0m` : text);

function print(page: Page): void {
  const l = page.labels;
  const where = l.destination_namespace ? ` ${l.destination_namespace}/${l.destination_workload}` : l.instance ? ` ${l.instance}` : '';
  const head = `[+${page.afterSeconds.toFixed(0)}s] ${page.path === '/pager' ? 'PAGE' : 'NOTE'} ${page.status.toUpperCase()}`;
  const tone = page.status === 'resolved' ? '32' : l.severity === 'critical' ? '1;31' : '33';
  process.stdout.write(`${paint(tone, head)} ${paint('1', l.alertname ?? '?')} (${l.severity ?? '-'})${where}\n`);
  if (page.status === 'firing' && page.annotations.description) process.stdout.write(`        ${page.annotations.description}\n`);
}

const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    try {
      const n = JSON.parse(body) as Notification;
      const now = Date.now();
      for (const alert of n.alerts) {
        const page: Page = {
          receivedAt: new Date(now).toISOString(),
          afterSeconds: (now - startedAt) / 1000,
          path: req.url ?? '/',
          receiver: n.receiver,
          status: alert.status,
          labels: alert.labels,
          annotations: alert.annotations,
        };
        appendFileSync(pagesFile, JSON.stringify(page) + '\n');
        print(page);
      }
      res.writeHead(200).end();
    } catch (err) {
      res.writeHead(400).end(`${(err as Error).message}\n`);
    }
  });
});
server.listen(port, '127.0.0.1', () => console.error(`webhook receiver listening on 127.0.0.1:${port}`));

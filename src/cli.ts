#!/usr/bin/env node
import { parseCli } from './cli-args.js';
import { loadConfig, type ConfigFlags } from './config.js';
import { exitStatusOf, isFlowlensError } from './errors.js';
import { createLogger } from './log.js';
import { parseObserveArgs, runObserve } from './observe.js';
import { preflight } from './preflight.js';
import { acquireInstanceLock } from './instance-lock.js';
import { packageVersion, startExporter, type Exporter } from './run.js';
import { firstSignal, stopWithin } from './shutdown.js';

/**
 * Entry point. Errors that flowlens knows (bad config, missing privileges,
 * verifier rejections, ...) print their own message and exit with their own
 * status; anything else is a bug and prints its stack.
 */
async function main(argv: string[]): Promise<number> {
  const cli = parseCli(argv);
  switch (cli.command) {
    case 'help':
      process.stdout.write(cli.helpText + '\n');
      return 0;
    case 'version':
      process.stdout.write(`flowlens ${packageVersion()}\n`);
      return 0;
    case 'observe':
      return observe(cli.args);
    case 'run':
      return run(cli.flags);
  }
}

async function observe(args: string[]): Promise<number> {
  const parsed = parseObserveArgs(args, process.env);
  if (parsed.help) {
    process.stdout.write(parsed.text);
    return 0;
  }
  const abort = new AbortController();
  // Ctrl-C ends --follow cleanly, with what was held for ordering printed
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // a closed pipe (observe ... | head) ends the command quietly
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
  });
  return runObserve(parsed.options, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    color: Boolean(process.stdout.isTTY) && process.env.NO_COLOR === undefined,
    signal: abort.signal,
  });
}

async function run(flags: ConfigFlags): Promise<number> {
  const config = loadConfig({ flags, env: process.env });
  const log = createLogger(config.logLevel);
  preflight();
  // One exporter per node, checked before anything touches the kernel: a
  // second one must not attach at all. Held until the process ends.
  const lock = await acquireInstanceLock({ listen: config.listen });
  // Handled from here on: a signal while starting stops the exporter as soon
  // as it has started, rather than leaving what was attached so far.
  const signal = firstSignal(log);
  let exporter: Exporter;
  try {
    exporter = await startExporter(config, log);
  } catch (err) {
    lock.release();
    throw err;
  }
  log.info(`${await signal}: ending live streams, detaching and shutting down`);
  // the lock is released with the process, after everything is detached
  return stopWithin({ stop: () => exporter.stop(), pending: () => exporter.stopping, log });
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (err: unknown) => {
    if (isFlowlensError(err)) {
      process.stderr.write(`flowlens: ${err.message} [${err.code}]\n`);
    } else {
      process.stderr.write(`flowlens: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    }
    process.exit(exitStatusOf(err));
  },
);

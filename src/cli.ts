#!/usr/bin/env node
import { parseCli } from './cli-args.js';
import { loadConfig, type ConfigFlags } from './config.js';
import { exitStatusOf, isFlowlensError } from './errors.js';
import { createLogger } from './log.js';
import { parseObserveArgs, runObserve } from './observe.js';
import { preflight } from './preflight.js';
import { packageVersion, startExporter } from './run.js';

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
  const exporter = await startExporter(config, log);

  // SIGINT/SIGTERM: remove every attachment, then exit 0; a second signal exits at once.
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(130);
      stopping = true;
      log.info(`${signal}: detaching and shutting down`);
      exporter.stop().then(
        () => resolve(0),
        (err) => {
          log.error(`shutdown failed: ${(err as Error).message}`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
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

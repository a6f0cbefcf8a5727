#!/usr/bin/env node
import { parseCli } from './cli-args.js';
import { loadConfig, type ConfigFlags } from './config.js';
import { exitStatusOf, isFlowlensError } from './errors.js';
import { createLogger } from './log.js';
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
      process.stderr.write('flowlens observe is not available yet in this version\n');
      return 2;
    case 'run':
      return run(cli.flags);
  }
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

// `make demo-stop`: stops a demo started in another shell. The demo's own
// process tears down (as on Ctrl-C); when it is gone already (killed, crashed),
// this removes what its state file lists.
//
//   node dist/demo/demo/stop.js [--name NAME]

import { alive, readState, stateFile, teardown } from './state.js';
import { DEFAULT_NAMES, validateNames } from './topology.js';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  let name = DEFAULT_NAMES.name;
  if (args[0] === '--name' && args[1]) name = args[1];
  else if (args[0]?.startsWith('--name=')) name = args[0].slice('--name='.length);
  else if (args.length > 0) {
    process.stderr.write('usage: stop.js [--name NAME]\n');
    return 2;
  }
  validateNames({ ...DEFAULT_NAMES, name });
  const state = readState(name);
  if (!state) {
    console.log(`no demo "${name}" is running (no ${stateFile(name)})`);
    return 0;
  }
  if (alive(state.main)) {
    console.log(`stopping the demo "${name}" (pid ${state.main.pid})...`);
    process.kill(state.main.pid, 'SIGTERM');
    // its teardown waits up to 15 s for its processes; then it removes the state file and exits
    const deadline = Date.now() + 60_000;
    while (alive(state.main) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive(state.main)) {
      console.log(`the demo (pid ${state.main.pid}) did not exit within 60 s: killing it`);
      process.kill(state.main.pid, 'SIGKILL');
    }
  }
  const left = readState(name);
  if (!left) {
    console.log('demo stopped; nothing left behind.');
    return 0;
  }
  console.log(`removing what the demo "${name}" left behind...`);
  const problems = await teardown(left, (line) => console.log(line));
  if (problems.length > 0) {
    console.log(`could not remove:\n  ${problems.join('\n  ')}`);
    return 1;
  }
  console.log('demo stopped; nothing left behind.');
  return 0;
}

main().then(
  (status) => process.exit(status),
  (err: Error) => {
    process.stderr.write(`flowlens demo-stop: ${err.message}\n`);
    process.exit(1);
  },
);

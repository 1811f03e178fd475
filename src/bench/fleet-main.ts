// The fleet process (see fleet-process.ts): runs one fleet as its parent asks over IPC and reports
// every file and the result. It stops when the parent closes the channel or goes away.

import { performance } from 'node:perf_hooks';
import { runFleet } from './fleet.js';
import type { FleetCommand, FleetReport } from './fleet-process.js';

const stop = new AbortController();
const report = (message: FleetReport): void => {
  if (process.connected) process.send!(message);
};

async function run(command: Extract<FleetCommand, { type: 'run' }>): Promise<void> {
  const before = performance.eventLoopUtilization();
  try {
    report({ type: 'started' });
    const result = await runFleet({ ...command.job, signal: stop.signal, onFile: (ok) => report({ type: 'file', ok }) });
    report({ type: 'result', result, loopBusy: performance.eventLoopUtilization(before).utilization });
  } catch (error) {
    report({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  }
  // The parent closes the channel once it has the report; with it gone this process exits.
}

if (!process.send) {
  process.stderr.write('fleet-main: run by smartftp bench over IPC, not by hand\n');
  process.exit(2);
}
process.on('disconnect', () => stop.abort());
// Ctrl-C reaches the whole process group; the parent decides what it means and tells us.
process.on('SIGINT', () => undefined);
process.on('message', (command: FleetCommand) => {
  if (command.type === 'abort') stop.abort();
  else void run(command);
});

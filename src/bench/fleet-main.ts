// The fleet process (see fleet-process.ts): runs one fleet as its parent asks over IPC and reports
// every file and the result. It stops when the parent closes the channel or goes away.

import { performance } from 'node:perf_hooks';
import { makeBenchFile, startEmulation } from '../emulator/emulation.js';
import { runFleet } from './fleet.js';
import type { FleetCommand, FleetJob, FleetReport } from './fleet-process.js';

/** The warm-up: two clients, three files each, from a mirror as fast as the machine. */
const WARM_UP = { clients: 2, files: 3, size: 256 * 1024, linkRate: 200e6 };

const stop = new AbortController();
const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const report = (message: FleetReport): void => {
  if (process.connected) process.send!(message);
};

/**
 * A few retrievals from a private mirror before the point starts. A fresh Node process compiles
 * its code during its first transfers: measured, the first byte of a 16-client point came after
 * 48 ms in a cold process and after 20 ms in a warm one, out of a point of about 4.5 s. The paper's
 * clients were programs already running.
 */
async function warmUp(job: FleetJob): Promise<void> {
  const file = await makeBenchFile(WARM_UP.size);
  try {
    const emulation = await startEmulation({ file, linkRates: [WARM_UP.linkRate], controlDelayMs: 0, maxSessions: 16 });
    try {
      await runFleet({ ...job, cert: emulation.cert, remotePath: file.remotePath, clients: WARM_UP.clients, files: WARM_UP.files, clientLinkRate: undefined, signal: stop.signal });
    } finally {
      await emulation.stop();
    }
  } finally {
    await file.dispose();
  }
}

async function run(command: Extract<FleetCommand, { type: 'run' }>): Promise<void> {
  try {
    await warmUp(command.job);
  } catch (error) {
    report({ type: 'error', message: `warm-up: ${messageOf(error)}` });
    return;
  }
  const before = performance.eventLoopUtilization();
  try {
    const result = await runFleet({
      ...command.job,
      signal: stop.signal,
      onStart: () => report({ type: 'started' }),
      onFile: (ok) => report({ type: 'file', ok }),
    });
    report({ type: 'result', result, loopBusy: performance.eventLoopUtilization(before).utilization });
  } catch (error) {
    report({ type: 'error', message: messageOf(error) });
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

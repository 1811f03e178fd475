// The client fleet in a process of its own. In the paper, mirrors and clients were separate
// machines; here they at least get separate event loops, and so both cores of a 2-core machine.
// With both in one process, the servers' pacing waited behind the clients' work: at 4 servers and
// 16 clients the loop delivered 82 % of the links on average over 6 runs, against 86 % with the
// two apart (the same director, the same seeds).

import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FleetOptions, FleetResult } from './fleet.js';

/** What the fleet process is asked to run: the fleet's options without the callbacks. */
export type FleetJob = Omit<FleetOptions, 'signal' | 'onStart' | 'onFile'>;

/** Parent -> fleet process. */
export type FleetCommand = { type: 'run'; job: FleetJob } | { type: 'abort' };

/** Fleet process -> parent. */
export type FleetReport =
  | { type: 'started' }
  | { type: 'file'; ok: boolean }
  | { type: 'result'; result: FleetResult; loopBusy: number }
  | { type: 'error'; message: string };

export interface FleetRun {
  fleet: FleetResult;
  /** How busy the fleet process's event loop was (0..1). */
  loopBusy: number;
}

/**
 * dist/bench/fleet-main.js: beside this module in dist/bench/, one level up from the CLI's bundle
 * in dist/bundle/, and under dist/ when this module runs from src/ under the test runner.
 */
function entry(): string {
  const here = fileURLToPath(import.meta.url);
  const compiled = here.endsWith('.ts')
    ? here.replace(/[/\\]src[/\\]bench[/\\]fleet-process\.ts$/, '/dist/bench/fleet-main.js')
    : fileURLToPath(new URL('../bench/fleet-main.js', import.meta.url));
  if (!existsSync(compiled)) throw new Error(`${compiled} is missing; build first with: npm run build`);
  return compiled;
}

/** How long the fleet process may take to exit after it reported, before it is killed. */
const EXIT_GRACE_MS = 5_000;

export function runFleetProcess(job: FleetJob, hooks: { signal?: AbortSignal; onStart?: () => void; onFile?: (ok: boolean) => void } = {}): Promise<FleetRun> {
  return new Promise<FleetRun>((resolve, reject) => {
    const child = fork(entry(), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let outcome: { run: FleetRun } | { error: Error } | undefined;
    let grace: NodeJS.Timeout | undefined;
    const send = (command: FleetCommand): void => {
      if (child.connected) child.send(command);
    };
    const onAbort = (): void => send({ type: 'abort' });
    // Settled once the process is gone, so no fleet outlives its point.
    const decide = (o: NonNullable<typeof outcome>): void => {
      outcome ??= o;
      // Our side closes the channel: the fleet process then has nothing left to wait for and exits.
      if (child.connected) child.disconnect();
      grace ??= setTimeout(() => child.kill('SIGKILL'), 'error' in outcome ? 0 : EXIT_GRACE_MS);
    };
    child.on('message', (message: FleetReport) => {
      if (message.type === 'started') hooks.onStart?.();
      else if (message.type === 'file') hooks.onFile?.(message.ok);
      else if (message.type === 'result') decide({ run: { fleet: message.result, loopBusy: message.loopBusy } });
      else decide({ error: new Error(`fleet process: ${message.message}`) });
    });
    child.once('error', (error) => decide({ error }));
    child.once('exit', (code, signal) => {
      clearTimeout(grace);
      hooks.signal?.removeEventListener('abort', onAbort);
      const o = outcome ?? { error: new Error(`fleet process exited (${signal ?? `code ${code}`}) before it reported`) };
      if ('run' in o) resolve(o.run);
      else reject(o.error);
    });
    hooks.signal?.addEventListener('abort', onAbort, { once: true });
    send({ type: 'run', job });
    if (hooks.signal?.aborted) onAbort();
  });
}

/**
 * Starts dist/emulator/serve-main.js as a child process so a test can SIGKILL/SIGSTOP a real
 * server. Signals only ever go to this helper's own child PID. dist/ is built by test/global-setup.ts.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Fault } from '../../src/emulator/faults.js';

export interface MirrorProcess {
  pid: number;
  servers: { port: number; root: string; url: string }[];
  signal(sig: NodeJS.Signals): void;
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('../../dist/emulator/serve-main.js', import.meta.url));
const START_TIMEOUT_MS = 10_000;
const EXIT_WAIT_MS = 5_000;

export async function startMirrorProcess(opts: {
  roots: string[];
  rate?: number;
  delayMs?: number;
  maxSessions?: number;
  fault?: Fault;
}): Promise<MirrorProcess> {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run the tests through vitest, whose global setup builds dist/`);
  const args = [ENTRY, ...opts.roots.flatMap((r) => ['--root', r])];
  if (opts.rate !== undefined) args.push('--rate', String(opts.rate));
  if (opts.delayMs !== undefined) args.push('--delay', String(opts.delayMs));
  if (opts.maxSessions !== undefined) args.push('--max-sessions', String(opts.maxSessions));
  if (opts.fault !== undefined) args.push('--fault', JSON.stringify(opts.fault));

  const child = spawn(process.execPath, [...args, '--exit-with-parent'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let exited = child.exitCode !== null || child.signalCode !== null;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', () => {
      exited = true;
      resolve();
    });
  });
  const waitExit = async (ms: number): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    await Promise.race([exit, timeout]);
    clearTimeout(timer);
    return exited;
  };
  const send = (sig: NodeJS.Signals): void => {
    if (!exited) child.kill(sig);
  };

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 8192) stderr += d;
  });

  const ready = new Promise<{ pid: number; servers: MirrorProcess['servers'] }>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      if (out.includes('\n')) return; // keep draining, only the first line matters
      out += d;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      try {
        resolve(JSON.parse(out.slice(0, nl)) as { pid: number; servers: MirrorProcess['servers'] });
      } catch (err) {
        reject(new Error(`serve-main printed no JSON: ${out.slice(0, nl)}`, { cause: err }));
      }
    });
    void exit.then(() => reject(new Error(`serve-main exited before it was ready: ${stderr.trim()}`)));
  });

  ready.catch(() => {}); // may lose the race below; its rejection is then of no interest

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`serve-main not ready after ${START_TIMEOUT_MS} ms: ${stderr.trim()}`)), START_TIMEOUT_MS);
  });
  let info: { pid: number; servers: MirrorProcess['servers'] };
  try {
    info = await Promise.race([ready, timedOut]);
  } catch (err) {
    send('SIGKILL');
    await waitExit(EXIT_WAIT_MS);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  if (info.pid !== child.pid) throw new Error(`serve-main reported pid ${info.pid}, spawned ${child.pid}`);

  return {
    pid: info.pid,
    servers: info.servers,
    signal: send,
    async stop(): Promise<void> {
      if (exited) return;
      send('SIGCONT'); // a SIGSTOPped process would not act on SIGTERM
      send('SIGTERM');
      if (await waitExit(EXIT_WAIT_MS)) return;
      send('SIGKILL');
      if (!(await waitExit(EXIT_WAIT_MS))) throw new Error(`serve-main pid ${info.pid} did not exit`);
    },
  };
}

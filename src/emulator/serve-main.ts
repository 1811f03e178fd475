/**
 * Runs emulated mirrors in their own process, so tests can SIGKILL or SIGSTOP a real server.
 *
 *   node dist/emulator/serve-main.js --root DIR [--root DIR ...] [--port N ...]
 *     [--rate BYTES_PER_SEC] [--delay MS] [--max-sessions N] [--fault JSON]
 *
 * Prints one JSON line {"pid":..,"servers":[{"port","root","url"}]} and runs until SIGTERM/SIGINT.
 */
import { parseArgs } from 'node:util';
import { faultFromJson, type Fault } from './faults.js';
import { startFtpServer, type FtpServerHandle } from './server.js';

function fail(message: string, code = 2): never {
  process.stderr.write(`serve-main: ${message}\n`);
  process.exit(code);
}

function integer(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) fail(`--${name} must be an integer >= ${min}, got "${text}"`);
  return n;
}

function parseFault(text: string | undefined): Fault | undefined {
  if (text === undefined) return undefined;
  try {
    return faultFromJson(text);
  } catch (err) {
    fail((err as Error).message);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      root: { type: 'string', multiple: true },
      port: { type: 'string', multiple: true },
      rate: { type: 'string' },
      delay: { type: 'string' },
      'exit-with-parent': { type: 'boolean' },
      'max-sessions': { type: 'string' },
      fault: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const roots = values.root ?? [];
  if (roots.length === 0) fail('at least one --root DIR is required');
  const ports = (values.port ?? []).map((p) => integer('port', p, 0) ?? 0);
  if (ports.length > roots.length) fail('more --port than --root values');
  const linkRate = integer('rate', values.rate, 1);
  const controlDelayMs = integer('delay', values.delay, 0);
  const maxSessions = integer('max-sessions', values['max-sessions'], 0);
  const fault = parseFault(values.fault);

  const handles: FtpServerHandle[] = [];
  const servers: { port: number; root: string; url: string }[] = [];
  for (const [i, root] of roots.entries()) {
    try {
      const h = await startFtpServer({ root, port: ports[i] ?? 0, linkRate, controlDelayMs, maxSessions, fault });
      handles.push(h);
      servers.push({ port: h.port, root, url: h.url });
    } catch (err) {
      for (const h of handles) h.kill();
      fail(`cannot serve ${root}: ${err instanceof Error ? err.message : String(err)}`, 1);
    }
  }

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void Promise.allSettled(handles.map((h) => h.close())).then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // With --exit-with-parent, stdin is a pipe from the parent: when it closes (the parent is gone,
  // even by SIGKILL), the servers go too, so a crashed test run leaves no orphan behind.
  if (values['exit-with-parent']) {
    process.stdin.on('end', stop).on('close', stop).resume();
  }
  process.stdout.on('error', () => {}); // a vanished reader must not kill the servers
  process.stdout.write(`${JSON.stringify({ pid: process.pid, servers })}\n`);
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));

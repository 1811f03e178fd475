// Test fixtures: mirror trees holding the same files, certificates pointing at them, and a way to
// run the real CLI and read its JSON events.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampleBytes } from '../../src/emulator/sample-data.js';
import type { MirrorSpec } from '../../src/certificate/types.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(REPO, 'bin', 'smartftp.js');
/** One fixed modification time for every copy, as a mirroring tool that preserves times would leave them. */
export const MTIME = new Date('2026-01-02T03:04:05Z');

export function tempDir(prefix = 'smartftp-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(path: string): string {
  return sha256(readFileSync(path));
}

/** Deterministic pseudo-random content (fast for tens of MiB, different per seed). */
export function content(size: number, seed = 1): Buffer {
  return sampleBytes(size, seed);
}

/** Write `data` at `path` under `root`, with the shared modification time. */
export function putFile(root: string, path: string, data: Buffer): void {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, data);
  utimesSync(full, MTIME, MTIME);
}

/** N mirror roots, each holding `files`. */
export function mirrorRoots(n: number, files: Record<string, Buffer>): string[] {
  return Array.from({ length: n }, (_, i) => {
    const root = tempDir(`smartftp-mirror${i + 1}-`);
    for (const [path, data] of Object.entries(files)) putFile(root, path, data);
    return root;
  });
}

export interface CertMirror {
  url: string;
  name: string;
}

export function writeCert(dir: string, mirrors: CertMirror[], extra = ''): string {
  const lines = [
    'service: test.smartftp',
    'director:',
    '  policy: ordered',
    '  stall_timeout: 3s',
    '  connect_timeout: 5s',
    ...extra.split('\n').filter(Boolean),
    'mirrors:',
    ...mirrors.flatMap((m) => [`  - url: ${m.url}`, `    name: ${m.name}`]),
  ];
  const path = join(dir, 'mirrors.yaml');
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

/** A mirror as the certificate loader makes it from `ftp://host:port/pub`, for in-process clients. */
export function mirrorSpec(server: { host?: string; port: number }, name: string, extra: Partial<MirrorSpec> = {}): MirrorSpec {
  const host = server.host ?? '127.0.0.1';
  return { name, url: `ftp://${host}:${server.port}/pub`, protocol: 'ftp', host, port: server.port, basePath: '/pub/', maxConnections: 2, ...extra };
}

export interface CliEvent {
  type: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- events are checked by the assertions
  [key: string]: any;
}

export interface CliRun {
  child: ChildProcess;
  events: CliEvent[];
  stderr: () => string;
  /** Everything printed on stdout so far. */
  stdout: () => string;
  /** Resolves with the first event that satisfies `test` (rejects after `timeoutMs`). */
  waitFor(test: (e: CliEvent) => boolean, timeoutMs?: number): Promise<CliEvent>;
  exit: Promise<number>;
}

/**
 * The silence after which the client's stall watchdog gave up, as a stalled failover names it ("no
 * data from m1 for 2.2 s at byte N"), in s: measured by the client itself, so free of the test's own
 * delays. NaN when it names none (basic-ftp's own timeout, the backstop, says "Timeout").
 */
export function stalledFor(failover: CliEvent): number {
  return Number(/ for ([\d.]+) s /.exec(String(failover.message))?.[1]);
}

/** An event in a few words, for a failure message: its type and the mirror or kind it names. */
function brief(e: CliEvent): string {
  return [e.type, e.mirror, e.kind, e.type === 'progress' ? e.bytes : undefined].filter((x) => x !== undefined).join(':');
}

/** Run `smartftp ARGS` with an isolated state directory; JSON events are parsed as they arrive. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; asUser?: number } = {}): CliRun {
  // asUser: run as that uid and gid with no other groups (we run as root, whom no permission stops).
  const user = options.asUser;
  const [command, argv] = user === undefined ? [process.execPath, [CLI, ...args]] : ['setpriv', [`--reuid=${user}`, `--regid=${user}`, '--clear-groups', process.execPath, CLI, ...args]];
  const child = spawn(command, argv, {
    cwd: options.cwd ?? REPO,
    env: { ...process.env, XDG_STATE_HOME: options.env?.XDG_STATE_HOME ?? tempDir('smartftp-state-'), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: CliEvent[] = [];
  const listeners = new Set<() => void>();
  let buffer = '';
  let err = '';
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line.startsWith('{"time"')) events.push(JSON.parse(line) as CliEvent);
    }
    for (const l of listeners) l();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exit = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  const waitFor = (test: (e: CliEvent) => boolean, timeoutMs = 30_000) =>
    new Promise<CliEvent>((resolve, reject) => {
      const check = () => {
        const found = events.find(test);
        if (found) {
          cleanup();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching event within ${timeoutMs} ms; events: ${events.map(brief).join(', ')}; stderr: ${err}`));
      }, timeoutMs);
      const onExit = () => {
        check();
        setTimeout(() => {
          if (listeners.has(check)) {
            cleanup();
            reject(new Error(`CLI exited before a matching event; events: ${events.map(brief).join(', ')}; stderr: ${err}`));
          }
        }, 50);
      };
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
        child.off('exit', onExit);
      };
      listeners.add(check);
      child.on('exit', onExit);
      check();
    });
  return { child, events, stderr: () => err, stdout: () => out, waitFor, exit };
}

export function removeAll(paths: string[]): void {
  for (const p of paths) rmSync(p, { recursive: true, force: true });
}

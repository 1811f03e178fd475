// `smartftp serve`: run the certificate's loopback mirrors as local emulated FTP servers (the
// README's demo, trying the CLI by hand). Each mirror gets a link capacity, a control delay and a
// session limit; a fault can kill one after some seconds, to watch the director fail over.

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, closeSync, writeSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFtpServer, type FtpServerHandle } from '../bench/ftpd/server.js';
import { SampleBytes } from '../bench/sample-data.js';
import type { MirrorSpec } from '../certificate/types.js';
import { createReporter } from '../ui/reporter.js';
import { formatBytes } from '../ui/format.js';
import { EXIT } from './exit-codes.js';
import { interruptSignal } from './interrupt.js';
import { loadCertificateForCli, type CertOptions } from './load-cert.js';

export interface ServeOptions extends CertOptions {
  root?: string;
  /** Mbit/s per mirror, in certificate order (the last one repeats); 0 = unlimited. */
  rates?: number[];
  delay?: number;
  maxSessions?: number;
  /** "NAME:kill@SECONDS" */
  fault?: string[];
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/** Demo files: deterministic bytes, so every mirror serves the same copy. */
export const SAMPLE_FILES: Record<string, number> = {
  'sample/64MiB.bin': 64 * 1024 * 1024,
  ...Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`sample/small-${String(i + 1).padStart(2, '0')}.bin`, 1024 * 1024])),
};

function writeSample(path: string, size: number, seed: number): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(1024 * 1024);
  const bytes = new SampleBytes(seed);
  try {
    for (let done = 0; done < size; done += block.length) {
      const part = bytes.fill(block).subarray(0, Math.min(block.length, size - done));
      writeSync(fd, part);
      hash.update(part);
    }
  } finally {
    closeSync(fd);
  }
  const fixed = new Date('2026-01-01T00:00:00Z');
  utimesSync(path, fixed, fixed);
  return hash.digest('hex');
}

/** A directory tree with the sample files under each distinct base path of the mirrors. */
export function makeSampleRoot(mirrors: MirrorSpec[]): { root: string; sha256: Record<string, string> } {
  const root = mkdtempSync(join(tmpdir(), 'smartftp-serve-'));
  const sha256: Record<string, string> = {};
  const bases = [...new Set(mirrors.map((m) => m.basePath))];
  for (const base of bases) {
    mkdirSync(join(root, base, 'sample'), { recursive: true });
    let seed = 1;
    for (const [path, size] of Object.entries(SAMPLE_FILES)) sha256[path] = writeSample(join(root, base, path), size, seed++);
  }
  return { root, sha256 };
}

interface KillFault {
  name: string;
  afterMs: number;
}

/** "NAME:kill@SECONDS" for one of `names` (throws Error with a message for the user). */
function parseFault(text: string, names: string[]): KillFault {
  const m = /^(.+):kill@(\d+(?:\.\d+)?)s?$/.exec(text);
  if (!m) throw new Error(`--fault ${text}: expected NAME:kill@SECONDS`);
  if (!names.includes(m[1]!)) throw new Error(`--fault ${text}: no mirror named ${m[1]} (${names.join(', ')})`);
  return { name: m[1]!, afterMs: Number(m[2]) * 1000 };
}

export async function runServe(options: ServeOptions): Promise<number> {
  const reporter = createReporter({ json: false, quiet: false });
  const cert = await loadCertificateForCli(options, reporter);
  if (!cert) return EXIT.usage;
  const local = cert.mirrors.filter((m) => LOOPBACK.test(m.host) && m.protocol === 'ftp');
  if (local.length === 0) {
    reporter.note(`smartftp serve: ${cert.origin} names no ftp:// mirror on 127.0.0.1`);
    return EXIT.usage;
  }
  let faults: KillFault[];
  try {
    faults = (options.fault ?? []).map((f) => parseFault(f, local.map((m) => m.name)));
  } catch (error) {
    reporter.note((error as Error).message);
    return EXIT.usage;
  }
  const sample = options.root ? undefined : makeSampleRoot(local);
  const root = options.root ?? sample!.root;
  const rates = options.rates ?? [0];
  const handles: FtpServerHandle[] = [];
  const timers: NodeJS.Timeout[] = [];
  const interrupt = interruptSignal();
  try {
    for (const [i, m] of local.entries()) {
      const mbit = rates[Math.min(i, rates.length - 1)]!;
      handles.push(
        await startFtpServer({
          root,
          host: m.host === 'localhost' ? '127.0.0.1' : m.host.replace(/^\[|\]$/g, ''),
          port: m.port,
          linkRate: mbit > 0 ? (mbit * 1_000_000) / 8 : undefined,
          controlDelayMs: options.delay ?? 0,
          maxSessions: options.maxSessions ?? 16,
        }),
      );
      process.stdout.write(`serving ${m.name} on ${m.url} (${mbit > 0 ? `${mbit} Mbit/s` : 'unlimited'}) from ${join(root, m.basePath)}\n`);
    }
    for (const f of faults) {
      const handle = handles[local.findIndex((m) => m.name === f.name)]!;
      timers.push(
        setTimeout(() => {
          handle.kill();
          process.stdout.write(`fault: killed ${f.name} after ${f.afterMs / 1000} s\n`);
        }, f.afterMs),
      );
    }
    if (sample) {
      for (const [path, sum] of Object.entries(sample.sha256)) {
        process.stdout.write(`  ${path}  ${formatBytes(SAMPLE_FILES[path]!)}  sha256 ${sum}\n`);
      }
    }
    process.stdout.write('ready (Ctrl-C stops)\n');
    await new Promise<void>((resolve) => interrupt.signal.addEventListener('abort', () => resolve(), { once: true }));
  } catch (error) {
    reporter.note(`smartftp serve: ${(error as Error).message}`);
    return EXIT.failed;
  } finally {
    for (const t of timers) clearTimeout(t);
    await Promise.allSettled(handles.map((h) => h.close()));
    interrupt.dispose();
  }
  return EXIT.ok;
}

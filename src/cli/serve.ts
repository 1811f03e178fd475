// `smartftp serve`: run the certificate's loopback mirrors as local emulated FTP servers (the
// README's demo, trying the CLI by hand). Each mirror gets a link capacity, a control delay and a
// session limit; a fault can kill one after some seconds, to watch the director fail over.

import { join } from 'node:path';
import { armFaults, parseFault, unknownTarget, type FaultSpec } from '../emulator/faults.js';
import { startFtpServer, type FtpServerHandle } from '../emulator/server.js';
import { makeSampleRoot, SAMPLE_FILES } from '../emulator/sample-data.js';
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
  /** "KIND:TARGET@TIME" (kill:local-a@5s, stall:2@1s) or the older "NAME:kill@SECONDS" */
  fault?: string[];
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

export async function runServe(options: ServeOptions): Promise<number> {
  const reporter = createReporter({ json: false, quiet: false });
  const cert = await loadCertificateForCli(options, reporter);
  if (!cert) return EXIT.usage;
  const local = cert.mirrors.filter((m) => LOOPBACK.test(m.host) && m.protocol === 'ftp');
  if (local.length === 0) {
    reporter.note(`smartftp serve: ${cert.origin} names no ftp:// mirror on 127.0.0.1`);
    return EXIT.usage;
  }
  const names = local.map((m) => m.name);
  let faults: FaultSpec[];
  try {
    faults = (options.fault ?? []).map(parseFault);
    const unknown = faults.map((f) => unknownTarget(f, names)).find((m) => m !== undefined);
    if (unknown) throw new Error(unknown);
  } catch (error) {
    reporter.note((error as Error).message);
    return EXIT.usage;
  }
  const sample = options.root ? undefined : makeSampleRoot(local);
  const root = options.root ?? sample!.root;
  const rates = options.rates ?? [0];
  const handles: FtpServerHandle[] = [];
  let disarm = (): void => undefined;
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
    disarm = armFaults(faults, handles, names, (f, name) => {
      const what = f.kind === 'kill' ? 'killed' : `${f.kind} on`;
      process.stdout.write(`fault: ${what} ${name} after ${f.atSeconds} s\n`);
    });
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
    disarm();
    await Promise.allSettled(handles.map((h) => h.close()));
    interrupt.dispose();
  }
  return EXIT.ok;
}

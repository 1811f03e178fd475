// `smartftp serve`: run the certificate's loopback mirrors as local emulated FTP servers (the
// README's demo, trying the CLI by hand). This file reads the options and prints; the mirrors,
// their links, the sample tree and the faults' clocks are src/emulator's.

import { readdirSync, statSync } from 'node:fs';
import { describeFault, parseFault, unknownTarget, type FaultSpec } from '../emulator/faults.js';
import { localMirrorSpecs, startLocalMirrors, type LocalMirrors } from '../emulator/local-mirrors.js';
import { SAMPLE_FILES } from '../emulator/sample-data.js';
import { createReporter } from '../ui/reporter.js';
import { localErrorText } from '../util/local-error-text.js';
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
  /** "KIND:TARGET@TIME" (kill:local-a@5s, stall:2@1s) or the older "NAME:kill@SECONDS"; TIME counts from the first client connection. */
  fault?: string[];
}

/** The faults asked for, or the message for the first one that cannot be (a mirror not served). */
function faultsFromOptions(texts: string[], names: string[]): FaultSpec[] | string {
  try {
    const faults = texts.map(parseFault);
    return faults.map((f) => unknownTarget(f, names)).find((m) => m !== undefined) ?? faults;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Why `dir` cannot be served, if it cannot. */
function directoryProblem(dir: string): string | undefined {
  try {
    if (!statSync(dir).isDirectory()) return `${dir}: is a file; name a directory to serve`;
    readdirSync(dir);
    return undefined;
  } catch (error) {
    return localErrorText(error, dir, 'read');
  }
}

export async function runServe(options: ServeOptions): Promise<number> {
  const reporter = createReporter({ json: false, quiet: false });
  const cert = await loadCertificateForCli(options, reporter);
  if (!cert) return EXIT.usage;
  const local = localMirrorSpecs(cert);
  if (local.length === 0) {
    reporter.note(`smartftp serve: ${cert.origin} names no ftp:// mirror on 127.0.0.1`);
    return EXIT.usage;
  }
  const faults = faultsFromOptions(options.fault ?? [], local.map((m) => m.name));
  if (typeof faults === 'string') {
    reporter.note(faults);
    return EXIT.usage;
  }
  const rootProblem = options.root === undefined ? undefined : directoryProblem(options.root);
  if (rootProblem) {
    reporter.note(`smartftp serve: --root ${rootProblem}`);
    return EXIT.usage;
  }
  const interrupt = interruptSignal();
  let running: LocalMirrors | undefined;
  try {
    running = await startLocalMirrors(local, { root: options.root, rates: options.rates, controlDelayMs: options.delay, maxSessions: options.maxSessions });
    for (const m of running.mirrors) {
      process.stdout.write(`serving ${m.spec.name} on ${m.spec.url} (${m.mbit > 0 ? `${m.mbit} Mbit/s` : 'unlimited'}) from ${m.dir}\n`);
    }
    if (faults.length > 0) {
      // The clocks start with the first client, so a fault's time means the same however long serve waited.
      process.stdout.write(`faults: ${faults.map(describeFault).join(', ')}, timed from the first client connection\n`);
      running.armFaults(
        faults,
        (f, name) => {
          process.stdout.write(`fault: ${f.kind === 'kill' ? 'killed' : `${f.kind} on`} ${name}, ${f.atSeconds} s after the first client connected\n`);
        },
        () => process.stdout.write('first client connected: the faults\' clocks start now\n'),
      );
    }
    for (const [path, sum] of Object.entries(running.sample ?? {})) {
      process.stdout.write(`  ${path}  ${formatBytes(SAMPLE_FILES[path]!)}  sha256 ${sum}\n`);
    }
    process.stdout.write('ready (Ctrl-C stops)\n');
    await new Promise<void>((resolve) => interrupt.signal.addEventListener('abort', () => resolve(), { once: true }));
  } catch (error) {
    reporter.note(`smartftp serve: ${(error as Error).message}`);
    return EXIT.failed;
  } finally {
    await running?.stop();
    interrupt.dispose();
  }
  return EXIT.ok;
}

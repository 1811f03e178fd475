// `smartftp get`: parse, hand each file to the service client, print. It never picks a mirror.

import { basename, resolve } from 'node:path';
import { ServiceClient } from '../client/service-client.js';
import type { PolicyName } from '../certificate/types.js';
import { AllMirrorsFailed, Interrupted, LocalError } from '../director/errors.js';
import { defaultStateDir, StateStore } from '../director/state.js';
import { createReporter } from '../ui/reporter.js';
import { EXIT } from './exit-codes.js';
import { interruptSignal } from './interrupt.js';
import { loadCertificateForCli, type CertOptions } from './load-cert.js';

export interface GetOptions extends CertOptions {
  output?: string;
  dir?: string;
  policy?: PolicyName;
  stallTimeout?: number;
  sha256?: string;
  json?: boolean;
  quiet?: boolean;
  /** false with --no-state. */
  state?: boolean;
  /** false with --no-adaptive-stall. */
  adaptiveStall?: boolean;
}

export async function runGet(paths: string[], options: GetOptions): Promise<number> {
  const reporter = createReporter({ json: !!options.json, quiet: !!options.quiet });
  if (options.output && paths.length > 1) {
    reporter.note('smartftp get: -o names one file; use -d DIR for several');
    return EXIT.usage;
  }
  if (options.sha256 && paths.length > 1) {
    reporter.note('smartftp get: --sha256 checks one file');
    return EXIT.usage;
  }
  const cert = await loadCertificateForCli(options, reporter);
  if (!cert) return EXIT.usage;

  const interrupt = interruptSignal();
  const client = await ServiceClient.open(cert, {
    events: (e) => reporter.event(e),
    policy: options.policy,
    stallTimeout: options.stallTimeout,
    adaptiveStall: options.adaptiveStall,
    store: options.state === false ? undefined : new StateStore(options.stateDir ?? defaultStateDir()),
    signal: interrupt.signal,
  });

  let code: number = EXIT.ok;
  try {
    for (const remotePath of paths) {
      const dest = resolve(options.output ?? resolve(options.dir ?? '.', basename(remotePath)));
      try {
        await client.download(remotePath, dest, { sha256: options.sha256 });
      } catch (error) {
        if (error instanceof AllMirrorsFailed) {
          reporter.event({ type: 'error', file: remotePath, message: error.message, attempts: error.attempts });
          code = EXIT.failed;
          continue;
        }
        if (error instanceof Interrupted) {
          reporter.event({ type: 'error', file: remotePath, message: 'interrupted; the partial file stays for the next run', attempts: [] });
          code = EXIT.interrupted;
          break;
        }
        if (error instanceof LocalError) {
          reporter.event({ type: 'error', file: remotePath, message: `${error.message}; the partial file stays for the next run`, attempts: [] });
          code = EXIT.local;
          break;
        }
        throw error;
      }
    }
  } finally {
    await client.close();
    interrupt.dispose();
    reporter.close();
  }
  return code;
}

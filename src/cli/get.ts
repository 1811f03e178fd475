// `smartftp get`: parse, wire the director to download requests, print. It never picks a mirror.

import { basename, resolve } from 'node:path';
import { Director } from '../director/director.js';
import { AllMirrorsFailed, Interrupted, LocalError } from '../director/errors.js';
import { policyByName } from '../director/policies.js';
import { DownloadRequest } from '../ftp/download.js';
import { FtpPool } from '../ftp/pool.js';
import { createReporter } from '../ui/reporter.js';
import { EXIT } from './exit-codes.js';
import { interruptSignal } from './interrupt.js';
import { loadCertificateForCli, type CertOptions } from './load-cert.js';
import type { PolicyName } from '../certificate/types.js';
import { defaultStateDir, snapshot, StateStore } from '../director/state.js';
import type { Reporter } from '../ui/reporter.js';

/** Saving the state must never turn a finished download into a failure: a warning at most. */
async function saveState(store: StateStore, service: string, director: Director, reporter: Reporter): Promise<void> {
  try {
    await store.save(snapshot(service, director.mirrors, director.stats));
  } catch (error) {
    reporter.event({ type: 'warning', message: `could not save state in ${store.dir}: ${(error as Error).message}` });
  }
}

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
  stateDir?: string;
  /** false with --no-adaptive-stall: the stall timeout is a fixed limit. */
  adaptiveStall?: boolean;
}

/** The adaptive stall limit never goes below this (ms): a loaded machine pauses too. */
const ADAPTIVE_STALL_FLOOR_MS = 2000;

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

  const stallTimeout = options.stallTimeout ?? cert.director.stallTimeout;
  const connectTimeout = cert.director.connectTimeout;
  const interrupt = interruptSignal();
  const pool = new FtpPool({
    connectTimeoutMs: connectTimeout * 1000,
    // basic-ftp's own timeout is only a backstop behind our stall watchdog.
    idleTimeoutMs: (Math.max(stallTimeout, connectTimeout) + 5) * 1000,
  });
  const store = options.state === false ? undefined : new StateStore(options.stateDir ?? defaultStateDir());
  const loaded = store ? await store.load(cert.service) : { state: undefined };
  if (loaded.warning) reporter.event({ type: 'warning', message: loaded.warning });
  const director = new Director({
    mirrors: cert.mirrors,
    policy: policyByName(options.policy ?? cert.director.policy),
    stats: loaded.state?.stats,
    signal: interrupt.signal,
  });

  let code: number = EXIT.ok;
  try {
    for (const remotePath of paths) {
      const dest = resolve(options.output ?? resolve(options.dir ?? '.', basename(remotePath)));
      const request = new DownloadRequest({
        remotePath,
        dest,
        pool,
        events: (e) => reporter.event(e),
        stall: {
          ceilingMs: stallTimeout * 1000,
          floorMs: options.adaptiveStall === false ? stallTimeout * 1000 : Math.min(ADAPTIVE_STALL_FLOOR_MS, stallTimeout * 1000),
        },
        sha256: options.sha256,
      });
      try {
        await request.prepare();
        await director.apply(request);
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
    await director.settle();
    pool.closeAll();
    if (store) await saveState(store, cert.service, director, reporter);
    interrupt.dispose();
    reporter.close();
  }
  return code;
}

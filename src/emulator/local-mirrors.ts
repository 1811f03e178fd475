// A certificate's own 127.0.0.1 mirrors, run here as emulated FTP servers on their ports (what
// `smartftp serve` and the demo run): each with a link capacity, a control delay and a session
// limit, serving a given directory or a generated sample tree, with faults on a clock that starts
// when the first client connects.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Certificate, MirrorSpec } from '../certificate/types.js';
import { armFaultsAtFirstSession, type FaultSpec } from './faults.js';
import { makeSampleRoot } from './sample-data.js';
import { startFtpServer, type FtpServerHandle } from './server.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/** The certificate's mirrors that can run here: ftp:// on a loopback address. */
export function localMirrorSpecs(cert: Certificate): MirrorSpec[] {
  return cert.mirrors.filter((m) => LOOPBACK.test(m.host) && m.protocol === 'ftp');
}

export interface LocalMirrorOptions {
  /** Serve this directory; default: a generated sample tree, removed by stop(). */
  root?: string;
  /** Mbit/s per mirror, in order (the last one repeats); 0 = unlimited. Default unlimited. */
  rates?: number[];
  controlDelayMs?: number;
  /** Sessions per mirror before 421 (default 16). */
  maxSessions?: number;
}

export interface LocalMirror {
  spec: MirrorSpec;
  server: FtpServerHandle;
  /** Link capacity in Mbit/s; 0 = unlimited. */
  mbit: number;
  /** The directory it serves its base path from. */
  dir: string;
}

export interface LocalMirrors {
  mirrors: LocalMirror[];
  root: string;
  /** With a generated sample tree: each sample file's sha256, by path. */
  sample?: Record<string, string>;
  /**
   * Starts the faults' clocks at the first session any of the mirrors accepts, or now when one
   * already has (targets are the mirrors' names or numbers, in order). onStart is told when.
   */
  armFaults(faults: readonly FaultSpec[], onFault?: (f: FaultSpec, name: string) => void, onStart?: () => void): void;
  /** Cancels faults to come, closes every server, removes a generated tree. */
  stop(): Promise<void>;
}

export async function startLocalMirrors(specs: readonly MirrorSpec[], options: LocalMirrorOptions = {}): Promise<LocalMirrors> {
  const sample = options.root === undefined ? makeSampleRoot(specs) : undefined;
  const root = options.root ?? sample!.root;
  const rates = options.rates?.length ? options.rates : [0];
  const mirrors: LocalMirror[] = [];
  const disarms: (() => void)[] = [];
  const stop = async (): Promise<void> => {
    for (const disarm of disarms) disarm();
    await Promise.allSettled(mirrors.map((m) => m.server.close()));
    if (sample) rmSync(sample.root, { recursive: true, force: true });
  };
  try {
    for (const [i, spec] of specs.entries()) {
      const mbit = rates[Math.min(i, rates.length - 1)]!;
      const server = await startFtpServer({
        root,
        host: spec.host === 'localhost' ? '127.0.0.1' : spec.host.replace(/^\[|\]$/g, ''),
        port: spec.port,
        linkRate: mbit > 0 ? (mbit * 1_000_000) / 8 : undefined,
        controlDelayMs: options.controlDelayMs ?? 0,
        maxSessions: options.maxSessions ?? 16,
      });
      mirrors.push({ spec, server, mbit, dir: join(root, spec.basePath) });
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const names = specs.map((m) => m.name);
  const servers = mirrors.map((m) => m.server);
  return {
    mirrors,
    root,
    sample: sample?.sha256,
    armFaults: (faults, onFault, onStart) => void disarms.push(armFaultsAtFirstSession(faults, servers, names, { onFault, onStart })),
    stop,
  };
}

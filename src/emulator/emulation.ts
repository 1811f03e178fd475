// N emulated mirrors on 127.0.0.1 for one benchmark point, and the in-memory certificate naming
// them. Fresh servers per point, so no link, session or fault state leaks from one point to the next.

import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { armFaults, type FaultSpec } from './faults.js';
import { writeSampleFile } from './sample-data.js';
import { startFtpServer, type FtpServerHandle } from './server.js';
import type { Certificate, MirrorSpec } from '../certificate/types.js';
import { makeOwnedTempDir } from '../util/owned-temp-dir.js';

/** The file every emulated mirror serves, in a temporary tree removed by dispose(). */
export interface BenchFile {
  root: string;
  remotePath: string;
  size: number;
  dispose(): Promise<void>;
}

export async function makeBenchFile(size: number): Promise<BenchFile> {
  const root = makeOwnedTempDir('smartftp-bench-root-');
  const remotePath = `bench/file-${size}.bin`;
  await fsp.mkdir(join(root, 'bench'));
  writeSampleFile(join(root, remotePath), size, 1);
  return { root, remotePath, size, dispose: () => fsp.rm(root, { recursive: true, force: true }) };
}

export interface EmulationOptions {
  file: BenchFile;
  /** Link rate per server, bytes/s; its length is the number of servers. */
  linkRates: number[];
  controlDelayMs: number;
  maxSessions: number;
  /** Connections one client may hold to one mirror (a request and a probe side by side). */
  maxConnections?: number;
  /** Seconds without a byte before a client leaves a mirror. */
  stallTimeout?: number;
}

export interface Emulation {
  cert: Certificate;
  servers: FtpServerHandle[];
  /** Start the faults' clocks (call when the clients start). Faults for servers this point lacks are skipped. */
  armFaults(faults: FaultSpec[], onFault?: (f: FaultSpec) => void): void;
  stop(): Promise<void>;
}

export function mirrorName(n: number): string {
  return `s${n}`;
}

export function emulatedCertificate(servers: { url: string; port: number }[], options: { maxConnections?: number; stallTimeout?: number } = {}): Certificate {
  const mirrors: MirrorSpec[] = servers.map((s, i) => ({
    name: mirrorName(i + 1),
    url: s.url,
    protocol: 'ftp',
    host: '127.0.0.1',
    port: s.port,
    basePath: '/',
    maxConnections: options.maxConnections ?? 4,
  }));
  return {
    service: 'bench.smartftp.local',
    mirrors,
    director: { policy: 'ranked', stallTimeout: options.stallTimeout ?? 10, connectTimeout: 10 },
    origin: 'emulated mirrors (smartftp bench)',
  };
}

export async function startEmulation(options: EmulationOptions): Promise<Emulation> {
  const servers: FtpServerHandle[] = [];
  const disarms: (() => void)[] = [];
  try {
    for (const rate of options.linkRates) {
      servers.push(
        await startFtpServer({
          root: options.file.root,
          host: '127.0.0.1',
          linkRate: rate,
          controlDelayMs: options.controlDelayMs,
          maxSessions: options.maxSessions,
        }),
      );
    }
  } catch (error) {
    await Promise.allSettled(servers.map((s) => s.close()));
    throw error;
  }
  const cert = emulatedCertificate(servers, options);
  const names = cert.mirrors.map((m) => m.name);
  return {
    cert,
    servers,
    armFaults(faults, onFault) {
      disarms.push(armFaults(faults, servers, names, onFault));
    },
    async stop() {
      for (const disarm of disarms) disarm();
      await Promise.allSettled(servers.map((s) => s.close()));
    },
  };
}

// What a benchmark run produced: plain data, so it serializes to --json and CSV as it is.

import type { BenchSettings, Contender, ScaledSettings } from './settings.js';

export interface PointResult {
  servers: number;
  clients: number;
  policy: Contender;
  /** Wall time until the last client finished, seconds (as run, not paper time). */
  seconds: number;
  /** Bytes of completed files. */
  bytes: number;
  filesDone: number;
  filesFailed: number;
  /** Aggregate rate as run, bytes/s (bytes / seconds). */
  rate: number;
  /** The same in paper units: MB/s (10^6 bytes) divided by the scale. */
  paperMBps: number;
  /** The file data the servers' links can carry as run (their summed rate less framing), bytes/s; undefined against real mirrors. */
  capacity: number | undefined;
  /** rate / capacity. */
  utilisation: number | undefined;
  /** Completed-file bytes by server, in server order. */
  bytesByServer: number[];
  /** Everything the servers sent, probes and abandoned transfers included (emulated mirrors only). */
  sentByServer: number[] | undefined;
  /** Control connections opened by all clients. */
  connections: number;
  failovers: number;
  probes: number;
  /** 421s the servers answered (emulated mirrors only). */
  rejected: number | undefined;
  /** Share of the point's wall time the event loop was busy (near 1: the machine, not the links, set the pace). */
  loopBusy: number;
  firstError?: string;
}

export interface BenchResult {
  settings: BenchSettings;
  scaled: ScaledSettings;
  /** 'emulated' or the certificate's origin. */
  target: string;
  /** Server names in order (s1..sN, or the certificate's mirrors). */
  serverNames: string[];
  points: PointResult[];
  /** Wall time of the whole run, seconds. */
  seconds: number;
  interrupted: boolean;
}

/** Shares of a point's bytes by server, 0..1 (all zero when nothing was delivered). */
export function shares(point: Pick<PointResult, 'bytesByServer'>): number[] {
  const total = point.bytesByServer.reduce((a, b) => a + b, 0);
  return point.bytesByServer.map((b) => (total > 0 ? b / total : 0));
}

export function findPoint(points: PointResult[], servers: number, clients: number, policy: Contender): PointResult | undefined {
  return points.find((p) => p.servers === servers && p.clients === clients && p.policy === policy);
}

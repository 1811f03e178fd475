// The sweep: servers x clients x policy, one fleet per point, against fresh emulated mirrors (or
// a real certificate's mirrors). Policies are interleaved per point so that machine noise falls on
// both alike.

import { performance } from 'node:perf_hooks';
import type { Certificate, PolicyName } from '../certificate/types.js';
import { makeBenchFile, mirrorName, startEmulation, type BenchFile } from '../emulator/emulation.js';
import type { FaultSpec } from '../emulator/faults.js';
import { dataRate } from '../emulator/framing.js';
import type { FleetResult } from './fleet.js';
import { fleetWorkDir } from './work-dir.js';
import { runFleetProcess } from './fleet-process.js';
import type { BenchResult, PointResult } from './results.js';
import { paperMBps, scaled, type BenchSettings, type Contender } from './settings.js';

/** How each contender runs: the director's policy and the connection model. */
export const CONTENDER_RUN: Record<Contender, { policy: PolicyName; oneConnection: boolean }> = {
  random: { policy: 'random', oneConnection: true },
  'random-pooled': { policy: 'random', oneConnection: false },
  ranked: { policy: 'ranked', oneConnection: false },
};

interface PreparedPoint {
  cert: Certificate;
  remotePath: string;
  capacity: number | undefined;
  armFaults(onFault?: (f: FaultSpec) => void): void;
  serverStats(): { sent: number[]; rejected: number } | undefined;
  stop(): Promise<void>;
}

/** Where the fleet downloads from. */
export interface Target {
  readonly description: string;
  readonly names: string[];
  prepare(servers: number): Promise<PreparedPoint>;
  dispose(): Promise<void>;
}

export async function emulatedTarget(settings: BenchSettings): Promise<Target> {
  const s = scaled(settings);
  const file: BenchFile = await makeBenchFile(settings.size);
  return {
    description: 'emulated',
    names: s.linkRates.map((_, i) => mirrorName(i + 1)),
    async prepare(servers) {
      const linkRates = s.linkRates.slice(0, servers);
      const emulation = await startEmulation({ file, linkRates, controlDelayMs: s.delayMs, maxSessions: settings.maxSessions });
      return {
        cert: emulation.cert,
        remotePath: file.remotePath,
        // What the links can carry of file data (their rate less framing): 100 % is saturated.
        capacity: dataRate(linkRates.reduce((a, b) => a + b, 0)),
        armFaults: (onFault) => emulation.armFaults(settings.faults, onFault),
        serverStats: () => ({
          sent: emulation.servers.map((h) => h.stats.bytesSent),
          rejected: emulation.servers.reduce((a, h) => a + h.stats.sessionsRejected, 0),
        }),
        stop: () => emulation.stop(),
      };
    },
    dispose: () => file.dispose(),
  };
}

/** Real mirrors: a point with n servers uses the certificate's first n mirrors. */
export function certificateTarget(cert: Certificate, remotePath: string): Target {
  return {
    description: cert.origin,
    names: cert.mirrors.map((m) => m.name),
    async prepare(servers) {
      return {
        cert: { ...cert, mirrors: cert.mirrors.slice(0, servers) },
        remotePath,
        capacity: undefined,
        armFaults: () => undefined,
        serverStats: () => undefined,
        stop: async () => undefined,
      };
    },
    dispose: async () => undefined,
  };
}

export interface PointPlan {
  servers: number;
  clients: number;
  policy: Contender;
}

export function planPoints(settings: Pick<BenchSettings, 'servers' | 'clients' | 'policies'>): PointPlan[] {
  const plan: PointPlan[] = [];
  for (const servers of settings.servers) {
    for (const clients of settings.clients) {
      for (const policy of settings.policies) plan.push({ servers, clients, policy });
    }
  }
  return plan;
}

/** Every retrieval of the sweep: the progress bar's total. */
export function totalFiles(settings: Pick<BenchSettings, 'servers' | 'clients' | 'policies' | 'files'>): number {
  return planPoints(settings).reduce((n, p) => n + p.clients * settings.files, 0);
}

export interface PointContext {
  names: string[];
  scale: number;
  capacity: number | undefined;
  stats: { sent: number[]; rejected: number } | undefined;
  loopBusy: number;
}

export function summarize(plan: PointPlan, fleet: FleetResult, ctx: PointContext): PointResult {
  const { names, scale, capacity, stats } = ctx;
  const used = names.slice(0, plan.servers);
  const byMirror: Record<string, number> = {};
  for (const c of fleet.clients) for (const [m, b] of Object.entries(c.bytesByMirror)) byMirror[m] = (byMirror[m] ?? 0) + b;
  const bytes = fleet.clients.reduce((a, c) => a + c.bytes, 0);
  const rate = fleet.seconds > 0 ? bytes / fleet.seconds : 0;
  return {
    ...plan,
    seconds: fleet.seconds,
    bytes,
    filesDone: fleet.clients.reduce((a, c) => a + c.filesDone, 0),
    filesFailed: fleet.clients.reduce((a, c) => a + c.filesFailed, 0),
    rate,
    paperMBps: paperMBps(rate, scale),
    capacity,
    utilisation: capacity ? rate / capacity : undefined,
    bytesByServer: used.map((n) => byMirror[n] ?? 0),
    sentByServer: stats?.sent,
    connections: fleet.clients.reduce((a, c) => a + Object.values(c.connections).reduce((x, y) => x + y, 0), 0),
    failovers: fleet.clients.reduce((a, c) => a + c.failovers, 0),
    probes: fleet.clients.reduce((a, c) => a + c.probes, 0),
    rejected: stats?.rejected,
    loopBusy: ctx.loopBusy,
    firstError: fleet.clients.find((c) => c.firstError)?.firstError,
  };
}

export interface SweepHooks {
  signal?: AbortSignal;
  /** After every retrieval of the sweep. */
  onFile?: () => void;
  onPointStart?: (plan: PointPlan, index: number, of: number) => void;
  onPoint?: (point: PointResult) => void;
  onFault?: (plan: PointPlan, fault: FaultSpec) => void;
}

export async function runSweep(settings: BenchSettings, target: Target, hooks: SweepHooks = {}): Promise<BenchResult> {
  const started = performance.now();
  const points: PointResult[] = [];
  const plan = planPoints(settings);
  let interrupted = false;
  for (const [index, p] of plan.entries()) {
    if (hooks.signal?.aborted) {
      interrupted = true;
      break;
    }
    hooks.onPointStart?.(p, index, plan.length);
    const prepared = await target.prepare(p.servers);
    const loopBefore = performance.eventLoopUtilization();
    let fleet: FleetResult;
    let loopBusy = 0;
    try {
      const run = CONTENDER_RUN[p.policy];
      const done = await runFleetProcess(
        {
          cert: prepared.cert,
          remotePath: prepared.remotePath,
          clients: p.clients,
          files: settings.files,
          policy: run.policy,
          oneConnection: run.oneConnection,
          clientLinkRate: scaled(settings).clientLinkRate,
          // By point, not by position: a point repeats its choices whatever else the sweep runs.
          seed: settings.seed + p.servers * 1000 + p.clients,
          workDir: fleetWorkDir(),
        },
        {
          signal: hooks.signal,
          // The faults' clocks start with the clients, not with the process that runs them.
          onStart: () => prepared.armFaults((f) => hooks.onFault?.(p, f)),
          onFile: () => hooks.onFile?.(),
        },
      );
      fleet = done.fleet;
      // The busier of the two loops: the servers' (here) or the clients' (the fleet process).
      loopBusy = Math.max(done.loopBusy, performance.eventLoopUtilization(loopBefore).utilization);
    } finally {
      await prepared.stop();
    }
    if (fleet.interrupted) {
      interrupted = true;
      break;
    }
    const point = summarize(p, fleet, {
      names: target.names,
      scale: settings.scale,
      capacity: prepared.capacity,
      stats: prepared.serverStats(),
      loopBusy,
    });
    points.push(point);
    hooks.onPoint?.(point);
  }
  return {
    settings,
    scaled: scaled(settings),
    target: target.description,
    serverNames: target.names,
    points,
    seconds: (performance.now() - started) / 1000,
    interrupted,
  };
}

// The director's memory between runs (paper 3.2: the director serialized to disk): one versioned
// JSON file per service under $XDG_STATE_HOME/smartftp/, written to a temporary file, fsynced and
// renamed, so a crash or Ctrl-C leaves either the old file or the new one, never half of one.

import { promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { MirrorSpec } from '../certificate/types.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { localErrorText } from '../util/local-error-text.js';
import { makeDirs } from '../util/make-dirs.js';
import { emptyStats, type MirrorStats, type StatsBook } from './stats.js';

export const STATE_VERSION = 1;

/** A membership adopted from a mirror (client/membership.ts), as kept in the state file. */
export interface AdoptedMembership {
  /** Fingerprint of the certificate's own mirror list it was adopted over. */
  base: string;
  mirrors: MirrorSpec[];
  from: string;
  adoptedAt: number;
}

export interface ServiceState {
  version: typeof STATE_VERSION;
  service: string;
  savedAt: string;
  /** The last known membership: name and URL of every mirror. */
  mirrors: { name: string; url: string }[];
  stats: StatsBook;
  /** Epoch ms of the last look at the published membership. */
  membershipCheckedAt?: number;
  /** A membership adopted from a mirror (lazy update). */
  adopted?: AdoptedMembership;
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(base, 'smartftp');
}

/** A file name from a service name: anything unusual becomes "_". */
export function serviceFileName(service: string): string {
  return `${service.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
}

function validStats(value: unknown): value is MirrorStats {
  const s = value as MirrorStats;
  return (
    !!s &&
    typeof s === 'object' &&
    ['throughput', 'samples', 'latencyMs', 'cooldownUntil', 'lastSuccess', 'lastUsed'].every((k) => Number.isFinite(s[k as keyof MirrorStats])) &&
    Array.isArray(s.failures)
  );
}

export interface LoadedState {
  state: ServiceState | undefined;
  /** Why the file was not used (missing is not a warning). */
  warning?: string;
}

export class StateStore {
  constructor(readonly dir: string) {}

  path(service: string): string {
    return join(this.dir, serviceFileName(service));
  }

  async load(service: string): Promise<LoadedState> {
    const path = this.path(service);
    let text: string;
    try {
      text = await fsp.readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: undefined };
      return { state: undefined, warning: `state file ${localErrorText(error, path, 'read')}; starting fresh without what was measured` };
    }
    let data: ServiceState;
    try {
      data = JSON.parse(text) as ServiceState;
    } catch {
      return { state: undefined, warning: `state file ${path} is corrupt; starting fresh` };
    }
    if (!data || data.version !== STATE_VERSION || data.service !== service || typeof data.stats !== 'object' || !Array.isArray(data.mirrors)) {
      return { state: undefined, warning: `state file ${path} is of another version or service; starting fresh` };
    }
    const stats: StatsBook = {};
    for (const [name, s] of Object.entries(data.stats)) if (validStats(s)) stats[name] = { ...emptyStats(), ...s };
    return { state: { ...data, stats } };
  }

  async save(state: ServiceState): Promise<void> {
    await makeDirs(this.dir);
    await writeFileAtomic(this.path(state.service), JSON.stringify(state, null, 2) + '\n');
  }
}

/** The state to save: the current membership, and stats for its mirrors only (removed ones are dropped). */
export function snapshot(
  service: string,
  mirrors: MirrorSpec[],
  stats: StatsBook,
  extra: Pick<ServiceState, 'membershipCheckedAt' | 'adopted'> = {},
  now = Date.now(),
): ServiceState {
  const kept: StatsBook = {};
  for (const m of mirrors) if (stats[m.name]) kept[m.name] = stats[m.name]!;
  return {
    version: STATE_VERSION,
    service,
    savedAt: new Date(now).toISOString(),
    mirrors: mirrors.map((m) => ({ name: m.name, url: m.url })),
    stats: kept,
    ...extra,
  };
}

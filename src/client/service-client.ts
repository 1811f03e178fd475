// One client of one service: the certificate, a director with its memory, the connection pool and
// the membership watcher, wired together. The CLI commands and the benchmark's fleet use this; it
// never prints (events go to the sink).

import type { Certificate } from '../certificate/types.js';
import { Director } from '../director/director.js';
import { MembershipWatcher, startingMembership } from './membership.js';
import { policyByName } from '../director/policies.js';
import { snapshot, type StateStore } from '../director/state.js';
import { DownloadRequest, type DownloadResult } from '../ftp/download.js';
import { AllMirrorsFailed } from '../director/errors.js';
import { truncatePartial } from '../ftp/partial.js';
import { FtpPool } from '../ftp/pool.js';
import type { StallLimits } from '../ftp/watchdog.js';
import type { EventSink } from '../ui/events.js';
import type { PolicyName } from '../certificate/types.js';

/** The adaptive stall limit never goes below this (ms): a loaded machine pauses too. */
export const ADAPTIVE_STALL_FLOOR_MS = 2000;

export interface ServiceClientOptions {
  events: EventSink;
  policy?: PolicyName;
  /** Seconds; default from the certificate. */
  stallTimeout?: number;
  /** false: the stall timeout is a fixed limit. */
  adaptiveStall?: boolean;
  /** Where the director's memory lives; none = in memory only. */
  store?: StateStore;
  signal?: AbortSignal;
  random?: () => number;
  /** Most probes of unmeasured mirrors at once (0: never probe). */
  maxProbes?: number;
  /** Paces received bytes (the benchmark's emulated client link). */
  pace?: (bytes: number) => Promise<void> | void;
}

export class ServiceClient {
  readonly director: Director;
  readonly pool: FtpPool;
  readonly stall: StallLimits;
  private readonly membership: MembershipWatcher;
  private readonly signal: AbortSignal;

  private constructor(
    readonly cert: Certificate,
    private readonly options: ServiceClientOptions,
    state: Awaited<ReturnType<StateStore['load']>>['state'],
  ) {
    const stallTimeout = options.stallTimeout ?? cert.director.stallTimeout;
    const connectTimeout = cert.director.connectTimeout;
    this.signal = options.signal ?? new AbortController().signal;
    this.stall = {
      ceilingMs: stallTimeout * 1000,
      floorMs: options.adaptiveStall === false ? stallTimeout * 1000 : Math.min(ADAPTIVE_STALL_FLOOR_MS, stallTimeout * 1000),
    };
    this.pool = new FtpPool({
      connectTimeoutMs: connectTimeout * 1000,
      // basic-ftp's own timeout is only a backstop behind our stall watchdog.
      idleTimeoutMs: (Math.max(stallTimeout, connectTimeout) + 5) * 1000,
    });
    this.director = new Director({
      mirrors: startingMembership(cert, state?.adopted),
      policy: policyByName(options.policy ?? cert.director.policy),
      stats: state?.stats,
      signal: this.signal,
      random: options.random,
      maxProbes: options.maxProbes,
    });
    this.membership = new MembershipWatcher(cert, state?.membershipCheckedAt ?? 0, state?.adopted, options.events);
  }

  static async open(cert: Certificate, options: ServiceClientOptions): Promise<ServiceClient> {
    const loaded = options.store ? await options.store.load(cert.service) : { state: undefined };
    if (loaded.warning) options.events({ type: 'warning', message: loaded.warning });
    return new ServiceClient(cert, options, loaded.state);
  }

  /** Fetch one file through the director (rejects with AllMirrorsFailed, Interrupted or LocalError). */
  async download(remotePath: string, dest: string, extra: { sha256?: string } = {}): Promise<DownloadResult> {
    const request = new DownloadRequest({
      remotePath,
      dest,
      pool: this.pool,
      events: this.options.events,
      stall: this.stall,
      sha256: extra.sha256,
      pace: this.options.pace,
      switchFaster: !!this.director.policy.explores,
    });
    await request.prepare();
    let result: DownloadResult;
    try {
      result = await this.director.apply(request);
    } catch (error) {
      // Every mirror has another copy than the one the partial file came from: the file changed
      // since. The old bytes are worthless; start over once.
      if (!(error instanceof AllMirrorsFailed) || !error.attempts.every((a) => a.kind === 'mismatch')) throw error;
      this.options.events({ type: 'warning', message: `${remotePath}: every mirror has another copy than the partial file's; starting over` });
      await truncatePartial(dest, 0);
      await request.prepare();
      result = await this.director.apply(request);
    }
    await this.membership.check(this.director, this.pool, this.signal);
    return result;
  }

  /** Wait for probes, close connections and save what was measured (a failed save is a warning). */
  async close(): Promise<void> {
    await this.director.settle();
    this.pool.closeAll();
    const store = this.options.store;
    if (!store) return;
    try {
      await store.save(
        snapshot(this.cert.service, this.director.mirrors, this.director.stats, {
          membershipCheckedAt: this.membership.checkedAt || undefined,
          adopted: this.membership.adopted,
        }),
      );
    } catch (error) {
      this.options.events({ type: 'warning', message: `could not save state in ${store.dir}: ${(error as Error).message}` });
    }
  }
}

// One client of one service: the certificate, a director with its memory, the connection pool and
// the membership watcher, wired together. The CLI commands and the benchmark's fleet use this; it
// never prints (events go to the sink).

import { timerMs } from '../certificate/bounds.js';
import type { Certificate } from '../certificate/types.js';
import { Director } from '../director/director.js';
import { MembershipWatcher, startingMembership } from './membership.js';
import { entryNameProblem, quoted, remoteDirProblem, remoteNameProblem } from './remote-name.js';
import { policyByName } from '../director/policies.js';
import { snapshot, type StateStore } from '../director/state.js';
import { DownloadRequest, type DownloadOptions, type DownloadResult } from '../ftp/download-request.js';
import { PartialFile } from '../ftp/partial-file.js';
import { AllMirrorsFailed } from '../director/errors.js';
import { FtpPool, type Lease } from '../ftp/pool.js';
import { ListRequest, type TreeListing } from '../ftp/list-request.js';
import { arbitrate, readBytes, type Referee } from '../ftp/byte-read.js';
import { CopiesDiffer, SplitDownload } from '../ftp/split-download.js';
import type { Throttle } from '../ftp/sink.js';
import { RateLimit } from './rate-limit.js';
import type { StallLimits } from '../ftp/watchdog.js';
import type { EventSink, SmartEvent } from '../ui/events.js';
import type { ExpectedDigest } from '../ftp/running-hash.js';
import { remoteFullPath, remoteSize } from '../ftp/remote-file.js';
import { ChecksumCatalog } from './checksum-catalog.js';
import { SecondOpinion } from './second-opinion.js';
import type { PolicyName } from '../certificate/types.js';
import { localErrorText } from '../util/local-error-text.js';
import { runController } from '../util/run-controller.js';

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
  /**
   * Keep one control connection, as the paper's applet did: when a transfer starts, idle
   * connections to other mirrors are closed.
   */
  singleConnection?: boolean;
  /** Emit the policy's decisions with their reasons (debugging). */
  decisions?: boolean;
  /** Emit every line of the FTP dialogue (passwords masked). */
  dialogue?: boolean;
  /** Seconds; default from the certificate. */
  connectTimeout?: number;
  /** Passes over the mirrors for one file (default 3; only passes that made progress earn the next). */
  tries?: number;
  /** Wait between passes over the mirrors, ms. */
  retryWaitMs?: number;
  /** Most bytes a second received over all transfers. */
  limitRate?: number;
  /** Check a size only one mirror has said with another mirror before accepting a file (default true). */
  sizeWitness?: boolean;
  hooks?: ClientHooks;
}

/** What a caller may ask of one file. */
export interface FileOptions {
  /** The finished file must have this sha256 (hex). */
  sha256?: string;
  /** Fetch even when the file under the final name is already complete. */
  force?: boolean;
  /** The sizes listings gave, and the mirrors they came from. */
  listed?: readonly { mirror: string; size: number }[];
  /**
   * Byte ranges fetched from several mirrors at once: 1 (the default) one mirror at a time;
   * 'auto' as the director judges (director/split-choice.ts: large files from mirrors measured good).
   */
  split?: number | 'auto';
  /**
   * Called once the file's bytes are all in and verified, when only local work remains (a sync and
   * a rename): a batch may start its next file then.
   */
  onVerified?: () => void;
}

/** Both throttles, one after the other, or the one given. */
function chainThrottles(limit: RateLimit | undefined, hook: Throttle | undefined): Throttle | undefined {
  if (!limit || !hook) return hook ?? (limit && ((n) => limit.take(n)));
  return async (n) => {
    await limit.take(n);
    await hook(n);
  };
}

/** What a harness may plug into a client (the benchmark's emulated client machines). */
export interface ClientHooks {
  /** Delays the next read after each chunk received (an emulated client link). */
  throttle?: Throttle;
  /** A control connection to this mirror was opened. */
  onConnect?: (mirror: string) => void;
}

export class ServiceClient {
  readonly director: Director;
  readonly pool: FtpPool;
  readonly stall: StallLimits;
  private readonly membership: MembershipWatcher;
  private readonly signal: AbortSignal;
  private readonly events: EventSink;
  private readonly connectTimeout: number;
  private readonly throttle: Throttle | undefined;
  private readonly opinion: SecondOpinion;
  /** The checksums the mirrors publish, when the certificate names checksum files. */
  private readonly checksums: ChecksumCatalog | undefined;
  /** Warnings already given: the pool repeats the netrc file's on every connection. */
  private readonly warned = new Set<string>();

  private constructor(
    readonly cert: Certificate,
    private readonly options: ServiceClientOptions,
    state: Awaited<ReturnType<StateStore['load']>>['state'],
  ) {
    const stallTimeout = options.stallTimeout ?? cert.director.stallTimeout;
    const connectTimeout = options.connectTimeout ?? cert.director.connectTimeout;
    this.connectTimeout = connectTimeout;
    this.throttle = chainThrottles(options.limitRate ? new RateLimit(options.limitRate) : undefined, options.hooks?.throttle);
    this.signal = options.signal ?? runController().signal;
    this.events = options.singleConnection ? this.hangingUpIdle(options.events) : options.events;
    // The certificate's bounds keep these far below a timer's limit; timerMs holds for any caller.
    this.stall = {
      ceilingMs: timerMs(stallTimeout),
      floorMs: options.adaptiveStall === false ? timerMs(stallTimeout) : Math.min(ADAPTIVE_STALL_FLOOR_MS, timerMs(stallTimeout)),
    };
    this.pool = new FtpPool({
      connectTimeoutMs: timerMs(connectTimeout),
      // basic-ftp's own timeout is only a backstop behind our stall watchdog.
      idleTimeoutMs: timerMs(Math.max(stallTimeout, connectTimeout) + 5),
      onConnect: options.hooks?.onConnect,
      onWarning: (message) => this.warnOnce(message),
      onDialogue: options.dialogue ? (mirror, line) => this.events({ type: 'dialogue', mirror, line }) : undefined,
    });
    this.director = new Director({
      mirrors: startingMembership(cert, state?.adopted),
      policy: policyByName(options.policy ?? cert.director.policy),
      stats: state?.stats,
      signal: this.signal,
      random: options.random,
      maxProbes: options.maxProbes,
      maxPasses: options.tries,
      passWaitMs: options.retryWaitMs,
      onDecision: options.decisions ? (d) => this.events(d) : undefined,
    });
    this.opinion = new SecondOpinion(this.director, this.pool);
    if (cert.checksumFiles?.length) {
      const deadlineMs = timerMs(connectTimeout) + this.stall.ceilingMs;
      this.checksums = new ChecksumCatalog(cert.checksumFiles, this.opinion, this.events, deadlineMs, this.signal);
    }
    this.membership = new MembershipWatcher(cert, state?.membershipCheckedAt ?? 0, state?.adopted, options.events);
  }

  /** A warning the pool gives on every connection, told once a run. */
  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.options.events({ type: 'warning', message });
  }

  /** The transfer has its connection leased; the idle ones are to other mirrors: hang up. */
  private hangingUpIdle(events: EventSink): EventSink {
    return (e: SmartEvent) => {
      if (e.type === 'attempt') this.pool.closeAll();
      events(e);
    };
  }

  static async open(cert: Certificate, options: ServiceClientOptions): Promise<ServiceClient> {
    const loaded = options.store ? await options.store.load(cert.service) : { state: undefined };
    if (loaded.warning) options.events({ type: 'warning', message: loaded.warning });
    return new ServiceClient(cert, options, loaded.state);
  }

  /** A request for one file of this service, not yet applied. */
  request(remotePath: string, dest: string, extra: FileOptions & { events?: EventSink; checksum?: ExpectedDigest } = {}): DownloadRequest {
    // The CLI refuses such names with a usage error; this is the last line for every other caller.
    const problem = remoteNameProblem(remotePath);
    if (problem) throw new RangeError(`refused remote path ${quoted(remotePath)}: ${problem}`);
    return new DownloadRequest({
      service: this.cert.service,
      remotePath,
      dest,
      pool: this.pool,
      events: extra.events ?? this.events,
      stall: this.stall,
      commandTimeoutMs: timerMs(this.connectTimeout),
      checksum: extra.sha256 ? { algorithm: 'sha256', hex: extra.sha256.toLowerCase(), source: '--sha256' } : extra.checksum,
      sizeWitness: this.sizeWitness(remotePath),
      referee: this.refereeFor(remotePath),
      listed: extra.listed,
      force: extra.force,
      throttle: this.throttle,
    });
  }

  /** How a download asks another mirror for the file's size (none with a single mirror, or when turned off). */
  private sizeWitness(remotePath: string): DownloadOptions['sizeWitness'] {
    if (this.options.sizeWitness === false || this.director.mirrors.length < 2) return undefined;
    const deadlineMs = timerMs(this.connectTimeout);
    return async (except, signal, idleOnly) => {
      const size = (lease: Lease) => remoteSize(lease, remoteFullPath(lease.mirror, remotePath), deadlineMs);
      const [opinion] = await this.opinion.ask(1, except, signal, size, idleOnly);
      return opinion;
    };
  }

  /** The mirrors in the order the director would try them for this file now (--dry-run); nothing is fetched. */
  plan(remotePath: string, dest: string): string[] {
    return this.director.rank(this.request(remotePath, dest, { events: () => {} })).map((m) => m.name);
  }

  /** Fetch one file through the director (rejects with AllMirrorsFailed, Interrupted or LocalError). */
  async download(remotePath: string, dest: string, extra: FileOptions = {}): Promise<DownloadResult> {
    const checksum = extra.sha256 ? undefined : await this.checksums?.lookup(remotePath);
    const { ranges, among, listed } = await this.rangesFor(remotePath, extra);
    const request = this.request(remotePath, dest, { ...extra, listed, checksum });
    const whole = async (): Promise<DownloadResult> => {
      const verified = await this.director.apply(request);
      extra.onVerified?.();
      return request.complete(verified);
    };
    let run = whole;
    let startOver = () => request.startOver();
    if (ranges > 1) {
      // Byte ranges from several mirrors at once (ftp/split-download.ts).
      run = () => new SplitDownload(request.options, this.director, ranges, among).run();
      startOver = () => new PartialFile(dest).truncate(0);
    } else {
      const complete = await request.prepare();
      if (complete) return complete;
    }
    let result: DownloadResult;
    try {
      result = await run();
    } catch (error) {
      if (error instanceof CopiesDiffer) {
        // Ranges met where two mirrors' bytes differ: the file can only be one copy, from one mirror.
        const why = await this.referee(remotePath, error);
        this.options.events({ type: 'warning', message: `${remotePath}: ${why}; fetching it whole from one mirror` });
        await request.startOver();
        result = await whole();
      } else {
        // Every mirror has another copy than the one the partial file came from (the file changed
        // since), or two mirrors agreed against the disk's bytes (split's overlap vote). The old
        // bytes are worthless; start over once.
        if (!(error instanceof AllMirrorsFailed) || !error.attempts.every((a) => a.kind === 'mismatch' || a.kind === 'corrupt')) throw error;
        this.options.events({ type: 'warning', message: `${remotePath}: the mirrors' copies disagree with the partial file's bytes; starting over` });
        await startOver();
        result = await run();
      }
    }
    await this.membership.check(this.director, this.pool, this.signal);
    return result;
  }

  /**
   * Two copies met at a seam and differ: a third mirror's bytes there say which is the odd one,
   * and a mirror found odd is blamed (it cools down, so the whole file comes from another). What
   * to tell the user.
   */
  private async referee(remotePath: string, differ: CopiesDiffer): Promise<string> {
    const { seam, firstDiff } = differ;
    const names = [seam.mirror, seam.writer];
    const parties = names.map((name) => name ?? 'an earlier run');
    const referee = this.refereeFor(remotePath);
    const except = new Set(names.filter((name) => name !== undefined));
    const verdict = await arbitrate(referee, seam.at, [seam.theirs, seam.disk], seam.size, except, this.signal);
    if (verdict?.odd === undefined) return `${parties[0]}'s and ${parties[1]}'s copies differ at byte ${firstDiff}${verdict ? `, and ${verdict.third}'s is neither` : ''}`;
    const culprit = names[verdict.odd];
    if (culprit !== undefined) referee.blame(culprit);
    return `${parties[verdict.odd]}'s copy differs from ${parties[1 - verdict.odd]}'s and ${verdict.third}'s at byte ${firstDiff}`;
  }

  /** How a download asks a third mirror for bytes two copies disagree on, and blames the odd one. */
  private refereeFor(remotePath: string): Referee {
    return {
      bytes: async (at, length, size, except, signal) => {
        const read = (lease: Lease) =>
          readBytes(lease, remoteFullPath(lease.mirror, remotePath), at, length, { size, stall: this.stall, commandTimeoutMs: timerMs(this.connectTimeout), signal });
        const [third] = await this.opinion.ask(1, except, signal, read);
        return third;
      },
      blame: (mirror) => this.director.blame(mirror),
    };
  }

  /**
   * How many ranges of the file run at once, and among which mirrors. 'auto': the director
   * decides; when it needs the size and no listing gave it, the best-ranked mirror is asked
   * (SIZE, on the connection the download then uses), and its answer counts as its word on the
   * size as a listing's would.
   */
  private async rangesFor(remotePath: string, extra: FileOptions): Promise<{ ranges: number; among?: ReadonlySet<string>; listed?: FileOptions['listed'] }> {
    if (extra.split !== 'auto') return { ranges: extra.split ?? 1, listed: extra.listed };
    let listed = extra.listed;
    const deadlineMs = timerMs(this.connectTimeout);
    const choice = await this.director.splitFor(remotePath, async () => {
      // The best-ranked lister's word (two listings that disagree are settled by the vote later).
      if (listed?.[0]) return listed[0].size;
      const ask = (lease: Lease) => remoteSize(lease, remoteFullPath(lease.mirror, remotePath), deadlineMs);
      const [opinion] = await this.opinion.ask(1, new Set(), this.signal, ask);
      if (opinion) listed = [{ mirror: opinion.mirror, size: opinion.answer }];
      return opinion?.answer;
    });
    return { ranges: choice.ranges, among: choice.ranges > 1 ? new Set(choice.mirrors) : undefined, listed };
  }

  /**
   * List a remote directory tree through the director (`get -r`): from the best mirror, failing
   * over like a file. Entries left out are told as warnings, once, from the mirror that answered.
   */
  async list(root: string, limits: { maxEntries?: number; maxDepth?: number } = {}): Promise<TreeListing & { second?: TreeListing }> {
    const problem = remoteDirProblem(root);
    if (problem) throw new RangeError(`refused remote directory ${quoted(root)}: ${problem}`);
    const request = new ListRequest({
      root,
      pool: this.pool,
      // A listing is data, not a one-line reply: it gets the stall ceiling on top of a command's time.
      listTimeoutMs: timerMs(this.connectTimeout) + this.stall.ceilingMs,
      commandTimeoutMs: timerMs(this.connectTimeout),
      nameProblem: entryNameProblem,
      ...limits,
    });
    const listing = await this.director.apply(request);
    for (const line of listing.skipped) this.events({ type: 'warning', message: line });
    return { ...listing, second: await this.secondListing(request, listing.mirror) };
  }

  /**
   * The same tree listed by one other mirror, where the size witness is on: with two mirrors' word
   * on every file's size, no file needs a SIZE, nor another mirror's, before it is accepted (a few
   * LISTs a directory instead of one or two SIZEs a file). A side question: no answer, no votes.
   */
  private async secondListing(request: ListRequest, first: string): Promise<TreeListing | undefined> {
    if (this.options.sizeWitness === false || this.director.mirrors.length < 2) return undefined;
    const [opinion] = await this.opinion.ask(1, new Set([first]), this.signal, (lease) => request.listOn(lease));
    return opinion?.answer;
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
      const path = (error as NodeJS.ErrnoException).path ?? store.dir;
      this.options.events({ type: 'warning', message: `could not save what was measured: ${localErrorText(error, path)} (or give --state-dir DIR, or --no-state)` });
    }
  }
}

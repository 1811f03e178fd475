// The client fleet: C independent clients (each its own director and in-memory state, as separate
// machines would be), each making F consecutive retrievals of one file, all started together.

import { setMaxListeners } from 'node:events';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceClient } from '../client/service-client.js';
import type { Certificate, PolicyName } from '../certificate/types.js';
import { AllMirrorsFailed, Interrupted } from '../director/errors.js';
import type { SmartEvent } from '../ui/events.js';
import { TokenBucket } from '../emulator/bucket.js';
import { onTheWire } from '../emulator/framing.js';
import { seededRandom } from './seeded.js';

export interface FleetOptions {
  cert: Certificate;
  remotePath: string;
  clients: number;
  files: number;
  policy: PolicyName;
  /**
   * The paper's applet held one control connection: choosing another server closed it. true
   * emulates that (every other idle connection is closed when a transfer starts); false keeps
   * smartftp's pool, which leaves connections open for the next file.
   */
  oneConnection: boolean;
  /** Each client's own link, bytes/s (undefined = not capped). */
  clientLinkRate?: number;
  seed: number;
  /** The directory the clients' files go under (default: the system's temporary directory). */
  workDir?: string;
  signal?: AbortSignal;
  /** When the clients start their retrievals (every client is set up by then): the clock's zero. */
  onStart?: () => void;
  /** After every file, success or not. */
  onFile?: (ok: boolean) => void;
}

export interface ClientOutcome {
  filesDone: number;
  filesFailed: number;
  /** Bytes of completed files (what the user wanted; probes and lost partial bytes excluded). */
  bytes: number;
  /** Bytes of completed files by the mirror that sent them. */
  bytesByMirror: Record<string, number>;
  /** Control connections opened, by mirror. */
  connections: Record<string, number>;
  failovers: number;
  probes: number;
  /** Seconds from the fleet's start to this client's last retrieval. */
  seconds: number;
  /** The first failure of a file, for the report. */
  firstError?: string;
}

export interface FleetResult {
  /** Wall time until the last client finished, seconds. */
  seconds: number;
  clients: ClientOutcome[];
  interrupted: boolean;
}

function addTo(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** One client machine: its director, its link, its directory. */
interface ClientMachine {
  dir: string;
  link: TokenBucket | undefined;
  client: ServiceClient;
  outcome: ClientOutcome;
}

/**
 * Set a client machine up (directory, link, director), everything but the retrievals: the paper's
 * clients were running when they were told to start, so their set-up is not part of the timing.
 */
async function prepareClient(index: number, options: FleetOptions, signal: AbortSignal): Promise<ClientMachine> {
  const outcome: ClientOutcome = { filesDone: 0, filesFailed: 0, bytes: 0, bytesByMirror: {}, connections: {}, failovers: 0, probes: 0, seconds: 0 };
  const dir = await fsp.mkdtemp(join(options.workDir ?? tmpdir(), `smartftp-bench-client${index + 1}-`));
  const link = options.clientLinkRate === undefined ? undefined : new TokenBucket(options.clientLinkRate);
  let client: ServiceClient;
  const onEvent = (e: SmartEvent): void => {
    if (e.type === 'failover') outcome.failovers++;
    else if (e.type === 'probe') outcome.probes++;
  };
  try {
    client = await ServiceClient.open(options.cert, {
      events: onEvent,
      policy: options.policy,
      signal,
      random: seededRandom(options.seed * 1009 + index),
      singleConnection: options.oneConnection,
      // The figure measures the director's placement, as the paper's did; a second mirror's SIZE
      // per file (an integrity check) would open connections the paper's clients never had.
      sizeWitness: false,
      hooks: {
        // The client's port carries the data's framing too, as the servers' links do.
        throttle: link ? async (n) => void (await link.take(onTheWire(n), signal)) : undefined,
        onConnect: (mirror) => addTo(outcome.connections, { [mirror]: 1 }),
      },
    });
  } catch (error) {
    link?.dispose();
    await fsp.rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, link, client, outcome };
}

/** The machine's F retrievals, then its teardown. */
async function runClient(machine: ClientMachine, options: FleetOptions, started: number, signal: AbortSignal): Promise<ClientOutcome> {
  const { dir, client, outcome } = machine;
  try {
    for (let i = 0; i < options.files && !signal.aborted; i++) {
      // A fresh name per file: a failed file's partial must not be resumed as the next one.
      const dest = join(dir, `${i}.bin`);
      try {
        const result = await client.download(options.remotePath, dest);
        outcome.filesDone++;
        outcome.bytes += result.size;
        addTo(outcome.bytesByMirror, result.bytesByMirror);
        await fsp.rm(dest, { force: true });
        options.onFile?.(true);
      } catch (error) {
        if (error instanceof Interrupted) break;
        if (!(error instanceof AllMirrorsFailed)) throw error;
        outcome.filesFailed++;
        outcome.firstError ??= error.message;
        options.onFile?.(false);
      }
    }
    outcome.seconds = (performance.now() - started) / 1000;
  } finally {
    await dismantle(machine);
  }
  return outcome;
}

/** Close the machine's connections (counting them), free its link, remove its directory. */
async function dismantle(machine: ClientMachine): Promise<void> {
  await machine.client.close();
  machine.link?.dispose();
  await fsp.rm(machine.dir, { recursive: true, force: true });
}

export async function runFleet(options: FleetOptions): Promise<FleetResult> {
  // One controller for the fleet: a local error in one client stops the others too.
  const stop = new AbortController();
  // Every client's transfers listen on it: up to 64 clients x (request + probes).
  setMaxListeners(1000, stop.signal);
  const onAbort = (): void => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const prepared = await Promise.allSettled(Array.from({ length: options.clients }, (_, i) => prepareClient(i, options, stop.signal)));
    const machines = prepared.flatMap((p) => (p.status === 'fulfilled' ? [p.value] : []));
    const unprepared = prepared.find((p) => p.status === 'rejected');
    if (unprepared) {
      await Promise.allSettled(machines.map(dismantle));
      throw (unprepared as PromiseRejectedResult).reason;
    }
    // All clients start together, as the paper's did.
    const started = performance.now();
    options.onStart?.();
    const runs = machines.map((m) =>
      runClient(m, options, started, stop.signal).catch((error: unknown) => {
        stop.abort();
        throw error;
      }),
    );
    const settled = await Promise.allSettled(runs);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const clients = settled.map((s) => (s as PromiseFulfilledResult<ClientOutcome>).value);
    return { seconds: Math.max(0, ...clients.map((c) => c.seconds)), clients, interrupted: !!options.signal?.aborted };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

// Faults of the emulated mirrors, in one place: the server's fault state (Fault, what tests and
// serve-main set), the one schedule syntax `KIND:TARGET@TIME` that `serve --fault` and
// `bench --fault` read (FaultSpec), and the one mapping from a FaultSpec to a running server.

import { parseDuration } from '../certificate/duration.js';
import type { FtpServerHandle } from './server.js';

/** What a server does wrong from now on (handle.setFault, or FtpServerOptions.fault). */
export type Fault =
  | { type: 'none' }
  | { type: 'refuse' } // every new session is greeted "421 Too many users, try later." and closed
  | { type: 'stall'; afterBytes?: number } // data stops flowing after afterBytes (default 0) of each RETR; sockets stay open, no reply
  | { type: 'drop'; afterBytes?: number } // after afterBytes of a RETR, destroy that session's data AND control sockets (no reply)
  | { type: 'error'; afterBytes?: number } // after afterBytes, close the data socket and reply "426 Connection closed; transfer aborted."
  | { type: 'short'; afterBytes?: number }; // after afterBytes, end the data cleanly and reply 226, as a copy cut short while served

const FAULT_TYPES: readonly Fault['type'][] = ['none', 'refuse', 'stall', 'drop', 'error', 'short'];

/** A Fault written as JSON, e.g. {"type":"stall","afterBytes":1000} (serve-main's --fault); throws Error. */
export function faultFromJson(text: string): Fault {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`--fault is not valid JSON: ${text}`);
  }
  const f = v as { type?: unknown; afterBytes?: unknown } | null;
  const okType = FAULT_TYPES.includes(String(f?.type) as Fault['type']);
  const okBytes = f?.afterBytes === undefined || (Number.isSafeInteger(f.afterBytes) && (f.afterBytes as number) >= 0);
  if (typeof v !== 'object' || v === null || !okType || !okBytes) throw new Error(`--fault must look like {"type":"stall","afterBytes":1000}, got ${text}`);
  return v as Fault;
}

/** kill: the server dies (every socket destroyed, no replies); the others become its Fault. */
export type FaultKind = 'kill' | 'stall' | 'refuse' | 'drop' | 'error';
export const FAULT_KINDS: readonly FaultKind[] = ['kill', 'stall', 'refuse', 'drop', 'error'];

/**
 * "kill:1@5s": server 1 (1-based) dies 5 s in; "stall:local-a@500ms": the mirror named local-a
 * stalls half a second in. Digits are always a server number, never a name.
 */
export type FaultSpec = { kind: FaultKind; atSeconds: number } & ({ server: number } | { mirror: string });

const KIND = `(${FAULT_KINDS.join('|')})`;
const NEW_FORM = new RegExp(`^${KIND}:(.+)@([^@]+)$`);
/** `smartftp serve`'s first form, NAME:KIND@TIME ("local-a:kill@5"), still read. */
const OLD_FORM = new RegExp(`^(.+):${KIND}@([^@]+)$`);

/** "kill:1@5s", "kill:local-a@2.5s", "stall:2@500ms", or the old "local-a:kill@5"; throws Error. */
export function parseFault(text: string): FaultSpec {
  const t = text.trim();
  const m = NEW_FORM.exec(t);
  const old = m ? undefined : OLD_FORM.exec(t);
  const [kind, target, time] = m ? [m[1], m[2], m[3]] : [old?.[2], old?.[1], old?.[3]];
  const atSeconds = parseDuration(time);
  const numbered = m !== null && /^\d+$/.test(target ?? '');
  if (kind === undefined || target === undefined || atSeconds === undefined || (numbered && Number(target) < 1)) {
    throw new Error(`--fault: expected KIND:TARGET@TIME such as kill:1@5s or kill:local-a@2.5s (kinds: ${FAULT_KINDS.join(', ')}), got "${text}"`);
  }
  const base = { kind: kind as FaultKind, atSeconds };
  return numbered ? { ...base, server: Number(target) } : { ...base, mirror: target };
}

/** The server number or the mirror's name, as written. */
export function faultTarget(f: FaultSpec): string {
  return 'server' in f ? String(f.server) : f.mirror;
}

export function describeFault(f: FaultSpec): string {
  return `${f.kind}:${faultTarget(f)}@${f.atSeconds}s`;
}

/** Which of the servers named `names` (in order) the fault is for: 0-based, or undefined if none. */
export function faultIndex(f: FaultSpec, names: readonly string[]): number | undefined {
  const i = 'server' in f ? f.server - 1 : names.indexOf(f.mirror);
  return i >= 0 && i < names.length ? i : undefined;
}

/** Why a fault names none of `names` (a message for the user), or undefined when it names one. */
export function unknownTarget(f: FaultSpec, names: readonly string[]): string | undefined {
  if (faultIndex(f, names) !== undefined) return undefined;
  const what = 'server' in f ? `no server ${f.server}` : `no mirror named ${f.mirror}`;
  return `--fault ${describeFault(f)}: ${what} (${names.join(', ')})`;
}

/** Does what the fault says to a running server, now. */
export function applyFault(server: FtpServerHandle, kind: FaultKind): void {
  if (kind === 'kill') server.kill();
  else server.setFault({ type: kind });
}

/**
 * Starts each fault's clock now (the benchmark arms them as a point's clients start); a fault for a server not among `servers` (named `names`) is
 * skipped. onFault is told when one happens. Returns what cancels the faults still to come.
 */
export function armFaults(
  faults: readonly FaultSpec[],
  servers: readonly FtpServerHandle[],
  names: readonly string[],
  onFault?: (f: FaultSpec, name: string) => void,
): () => void {
  const timers: NodeJS.Timeout[] = [];
  for (const f of faults) {
    const i = faultIndex(f, names);
    const server = i === undefined ? undefined : servers[i];
    if (!server) continue;
    const timer = setTimeout(() => {
      applyFault(server, f.kind);
      onFault?.(f, names[i!]!);
    }, f.atSeconds * 1000);
    timers.push(timer);
  }
  return () => {
    for (const t of timers) clearTimeout(t);
  };
}

/**
 * armFaults, with every clock started at the first session any of `servers` accepts (a session
 * refused with 421 does not count), or now when one already has: `smartftp serve --fault
 * kill:local-a@5s` kills local-a 5 s after a client first connected, however long serve waited
 * for one. onStart is told when the clocks start. Returns what cancels the faults still to come
 * (and the wait for a first session).
 */
export function armFaultsAtFirstSession(
  faults: readonly FaultSpec[],
  servers: readonly FtpServerHandle[],
  names: readonly string[],
  hooks: { onFault?: (f: FaultSpec, name: string) => void; onStart?: () => void } = {},
): () => void {
  let cancelled = false;
  let disarm: (() => void) | undefined;
  let unsubscribe: (() => void)[] = [];
  const start = (): void => {
    if (cancelled || disarm) return;
    for (const u of unsubscribe) u();
    unsubscribe = [];
    disarm = armFaults(faults, servers, names, hooks.onFault);
    hooks.onStart?.();
  };
  if (servers.some((s) => s.stats.sessionsOpened > 0)) start();
  else unsubscribe = servers.map((s) => s.onSession(start));
  return () => {
    cancelled = true;
    for (const u of unsubscribe) u();
    disarm?.();
  };
}

// `cert init`'s look at each mirror, through the same pool and login as a download: reachable
// (connect and log in; the time that took is the latency), the base directory there (CWD, then LIST
// counts its entries), and TLS (an ftps:// mirror logs in over TLS; for an ftp:// one, a second
// login over AUTH TLS says whether ftps:// would work). It returns what it found, never prints.

import type { MirrorSpec } from '../certificate/types.js';
import { Interrupted, RequestError } from '../director/errors.js';
import { classifyConnectError, classifyTransferError } from '../ftp/classify.js';
import { FtpPool, withConnection } from '../ftp/pool.js';

export interface MirrorSurvey {
  /** Connected and logged in. */
  reachable: boolean;
  /** Why not: a system error code (ECONNREFUSED) or the server's reply. */
  unreachable?: string;
  /** The login was refused (a 530, not a full server): credentials are wanted. */
  loginRefused?: boolean;
  /** Connect and log in, ms. */
  loginMs?: number;
  /** Entries listed in the base directory, once entered. */
  entries?: number;
  /** Why the base directory could not be entered or listed. */
  baseProblem?: string;
  /** Logged in over TLS: the ftps:// mirror itself, or a second login over AUTH TLS for ftp://. */
  tls?: boolean;
  /** Why a login over AUTH TLS failed (ftp:// mirrors only). */
  tlsProblem?: string;
}

export interface SurveyOptions {
  connectTimeoutMs: number;
  signal: AbortSignal;
  /** What the login gave to warn about (the netrc file open to others), as the pool gives it. */
  onWarning?: (message: string) => void;
}

/** A failure said shortly: the system's error code when there is one, else the message. */
function reason(error: unknown): string {
  const cause = error instanceof RequestError ? error.cause : error;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  return error instanceof Error ? error.message : String(error);
}

/** Log in over TLS through `pool`: undefined when it worked, else why not. */
async function tlsLogin(pool: FtpPool, mirror: MirrorSpec, signal: AbortSignal): Promise<string | undefined> {
  const secure: MirrorSpec = { ...mirror, name: `${mirror.name} (AUTH TLS)`, protocol: 'ftps', maxConnections: 1 };
  try {
    await withConnection(pool, secure, signal, () => {}, async (_lease, answered) => answered());
    return undefined;
  } catch (error) {
    if (error instanceof Interrupted) throw error;
    return reason(error);
  }
}

/** What one mirror is like now. Rejects only with Interrupted. */
export async function surveyMirror(mirror: MirrorSpec, options: SurveyOptions): Promise<MirrorSurvey> {
  const pool = new FtpPool({ connectTimeoutMs: options.connectTimeoutMs, idleTimeoutMs: options.connectTimeoutMs + 5000, onWarning: options.onWarning });
  let loginMs: number | undefined;
  const result: MirrorSurvey = { reachable: false };
  try {
    result.entries = await withConnection(pool, mirror, options.signal, (ms) => (loginMs = Math.round(ms)), async (lease, answered) => {
      await lease.client.cd(mirror.basePath);
      answered();
      return (await lease.client.list()).length;
    });
  } catch (error) {
    if (error instanceof Interrupted) throw error;
    if (loginMs === undefined) {
      result.unreachable = reason(error);
      result.loginRefused = classifyConnectError(error).kind === 'auth';
      return result;
    }
    result.baseProblem = classifyTransferError(error).message;
  } finally {
    pool.closeAll();
  }
  result.reachable = true;
  result.loginMs = loginMs;
  if (mirror.protocol === 'ftps') result.tls = true;
  else {
    try {
      result.tlsProblem = await tlsLogin(pool, mirror, options.signal);
    } finally {
      pool.closeAll();
    }
    result.tls = result.tlsProblem === undefined;
  }
  return result;
}

/** Every mirror at once; the surveys in the mirrors' order. Rejects only with Interrupted. */
export function surveyMirrors(mirrors: MirrorSpec[], options: SurveyOptions): Promise<MirrorSurvey[]> {
  return Promise.all(mirrors.map((m) => surveyMirror(m, options)));
}

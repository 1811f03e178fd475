// Translate failures into the director's error kinds (the paper's "service-specific failure ...
// translated into a general exception"). basic-ftp raises FTPError (with the reply code, connection
// still usable) or a plain Error (socket closed, timeout: the client is closed); a transfer we
// stopped ourselves is judged by the reason it was stopped for.

import { FTPError } from 'basic-ftp';
import { Interrupted, LocalError, RequestError, type ErrorKind } from '../director/errors.js';
import type { StopReason } from './retrieve.js';
import { CRAWL_CAP, CRAWL_SHARE } from './watchdog.js';

/** A 530 that says the server is full (proftpd: "Sorry, max 5 users -- try again later"), not that the login is wrong. */
const FULL = /too many|max(imum)?\b.*\b(users|clients|connections)|try (again )?later/i;

function replyKind(code: number, message = ''): ErrorKind {
  if (code === 421) return 'busy';
  if (code === 530 && FULL.test(message)) return 'busy';
  if (code === 530 || code === 332) return 'auth';
  // 550 on most servers, 551 on ftp-srv, 553 for a bad name, 450 for "file busy/unavailable".
  if (code === 550 || code === 551 || code === 553 || code === 450) return 'missing';
  return 'broken';
}

/** A failure while connecting and logging in. */
export function classifyConnectError(error: unknown): RequestError {
  if (error instanceof RequestError) return error;
  if (error instanceof FTPError) {
    const kind = replyKind(error.code, error.message);
    return new RequestError(kind === 'missing' || kind === 'broken' ? 'unreachable' : kind, error.message, { cause: error });
  }
  // Refused, reset, DNS, timeouts: whatever stops a login that is not a reply is "unreachable".
  const message = error instanceof Error ? error.message : String(error);
  return new RequestError('unreachable', message, { cause: error });
}

/** Whether a failed transfer from an offset was the server refusing REST (it can only send from byte 0). */
export function restRefused(error: unknown): boolean {
  const cause = error instanceof RequestError ? error.cause : error;
  if (!(cause instanceof FTPError)) return false;
  return [500, 502, 504].includes(cause.code) || (cause.code === 501 && /\bREST\b/i.test(cause.message));
}

/** A failure after login: commands and transfers. */
export function classifyTransferError(error: unknown): RequestError {
  if (error instanceof RequestError) return error;
  if (error instanceof FTPError) return new RequestError(replyKind(error.code, error.message), error.message, { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  if (/timeout/i.test(message)) return new RequestError('stalled', message, { cause: error });
  return new RequestError('broken', message, { cause: error });
}

/** A transfer that failed: from the reason it was stopped for, or else from what the server did. */
export function classifyRetrieval(
  reason: StopReason | undefined,
  error: unknown,
  where: { mirror: string; position: number; size: number },
): RequestError | Interrupted | LocalError {
  switch (reason?.kind) {
    case 'aborted':
      return new Interrupted();
    case 'local':
    case 'rejected':
      return reason.error;
    case 'leave':
      return new RequestError('slow', reason.message);
    case 'stalled':
      return new RequestError('stalled', `no data from ${where.mirror} for ${(reason.silentMs / 1000).toFixed(1)} s at byte ${where.position}`);
    case 'crawling':
      return new RequestError('stalled', `${where.mirror} sent ${reason.rate.toFixed(0)} B/s, under the ${reason.floor.toFixed(0)} B/s floor (1/${CRAWL_SHARE} of the best mirror's, at most ${CRAWL_CAP})`);
    case 'overrun':
      // A lie about the file, and a way to look fast: the mirror's figures go (see 'corrupt').
      return new RequestError('corrupt', `${where.mirror} sent more than the ${where.size} bytes the file has`);
    default:
      return classifyTransferError(error);
  }
}

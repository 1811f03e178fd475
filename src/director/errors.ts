// Error kinds a request reports to the director. 'slow' is ours: the transfer was given up for a
// mirror measured much faster, which is no fault of the mirror. 'corrupt': the mirror's bytes
// disagree with bytes another mirror sent (it may be fast at sending garbage: its figures go).

export type ErrorKind = 'unreachable' | 'busy' | 'missing' | 'stalled' | 'broken' | 'mismatch' | 'auth' | 'slow' | 'corrupt';

/** A service-specific failure translated into a general one, as the paper's RequestException. */
export class RequestError extends Error {
  readonly kind: ErrorKind;
  /** The mirror at fault when it is not the one the attempt ran on (its bytes were outvoted). */
  readonly culprit: string | undefined;
  constructor(kind: ErrorKind, message: string, options?: { cause?: unknown; culprit?: string }) {
    super(message, options);
    this.name = 'RequestError';
    this.kind = kind;
    this.culprit = options?.culprit;
  }
}

/** One try of a request on one mirror, as reported when every mirror failed. */
export interface Attempt {
  mirror: string;
  kind: ErrorKind;
  message: string;
}

/** Every mirror was tried and none could serve the request. */
export class AllMirrorsFailed extends Error {
  readonly attempts: Attempt[];
  constructor(what: string, attempts: Attempt[]) {
    const list = attempts.map((a) => `${a.mirror}: ${a.kind} (${a.message})`).join('; ');
    super(`${what}: every mirror failed: ${list || 'no mirror to try'}`);
    this.name = 'AllMirrorsFailed';
    this.attempts = attempts;
  }
}

/**
 * A fault on this machine (disk full, no permission on the destination). Not a mirror's fault, so
 * the director does not fail over: the run stops at once and the partial file stays.
 */
export class LocalError extends Error {
  readonly code: string | undefined;
  /**
   * Mirrors whose failed attempts at this request turned out to be the user's mistake, not theirs
   * (a wrong --sha256, shown by another mirror's identical copy): the director takes back the
   * faults it recorded for them.
   */
  readonly forgive: readonly string[];
  constructor(message: string, options?: { cause?: unknown; code?: string; forgive?: readonly string[] }) {
    super(message, options);
    this.name = 'LocalError';
    this.code = options?.code;
    this.forgive = options?.forgive ?? [];
  }
}

/** The user interrupted (Ctrl-C): stop without blaming the mirror. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

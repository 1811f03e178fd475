import type { EventEmitter } from 'node:events';

export function noop(): void {}

/** Resolves true after ms, false as soon as signal aborts (the timer is cleared either way). */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Resolves with p's value, or undefined when signal aborts or timeoutMs passes.
 * Every listener and timer is removed once it settles, so nothing keeps the process alive.
 */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined, timeoutMs?: number): Promise<T | undefined> {
  if (signal?.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (v: T | undefined): void => {
      if (done) return;
      done = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(v);
    };
    const onAbort = (): void => finish(undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) timer = setTimeout(() => finish(undefined), timeoutMs);
    p.then(finish, () => finish(undefined));
  });
}

/** True when event fires, false on abort or timeout. */
export function waitEvent(emitter: EventEmitter, event: string, signal: AbortSignal, timeoutMs?: number): Promise<boolean> {
  let listener: (() => void) | undefined;
  const fired = new Promise<true>((resolve) => {
    listener = () => resolve(true);
    emitter.once(event, listener);
  });
  return raceAbort(fired, signal, timeoutMs).then((v) => {
    if (listener) emitter.removeListener(event, listener);
    return v === true;
  });
}

export interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

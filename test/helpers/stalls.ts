// What a busy machine takes from this process. A rate or a deadline measured in-process counts
// wall-clock time, and on a loaded machine part of that time the process waits for a CPU: the
// emulated mirror's pacing and the client are frozen alike. A ticker measures that time, so an
// assertion can allow exactly for it instead of failing (or of being loosened for everyone).

import { performance } from 'node:perf_hooks';

/** The ticker's period; a gap longer than this plus TIMER_SLACK_MS is a stall. */
const TICK_MS = 5;
/** How late an idle Linux timer fires anyway. */
const TIMER_SLACK_MS = 2;

export interface Stalls {
  /** Time this process could not run since watchStalls(), ms. */
  ms(): number;
  /** The longest single stall, ms. */
  maxMs(): number;
  /** Wall-clock time since watchStalls(), ms. */
  elapsedMs(): number;
  /** Wall-clock time since watchStalls() less the stalls: the time the process could run, ms. */
  runningMs(): number;
  stop(): void;
}

/** Start measuring stalls of this process's event loop; stop() when done. */
export function watchStalls(): Stalls {
  const started = performance.now();
  let last = started;
  let total = 0;
  let max = 0;
  const tick = () => {
    const now = performance.now();
    const stall = Math.max(0, now - last - TICK_MS - TIMER_SLACK_MS);
    total += stall;
    max = Math.max(max, stall);
    last = now;
  };
  const timer = setInterval(tick, TICK_MS);
  timer.unref(); // a test that fails before stop() leaves nothing running
  const ms = () => {
    tick(); // the stall under way, if any
    return total;
  };
  return {
    ms,
    maxMs: () => {
      tick();
      return max;
    },
    elapsedMs: () => performance.now() - started,
    runningMs: () => {
      const stalled = ms();
      return performance.now() - started - stalled;
    },
    stop: () => clearInterval(timer),
  };
}

/**
 * For a scenario whose subject is measured by timing (a director ranking mirrors by the speeds it
 * measures): a busy machine can make a correct client measure wrong, and then act rightly on the
 * wrong figures. Runs `scenario` (which makes its own assertions) again, up to `tries` times in
 * all, only while its failures come with this process stalled for `stallMs` or more at a time (its
 * servers, paced by its timers, then sent in bursts). A failure on a machine that let it run, or
 * on the last try, fails the test.
 */
export async function retriedWhileDisturbed(scenario: () => Promise<void>, tries = 3, stallMs = 30): Promise<void> {
  for (let i = 1; ; i++) {
    const stalls = watchStalls();
    try {
      await scenario();
      return;
    } catch (error) {
      const worst = stalls.maxMs();
      if (i >= tries || worst < stallMs) throw error;
      console.warn(`try ${i} of ${tries} failed while this process stalled for up to ${worst.toFixed(0)} ms; trying again: ${(error as Error).message.split('\n')[0]}`);
    } finally {
      stalls.stop();
    }
  }
}

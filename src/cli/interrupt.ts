// Ctrl-C: the first one aborts the run cleanly (partial files and state stay); a second one exits.

import { setMaxListeners } from 'node:events';

export interface InterruptHandle {
  signal: AbortSignal;
  dispose(): void;
}

export function interruptSignal(): InterruptHandle {
  const controller = new AbortController();
  // Every transfer, probe and connection under way listens to it: with -j, more than Node's
  // default of 10 at once is normal, not a leak.
  setMaxListeners(256, controller.signal);
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

// Ctrl-C: the first one aborts the run cleanly (partial files and state stay); a second one exits.

import { runController } from '../util/run-controller.js';

export interface InterruptHandle {
  signal: AbortSignal;
  dispose(): void;
}

export function interruptSignal(): InterruptHandle {
  const controller = runController();
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

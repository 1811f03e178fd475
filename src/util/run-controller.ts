// The abort controller of a whole run: every transfer, probe and connection under way listens to
// its signal, so with -j more than Node's default of 10 listeners at once is normal, not a leak.

import { setMaxListeners } from 'node:events';

const RUN_LISTENERS = 256;

export function runController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(RUN_LISTENERS, controller.signal);
  return controller;
}

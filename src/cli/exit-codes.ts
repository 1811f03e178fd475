// What the exit code says happened (README, "Exit codes").
export const EXIT = {
  ok: 0,
  /** At least one file failed on every mirror. */
  failed: 1,
  /** Bad usage or a bad certificate: nothing was downloaded. */
  usage: 2,
  /** A fault on this machine (disk full, permission, read-only file system): a partial file with bytes stays for the next run. */
  local: 3,
  /** Interrupted (Ctrl-C): the partial file stays for the next run. */
  interrupted: 130,
} as const;

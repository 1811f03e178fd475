// Putting a control connection back in step after a transfer was stopped by closing its data
// connection: the server still answers the RETR (426, or 226 if it had already sent everything),
// and basic-ftp, having settled the transfer, would hand that late reply to the next command.

import { FTPError, type Client } from 'basic-ftp';

/**
 * Send NOOP and skip every reply until NOOP's own 200 (replies come in order, so what comes first
 * is the stopped transfer's). False when the server did not answer within `ms` or the connection
 * failed: it cannot be trusted for another command then.
 */
export async function resync(client: Client, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const noop = client.ftp
    .handle('NOOP', (res, task) => {
      if (res instanceof FTPError) return; // the stopped transfer's 426
      if (res instanceof Error) task.reject(res);
      else if (res.code === 200) task.resolve(res);
      // anything else (226) is the stopped transfer's too
    })
    .then(
      () => true,
      () => false,
    );
  try {
    return await Promise.race([noop, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// Putting a control connection back in step after a transfer was stopped by closing its data
// connection: the server still answers the RETR (426, or 226 if it had already sent everything),
// and basic-ftp, having settled the transfer, would hand that late reply to the next command.
// Servers do not all answer in the order the commands came: proftpd with TransferRate answers a
// NOOP that arrives mid-transfer at once ("200 NOOP: data transfer in progress") and the RETR
// after it; pure-ftpd answers it with 500, then the RETR's 226. So the RETR's reply is watched for
// on the control socket itself, and both replies are awaited, in whichever order they come.

import { FTPError, type Client } from 'basic-ftp';

/** What a server may answer NOOP with while a transfer runs (200; 500 or 502 from one that takes no command then). */
const NOOP_CODES = new Set([200, 500, 502]);

/**
 * Watch the control connection for the final reply to the transfer under way (the first reply of
 * 200 or more after its 150 or 125): whether the server has answered the RETR yet.
 */
export function watchTransferReply(client: Client): { answered: () => boolean; stop: () => void } {
  const socket = client.ftp.socket;
  let started = false;
  let answered = false;
  let partial = '';
  const onData = (chunk: Buffer | string): void => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^(\d{3}) /.exec(line);
      if (!m) continue;
      const code = Number(m[1]);
      if (code === 150 || code === 125) started = true;
      else if (started && code >= 200) answered = true;
    }
  };
  socket.on('data', onData);
  return { answered: () => answered, stop: () => void socket.off('data', onData) };
}

/**
 * Send NOOP and skip replies until NOOP's own and, unless `transferAnswered`, the stopped
 * transfer's have both come. False when the server did not answer within `ms` or the connection
 * failed: it cannot be trusted for another command then.
 */
export async function resync(client: Client, ms: number, transferAnswered: boolean): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  let noopAnswered = false;
  let transferDone = transferAnswered;
  const noop = client.ftp
    .handle('NOOP', (res, task) => {
      if (res instanceof Error && !(res instanceof FTPError)) {
        task.reject(res);
        return;
      }
      if (!noopAnswered && NOOP_CODES.has(res.code)) noopAnswered = true;
      else transferDone = true; // 226, 426 or another end of the stopped transfer
      if (noopAnswered && transferDone) task.resolve(res instanceof FTPError ? { code: res.code, message: res.message } : res);
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

// basic-ftp records a stack trace for every command it sends (FtpContext.handle: `new Error().stack`),
// only to name where a task was launched if another is launched over it, which our leases never
// do. Formatting that trace was about 5 % of the CPU of a 2,000-file `get -r` (docs/benchmark.md).

import type { Client } from 'basic-ftp';

/** Make `client`'s commands skip that stack trace: the limit is 0 only while handle() runs synchronously. */
export function withoutTaskStacks(client: Client): void {
  const ftp = client.ftp;
  const handle = ftp.handle.bind(ftp);
  ftp.handle = (command, responseHandler) => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return handle(command, responseHandler);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
}

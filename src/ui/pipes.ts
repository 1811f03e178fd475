// `smartftp get --json | head -1`: once the reader is gone, a write to stdout fails with EPIPE.
// Node ignores SIGPIPE and reports it as an 'error' event, which nobody handles: a stack trace and
// exit code 1. Here a broken stdout or stderr is only muted (a destroyed stream drops later writes
// without a word); the command goes on to the end it would have had, exit code included: the
// events are a log of the download, not its data.

const QUIET = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

export function quietOnBrokenPipe(streams: NodeJS.WritableStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (QUIET.has(error.code ?? '')) return;
      throw error;
    });
  }
}

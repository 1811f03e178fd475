// Plain data connections read into one buffer reused for every read (net's `onread`), instead of a
// new Buffer per read: on a 1 GiB download those per-read Buffers were most of the system time
// (fresh pages faulted in) and of the peak RSS (dead Buffers pile up until V8's external-memory
// limit forces a full GC). The bytes go to the same ByteSink, synchronously; the socket still ends
// through basic-ftp's pipeline, which then simply sees no data.

import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Client } from 'basic-ftp';
import type { ByteSink } from './sink.js';

/**
 * One read at most: a socket's usual 64 KiB. Larger reads would swallow a probe's 128 KiB in one
 * chunk, and a data phase is timed from its first chunk to its last (data-phase.ts): the probe
 * would measure nothing.
 */
const READ_BUFFER_BYTES = 64 * 1024;

/** basic-ftp creates every socket through this method of its context (not in its typings). */
interface SocketMaker {
  _newSocket?: () => Socket;
}

/**
 * While the transfer runs (until the returned function is called), data connections that `client`
 * opens hand their bytes straight to `sink`. TLS data connections read through the TLS layer and
 * keep the ordinary path; so does a throttled sink (it needs backpressure).
 */
export function readDirectly(client: Client, sink: ByteSink): () => void {
  const context = client.ftp as unknown as SocketMaker;
  if (client.ftp.socket instanceof TLSSocket || sink.throttled || typeof context._newSocket !== 'function') return () => {};
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  // Node's Socket constructor takes `onread` (as connect() does), though @types/node omits it there.
  const options: SocketConstructorOpts & { onread: OnReadOpts } = { onread: { buffer, callback: (n) => sink.deliver(buffer.subarray(0, n)) } };
  context._newSocket = () => new Socket(options);
  // The prototype's method again: the control connection, if it is ever renewed, gets an ordinary socket.
  return () => delete context._newSocket;
}

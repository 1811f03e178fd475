import type net from 'node:net';
import type { TokenBucket } from './bucket.js';
import type { Fault } from './faults.js';

/**
 * What a session and its data side (datachannel.ts, transfer.ts) need from their server: its
 * settings, the shared bucket and fault, socket tracking and the counters.
 */
export interface ServerContext {
  readonly rootReal: string;
  readonly host: string;
  readonly controlDelayMs: number;
  readonly idleTimeoutMs: number | undefined;
  readonly users: Readonly<Record<string, string>> | undefined;
  readonly bucket: TokenBucket;
  fault(): Fault;
  /** Resolves at the next setFault(). */
  faultChanged(): Promise<void>;
  trackSocket(s: net.Socket): void;
  trackServer(s: net.Server): void;
  countTransfer(): void;
  transferEnded(): void;
  countBytes(n: number): void;
  countCommand(): void;
}

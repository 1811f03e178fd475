// Events: library code never prints; it emits these, and src/ui turns them into bars, lines or JSON.

import type { Decision } from '../director/director.js';
import type { ErrorKind } from '../director/errors.js';

export type SmartEvent =
  | { type: 'start'; file: string; dest: string; size?: number; offset: number }
  | {
      type: 'attempt';
      file: string;
      mirror: string;
      /** Bytes of the file on disk (a split download's: over all its ranges). */
      offset: number;
      size: number;
      reused: boolean;
      /** A split download's range this attempt fetches, [from, end). */
      range?: [number, number];
    }
  | { type: 'probe'; file: string; mirror: string; bytes: number; rate: number }
  | { type: 'progress'; file: string; mirror: string; bytes: number; size: number; rate: number }
  | { type: 'failover'; file: string; mirror: string; kind: ErrorKind; message: string; bytes: number; size?: number }
  | {
      type: 'done';
      file: string;
      dest: string;
      size: number;
      resumedFrom: number;
      seconds: number;
      bytesByMirror: Record<string, number>;
    }
  | { type: 'skipped'; file: string; dest: string; size: number; reason: string }
  | { type: 'error'; file: string; message: string; attempts: { mirror: string; kind: ErrorKind; message: string }[] }
  | { type: 'warning'; message: string }
  | { type: 'dialogue'; mirror: string; line: string }
  | { type: 'membership'; service: string; added: string[]; removed: string[]; from: string }
  | Decision;

export type EventSink = (event: SmartEvent) => void;

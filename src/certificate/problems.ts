// What is wrong with a certificate, with the place of each problem, so all can be fixed in one go.

import { maskPasswords, safeForMessage } from '../util/safe-text.js';

export interface Problem {
  /** The certificate's origin (file path or URL). */
  file: string;
  /** 1-based; 0 when the problem is not at a place in the text (e.g. the file cannot be read). */
  line: number;
  /** 1-based; 0 together with line 0. */
  column: number;
  /** Dotted path of the key, e.g. "mirrors[1].max_connections"; "" for the document as a whole. */
  key: string;
  message: string;
}

/** "FILE:LINE:COL: KEY: MESSAGE"; the place is left out at line 0 and the key when empty. */
export function formatProblem(p: Problem): string {
  const place = p.line > 0 ? `${p.file}:${p.line}:${p.column}` : p.file;
  return p.key ? `${place}: ${p.key}: ${p.message}` : `${place}: ${p.message}`;
}

export class CertificateError extends Error {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    // A problem never repeats a password given in a URL, wherever the URL came from.
    const masked = problems.map((p) => ({ ...p, file: safeForMessage(p.file), message: maskPasswords(p.message) }));
    super(masked.map(formatProblem).join('\n'));
    this.name = 'CertificateError';
    this.problems = masked;
  }
}

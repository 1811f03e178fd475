// Reads a service certificate (mirrors.yaml) from text or a file.

import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { CertificateError, type Problem } from './problems.js';
import { checkCertificate } from './schema.js';
import type { Certificate } from './types.js';
import { localReason } from '../util/local-error-text.js';

export { CertificateError, formatProblem, type Problem } from './problems.js';

/** Parses and validates; throws a CertificateError listing every problem found. */
export function parseCertificate(text: string, origin: string): Certificate {
  const lines = new LineCounter();
  // Duplicate keys are found while checking, where the key's dotted path is known.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    // After a syntax error the tree is a guess; checking it would only add noise.
    const problems: Problem[] = doc.errors.map((err) => {
      const { line, col } = lines.linePos(err.pos[0]);
      const message =
        err.code === 'MULTIPLE_DOCS' ? 'more than one YAML document; a certificate is a single document' : err.message;
      return { file: origin, line, column: col, key: '', message };
    });
    throw new CertificateError(problems);
  }
  const { certificate, problems } = checkCertificate(doc, lines, origin);
  if (!certificate || problems.length > 0) {
    throw new CertificateError(problems.sort((a, b) => a.line - b.line || a.column - b.column));
  }
  return certificate;
}

export async function loadCertificateFile(path: string): Promise<Certificate> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const reason = localReason(err, path, 'read');
    throw new CertificateError([
      { file: path, line: 0, column: 0, key: '', message: `cannot read the certificate: ${reason}` },
    ]);
  }
  return parseCertificate(text, path);
}

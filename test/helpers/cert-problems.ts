// The problems a certificate text is rejected with, for unit specs of the schema.

import { expect } from 'vitest';
import { CertificateError, parseCertificate, type Problem } from '../../src/certificate/load.js';

export const FILE = 'mirrors.yaml';

/** Every problem of a certificate that must be rejected. */
export function problemsOf(text: string, origin = FILE): Problem[] {
  try {
    parseCertificate(text, origin);
  } catch (err) {
    expect(err).toBeInstanceOf(CertificateError);
    return (err as CertificateError).problems;
  }
  throw new Error('expected the certificate to be rejected');
}

/** The only problem of a certificate that should have exactly one. */
export function onlyProblem(text: string): Problem {
  const problems = problemsOf(text);
  expect(problems).toHaveLength(1);
  return problems[0]!;
}

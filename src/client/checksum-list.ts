// Reading a checksum file as mirrors publish them: coreutils' `HEX  NAME` (or `HEX *NAME`, binary
// mode) and BSD's tagged `SHA256 (NAME) = HEX`. The algorithm follows from the digest's length or
// the tag. Lines that are neither (comments, signatures wrapped around the list) are passed over.

import type { DigestAlgorithm } from '../ftp/running-hash.js';

export interface Digest {
  algorithm: DigestAlgorithm;
  /** Lower-case hex. */
  hex: string;
}

const BY_LENGTH: Record<number, DigestAlgorithm> = { 32: 'md5', 40: 'sha1', 64: 'sha256', 128: 'sha512' };
const BY_TAG: Record<string, DigestAlgorithm> = { MD5: 'md5', SHA1: 'sha1', SHA256: 'sha256', SHA512: 'sha512' };

const PLAIN = /^([0-9a-fA-F]+) [ *](.+)$/;
const TAGGED = /^(MD5|SHA1|SHA256|SHA512) ?\((.+)\) ?= ?([0-9a-fA-F]+)$/;

/** A digest of the right length for its algorithm, or undefined. */
export function parseDigest(hex: string, algorithm = BY_LENGTH[hex.length]): Digest | undefined {
  return algorithm && BY_LENGTH[hex.length] === algorithm ? { algorithm, hex: hex.toLowerCase() } : undefined;
}

/** Entries by name, relative to the checksum file's directory ("./" taken off). */
export function parseChecksumList(text: string): Map<string, Digest> {
  const entries = new Map<string, Digest>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const plain = PLAIN.exec(line);
    const tagged = plain ? undefined : TAGGED.exec(line);
    const name = plain?.[2] ?? tagged?.[2];
    const digest = plain ? parseDigest(plain[1] ?? '') : tagged && parseDigest(tagged[3] ?? '', BY_TAG[tagged[1] ?? '']);
    if (name && digest) entries.set(name.replace(/^(\.\/)+/, ''), digest);
  }
  return entries;
}

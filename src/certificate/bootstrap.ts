// Bootstrapping (paper 3.2): the certificate from the first of several sources that gives a usable
// one, with a cache so that no single host is needed to start; and, since any host may lie
// (issue "Trust no mirror"), a fetched copy is used only when its signature checks out:
//
// - the trusted key is the one given by the user (--cert-key), else the one of the cached copy
//   (pinned when first fetched); a fetched certificate needs a good signature by it, or, with no
//   trusted key yet, by the key it names itself (one that names none is taken as served);
// - only a copy that passed is cached, and the next good one replaces it;
// - the cached copy spares the sources only within its own ttl, and stands in when no source gives
//   a usable copy (with a warning); a local file is read as it is now, and a copy that came from a
//   local file never stands in for anything (nor is one kept);
// - the cache is keyed by the sources as absolute paths and URLs: the same relative name in another
//   directory is another list, and never finds this one's copy.

import { CertificateError, parseCertificate, type Problem } from './load.js';
import type { CertificateCache, CachedCopy } from './cache.js';
import { verifyBytes } from './signing.js';
import { maskPasswords } from '../util/safe-text.js';
import { localReason } from '../util/local-error-text.js';
import { absoluteSource, isUrlSource, sourceFor, type CertificateSource, type Fetched } from './sources.js';
import type { Certificate } from './types.js';

export interface Bootstrapped {
  cert: Certificate;
  /** Where it came from: a source, or the cache. */
  from: string;
  warnings: string[];
}

export interface BootstrapOptions {
  cache?: CertificateCache;
  timeoutMs?: number;
  now?: number;
  /** `ed25519:BASE64`: every fetched certificate must be signed by this key. */
  trustedKey?: string;
}

/**
 * The certificate from the first source that gives a usable one; a fresh cached copy (younger than
 * its ttl) is used without asking remote sources; with every source failing, the cached copy.
 * Throws CertificateError naming every source's failure.
 */
export async function bootstrapCertificate(specs: string[], options: BootstrapOptions = {}): Promise<Bootstrapped> {
  const now = options.now ?? Date.now();
  const timeoutMs = options.timeoutMs ?? 10_000;
  // Every source is checked before any is read: a URL that can never work is a usage error.
  const sources = specs.map(sourceFor);
  const key = specs.map(absoluteSource);
  const remote = sources.some((s) => !s.local);
  const cached = remote && options.cache ? usableCopy(await options.cache.read(key), options.trustedKey) : undefined;
  if (cached && sources.every((s) => !s.local) && isFresh(cached, now)) return { cert: cached.cert, from: 'cache', warnings: [] };

  const trustedKey = options.trustedKey ?? cached?.cert.signingKey;
  const failures: Problem[] = [];
  for (const source of sources) {
    const result = await fromSource(source, trustedKey, timeoutMs);
    if ('problems' in result) {
      failures.push(...result.problems);
      continue;
    }
    // A local file is read as it is each time: its copy would never be used (usableCopy), and it
    // never replaces the copy that a remote source of the same list gave.
    if (!source.local) {
      const copy = { bytes: result.fetched.bytes, signature: result.fetched.signature, origin: source.origin };
      await options.cache?.write(key, copy, now).catch(() => undefined);
    }
    return { cert: result.cert, from: source.origin, warnings: [] };
  }
  if (cached) {
    const reasons = failures.map((p) => p.message).join('; ');
    const { fetchedAt, origin } = cached.copy.meta;
    return { cert: cached.cert, from: 'cache', warnings: [`no certificate source gave a usable copy (${reasons}); using the copy cached ${fetchedAt} from ${origin}`] };
  }
  throw new CertificateError(failures);
}

type SourceResult = { cert: Certificate; fetched: Fetched } | { problems: Problem[] };

/** One source's certificate, checked: a local file as it is, a fetched one against the key. */
async function fromSource(source: CertificateSource, trustedKey: string | undefined, timeoutMs: number): Promise<SourceResult> {
  const needsSignature = !source.local && trustedKey !== undefined;
  let fetched: Fetched;
  let cert: Certificate;
  try {
    fetched = await source.read(timeoutMs, needsSignature);
    cert = parseCertificate(fetched.bytes.toString('utf8'), source.origin);
    if (source.local || (trustedKey === undefined && cert.signingKey === undefined)) return { cert, fetched };
    if (!needsSignature) {
      // No key trusted yet, but the copy names one: it must be signed by it, as read together.
      fetched = await source.read(timeoutMs, true);
      cert = parseCertificate(fetched.bytes.toString('utf8'), source.origin);
    }
  } catch (error) {
    if (error instanceof CertificateError) return { problems: error.problems };
    const reason = source.local ? localReason(error, source.origin, 'read') : (error as Error).message;
    return { problems: [problemAt(source.origin, `cannot read the certificate: ${reason}`)] };
  }
  const key = trustedKey ?? cert.signingKey!;
  const verdict = verifyBytes(fetched.bytes, fetched.signature, key);
  if (verdict.ok) return { cert, fetched };
  const whose = trustedKey === undefined ? 'the signing_key it names' : `the trusted key ${key}`;
  return { problems: [problemAt(source.origin, `not used: it needs a signature by ${whose} (at the same place + .sig): ${verdict.reason}`)] };
}

interface UsableCopy {
  cert: Certificate;
  copy: CachedCopy;
}

/** The cached copy, when it came from a remote source and still passes the checks it passed then. */
function usableCopy(copy: CachedCopy | undefined, trustedKey: string | undefined): UsableCopy | undefined {
  if (!copy || !isUrlSource(copy.meta.origin) || !Number.isFinite(Date.parse(copy.meta.fetchedAt))) return undefined;
  // A cache written before origins were masked may hold a password.
  copy.meta.origin = maskPasswords(copy.meta.origin);
  let cert: Certificate;
  try {
    cert = parseCertificate(copy.bytes.toString('utf8'), `${copy.meta.origin} (cached ${copy.meta.fetchedAt})`);
  } catch {
    return undefined;
  }
  const key = trustedKey ?? cert.signingKey;
  if (key !== undefined && !verifyBytes(copy.bytes, copy.signature, key).ok) return undefined;
  return { cert, copy };
}

/** Within the ttl the copy itself gave, counted from when it was fetched (never from the future). */
function isFresh({ cert, copy }: UsableCopy, now: number): boolean {
  const age = now - Date.parse(copy.meta.fetchedAt);
  return cert.ttl !== undefined && age >= 0 && age < cert.ttl * 1000;
}

function problemAt(origin: string, message: string): Problem {
  return { file: origin, line: 0, column: 0, key: '', message };
}

// What the client may take from a membership update (issue "Trust no mirror"): an update is used
// only when signed by the local certificate's key, or when the local certificate says
// `membership: { path: ..., unsigned: ok }`; and a mirror it names logs in with no credential that
// the local certificate did not give that same mirror.

import { createHash } from 'node:crypto';
import { verifyBytes, type Verdict } from '../certificate/signing.js';
import type { Certificate, MirrorSpec } from '../certificate/types.js';
import type { AdoptedMembership } from '../director/state.js';

export function fingerprint(mirrors: MirrorSpec[]): string {
  return createHash('sha256')
    .update(JSON.stringify(mirrors.map((m) => [m.name, m.url, m.maxConnections, m.user ?? '', m.passwordEnv ?? ''])))
    .digest('hex')
    .slice(0, 16);
}

/**
 * What an adopted list is bound to: the certificate's own mirror list and, when it has one, its
 * signing key. A list adopted under other terms (another list, another key, or before updates
 * needed signatures) is not used.
 */
export function adoptionBase(cert: Certificate): string {
  const base = fingerprint(cert.mirrors);
  if (!cert.signingKey) return base;
  return `${base}+${createHash('sha256').update(cert.signingKey).digest('hex').slice(0, 16)}`;
}

/** Whether the certificate lets any update be adopted at all. */
export function takesUpdates(cert: Certificate): boolean {
  return !!cert.signingKey || !!cert.membershipUnsignedOk;
}

/** Whether an update (its exact bytes and its detached signature, if any) may be used. */
export function judgeUpdate(cert: Certificate, bytes: Buffer, signature: string | undefined): Verdict {
  if (cert.signingKey) {
    const verdict = verifyBytes(bytes, signature, cert.signingKey);
    // unsigned: ok lets an update without a signature in; a signature that is there must be good.
    if (verdict.ok || (signature === undefined && cert.membershipUnsignedOk)) return { ok: true };
    return verdict;
  }
  if (cert.membershipUnsignedOk) return { ok: true };
  return { ok: false, reason: 'the certificate has no signing_key to check it with (membership.unsigned: ok would adopt it unsigned)' };
}

function sameMirror(a: MirrorSpec, b: MirrorSpec): boolean {
  return a.name === b.name && a.host === b.host && a.port === b.port && a.protocol === b.protocol;
}

/**
 * The update's mirrors with credentials from the local certificate only: a mirror it gave (same
 * name, host, port and protocol) gets its user and password_env from there; any other logs in as
 * anonymous, without ~/.netrc.
 */
export function withLocalCredentials(update: MirrorSpec[], local: MirrorSpec[]): MirrorSpec[] {
  return update.map((m) => {
    const { user: _user, passwordEnv: _env, anonymousOnly: _anon, ...rest } = m;
    const own = local.find((l) => sameMirror(l, m));
    if (!own) return { ...rest, anonymousOnly: true };
    return {
      ...rest,
      ...(own.user !== undefined ? { user: own.user } : {}),
      ...(own.passwordEnv !== undefined ? { passwordEnv: own.passwordEnv } : {}),
    };
  });
}

/** The adopted membership from the state, when the certificate's present terms still allow it. */
export function usableAdoption(cert: Certificate, adopted: AdoptedMembership | undefined): AdoptedMembership | undefined {
  if (!adopted || !takesUpdates(cert) || adopted.base !== adoptionBase(cert) || adopted.mirrors.length === 0) return undefined;
  return { ...adopted, mirrors: withLocalCredentials(adopted.mirrors, cert.mirrors) };
}

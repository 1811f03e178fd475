// Lazy membership updates (paper 3.1.2): mirrors publish the current certificate at a path the
// certificate names. The client reads it over a connection it already has open, at most once per
// ttl, and hands the director the mirror list when it is a valid certificate of the same service,
// signed by the local certificate's key (or unsigned, where it says so; client/membership-trust.ts).
// The director only keeps the adopted list (director/state.ts); reading it needs the FTP pool.

import { posix } from 'node:path';
import { CertificateError, parseCertificate } from '../certificate/load.js';
import { SIGNATURE_SUFFIX } from '../certificate/signing.js';
import { CERT_SIZE_LIMIT, SIGNATURE_SIZE_LIMIT } from '../certificate/sources.js';
import type { Certificate, MirrorSpec } from '../certificate/types.js';
import type { Director } from '../director/director.js';
import type { AdoptedMembership } from '../director/state.js';
import type { FtpPool } from '../ftp/pool.js';
import { readSmallFile } from '../ftp/read-small-file.js';
import type { EventSink } from '../ui/events.js';
import { adoptionBase, fingerprint, judgeUpdate, usableAdoption, withLocalCredentials } from './membership-trust.js';

export { fingerprint } from './membership-trust.js';

/** How often to look when the certificate gives no ttl, seconds. */
export const DEFAULT_MEMBERSHIP_TTL = 3600;

/**
 * The mirrors to start with: an adopted update wins while the certificate's own list (and key) is
 * unchanged and its terms still take updates; its mirrors get credentials from the certificate only.
 */
export function startingMembership(cert: Certificate, adopted: AdoptedMembership | undefined): MirrorSpec[] {
  return usableAdoption(cert, adopted)?.mirrors ?? cert.mirrors;
}

/** What a look found: the published text and its detached signature, or why it could not be read. */
type Published = { text: string; signature?: string } | { error: Error };

export class MembershipWatcher {
  adopted: AdoptedMembership | undefined;

  constructor(
    private readonly cert: Certificate,
    /** Epoch ms of the last look (from the state). */
    public checkedAt: number,
    adopted: AdoptedMembership | undefined,
    private readonly events: EventSink,
    private readonly now: () => number = Date.now,
  ) {
    this.adopted = usableAdoption(cert, adopted);
    if (adopted && !this.adopted && adopted.base.startsWith(fingerprint(cert.mirrors))) {
      const why = 'the certificate takes only signed updates now (signing_key), or none without membership.unsigned: ok';
      events({ type: 'warning', message: `membership: not using the list adopted from ${adopted.from}: ${why}` });
    }
  }

  due(): boolean {
    const ttl = this.cert.ttl ?? DEFAULT_MEMBERSHIP_TTL;
    return !!this.cert.membershipPath && this.now() - this.checkedAt >= ttl * 1000;
  }

  /** Look, if due, on the idle connection of the mirror that served the last request. */
  async check(director: Director, pool: FtpPool, signal: AbortSignal): Promise<void> {
    const mirror = director.mirrors.find((m) => m.name === director.lastMirror);
    if (!this.due() || !mirror || !pool.hasIdle(mirror)) return;
    this.checkedAt = this.now();
    const path = posix.join(mirror.basePath, this.cert.membershipPath!);
    const origin = `${mirror.url.replace(/\/+$/, '')}/${this.cert.membershipPath!.replace(/^\/+/, '')}`;
    const read = await this.read(pool, mirror, path, signal);
    if ('error' in read) {
      this.events({ type: 'warning', message: `membership: cannot read ${origin}: ${read.error.message}` });
      return;
    }
    const { text } = read;
    let next: Certificate;
    try {
      next = parseCertificate(text, origin);
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
      this.events({ type: 'warning', message: `membership: ignoring an invalid certificate:\n${error.message}` });
      return;
    }
    if (next.service !== this.cert.service) {
      this.events({ type: 'warning', message: `membership: ${origin} is for service ${next.service}, not ${this.cert.service}; ignored` });
      return;
    }
    const mirrors = withLocalCredentials(next.mirrors, this.cert.mirrors);
    const before = new Set(director.mirrors.map((m) => m.name));
    const after = new Set(mirrors.map((m) => m.name));
    const added = [...after].filter((n) => !before.has(n));
    const removed = [...before].filter((n) => !after.has(n));
    if (added.length === 0 && removed.length === 0 && fingerprint(mirrors) === fingerprint(director.mirrors)) return;
    const verdict = judgeUpdate(this.cert, Buffer.from(text, 'utf8'), read.signature);
    if (!verdict.ok) {
      this.events({ type: 'warning', message: `membership: ignoring the update at ${origin}: ${verdict.reason}` });
      return;
    }
    director.mirrors = mirrors;
    if (director.lastMirror && !after.has(director.lastMirror)) director.lastMirror = undefined;
    this.adopted = { base: adoptionBase(this.cert), mirrors, from: origin, adoptedAt: this.now() };
    this.events({ type: 'membership', service: this.cert.service, added, removed, from: origin });
  }

  /** The update's text, and its signature when the certificate has a key to check it with. */
  private async read(pool: FtpPool, mirror: MirrorSpec, path: string, signal: AbortSignal): Promise<Published> {
    const lease = await pool.acquire(mirror, signal);
    try {
      const text = await readSmallFile(lease.client, path, CERT_SIZE_LIMIT);
      if (!this.cert.signingKey) return { text };
      // A missing signature is judged as unsigned; it is not a failure to read.
      const signature = await readSmallFile(lease.client, path + SIGNATURE_SUFFIX, SIGNATURE_SIZE_LIMIT).catch(() => undefined);
      return { text, signature };
    } catch (error) {
      return { error: error as Error };
    } finally {
      if (lease.client.closed) pool.discard(lease);
      else pool.release(lease);
    }
  }
}

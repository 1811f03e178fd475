// Lazy membership updates (paper 3.1.2): mirrors publish the current certificate at a path the
// certificate names. The client reads it over a connection it already has open, at most once per
// ttl, and hands the director the mirror list when it is a valid certificate of the same service.
// The director only keeps the adopted list (director/state.ts); reading it needs the FTP pool.

import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { CertificateError, parseCertificate } from '../certificate/load.js';
import { CERT_SIZE_LIMIT } from '../certificate/sources.js';
import type { Certificate, MirrorSpec } from '../certificate/types.js';
import type { Director } from '../director/director.js';
import type { AdoptedMembership } from '../director/state.js';
import type { FtpPool } from '../ftp/pool.js';
import { readSmallFile } from '../ftp/read-small-file.js';
import type { EventSink } from '../ui/events.js';

/** How often to look when the certificate gives no ttl, seconds. */
export const DEFAULT_MEMBERSHIP_TTL = 3600;

export function fingerprint(mirrors: MirrorSpec[]): string {
  return createHash('sha256')
    .update(JSON.stringify(mirrors.map((m) => [m.name, m.url, m.maxConnections, m.user ?? '', m.passwordEnv ?? ''])))
    .digest('hex')
    .slice(0, 16);
}

/** The mirrors to start with: an adopted update wins while the certificate's own list is unchanged. */
export function startingMembership(cert: Certificate, adopted: AdoptedMembership | undefined): MirrorSpec[] {
  return adopted && adopted.base === fingerprint(cert.mirrors) && adopted.mirrors.length > 0 ? adopted.mirrors : cert.mirrors;
}

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
    this.adopted = adopted;
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
    const lease = await pool.acquire(mirror, signal);
    let text: string;
    try {
      text = await readSmallFile(lease.client, path, CERT_SIZE_LIMIT);
      pool.release(lease);
    } catch (error) {
      if (lease.client.closed) pool.discard(lease);
      else pool.release(lease);
      this.events({ type: 'warning', message: `membership: cannot read ${origin}: ${(error as Error).message}` });
      return;
    }
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
    const before = new Set(director.mirrors.map((m) => m.name));
    const after = new Set(next.mirrors.map((m) => m.name));
    const added = [...after].filter((n) => !before.has(n));
    const removed = [...before].filter((n) => !after.has(n));
    if (added.length === 0 && removed.length === 0 && fingerprint(next.mirrors) === fingerprint(director.mirrors)) return;
    director.mirrors = next.mirrors;
    if (director.lastMirror && !after.has(director.lastMirror)) director.lastMirror = undefined;
    this.adopted = { base: fingerprint(this.cert.mirrors), mirrors: next.mirrors, from: origin, adoptedAt: this.now() };
    this.events({ type: 'membership', service: this.cert.service, added, removed, from: origin });
  }
}

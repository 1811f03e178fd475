// The service certificate (paper 3.2, Fig. 4) as plain data, after validation.

export type PolicyName = 'ranked' | 'ordered' | 'random';
export const POLICY_NAMES: readonly PolicyName[] = ['ranked', 'ordered', 'random'];

export interface MirrorSpec {
  /** Stable name used in events, stats and the state file (default: host:port). */
  name: string;
  /** The URL as written in the certificate, without credentials. */
  url: string;
  protocol: 'ftp' | 'ftps';
  host: string;
  port: number;
  /** Directory on the mirror that remote paths are relative to; always starts and ends with "/". */
  basePath: string;
  /** Most simultaneous connections this client opens to the mirror. */
  maxConnections: number;
  /** Login name; anonymous when absent (unless ~/.netrc names one for the host). */
  user?: string;
  /** Name of the environment variable holding the password; never the password itself. */
  passwordEnv?: string;
  /**
   * Log in as anonymous only: no password_env, no ~/.netrc. Set on a mirror that only a membership
   * update named, so that no credential of this user reaches it (client/membership-trust.ts).
   */
  anonymousOnly?: true;
}

export interface DirectorSettings {
  policy: PolicyName;
  /** Seconds without a byte before a transfer counts as stalled. */
  stallTimeout: number;
  /** Seconds allowed for connect and login. */
  connectTimeout: number;
}

export interface Certificate {
  service: string;
  mirrors: MirrorSpec[];
  director: DirectorSettings;
  /** Seconds after which a cached copy should be revalidated (optional). */
  ttl?: number;
  /** Path on each mirror where it publishes the current certificate (lazy membership updates). */
  membershipPath?: string;
  /** `membership.unsigned: ok`: adopt published updates that carry no valid signature. */
  membershipUnsignedOk?: boolean;
  /** `ed25519:BASE64`: the key whose signature a membership update or fetched copy needs. */
  signingKey?: string;
  /** A file every mirror holds, for `smartftp mirrors --probe` to measure with. */
  probePath?: string;
  /** Names of checksum files (SHA256SUMS, MD5SUMS...) looked up in each file's directory on the mirrors. */
  checksumFiles?: string[];
  /** Where this certificate was read from (a file path or URL), for messages. */
  origin: string;
}

export interface Credentials {
  user: string;
  password: string;
}

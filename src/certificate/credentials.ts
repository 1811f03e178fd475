// Login name and password for a mirror, from the environment, ~/.netrc or anonymous FTP.

import { homedir } from 'node:os';
import { join } from 'node:path';
import { findNetrcEntry, readNetrcFile, type NetrcEntry } from './netrc.js';
import type { Credentials, MirrorSpec } from './types.js';

export const ANONYMOUS: Readonly<Credentials> = { user: 'anonymous', password: 'smartftp@' };

/** `$NETRC` if set, else ~/.netrc. */
export function defaultNetrcPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.NETRC || join(homedir(), '.netrc');
}

function isAnonymous(user: string): boolean {
  return user === 'anonymous' || user === 'ftp';
}

/** The login for a mirror, and what the netrc file read for it gave to warn about. */
export interface ResolvedLogin {
  credentials: Credentials;
  /** The netrc file is open to other users, or has a syntax slip (see readNetrcFile). */
  warnings: string[];
}

/**
 * A mirror marked anonymousOnly logs in as anonymous, whatever else it says. Otherwise, in order:
 * the variable named by password_env; the netrc entry for the host (its login must match the
 * mirror's user, if one is given); anonymous. Throws when password_env names a
 * variable that is not set, since the login would fail anyway and the cause would be hidden.
 */
export async function resolveCredentials(
  mirror: MirrorSpec,
  env: NodeJS.ProcessEnv = process.env,
  netrcPath: string = defaultNetrcPath(env),
): Promise<Credentials> {
  return (await resolveLogin(mirror, env, netrcPath)).credentials;
}

/**
 * resolveCredentials, with the netrc file's warnings: there are some only when the netrc file was
 * read (not for an anonymousOnly mirror, nor one with password_env). This never prints; the caller
 * tells the user.
 */
export async function resolveLogin(
  mirror: MirrorSpec,
  env: NodeJS.ProcessEnv = process.env,
  netrcPath: string = defaultNetrcPath(env),
): Promise<ResolvedLogin> {
  if (mirror.anonymousOnly) return { credentials: { ...ANONYMOUS }, warnings: [] };
  if (mirror.passwordEnv !== undefined) {
    const password = env[mirror.passwordEnv];
    if (password === undefined) {
      throw new Error(
        `mirror ${mirror.name}: environment variable ${mirror.passwordEnv} (password_env) is not set`,
      );
    }
    return { credentials: { user: mirror.user ?? ANONYMOUS.user, password }, warnings: [] };
  }
  const netrc = await readNetrcFile(netrcPath);
  return { credentials: fromNetrc(mirror, findNetrcEntry(netrc.entries, mirror.host, mirror.user)), warnings: netrc.warnings };
}

function fromNetrc(mirror: MirrorSpec, entry: NetrcEntry | undefined): Credentials {
  if (entry) {
    const user = entry.login ?? mirror.user ?? ANONYMOUS.user;
    const password = entry.password ?? (isAnonymous(user) ? ANONYMOUS.password : '');
    return { user, password };
  }
  if (mirror.user !== undefined && !isAnonymous(mirror.user)) {
    // A named user with no password anywhere: try an empty one; the server decides.
    return { user: mirror.user, password: '' };
  }
  return { user: mirror.user ?? ANONYMOUS.user, password: ANONYMOUS.password };
}

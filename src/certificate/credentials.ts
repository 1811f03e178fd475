// Login name and password for a mirror, from the environment, ~/.netrc or anonymous FTP.

import { homedir } from 'node:os';
import { join } from 'node:path';
import { findNetrcEntry, readNetrc } from './netrc.js';
import type { Credentials, MirrorSpec } from './types.js';

export const ANONYMOUS: Readonly<Credentials> = { user: 'anonymous', password: 'smartftp@' };

/** `$NETRC` if set, else ~/.netrc. */
export function defaultNetrcPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.NETRC || join(homedir(), '.netrc');
}

function isAnonymous(user: string): boolean {
  return user === 'anonymous' || user === 'ftp';
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
  if (mirror.anonymousOnly) return { ...ANONYMOUS };
  if (mirror.passwordEnv !== undefined) {
    const password = env[mirror.passwordEnv];
    if (password === undefined) {
      throw new Error(
        `mirror ${mirror.name}: environment variable ${mirror.passwordEnv} (password_env) is not set`,
      );
    }
    return { user: mirror.user ?? ANONYMOUS.user, password };
  }
  const entry = findNetrcEntry(await readNetrc(netrcPath), mirror.host, mirror.user);
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

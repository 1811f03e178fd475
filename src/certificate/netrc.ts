// A small ~/.netrc reader: machine/default entries with login, password and account.

import { readFile } from 'node:fs/promises';

export interface NetrcEntry {
  /** Host name, or null for the `default` entry. */
  machine: string | null;
  login?: string;
  password?: string;
  account?: string;
}

/**
 * Entries in file order. Tokens are separated by white space; `macdef` bodies run to the next
 * blank line and are skipped. Tokens outside an entry or unknown to us are ignored.
 */
export function parseNetrc(text: string): NetrcEntry[] {
  const entries: NetrcEntry[] = [];
  let entry: NetrcEntry | undefined;
  let pos = 0;

  const next = (): string | undefined => {
    const m = /\S+/g;
    m.lastIndex = pos;
    const found = m.exec(text);
    if (!found) {
      pos = text.length;
      return undefined;
    }
    pos = m.lastIndex;
    return found[0];
  };

  for (let token = next(); token !== undefined; token = next()) {
    switch (token) {
      case 'machine': {
        const name = next();
        if (name === undefined) return entries;
        entry = { machine: name };
        entries.push(entry);
        break;
      }
      case 'default':
        entry = { machine: null };
        entries.push(entry);
        break;
      case 'login':
      case 'password':
      case 'account': {
        const value = next();
        if (value !== undefined && entry) entry[token] = value;
        break;
      }
      case 'macdef': {
        next(); // macro name
        // The body starts on the next line and ends at an empty line (or the end of the file).
        const end = /\r?\n[ \t]*\r?\n/g;
        const lineEnd = text.indexOf('\n', pos);
        end.lastIndex = lineEnd < 0 ? text.length : lineEnd;
        const blank = end.exec(text);
        pos = blank ? end.lastIndex : text.length;
        entry = undefined;
        break;
      }
      default:
        break;
    }
  }
  return entries;
}

/** The entries of a netrc file; none when the file does not exist. */
export async function readNetrc(path: string): Promise<NetrcEntry[]> {
  try {
    return parseNetrc(await readFile(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * The entry for a host: a `machine` entry for it (when a user is given, one with that login, else
 * one with no login), or failing that the `default` entry on the same terms. First match wins.
 */
export function findNetrcEntry(entries: NetrcEntry[], host: string, user?: string): NetrcEntry | undefined {
  const wanted = host.toLowerCase();
  const forHost = entries.filter((e) => e.machine !== null && e.machine.toLowerCase() === wanted);
  const defaults = entries.filter((e) => e.machine === null);
  if (user === undefined) return forHost[0] ?? defaults[0];
  const pick = (list: NetrcEntry[]): NetrcEntry | undefined =>
    list.find((e) => e.login === user) ?? list.find((e) => e.login === undefined);
  return pick(forHost) ?? pick(defaults);
}

// A small ~/.netrc reader that reads the file as curl does: machine/default entries with login,
// password and account; `#` comments; "quoted tokens" with backslash escapes; macdef blocks skipped.

import { open } from 'node:fs/promises';
import { printable } from '../util/safe-text.js';
import { localErrorText } from '../util/local-error-text.js';

export interface NetrcEntry {
  /** Host name, or null for the `default` entry. */
  machine: string | null;
  login?: string;
  password?: string;
  account?: string;
}

/** A netrc file's entries and what to warn its owner about (nothing here is fatal). */
export interface NetrcFile {
  entries: NetrcEntry[];
  warnings: string[];
}

/** White space between tokens (lines end at LF or CRLF). */
const SPACE = /[ \t\r\f\v]/;

/** What a backslash in a quoted token makes of the character after it; any other stands for itself. */
const ESCAPED: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t' };

interface Scanned {
  entries: NetrcEntry[];
  /** Syntax slips, by line ("line 3: ..."). */
  problems: string[];
}

/**
 * The tokens of one line. A token starting with `#` makes the rest of the line a comment (curl
 * 7.84 and later; a password that starts with `#` must be quoted). A token starting with `"` runs
 * to the next unescaped `"` on the same line: `\"` is a quote, `\\` a backslash, `\n`, `\r`, `\t`
 * a newline, carriage return, tab. A quote left open takes the rest of the line, with a problem.
 */
function lineTokens(line: string, lineNo: number, problems: string[]): string[] {
  const tokens: string[] = [];
  let i = 0;
  for (;;) {
    while (i < line.length && SPACE.test(line[i]!)) i++;
    if (i >= line.length || line[i] === '#') return tokens;
    if (line[i] !== '"') {
      const start = i;
      while (i < line.length && !SPACE.test(line[i]!)) i++;
      tokens.push(line.slice(start, i));
      continue;
    }
    let token = '';
    let closed = false;
    for (i++; i < line.length; i++) {
      const ch = line[i]!;
      if (ch === '"') {
        closed = true;
        i++;
        break;
      }
      if (ch === '\\' && i + 1 < line.length) {
        const next = line[++i]!;
        token += ESCAPED[next] ?? next;
      } else {
        token += ch;
      }
    }
    if (!closed) problems.push(`line ${lineNo}: a quoted token has no closing quote`);
    tokens.push(token);
  }
}

/** The entries of a netrc text, and its syntax slips. */
function scanNetrc(text: string): Scanned {
  const entries: NetrcEntry[] = [];
  const problems: string[] = [];
  const lines = text.split(/\r?\n/);
  let entry: NetrcEntry | undefined;
  /** Set once the `default` entry is read: the next machine or default ends the file. */
  let afterDefault = false;
  /** The keyword waiting for its value, or the `machine` waiting for its name. */
  let pending: 'machine' | 'login' | 'password' | 'account' | undefined;

  for (let n = 0; n < lines.length; n++) {
    for (const token of lineTokens(lines[n]!, n + 1, problems)) {
      if (pending === 'machine') {
        entry = { machine: token };
        entries.push(entry);
        pending = undefined;
        continue;
      }
      if (pending !== undefined) {
        if (entry) entry[pending] = token;
        pending = undefined;
        continue;
      }
      const keyword = token.toLowerCase();
      if (keyword === 'machine' || keyword === 'default') {
        if (afterDefault) return { entries, problems };
        if (keyword === 'machine') {
          pending = 'machine';
        } else {
          entry = { machine: null };
          entries.push(entry);
          afterDefault = true;
        }
      } else if (keyword === 'login' || keyword === 'password' || keyword === 'account') {
        pending = keyword;
      } else if (keyword === 'macdef') {
        // The macro's name ends this line; its body is the lines up to an empty (or blank) one.
        entry = undefined;
        n++;
        while (n < lines.length && lines[n]!.trim() !== '') n++;
        break;
      }
      // Any other token (port, a stray value) is ignored.
    }
  }
  return { entries, problems };
}

/**
 * Entries in file order. Tokens outside an entry or unknown to us are ignored; see lineTokens for
 * comments and quoting. `macdef` bodies run to the next blank line and are skipped. Nothing after
 * the `default` entry is read (it stands for every other host, so it comes last).
 */
export function parseNetrc(text: string): NetrcEntry[] {
  return scanNetrc(text).entries;
}

/** Permission bits that let other users read, write or run the file. */
const OPEN_TO_OTHERS = 0o077;

/**
 * A netrc file's entries (none when it does not exist) and its warnings: the file can be read or
 * written by other users (what ftp and curl call unsafe permissions; read all the same), or a
 * syntax slip. The caller decides how to tell the user.
 */
export async function readNetrcFile(path: string): Promise<NetrcFile> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], warnings: [] };
    // This machine's problem, not the mirror's: said, and logins go on without the file.
    return { entries: [], warnings: [`${localErrorText(err, printable(path), 'read')}; logging in without it`] };
  }
  try {
    const stat = await handle.stat();
    const { entries, problems } = scanNetrc(await handle.readFile('utf8'));
    const name = printable(path);
    const warnings = problems.map((p) => `${name}, ${p}`);
    // Mode bits mean nothing on Windows; a device such as /dev/null is no one's secret.
    if (process.platform !== 'win32' && stat.isFile() && (stat.mode & OPEN_TO_OTHERS) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(3, '0');
      warnings.unshift(`${name} can be read or written by other users (mode ${mode}); chmod 600 ${name}`);
    }
    return { entries, warnings };
  } finally {
    await handle.close();
  }
}

/** The entries of a netrc file; none when the file does not exist. */
export async function readNetrc(path: string): Promise<NetrcEntry[]> {
  return (await readNetrcFile(path)).entries;
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

// Files named by full URLs, as curl and aria2 take them: `get ftp://host/pub/x.iso`, or a line of
// `-i LIST` holding several TAB-separated URLs of one file (its mirrors). Each URL is a mirror (the
// URL's directory as its base path) and the file name after it. Files held by the same mirrors
// form a group, and each group becomes one service built on the fly (certificate/compose.ts).
// Nothing here connects or prints.

import { commandLineMirror, distinctMirrors, mirrorKey, type MirrorBase } from '../certificate/compose.js';
import { maskPasswords } from '../util/safe-text.js';
import { quoted } from './remote-name.js';

/** One file given by URLs. */
export interface UrlEntry {
  /** Its mirrors' URLs of it (one for an argument; a list line may give several). */
  urls: string[];
  /** Where it was given, for messages, e.g. "list.txt line 3"; undefined for an argument. */
  where?: string;
}

export interface FileUrl {
  mirror: MirrorBase;
  /** The file's path below the mirror's base directory: the URL's last segment, decoded. */
  file: string;
}

/** The files held by one set of mirrors. */
export interface UrlGroup {
  mirrors: MirrorBase[];
  /** Indexes of its entries. */
  entries: number[];
}

export interface UrlPlan {
  /** The remote name of each entry ('' where the entry was refused). */
  names: string[];
  groups: UrlGroup[];
  /** One line per refusal, naming the URL and where it came from. */
  problems: string[];
}

const NAMES_A_DIRECTORY = "it names a directory, not a file; give the file's URL, or --mirror with this URL and the file's path";

/**
 * Whether a `get` argument or list line is a URL rather than a path within a service: any scheme,
 * so that `http://...` is refused as a URL (only ftp:// and ftps:// are taken) rather than asked
 * for as a path below each mirror.
 */
export function isFileUrl(text: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text);
}

/** The URL of one file: its mirror (the directory) and its name; the reason when it cannot be one. */
export function parseFileUrl(text: string): FileUrl | string {
  // The whole URL first: scheme, password, host, port, control characters and encoding.
  const whole = commandLineMirror(text);
  if (typeof whole === 'string') return whole;
  const [, origin = '', path = ''] = /^([^:]*:\/\/[^/]*)(.*)$/s.exec(text) ?? [];
  const slash = path.lastIndexOf('/');
  const last = path.slice(slash + 1);
  let file: string;
  try {
    file = decodeURIComponent(last);
  } catch {
    return 'bad percent-encoding in the file name';
  }
  if (slash < 0 || file === '' || file === '.' || file === '..') return NAMES_A_DIRECTORY;
  const mirror = commandLineMirror(origin + path.slice(0, slash + 1));
  return typeof mirror === 'string' ? mirror : { mirror, file };
}

/**
 * Every entry read: the URLs of one entry must all name the same file (their directories may
 * differ); entries with the same mirrors are grouped, in the order first seen.
 */
export function planUrlFiles(entries: UrlEntry[]): UrlPlan {
  const names: string[] = [];
  const problems: string[] = [];
  const groups = new Map<string, UrlGroup>();
  entries.forEach((entry, i) => {
    const parsed: FileUrl[] = [];
    for (const url of entry.urls) {
      const r = parseFileUrl(url);
      if (typeof r !== 'string') parsed.push(r);
      else problems.push([entry.where, maskPasswords(url), r].filter((s) => s !== undefined).join(': '));
    }
    const files = [...new Set(parsed.map((p) => p.file))];
    if (files.length > 1) {
      const where = entry.where ?? 'the arguments';
      problems.push(`${where}: the URLs name different files (${files.map(quoted).join(', ')}); the URLs of a line are mirrors of one file`);
    }
    if (parsed.length !== entry.urls.length || files.length !== 1) {
      names.push('');
      return;
    }
    names.push(files[0]!);
    const mirrors = distinctMirrors(parsed.map((p) => p.mirror));
    const key = mirrors.map((m) => mirrorKey(m.parsed)).sort().join('\n');
    const group = groups.get(key) ?? { mirrors, entries: [] };
    group.entries.push(i);
    groups.set(key, group);
  });
  return { names, groups: [...groups.values()], problems };
}

// What `get` was asked for: the arguments and the lines of -i LIST, each either a path within the
// service (--cert, --mirror, ./mirrors.yaml) or the full URL(s) of a file, which name their own
// mirrors (client/url-files.ts). A run takes one kind or the other.

import { readFile } from 'node:fs/promises';
import { quoted } from '../client/remote-name.js';
import { isFileUrl, planUrlFiles, type UrlGroup } from '../client/url-files.js';

export interface ListEntry {
  /** The line, trimmed. */
  path: string;
  /** 1-based line in the list. */
  line: number;
  /** A line of URLs: the TAB-separated URLs of one file, as aria2 reads them. */
  urls?: string[];
}

/** Remote paths or URL lines from a list: one a line; blank lines and # comments skipped (as wget -i, aria2 -i). */
export async function readList(file: string): Promise<ListEntry[]> {
  const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  return text
    .split(/\r?\n/)
    .map((l, i): ListEntry => {
      const path = l.trim();
      if (!isFileUrl(path)) return { path, line: i + 1 };
      return { path, line: i + 1, urls: path.split('\t').map((u) => u.trim()).filter((u) => u !== '') };
    })
    .filter((e) => e.path && !e.path.startsWith('#'));
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

export interface Wanted {
  /** The remote name of each file, in order (for URLs: the name after the mirror's directory). */
  names: string[];
  /** Where each came from, for messages: undefined for an argument, else "LIST line N". */
  where: (string | undefined)[];
  /** Set when the files were given by URL: the services to build, and the files of each. */
  urlGroups?: UrlGroup[];
  /** Usage errors, one a line. */
  problems: string[];
}

/** The files asked for, from the arguments and the list, checked for the kind of run they make. */
export function wantedFiles(paths: string[], listed: ListEntry[], listName: string | undefined, service: { cert?: string[]; mirror?: string[] }): Wanted {
  const inputs = [
    ...paths.map((p) => ({ text: p, where: undefined, urls: isFileUrl(p) ? [p] : undefined })),
    ...listed.map((e) => ({ text: e.path, where: `${listName} line ${e.line}`, urls: e.urls })),
  ];
  const where = inputs.map((i) => i.where);
  const byUrl = inputs.filter((i) => i.urls !== undefined);
  if (byUrl.length === 0) return { names: inputs.map((i) => i.text), where, problems: [] };
  const problem = (message: string): Wanted => ({ names: [], where, problems: [`smartftp get: ${message}`] });
  if (byUrl.length !== inputs.length) {
    const path = inputs.find((i) => i.urls === undefined)!;
    return problem(`${quoted(path.text)}${path.where ? ` (${path.where})` : ''} is a path, and other files are given by URL: give full ftp:// URLs or paths within a service, not both`);
  }
  if (service.cert?.length || service.mirror?.length) {
    return problem(`a file's full URL names its own mirror: with ${service.cert?.length ? '--cert' : '--mirror'}, give paths relative to the mirrors' base directories`);
  }
  const plan = planUrlFiles(inputs.map((i) => ({ urls: i.urls!, where: i.where })));
  return { names: plan.names, where, urlGroups: plan.groups, problems: plan.problems.map((p) => `smartftp get: ${p}`) };
}

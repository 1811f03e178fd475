// A remote name is ours to choose, but it becomes both an FTP command argument and a local file
// name: one that could inject a command, climb out of the mirror's base directory, or land the
// download (or its .part) outside the directory it was meant for is refused before any connection.
//
// A leading "/" keeps its old meaning: the name is still relative to each mirror's base directory
// (ftp/remote-file.ts strips it). "." segments and repeated "/" are harmless; ".." never is.

import { basename, dirname, resolve, sep } from 'node:path';
import { controlCharacter, printable } from '../util/safe-text.js';

/** Why `name` may not be fetched, or undefined when it may. */
export function remoteNameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'the name is empty';
  const control = controlCharacter(name);
  if (control) return `it contains a control character (${control})`;
  // Some servers take "\" as a separator too: a ".." between backslashes climbs as well.
  const segments = name.split(/[/\\]/);
  if (segments.includes('..')) return 'a ".." segment is not allowed';
  if (segments.every((s) => s === '' || s === '.')) return 'it names no file, only a directory ("/" or ".")';
  return undefined;
}

/** Why a directory may not be listed (`get -r`): as for a file, but "/" and "." name the base directory itself. */
export function remoteDirProblem(name: string): string | undefined {
  if (name.trim() === '') return 'the name is empty';
  const control = controlCharacter(name);
  if (control) return `it contains a control character (${control})`;
  if (name.split(/[/\\]/).includes('..')) return 'a ".." segment is not allowed';
  return undefined;
}

/**
 * Why one name in a mirror's directory listing may not become part of a local path: a listing is a
 * stranger's word, and "../../etc/x", "/etc/passwd" or a name with a control character in it must
 * never be written anywhere. ("." and ".." entries are the listing's own, and are left out before.)
 */
export function entryNameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'the name is empty';
  const control = controlCharacter(name);
  if (control) return `it contains a control character (${control})`;
  if (/[/\\]/.test(name)) return 'a name in a listing may not contain "/" or "\\"';
  if (name === '.' || name === '..') return `"${name}" is not a file name`;
  return undefined;
}

/**
 * Where a file of a tree goes: DIR/<path relative to the listed directory>. Throws when the result
 * would not be inside DIR (the entries' names are checked already: this is the last line).
 */
export function treeDestination(dir: string, rel: string): string {
  const root = resolve(dir);
  const segments = rel.split('/');
  const dest = resolve(root, ...segments);
  if (segments.some((s) => entryNameProblem(s) !== undefined) || !dest.startsWith(root + sep) || dest === root) {
    throw new Error(`it would not be saved inside ${printable(root)}`);
  }
  return dest;
}

/** The file name a remote name is saved under: its last segment ("pub/x/." and "pub/x/" give "x"). */
export function localName(name: string): string {
  return name.split('/').filter((s) => s !== '' && s !== '.').at(-1) ?? '';
}

export interface DestinationOptions {
  /** -o: the file, as the user named it. */
  output?: string;
  /** -d: the directory the file goes into (default "."). */
  dir?: string;
}

/**
 * Where the file goes: -o as given, else DIR/<last segment>. Throws when the result would not be
 * a file directly inside DIR (a name the local system reads as "..", a drive or a path).
 */
export function destinationFor(name: string, options: DestinationOptions): string {
  if (options.output !== undefined) return resolve(options.output);
  const dir = resolve(options.dir ?? '.');
  const local = localName(name);
  const dest = resolve(dir, local);
  if (local === '' || local === '.' || local === '..' || dirname(dest) !== dir || basename(dest) !== local) {
    throw new Error(`it would not be saved inside ${printable(dir)}`);
  }
  return dest;
}

/** The name in quotes, backslashes and control characters escaped (so "\\r" and CR differ), for messages. */
export function quoted(name: string): string {
  return `"${printable(name.replace(/\\/g, '\\\\'))}"`;
}

export interface CheckedNames {
  /** Destination of each name, in order. */
  dests: string[];
  /** One line per refused name. */
  problems: string[];
}

/** A name's segments, without empty and "." ones. */
function segmentsOf(name: string): string[] {
  return name.split('/').filter((s) => s !== '' && s !== '.');
}

/** How many leading directories every name shares ("pub/a/x" and "pub/b/y" share 1: "pub"). */
export function sharedDepth(names: readonly string[]): number {
  const dirs = names.map((n) => segmentsOf(n).slice(0, -1));
  const first = dirs[0] ?? [];
  let depth = 0;
  while (depth < first.length && dirs.every((d) => d[depth] === first[depth])) depth++;
  return depth;
}

/**
 * Checks every name and its destination; `from` says where a name came from, for messages. With
 * -d, files keep the directories they do not all share (`pub/a/x`, `pub/b/x` go to DIR/a/x and
 * DIR/b/x): one file, or files of one directory, go straight into DIR, and two names never meet.
 */
export function checkRemoteNames(names: readonly string[], options: DestinationOptions, from?: (i: number) => string | undefined): CheckedNames {
  const dests: string[] = [];
  const problems: string[] = [];
  const shared = sharedDepth(names.filter((n) => remoteNameProblem(n) === undefined));
  const destination = (name: string) => {
    const rest = segmentsOf(name).slice(shared);
    return options.output !== undefined || rest.length <= 1 ? destinationFor(name, options) : treeDestination(options.dir ?? '.', rest.join('/'));
  };
  names.forEach((name, i) => {
    const where = from?.(i);
    const label = `${quoted(name)}${where ? ` (${where})` : ''}`;
    const problem = remoteNameProblem(name);
    if (problem) {
      problems.push(`refused remote path ${label}: ${problem}`);
      return;
    }
    try {
      dests.push(destination(name));
    } catch (error) {
      problems.push(`refused remote path ${label}: ${(error as Error).message}`);
    }
  });
  return { dests, problems };
}

// An OS error on a local file as a sentence for the user: what is wrong with which path and what to
// do about it, never Node's raw "ENOENT: no such file or directory, mkdir '...'". Whether a
// partial file stays is said by the caller, which knows whether there is one.

import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Whether the path was being read or written: the advice differs. */
export type Access = 'read' | 'write';

interface Explained {
  what: string;
  /** What to do, by access; a function when it needs the path. */
  todo: Partial<Record<Access, string>>;
}

const TEXT: Record<string, Explained> = {
  ENOSPC: { what: 'no space left on device', todo: { write: 'free some space (or choose another -d) and run again' } },
  EDQUOT: { what: 'disk quota exceeded', todo: { write: 'free some space or have the quota raised, then run again' } },
  EACCES: { what: 'permission denied', todo: { write: 'choose a place you can write to, or change its permissions', read: 'check its permissions' } },
  EPERM: { what: 'operation not permitted', todo: { write: 'choose a place you can write to, or change its permissions', read: 'check its permissions' } },
  EROFS: { what: 'read-only file system', todo: { write: 'choose a destination on a writable file system' } },
  EISDIR: { what: 'is a directory', todo: { write: 'name a file, not a directory', read: 'name a file, not a directory' } },
  EEXIST: { what: 'already exists', todo: { write: 'remove it or choose another name' } },
  ENOENT: { what: 'no such file or directory', todo: { read: 'check the name', write: 'it cannot be created there: choose another place' } },
  EMFILE: { what: 'too many open files', todo: { write: 'use fewer -j jobs, or raise the limit (ulimit -n)', read: 'raise the limit (ulimit -n)' } },
  ENFILE: { what: 'too many open files on this system', todo: { write: 'use fewer -j jobs, or close other programs', read: 'close other programs' } },
  EIO: { what: 'input/output error', todo: { write: 'the disk or file system is failing: check it (dmesg)', read: 'the disk or file system is failing: check it (dmesg)' } },
  ENAMETOOLONG: { what: 'the name is too long', todo: { write: 'choose a shorter -o or -d', read: 'check the name' } },
  ELOOP: { what: 'too many symbolic links', todo: { write: 'check the links on the way to it', read: 'check the links on the way to it' } },
  EBUSY: { what: 'busy', todo: { write: 'another program holds it; try again later' } },
  ETXTBSY: { what: 'busy', todo: { write: 'another program holds it; try again later' } },
};

/** The first component on the way to `path` that exists and is not a directory, if any. */
function fileOnTheWay(path: string): string | undefined {
  const chain: string[] = [];
  for (let p = resolve(path); dirname(p) !== p; p = dirname(p)) chain.unshift(p);
  for (const p of chain.slice(0, -1)) {
    try {
      if (!statSync(p).isDirectory()) return p;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The errno code of an error, if it has one. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Node's message without its "CODE: " prefix and the syscall and path it appends. */
function plainMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^E[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
}

/** What is wrong and what to do ("permission denied; check its permissions"), for an error on `path`. */
export function localReason(error: unknown, path: string, access: Access = 'write'): string {
  const code = errnoCode(error);
  if (code === 'ENOTDIR') {
    const file = fileOnTheWay(path);
    return `${file ?? 'a component of the path'} is a file, not a directory; ${access === 'write' ? 'choose another place, or move that file' : 'check the name'}`;
  }
  const known = code ? TEXT[code] : undefined;
  if (!known) return plainMessage(error);
  const todo = known.todo[access];
  return `${known.what}${todo ? `; ${todo}` : ''}`;
}

/** "PATH: what is wrong; what to do". */
export function localErrorText(error: unknown, path: string, access: Access = 'write'): string {
  return `${path}: ${localReason(error, path, access)}`;
}

/**
 * Whether the error is this machine's (space, permissions, a failing disk, limits: exit 3) rather
 * than a wrong name on the command line (exit 2).
 */
export function isMachineFault(error: unknown): boolean {
  return ['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EMFILE', 'ENFILE', 'EIO', 'EBUSY', 'ETXTBSY'].includes(errnoCode(error) ?? '');
}

import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';

export interface Resolved {
  /** Absolute path as the client sees it ("/" is the served root). */
  virtual: string;
  /** Real path on disk, symlinks resolved, always inside the root. */
  real: string;
  stat: Stats;
}

function inside(rootReal: string, p: string): boolean {
  if (p === rootReal) return true;
  const prefix = rootReal.endsWith(path.sep) ? rootReal : rootReal + path.sep;
  return p.startsWith(prefix);
}

/**
 * Maps a client path to a file under rootReal. ".." stops at the virtual "/" (like a chroot), and
 * symlinks are resolved before the containment check so a link cannot lead outside the root.
 * Anything missing, escaping or otherwise unreadable yields undefined (the caller answers 550).
 */
export async function resolveSafe(rootReal: string, cwd: string, arg: string): Promise<Resolved | undefined> {
  const virtual = path.posix.resolve(cwd, arg === '' ? '.' : arg);
  try {
    const real = await fsp.realpath(path.join(rootReal, virtual));
    if (!inside(rootReal, real)) return undefined;
    return { virtual, real, stat: await fsp.stat(real) };
  } catch {
    return undefined;
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** MDTM format: YYYYMMDDHHMMSS in UTC. */
export function formatMdtm(d: Date): string {
  return (
    String(d.getUTCFullYear()).padStart(4, '0') +
    two(d.getUTCMonth() + 1) +
    two(d.getUTCDate()) +
    two(d.getUTCHours()) +
    two(d.getUTCMinutes()) +
    two(d.getUTCSeconds())
  );
}

function modeString(st: Stats): string {
  let s = st.isDirectory() ? 'd' : '-';
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (st.mode >> shift) & 7;
    s += (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (bits & 1 ? 'x' : '-');
  }
  return s;
}

/** One `ls -l` style line, the format every FTP client parses. */
function unixLine(name: string, st: Stats, now: number): string {
  const d = st.mtime;
  const recent = Math.abs(now - d.getTime()) < 180 * 24 * 3600 * 1000;
  const when = recent ? `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}` : ` ${d.getUTCFullYear()}`;
  const date = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${when}`;
  return `${modeString(st)} 1 ftp ftp ${String(st.size).padStart(12)} ${date} ${name}`;
}

/** Text of LIST (long) or NLST (names only) for a directory or a single file. */
export async function formatListing(rootReal: string, target: Resolved, namesOnly: boolean): Promise<string> {
  const entries: { name: string; stat: Stats }[] = [];
  if (target.stat.isDirectory()) {
    const names = (await fsp.readdir(target.real)).sort();
    for (const name of names) {
      // Entries that resolve outside the root (or dangle) are simply not shown.
      const r = await resolveSafe(rootReal, target.virtual, name);
      if (r && (r.stat.isFile() || r.stat.isDirectory())) entries.push({ name, stat: r.stat });
    }
  } else {
    entries.push({ name: path.posix.basename(target.virtual), stat: target.stat });
  }
  const now = Date.now();
  return entries.map((e) => (namesOnly ? e.name : unixLine(e.name, e.stat, now)) + '\r\n').join('');
}

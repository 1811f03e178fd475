// vsftpd mirrors each in a network namespace of its own behind a tc-shaped link (scripts/netns.mjs
// makes and removes the namespaces), for the director tests on real links.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { makeNamespaces, netnsProblem, type Link, type Namespace } from '../../scripts/netns.mjs';
import { describeIfUsable, startVsftpd, vsftpdPath, type Vsftpd } from './vsftpd.js';

export { netemProblem } from '../../scripts/netns.mjs';

/** `describe` when namespaces and vsftpd are usable here; else skipped with the reason (a failure in CI). */
export function describeWithNetns(name: string, fn: () => void): void {
  const missing = vsftpdPath() === undefined ? 'vsftpd is not installed' : netnsProblem();
  describeIfUsable(name, missing === undefined ? undefined : { warn: `${missing}: skipping ${name}`, fail: missing }, fn, 'network namespace');
}

export interface ShapedMirror {
  ns: Namespace;
  server: Vsftpd;
  /** Its xferlog: every transfer with the bytes vsftpd sent. */
  xferlog: string;
}

/**
 * For a describe block: `start(links, roots)` makes one namespace per link with a vsftpd serving
 * the root in it; everything made is removed after the block's tests (servers first).
 */
export function shapedMirrors(): { start(links: Link[], roots: string[]): Promise<ShapedMirror[]>; stop(): Promise<void> } {
  let made: { remove(): void } | undefined;
  let servers: Vsftpd[] = [];
  const logs = mkdtempSync(join(tmpdir(), 'smartftp-xferlog-'));
  const stop = async () => {
    await Promise.allSettled(servers.splice(0).map((s) => s.stop()));
    made?.remove();
    made = undefined;
  };
  afterAll(async () => {
    await stop();
    rmSync(logs, { recursive: true, force: true });
  });
  return {
    async start(links, roots) {
      await stop();
      made = makeNamespaces(links);
      const { namespaces } = made as ReturnType<typeof makeNamespaces>;
      return Promise.all(
        namespaces.map(async (ns, i) => {
          const xferlog = join(logs, `${ns.name}-${Date.now()}.log`);
          const server = await startVsftpd({ root: roots[i]!, host: ns.address, netns: ns.name, xferlog });
          servers.push(server);
          return { ns, server, xferlog };
        }),
      );
    },
    stop,
  };
}

/** The bytes vsftpd says it sent, over every transfer in its xferlog (whole or cut). */
export function bytesLogged(xferlog: string): number {
  let text = '';
  try {
    text = readFileSync(xferlog, 'utf8');
  } catch {
    return 0;
  }
  // Standard xferlog: weekday month day time year, transfer-time host bytes filename ...
  return text
    .split('\n')
    .filter(Boolean)
    .reduce((n, line) => n + Number(line.trim().split(/\s+/)[7] ?? 0), 0);
}

// `smartftp get` against every FTP server Debian ships that the harness can start
// (test/helpers/ftp-servers.ts): the same cases against each one. One server per implementation
// for the whole describe; a case that needs another (a slow mirror to kill or interrupt, a full
// one) starts it itself.

import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, FTPError } from 'basic-ftp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, putFile, removeAll, runCli, sha256, sha256File, tempDir, writeCert, type CliEvent, type CertMirror } from '../helpers/fixtures.js';
import { describeWithServer, SERVERS, serverImpl, type FtpServer, type ServerImpl, type ServerKind } from '../helpers/ftp-servers.js';

const MiB = 1024 * 1024;
const SIZE = 4 * MiB;
const DATA = content(SIZE, 81);
const FILES = { 'big.bin': DATA, 'empty.bin': Buffer.alloc(0) };
/** The slow mirror that is killed or interrupted: a transfer of the whole file takes about 1.4 s. */
const SLOW_RATE = 3_000_000;

/** What each server says when it is full (the research notes, servers-and-links.md), with a limit of 1. */
const FULL_REPLY: Partial<Record<ServerKind, RegExp>> = {
  vsftpd: /^421 There are too many connected users/,
  'pure-ftpd': /^421 1 users \(the maximum\) are already logged in/,
  proftpd: /^530 Sorry, max 1 users -- try again later/,
  pyftpdlib: /^421 Too many connections/,
  twisted: /^421 Too many users right now/,
};

const t = cleanupAfterEach();

/** A root every server can serve: the ftp user reads it (0755) and cannot write it. */
function readableRoot(): string {
  const root = tempDir('smartftp-root-');
  for (const [name, data] of Object.entries(FILES)) putFile(root, name, data);
  chmodSync(root, 0o755);
  return root;
}

/** The first other implementation that runs here and can be slowed down: the mirror to kill or interrupt. */
function slowPeer(kind: ServerKind): ServerImpl | undefined {
  return (['vsftpd', 'pure-ftpd', 'pyftpdlib', 'proftpd'] as const)
    .map(serverImpl)
    .find((s) => s.kind !== kind && s.rate && s.problem() === undefined);
}

function get(path: string, mirrors: CertMirror[], dir: string) {
  return runCli(['get', path, '--cert', writeCert(dir, mirrors), '-d', dir, '--json'], { env: { XDG_STATE_HOME: t.dir('smartftp-state-') } });
}

const ofType = (events: CliEvent[], type: string) => events.filter((e) => e.type === type);
const failovers = (events: CliEvent[]) => ofType(events, 'failover').map((e) => `${e.mirror}:${e.kind}`);
const done = (events: CliEvent[]) => ofType(events, 'done')[0];
const leftovers = (dest: string) => [`${dest}.part`, `${dest}.part.json`].filter((p) => existsSync(p));

function fullTitle(impl: ServerImpl): string {
  return impl.sessionLimit
    ? `skips it when full (${impl.sessionLimit} 1, one session held): kind busy, the next mirror serves`
    : 'full server: not applicable, it has no session limit';
}

function noRestTitle(impl: ServerImpl): string {
  return impl.rest
    ? 'no REST: not applicable, it has REST'
    : 'has no REST (502): sends from byte 0, and every byte before the offset is checked against the disk';
}

/** Seconds each implementation's describe took, from its server's start to its stop. */
const durations = new Map<ServerKind, number>();
afterAll(() => {
  const lines = [...durations].map(([kind, s]) => `  ${kind.padEnd(15)} ${s.toFixed(1)} s`);
  if (lines.length > 0) console.log(`servers.test.ts, seconds per implementation:\n${lines.join('\n')}`);
});

for (const impl of SERVERS) {
  describeWithServer(impl, `get against ${impl.kind}`, () => {
    let server: FtpServer;
    let root: string;
    let peerRoot: string;
    let started = 0;
    const me = () => ({ url: server.url, name: impl.kind });
    const peer = slowPeer(impl.kind);

    beforeAll(async () => {
      started = performance.now();
      root = readableRoot();
      peerRoot = readableRoot();
      server = await impl.start({ root });
    });

    afterAll(async () => {
      await server?.stop();
      removeAll([root, peerRoot].filter(Boolean));
      durations.set(impl.kind, (performance.now() - started) / 1000);
    });

    /** A .part (and its record) as a run interrupted by Ctrl-C at a third of the file leaves it. */
    async function interruptedRun(dir: string): Promise<number> {
      const slow = t.track(await peer!.start({ root: peerRoot, rateBytesPerSec: SLOW_RATE }));
      const first = get('big.bin', [{ url: slow.url, name: 'slow' }], dir);
      await first.waitFor((e) => e.type === 'progress' && e.bytes >= SIZE / 3);
      first.child.kill('SIGINT');
      expect(await first.exit).toBe(130);
      const partial = statSync(join(dir, 'big.bin.part')).size;
      expect(partial).toBeGreaterThan(0);
      expect(partial).toBeLessThan(SIZE);
      expect(existsSync(join(dir, 'big.bin.part.json'))).toBe(true);
      return partial;
    }

    it('gets a file', async () => {
      const dir = t.dir();
      const run = get('big.bin', [me()], dir);
      expect(await run.exit, run.stderr()).toBe(0);
      expect(sha256File(join(dir, 'big.bin'))).toBe(sha256(DATA));
      expect(done(run.events)).toMatchObject({ size: SIZE, resumedFrom: 0, bytesByMirror: { [impl.kind]: SIZE } });
      expect(failovers(run.events)).toEqual([]);
      expect(leftovers(join(dir, 'big.bin'))).toEqual([]);
    });

    it('gets a 0-byte file: exit 0, an empty file, nothing left behind', async () => {
      const dir = t.dir();
      const run = get('empty.bin', [me()], dir);
      expect(await run.exit, run.stderr()).toBe(0);
      const dest = join(dir, 'empty.bin');
      expect(statSync(dest).size).toBe(0);
      expect(leftovers(dest)).toEqual([]);
      expect(done(run.events)).toMatchObject({ size: 0, resumedFrom: 0 });
      expect(failovers(run.events)).toEqual([]);
    });

    it.runIf(peer)(`resumes a .part a previous run left (interrupted on ${peer?.kind ?? 'no slow peer'}): fetches only the rest`, async () => {
      const dir = t.dir();
      const partial = await interruptedRun(dir);
      const run = get('big.bin', [me()], dir);
      expect(await run.exit, run.stderr()).toBe(0);
      expect(sha256File(join(dir, 'big.bin'))).toBe(sha256(DATA));
      expect(ofType(run.events, 'attempt')).toMatchObject([{ mirror: impl.kind, offset: partial, size: SIZE }]);
      expect(done(run.events)).toMatchObject({ size: SIZE, resumedFrom: partial, bytesByMirror: { [impl.kind]: SIZE - partial } });
      expect(failovers(run.events)).toEqual([]);
      expect(leftovers(join(dir, 'big.bin'))).toEqual([]);
    });

    it.runIf(peer)(`fails over to it mid-file from a killed ${peer?.kind ?? 'peer'}`, async () => {
      const slow = t.track(await peer!.start({ root: peerRoot, rateBytesPerSec: SLOW_RATE }));
      const dir = t.dir();
      const run = get('big.bin', [{ url: slow.url, name: 'slow' }, me()], dir);
      await run.waitFor((e) => e.type === 'progress' && e.mirror === 'slow' && e.bytes >= SIZE / 3);
      slow.signal('SIGKILL');
      expect(await run.exit, run.stderr()).toBe(0);
      expect(sha256File(join(dir, 'big.bin'))).toBe(sha256(DATA));
      const failover = ofType(run.events, 'failover');
      expect(failover).toMatchObject([{ mirror: 'slow', kind: 'broken' }]);
      const at = failover[0]!.bytes as number;
      expect(at).toBeGreaterThanOrEqual(SIZE / 3);
      expect(at).toBeLessThan(SIZE);
      expect(ofType(run.events, 'attempt').at(-1)).toMatchObject({ mirror: impl.kind, offset: at });
      expect(done(run.events)).toMatchObject({ size: SIZE, bytesByMirror: { slow: at, [impl.kind]: SIZE - at } });
      expect(leftovers(join(dir, 'big.bin'))).toEqual([]);
    });

    it('fails with exit 1 on 550 for a missing file: kind missing, the error event', async () => {
      const dir = t.dir();
      const run = get('missing.bin', [me()], dir);
      expect(await run.exit, run.stderr()).toBe(1);
      expect(failovers(run.events)).toEqual([`${impl.kind}:missing`]);
      const errors = ofType(run.events, 'error');
      expect(errors).toMatchObject([{ file: 'missing.bin', attempts: [{ mirror: impl.kind, kind: 'missing' }] }]);
      expect(errors[0]!.attempts[0].message).toMatch(/^550 /);
      expect(errors[0]!.message).toMatch(/every mirror failed/);
      expect(existsSync(join(dir, 'missing.bin'))).toBe(false);
      expect(leftovers(join(dir, 'missing.bin'))).toEqual([]);
    });

    it.runIf(impl.sessionLimit)(fullTitle(impl), async () => {
      const full = t.track(await impl.start({ root, maxSessions: 1 }));
      const holder = t.track(new Client(5000));
      // The harness's own start-up probe may still be counted for a moment.
      for (let tries = 0; ; tries++) {
        try {
          await holder.access({ host: '127.0.0.1', port: full.port, user: 'anonymous', password: 'holder@smartftp' });
          break;
        } catch (error) {
          if (tries >= 20) throw error;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const dir = t.dir();
      const run = get('big.bin', [{ url: full.url, name: 'full' }, me()], dir);
      expect(await run.exit, run.stderr()).toBe(0);
      expect(failovers(run.events)).toEqual(['full:busy']);
      expect(ofType(run.events, 'failover')[0]!.message).toMatch(FULL_REPLY[impl.kind]!);
      expect(sha256File(join(dir, 'big.bin'))).toBe(sha256(DATA));
      expect(done(run.events)).toMatchObject({ bytesByMirror: { [impl.kind]: SIZE } });
      // Full and nothing else: the only mirror gives exit 1 with the same kind.
      const alone = get('big.bin', [{ url: full.url, name: 'full' }], t.dir());
      expect(await alone.exit, alone.stderr()).toBe(1);
      expect(ofType(alone.events, 'error')).toMatchObject([{ attempts: [{ mirror: 'full', kind: 'busy' }] }]);
    });

    it.runIf(!impl.rest && peer)(
      noRestTitle(impl),
      async () => {
        // The premise: the server refuses REST.
        const client = t.track(new Client(5000));
        await client.access({ host: '127.0.0.1', port: server.port, user: 'anonymous', password: 'x@smartftp' });
        const refused = await client.send('REST 1').then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(refused).toBeInstanceOf(FTPError);
        expect((refused as FTPError).message).toMatch(/^502 /);
        // A .part whose byte 100 is not the file's: far before the 64 KiB a server with REST re-sends,
        // so only a check of every byte from 0 sees it.
        const dir = t.dir();
        await interruptedRun(dir);
        const part = join(dir, 'big.bin.part');
        const bytes = readFileSync(part);
        bytes[100] = bytes[100]! ^ 0xff;
        writeFileSync(part, bytes);
        const mark = server.log().length;
        const run = get('big.bin', [me()], dir);
        expect(await run.exit, run.stderr()).toBe(0);
        // Its dialogue (py-ftpd.py logs it): REST refused, then RETR from byte 0 on the same connection.
        const dialogue = server.log().slice(mark).split('\n').filter((l) => /^(<-|->) /.test(l));
        const rest = dialogue.findIndex((l) => l.startsWith('<- REST '));
        expect(dialogue[rest + 1]).toMatch(/^-> 502 /);
        expect(dialogue.slice(rest + 2).find((l) => l.startsWith('<- RETR') || l.startsWith('<- REST'))).toMatch(/^<- RETR /);
        const failover = ofType(run.events, 'failover');
        expect(failover).toMatchObject([{ mirror: impl.kind, kind: 'corrupt' }]);
        expect(failover[0]!.message).toMatch(/at byte 100$/);
        // Its only mirror disagrees with the disk: the disk's bytes go, the file starts over there.
        expect(ofType(run.events, 'warning').map((e) => e.message)).toEqual([expect.stringMatching(/starting over/)]);
        expect(sha256File(join(dir, 'big.bin'))).toBe(sha256(DATA));
        expect(done(run.events)).toMatchObject({ resumedFrom: 0, bytesByMirror: { [impl.kind]: SIZE } });
        expect(leftovers(join(dir, 'big.bin'))).toEqual([]);
      },
    );
  });
}

// Safe, cheap re-runs: a file already complete (the mirror's size and time, or the sha256 given) is
// skipped and said to be; --force fetches it again. Counted at the servers.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFtpServer } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, putFile, runCli, sha256, sha256File, writeCert, type CliEvent } from '../helpers/fixtures.js';

const t = cleanupAfterEach();
const files = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`pub/f${i}.bin`, content(200_000 + i * 1000, 40 + i)]));
const names = Object.keys(files).map((p) => p.slice('pub/'.length));
const total = Object.values(files).reduce((a, b) => a + b.length, 0);

async function twoMirrors() {
  const roots = t.roots(2, files);
  const servers = await Promise.all(roots.map(async (root) => t.track(await startFtpServer({ root }))));
  const dir = t.dir();
  const cert = writeCert(dir, servers.map((s, i) => ({ url: s.url + 'pub', name: `m${i + 1}` })));
  const sent = () => servers.reduce((a, s) => a + s.stats.bytesSent, 0);
  const get = async (args: string[]) => {
    const run = runCli(['get', ...args, '--cert', cert, '-d', dir, '--json']);
    return { code: await run.exit, events: run.events, stderr: run.stderr() };
  };
  return { roots, servers, dir, sent, get };
}

const ofType = (events: CliEvent[], type: string) => events.filter((e) => e.type === type);

describe('re-runs', () => {
  it('a finished bulk run run again transfers no file data, and says each file was skipped', async () => {
    const { dir, sent, get } = await twoMirrors();
    const first = await get([...names, '-j', '2']);
    expect(first.code).toBe(0);
    expect(sent()).toBeGreaterThanOrEqual(total);
    const before = sent();
    const again = await get([...names, '-j', '2']);
    expect(again.code).toBe(0);
    expect(sent()).toBe(before);
    expect(ofType(again.events, 'done')).toEqual([]);
    expect(ofType(again.events, 'skipped').map((e) => e.file).sort()).toEqual(names);
    expect(ofType(again.events, 'skipped')[0]!.reason).toMatch(/^already complete: it has m\d's size and time$/);
    for (const n of names) expect(sha256File(join(dir, n))).toBe(sha256(files[`pub/${n}`]!));
  });

  it('--force fetches complete files again', async () => {
    const { sent, get } = await twoMirrors();
    expect((await get(names)).code).toBe(0);
    const before = sent();
    const forced = await get([...names, '--force']);
    expect(forced.code).toBe(0);
    expect(ofType(forced.events, 'done')).toHaveLength(names.length);
    expect(sent() - before).toBeGreaterThanOrEqual(total);
  });

  it('a file that changed on the mirrors since is fetched again', async () => {
    const { roots, dir, get } = await twoMirrors();
    expect((await get(['f0.bin'])).code).toBe(0);
    const changed = content(200_000, 99);
    for (const root of roots) {
      putFile(root, 'pub/f0.bin', changed);
      const later = new Date('2026-03-01T00:00:00Z');
      utimesSync(join(root, 'pub/f0.bin'), later, later);
    }
    const again = await get(['f0.bin']);
    expect(again.code).toBe(0);
    expect(ofType(again.events, 'skipped')).toEqual([]);
    expect(sha256(readFileSync(join(dir, 'f0.bin')))).toBe(sha256(changed));
  });

  it('a wrong --sha256 stops the run once two mirrors send the same other copy, saying the checksum is probably wrong', async () => {
    const { dir, sent, get } = await twoMirrors();
    const wrong = 'ab'.repeat(32);
    const run = await get(['f2.bin', '--sha256', wrong]);
    expect(run.code).toBe(3);
    const error = run.events.find((e) => e.type === 'error')!;
    expect(error.message).toMatch(new RegExp(`^--sha256 ${wrong} was given, but m1 and m2 both sent a copy whose sha256 is ${sha256(files['pub/f2.bin']!)}: the checksum given is probably wrong`));
    // Each mirror sent the file once: no pass over them again.
    expect(sent()).toBeLessThan(3 * files['pub/f2.bin']!.length);
    // No file under the final name, and none of the bytes that failed the checksum kept.
    expect(readdirSync(dir).filter((f) => f.startsWith('f2.bin') && f !== 'f2.bin.part')).toEqual([]);
    expect(readFileSync(join(dir, 'f2.bin.part')).length).toBe(0);
  });

  it("a wrong --sha256 is the user's mistake: the saved state keeps no fault or cooldown of either mirror, and the next run fetches from the first", async () => {
    const { dir, get } = await twoMirrors();
    const state = join(dir, 'state');
    const stateFile = join(state, 'test.smartftp.json');
    const wrong = 'cd'.repeat(32);
    const run = await get(['f3.bin', '--sha256', wrong, '--state-dir', state]);
    expect(run.code).toBe(3);
    const error = run.events.find((e) => e.type === 'error')!;
    expect(error.message).toBe(`--sha256 ${wrong} was given, but m1 and m2 both sent a copy whose sha256 is ${sha256(files['pub/f3.bin']!)}: the checksum given is probably wrong`);
    // m1's copy was judged on its own first (a failover), before m2's identical one showed whose mistake it was.
    expect(ofType(run.events, 'failover').map((e) => [e.mirror, e.kind])).toEqual([['m1', 'mismatch']]);
    const saved = JSON.parse(readFileSync(stateFile, 'utf8'));
    for (const m of ['m1', 'm2']) expect(saved.stats[m], m).toMatchObject({ failures: [], cooldownUntil: 0 });

    // Under the ordered policy a cooled-down m1 would be passed over for m2.
    const next = await get(['f3.bin', '--sha256', sha256(files['pub/f3.bin']!), '--state-dir', state]);
    expect(next.code).toBe(0);
    expect(ofType(next.events, 'failover')).toEqual([]);
    expect(ofType(next.events, 'done')[0]!.bytesByMirror).toEqual({ m1: files['pub/f3.bin']!.length });
    expect(sha256File(join(dir, 'f3.bin'))).toBe(sha256(files['pub/f3.bin']!));
  });

  it("a killed run's temporary files (state file, .part record) are removed by the next write of the same file; a running process's and the user's stay", async () => {
    const { dir, get } = await twoMirrors();
    const state = join(dir, 'state');
    mkdirSync(state);
    // The pid of a process that has exited: what a run killed mid-write leaves in the name.
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const stale = [join(state, `test.smartftp.json.${dead}.tmp`), join(dir, `f4.bin.part.json.${dead}.tmp`)];
    const kept = [join(state, `test.smartftp.json.${process.pid}.tmp`), join(dir, `notes.${dead}.tmp`), join(dir, `f4.bin.part.json.x${dead}.tmp`)];
    for (const f of [...stale, ...kept]) writeFileSync(f, '{"half": ');
    const run = await get(['f4.bin', '--state-dir', state]);
    expect(run.code).toBe(0);
    expect(sha256File(join(dir, 'f4.bin'))).toBe(sha256(files['pub/f4.bin']!));
    expect(stale.filter((f) => existsSync(f))).toEqual([]);
    expect(kept.filter((f) => existsSync(f))).toEqual(kept);
    expect(JSON.parse(readFileSync(join(state, 'test.smartftp.json'), 'utf8')).service).toBe('test.smartftp');
  });

  it('with the sha256 given, a complete file is skipped without connecting', async () => {
    const { servers, get } = await twoMirrors();
    expect((await get(['f1.bin'])).code).toBe(0);
    const sessions = servers.reduce((a, s) => a + s.stats.sessionsOpened, 0);
    const again = await get(['f1.bin', '--sha256', sha256(files['pub/f1.bin']!)]);
    expect(again.code).toBe(0);
    expect(ofType(again.events, 'skipped')[0]!.reason).toBe('already complete: it has the sha256 given');
    expect(servers.reduce((a, s) => a + s.stats.sessionsOpened, 0)).toBe(sessions);
  });
});

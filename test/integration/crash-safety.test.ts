// What a crash leaves, now that the .part.json record is not fsynced and the data is synced in the
// background (docs/architecture.md, "Crash safety"): a download killed with SIGKILL at any point
// leaves nothing under the final name, a .part with a record that names its source, and the next
// run resumes from it to the right bytes; a .part whose record was lost (a power cut) is set
// aside, never resumed. And the memory of a download does not grow with the file's size.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startFtpServer } from '../../src/emulator/server.js';
import { HELD_RECORD_BYTES } from '../../src/ftp/partial-file.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { CLI, content, runCli, sha256, sha256File, type CliEvent } from '../helpers/fixtures.js';
import { waitUntil } from '../helpers/wait.js';

const t = cleanupAfterEach();
const SIZE = 3 * 1024 * 1024;
const data = content(SIZE, 7);

/** One mirror sending at 1.5 MB/s (2 s for the file), and a run of `get` into a fresh directory. */
async function setup(rate = 1_500_000) {
  const [root] = t.roots(1, { 'pub/f.bin': data });
  const server = t.track(await startFtpServer({ root: root!, linkRate: rate }));
  const dir = t.dir();
  const mirror = `${server.url}pub`;
  const get = () => runCli(['get', 'f.bin', '--mirror', mirror, '-d', dir, '--json', '--no-state']);
  const dest = join(dir, 'f.bin');
  const size = (path: string) => (existsSync(path) ? statSync(path).size : -1);
  return { dir, dest, get, size, mirror };
}

const ofType = (events: CliEvent[], type: string) => events.filter((e) => e.type === type);

describe('crash safety', () => {
  it.each([
    ['as soon as the record and the .part exist', 0],
    ['a third of the way', SIZE / 3],
    ['two thirds of the way', (2 * SIZE) / 3],
  ])('killed with SIGKILL %s: nothing under the final name, and the next run resumes to the right bytes', async (_, at) => {
    const { dir, dest, get, size } = await setup();
    const first = get();
    // The record is written once the .part holds HELD_RECORD_BYTES: from then on, at any length.
    await waitUntil(() => existsSync(`${dest}.part.json`) && size(`${dest}.part`) >= at, `.part at ${at} bytes`, 15_000, 2);
    expect(size(`${dest}.part`)).toBeGreaterThanOrEqual(HELD_RECORD_BYTES);
    first.child.kill('SIGKILL');
    expect(await first.exit).toBe(128);
    expect(existsSync(dest)).toBe(false);
    const kept = size(`${dest}.part`);
    expect(kept).toBeGreaterThanOrEqual(at);
    expect(kept).toBeLessThan(SIZE);
    const record = JSON.parse(readFileSync(`${dest}.part.json`, 'utf8')) as { remotePath: string; size: number };
    expect(record).toMatchObject({ remotePath: 'f.bin', size: SIZE });
    // What is kept is the file's own prefix, never other bytes.
    expect(sha256(readFileSync(`${dest}.part`))).toBe(sha256(data.subarray(0, kept)));

    const again = get();
    expect(await again.exit).toBe(0);
    expect(ofType(again.events, 'start')[0]).toMatchObject({ offset: kept });
    expect(sha256File(dest)).toBe(sha256(data));
    expect(readdirSync(dir).sort()).toEqual(['f.bin']);
  }, 60_000);

  it('a .part whose record was lost (a power cut before it reached the disk) is set aside, not resumed', async () => {
    const { dir, dest, get, size } = await setup();
    const first = get();
    await waitUntil(() => existsSync(`${dest}.part.json`) && size(`${dest}.part`) >= SIZE / 3, '.part at a third', 15_000, 2);
    first.child.kill('SIGKILL');
    await first.exit;
    const kept = size(`${dest}.part`);
    rmSync(`${dest}.part.json`);

    const again = get();
    expect(await again.exit).toBe(0);
    expect(ofType(again.events, 'start')[0]).toMatchObject({ offset: 0 });
    expect(String(ofType(again.events, 'warning')[0]?.message)).toMatch(/has no record of coming from f\.bin .*set aside as .*\.part\.aside, starting over/);
    expect(sha256File(dest)).toBe(sha256(data));
    const aside = readdirSync(dir).filter((n) => n.startsWith('f.bin.part.aside'));
    expect(aside).toEqual(['f.bin.part.aside']);
    expect(statSync(join(dir, aside[0]!)).size).toBe(kept);
  }, 60_000);

  it('a file killed before its .part reached HELD_RECORD_BYTES has no record: the next run sets it aside and fetches it whole', async () => {
    const { dir, dest, get, size } = await setup(200_000);
    const first = get();
    await waitUntil(() => size(`${dest}.part`) >= 200_000, '.part at 200 kB', 15_000, 2);
    first.child.kill('SIGKILL');
    await first.exit;
    const kept = size(`${dest}.part`);
    expect(kept).toBeLessThan(HELD_RECORD_BYTES);
    expect(existsSync(`${dest}.part.json`)).toBe(false);

    const again = get();
    // At 200 kB/s the whole file would take 15 s: let the set-aside show, then stop the run.
    await again.waitFor((e) => e.type === 'start');
    again.child.kill('SIGKILL');
    await again.exit;
    expect(ofType(again.events, 'start')[0]).toMatchObject({ offset: 0 });
    expect(String(ofType(again.events, 'warning')[0]?.message)).toMatch(/has no record of coming from f\.bin .*set aside as .*\.part\.aside, starting over/);
    expect(statSync(join(dir, 'f.bin.part.aside')).size).toBe(kept);
    expect(existsSync(dest)).toBe(false);
  }, 60_000);

  it("a download's peak memory does not grow with the file's size", async () => {
    const peak = async (bytes: number) => {
      const [root] = t.roots(1, { 'pub/f.bin': content(bytes, 3) });
      const server = t.track(await startFtpServer({ root: root! }));
      const dir = t.dir();
      // GNU time reads the child's peak RSS on wait4; the server runs in this process (so not spawnSync).
      const { stderr } = await promisify(execFile)('/usr/bin/time', ['-f', '%M', process.execPath, CLI, 'get', 'f.bin', '--mirror', `${server.url}pub`, '-d', dir, '-q', '--no-state']);
      expect(sha256File(join(dir, 'f.bin'))).toBe(sha256(content(bytes, 3)));
      return Number(stderr.trim().split('\n').pop()) / 1024;
    };
    const small = await peak(4 * 1024 * 1024);
    const large = await peak(96 * 1024 * 1024);
    // Before reads went into one reused buffer, dead 64 KiB Buffers piled up until V8's
    // external-memory limit forced a full GC: 96 MiB took 31 MB more than 4 MiB (from vsftpd).
    expect(large - small).toBeLessThan(20);
  }, 120_000);
});

// What a person sees: the real CLI (bin/smartftp.js, built by tsc) typed into a real terminal
// (tmux, 80x24 and 120x40) against emulated mirrors, and the screen read back. Each scripted
// mistake or event must show its whole message (wrapped rows joined back), the exit code the
// shell echoes after it, and no bar left behind.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFtpServer, type FtpServerHandle } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { CLI, content, removeAll, sha256, sha256File, tempDir, writeCert } from '../helpers/fixtures.js';
import { Tmux, tmuxMissing } from './tmux.js';

const MiB = 1024 * 1024;
const t = cleanupAfterEach();

const missing = tmuxMissing();
// Skipped on a machine without tmux; CI installs it (test/interop/install-servers.sh), so there
// a missing tmux fails.
const skip = missing !== undefined && process.env.CI !== 'true';
if (skip) console.warn(`test/tty skipped: ${missing}`);

/** A bar, as the live area draws one: a leftover after the command ended is a stale bar. */
const BAR = /\[[#-]{5,}\]/;
const OVERALL = /^files \d+\/\d+ /;

/** Emulated mirrors m1, m2, ... serving `files` under pub/; writes DIR/mirrors.yaml (policy ordered). */
async function mirrors(dir: string, n: number, files: Record<string, Buffer>, options: { rate?: number; first?: Parameters<FtpServerHandle['setFault']>[0] } = {}) {
  const roots = t.roots(n, Object.fromEntries(Object.entries(files).map(([p, d]) => [`pub/${p}`, d])));
  const handles = await Promise.all(roots.map(async (root) => t.track(await startFtpServer({ root, linkRate: options.rate ?? 4_000_000 }))));
  if (options.first) handles[0]!.setFault(options.first);
  writeCert(dir, handles.map((h, i) => ({ url: `${h.url}pub`, name: `m${i + 1}` })));
  return handles;
}

describe.skipIf(skip)('in a terminal', () => {
  it('has tmux', () => expect(missing).toBeUndefined());

  for (const [columns, rows] of [
    [80, 24],
    [120, 40],
  ] as const) {
    describe(`${columns}x${rows}`, () => {
      let term: Tmux;
      let base: string;

      beforeAll(async () => {
        base = tempDir('smartftp-tty-');
        term = await Tmux.start(`smartftp-tty-${process.pid}-${columns}`, columns, rows, { TTY_TMP: base, TTY_CLI: CLI });
        // Each run with a state directory of its own, as on a first run.
        await term.type(`PS1='$ '; smartftp() { XDG_STATE_HOME="$(mktemp -d -p "$TTY_TMP")" node "$TTY_CLI" "$@"; }`);
      });
      afterAll(async () => {
        await term?.kill();
        if (base) removeAll([base]);
      });

      /** A fresh screen in a fresh directory; returns the directory. */
      async function fresh(): Promise<string> {
        const dir = t.dir();
        await term.type(`cd ${dir}`);
        await term.clear();
        return dir;
      }

      /** Types `command; echo EXIT=$?` and waits for it to end. */
      async function run(command: string, status = '$?') {
        await term.type(`${command}; echo EXIT=${status}`);
        return term.exit();
      }

      function noStaleBars(lines: string[]) {
        expect(lines.filter((l) => BAR.test(l) || OVERALL.test(l)), lines.join('\n')).toEqual([]);
      }

      it('a usage error: get with no file', async () => {
        await fresh();
        const { code, lines } = await run('smartftp get');
        expect(lines).toContain('smartftp get: no file named (give paths, or -i FILE)');
        expect(code).toBe(2);
      });

      it('a certificate error names file, line and key', async () => {
        const dir = await fresh();
        writeFileSync(join(dir, 'bad.yaml'), 'service: x\ndirector:\n  stall_timout: 5s\nmirrors:\n  - url: http://example.invalid/\n');
        const { code, lines } = await run('smartftp get a.bin --cert bad.yaml');
        expect(lines).toContain("bad.yaml:3:3: director.stall_timout: unknown key 'stall_timout'; did you mean 'stall_timeout'?");
        expect(lines).toContain("bad.yaml:5:10: mirrors[0].url: unsupported scheme 'http://'; expected ftp:// or ftps://");
        expect(code).toBe(2);
      });

      it('550 on every mirror', async () => {
        const dir = await fresh();
        await mirrors(dir, 2, { 'a.bin': content(1000, 1) });
        const { code, lines } = await run('smartftp get nope.bin');
        expect(lines.some((l) => /^nope\.bin: every mirror failed: m1: missing \(550 .+\); m2: missing \(550 .+\)$/.test(l)), lines.join('\n')).toBe(true);
        expect(code).toBe(1);
        noStaleBars(lines);
      });

      it('all mirrors down', async () => {
        const dir = await fresh();
        const handles = await mirrors(dir, 2, { 'a.bin': content(1000, 1) });
        for (const h of handles) h.kill();
        const { code, lines } = await run('smartftp get a.bin');
        expect(lines.some((l) => /^a\.bin: every mirror failed: m1: unreachable \(.+\); m2: unreachable \(.+\)$/.test(l)), lines.join('\n')).toBe(true);
        expect(code).toBe(1);
        noStaleBars(lines);
      });

      it('a local fault: the whole message says what to do, with no errno text and no partial file claimed', async () => {
        const dir = await fresh();
        await mirrors(dir, 1, { 'a.bin': content(1000, 1) });
        // mkdir under /proc answers ENOENT though /proc exists (Node's own recursive mkdir spins on it).
        const { code, lines } = await run('smartftp get a.bin -d /proc/smartftp-tty-test/out');
        expect(lines, lines.join('\n')).toContain('a.bin: /proc/smartftp-tty-test/out: no such file or directory; it cannot be created there: choose another place');
        expect(lines.join('\n')).not.toMatch(/ENOENT|partial file/);
        expect(code).toBe(3);
        noStaleBars(lines);
      });

      it('Ctrl-C during a transfer, after the rate and ETA were on screen', async () => {
        const dir = await fresh();
        await mirrors(dir, 1, { 'big.bin': content(16 * MiB, 2) }, { rate: 2_000_000 });
        await term.type('smartftp get big.bin; echo EXIT=$?');
        const live = /^big\.bin +\[[#-]+\] +\d+% +[\d.]+\/[\d.]+ MiB +[\d.]+ [KM]iB\/s +ETA \d+:\d\d +from m1$/;
        await term.waitFor((ls) => ls.some((l) => live.test(l)), 'a live line with rate and ETA');
        await term.keys('C-c');
        const { code, lines } = await term.exit();
        expect(lines).toContain('big.bin: interrupted; the partial file stays for the next run');
        expect(code).toBe(130);
        noStaleBars(lines);
      });

      it('a failover mid-file: the whole line, with where it resumed', async () => {
        const dir = await fresh();
        const data = content(8 * MiB, 3);
        await mirrors(dir, 2, { 'big.bin': data }, { first: { type: 'drop', afterBytes: 3_000_000 } });
        await term.type('smartftp get big.bin; echo EXIT=$?');
        await term.waitFor((ls) => ls.some((l) => l.includes('resuming on mirror m2')), 'the failover line');
        console.info(`failover at ${columns} columns:\n${await term.screen()}`);
        const { code, lines } = await term.exit();
        const failover = lines.find((l) => l.startsWith('big.bin: mirror m1'));
        expect(failover).toMatch(/^big\.bin: mirror m1 broken at ([\d.]+ MiB) \(.+\), resuming on mirror m2 at \1$/);
        expect(lines.some((l) => /\/big\.bin: 8\.0 MiB in [\d.]+ s \([\d.]+ MiB from m1, [\d.]+ MiB from m2\)$/.test(l)), lines.join('\n')).toBe(true);
        expect(code).toBe(0);
        expect(sha256File(join(dir, 'big.bin'))).toBe(sha256(data));
        noStaleBars(lines);
        console.info(`failover at ${columns} columns, at the end:\n${await term.screen()}`);
      });

      it('a bulk run of 6 files with -j 3: one overall line, a summary per file, no stale bar', async () => {
        const dir = await fresh();
        const files = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}.bin`, content(2 * MiB, 10 + i)]));
        await mirrors(dir, 2, files, { rate: 3_000_000 });
        writeFileSync(join(dir, 'list'), Object.keys(files).join('\n') + '\n');
        await term.type('smartftp get -i list -j 3 -d out; echo EXIT=$?');
        const during = await term.waitFor((ls) => ls.filter((l) => BAR.test(l)).length >= 2 && ls.some((l) => / [KM]iB\/s  ETA \d/.test(l) && OVERALL.test(l)), 'the overall line and bars');
        console.info(`bulk at ${columns} columns, running:\n${await term.screen()}`);
        expect(during.filter((l) => OVERALL.test(l))).toHaveLength(1);
        expect(during.find((l) => OVERALL.test(l))).toMatch(/^files [0-5]\/6  [\d.]+\/~?[\d.]+ MiB  [\d.]+ [KM]iB\/s  ETA \d+:\d\d(  from m\d(,m\d)?)?$/);
        expect(during.filter((l) => BAR.test(l)).length).toBeLessThanOrEqual(3);
        const { code, lines } = await term.exit();
        console.info(`bulk at ${columns} columns, at the end:\n${await term.screen()}`);
        for (const name of Object.keys(files)) {
          expect(lines.filter((l) => new RegExp(`/out/${name.replace('.', '\\.')}: 2\\.0 MiB in [\\d.]+ s \\(.+\\)$`).test(l))).toHaveLength(1);
          expect(sha256File(join(dir, 'out', name))).toBe(sha256(files[name]!));
        }
        expect(code).toBe(0);
        noStaleBars(lines);
      });

      it('--json | head -1: one event, no stack trace, the exit code of the download', async () => {
        const dir = await fresh();
        const data = content(8 * MiB, 4);
        await mirrors(dir, 1, { 'big.bin': data });
        const { code, lines } = await run('smartftp get big.bin --json | head -1', '${PIPESTATUS[0]}');
        const printed = lines.filter((l) => l && l !== '$' && !l.startsWith('$ ') && !l.startsWith('EXIT='));
        expect(printed, lines.join('\n')).toHaveLength(1);
        expect(JSON.parse(printed[0]!)).toMatchObject({ type: 'start', file: 'big.bin' });
        expect(code).toBe(0);
        expect(sha256File(join(dir, 'big.bin'))).toBe(sha256(data));
      });

      if (columns === 120) {
        it('narrowed to 70 columns mid-run: the live lines are redrawn to fit, rate and ETA kept', async () => {
          const dir = await fresh();
          const files = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`file-with-a-longer-name-${i}.bin`, content(8 * MiB, 20 + i)]));
          await mirrors(dir, 2, files, { rate: 3_000_000 });
          writeFileSync(join(dir, 'list'), Object.keys(files).join('\n') + '\n');
          await term.type('smartftp get -i list -j 2 -d out; echo EXIT=$?');
          await term.waitFor((ls) => ls.filter((l) => BAR.test(l) && / [KM]iB\/s +ETA \d/.test(l)).length >= 2, 'bars with a rate');
          await term.resize(70, rows);
          // The next redraw after the resize, while transfers run (each pair of files takes about 5 s).
          const running = (ls: string[]) => ls.some((l) => /longer-name-\d\.bin +\d+% .* ETA /.test(l));
          await new Promise((r) => setTimeout(r, 600));
          await term.waitFor(running, 'a transfer line with its percentage after the resize');
          const screen = (await term.screen()).split('\n');
          console.info(`narrowed to 70 columns:\n${screen.join('\n')}`);
          // The overall line and a line per transfer, each within 69 cells, each with an ETA.
          const live = screen.filter((l) => / ETA (\d+:\d\d|--:--)/.test(l));
          expect(live.filter((l) => OVERALL.test(l))).toHaveLength(1);
          expect(live.filter((l) => /longer-name-\d\.bin +\d+% /.test(l)).length).toBeGreaterThanOrEqual(1);
          for (const line of live) expect(line.trimEnd().length).toBeLessThan(70);
          const { code } = await term.exit();
          expect(code).toBe(0);
          noStaleBars((await term.screen()).split('\n'));
          await term.resize(columns, rows);
        });
      }
    });
  }
});

// The package as a user gets it: `npm pack` (with its prepack/prepare build) into a temporary
// directory, `npm install -g` of that tarball into a temporary prefix, then the installed
// `smartftp` run with nothing but Node on its PATH: --version, and a real download from an
// emulated mirror on 127.0.0.1.
//
// The install uses --prefer-offline: the dependencies' tarballs are in the npm cache after
// `npm ci`, but a global install resolves their ranges from the registry's full metadata, which
// `npm ci` does not cache. The first run on a fresh machine fetches that metadata (a few small
// requests); later runs need no network. Offline with a cold cache, the install tests are skipped
// with the reason (in CI, CI=true, they fail instead).

import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFtpServer } from '../../src/emulator/server.js';
import { cleanupAfterEach } from '../helpers/cleanup.js';
import { content, putFile, removeAll, REPO, sha256, sha256File, tempDir, writeCert } from '../helpers/fixtures.js';

const MiB = 1024 * 1024;
const t = cleanupAfterEach();

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run a command to its end, in its own process group; the whole group is killed after `timeoutMs`. */
function run(cmd: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Ran> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${options.timeoutMs} ms]`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, options.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** `npm test` exports its own run's settings (npm_package_*, npm_config_prefix, …): the npm started here sees this project only through its arguments. */
function npmEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_(package_|lifecycle_|command$|config_(local_|global_)?prefix$)/.test(key)) delete env[key];
  }
  return env;
}

/** Only Node on the PATH, and a home of its own (no ~/.netrc, no state left in the real home). */
function cliEnv(home: string): NodeJS.ProcessEnv {
  return { PATH: dirname(process.execPath), HOME: home, XDG_STATE_HOME: join(home, 'state') };
}

/** npm failed to reach the registry (offline, with metadata missing from the cache). */
const NETWORK_ERROR = /npm error code (ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH)\b/;

/** The files a build of src/ gives: one dist/….js per src/….ts. */
function expectedDist(): string[] {
  return (readdirSync(join(REPO, 'src'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => `dist/${f.split('\\').join('/').replace(/\.ts$/, '.js')}`)
    .sort();
}

const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

describe('the package, packed and installed', () => {
  const tmp = tempDir('smartftp-pack-');
  const home = join(tmp, 'home');
  const prefix = join(tmp, 'prefix');
  const bin = join(prefix, 'bin', 'smartftp');
  let repoBefore: string[] = [];
  let packed: { filename: string; size: number; unpackedSize: number; files: { path: string }[] } | undefined;
  let skipReason: string | undefined;

  beforeAll(async () => {
    mkdirSync(home);
    repoBefore = readdirSync(REPO).sort();
    const pack = await run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: REPO, env: npmEnv(), timeoutMs: 45_000 });
    if (pack.code !== 0) throw new Error(`npm pack failed (${pack.code ?? pack.signal}):\n${pack.stderr}`);
    packed = (JSON.parse(pack.stdout) as NonNullable<typeof packed>[])[0];
    console.info(`npm pack (with the build): ${(pack.ms / 1000).toFixed(1)} s, ${packed?.files.length} files, ${packed?.size} bytes`);

    const install = await run(
      'npm',
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--no-update-notifier', join(tmp, packed!.filename)],
      { cwd: tmp, env: npmEnv(), timeoutMs: 30_000 },
    );
    console.info(`npm install -g of the tarball: ${(install.ms / 1000).toFixed(1)} s`);
    if (install.code === 0) return;
    const network = NETWORK_ERROR.exec(install.stderr);
    if (network && process.env.CI !== 'true') {
      skipReason = `npm could not reach the registry for the dependencies' metadata (${network[1]}); run once online`;
      console.warn(`skipping the installed-package tests: ${skipReason}`);
      return;
    }
    throw new Error(`npm install -g of the tarball failed (${install.code ?? install.signal}):\n${install.stderr}`);
  }, 80_000);

  afterAll(() => removeAll([tmp]));

  it('holds bin/, the build of every source (no maps), README, docs and the example certificate; nothing lands in the repo', () => {
    const paths = packed!.files.map((f) => f.path).sort();
    const dist = paths.filter((p) => p.startsWith('dist/'));
    // The CLI's bundle (scripts/bundle.mjs): its entry and one file per lazily loaded command or shared chunk.
    expect(dist.filter((p) => !p.startsWith('dist/bundle/'))).toEqual(expectedDist());
    expect(dist).toContain('dist/bundle/main.js');
    expect(dist.filter((p) => p.startsWith('dist/bundle/') && !/^dist\/bundle\/[\w-]+\.js$/.test(p))).toEqual([]);
    expect(paths.filter((p) => !p.startsWith('dist/'))).toEqual(
      ['README.md', 'bin/smartftp.js', ...readdirSync(join(REPO, 'docs')).map((f) => `docs/${f}`), 'mirrors.yaml', 'package.json'].sort(),
    );
    expect(readdirSync(REPO).sort()).toEqual(repoBefore);
  });

  it('--version prints the version in package.json', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const r = await run(bin, ['--version'], { cwd: home, env: cliEnv(home), timeoutMs: 10_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  it('downloads a file from an emulated mirror, whole', async (ctx) => {
    if (skipReason) ctx.skip(skipReason);
    const data = content(8 * MiB, 5);
    const root = t.dir('smartftp-pack-mirror-');
    putFile(root, 'pub/f.bin', data);
    const server = t.track(await startFtpServer({ root }));
    const work = t.dir();
    const cert = writeCert(work, [{ url: `${server.url}pub`, name: 'local' }]);
    const r = await run(bin, ['get', 'f.bin', '--cert', cert, '-d', work], { cwd: work, env: cliEnv(home), timeoutMs: 20_000 });
    console.info(`installed smartftp get, 8 MiB: ${(r.ms / 1000).toFixed(1)} s`);
    expect(r.code, r.stderr).toBe(0);
    expect(sha256File(join(work, 'f.bin'))).toBe(sha256(data));
    expect(server.stats.transfers).toBeGreaterThan(0);
  });
});

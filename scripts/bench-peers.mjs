#!/usr/bin/env node
// smartftp against curl, lftp and aria2c on bulk work, from private vsftpd servers on 127.0.0.1:
//
//   node scripts/bench-peers.mjs --work big|many|tree [--runs 3] [--out /tmp|/dev/shm] [--size-mib 1024]
//                                [--smartftp path/to/bin/smartftp.js] [--before path/to/bin/smartftp.js]
//                                [--slow-sync MS]
//
//   big   one file (--size-mib, default 1024) from one unthrottled vsftpd: smartftp get, curl, lftp -c get
//   many  40 x 512 KiB in a row from one vsftpd, one process each: smartftp get f00..f39, lftp mget,
//         curl with the 40 URLs; and each tool's start-up (--version), for the per-file cost
//   tree  2,000 files of 1-64 KiB in 20 directories on 2 vsftpd mirrors: smartftp get -r -j 8 (both
//         mirrors), lftp mirror -P 8 (one mirror), aria2c -j 8 (both URLs on each line)
//
// --slow-sync MS makes every fsync and fdatasync of every tool MS milliseconds slower (a slower
// disk than this one; scripts/slow-sync.c, built here with gcc and loaded with LD_PRELOAD).
//
// The tools run in alternating order, --runs times each, into a fresh directory under --out (whose
// file system is printed: tmpfs makes fsync free, a disk does not; `sync` runs before each run, so
// that no tool waits on the writeback of the one before). Wall, user+sys CPU and peak RSS
// come from GNU time (/usr/bin/time -f), which reads the child's rusage on wait4. Every run is
// checked by the sha256 of what arrived: a fast wrong download is reported and not counted.
//
// vsftpd is started here with a small script-local starter rather than test/helpers/vsftpd.ts: that
// harness is test code (TypeScript, imports vitest) and not product code that belongs in dist/.

import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    work: { type: 'string', default: 'big' },
    runs: { type: 'string', default: '3' },
    out: { type: 'string', default: '/tmp' },
    'size-mib': { type: 'string', default: '1024' },
    cap: { type: 'string', default: '120' },
    smartftp: { type: 'string', default: '' },
    before: { type: 'string', default: '' },
    'slow-sync': { type: 'string', default: '0' },
  },
});
const WORK = values.work;
const RUNS = Number(values.runs);
const CAP_MS = Number(values.cap) * 1000;
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
// --smartftp: another build's bin/smartftp.js (e.g. a checkout of main, for before/after figures);
// BENCH_NODE_FLAGS: node flags for smartftp's runs (e.g. --cpu-prof), printed with the tools.
const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const SMARTFTP = [process.execPath, ...nodeFlags, values.smartftp || join(repo, 'bin/smartftp.js')];
// --before: another build run as one more tool, in the same alternation ("smartftp before").
const BEFORE = values.before && [process.execPath, ...nodeFlags, values.before];
const SLOW_SYNC_MS = Number(values['slow-sync']);
if (!(SLOW_SYNC_MS >= 0 && SLOW_SYNC_MS <= 1000)) throw new Error('--slow-sync 0..1000 (ms)');
if (!['big', 'many', 'tree'].includes(WORK) || !(RUNS >= 1 && RUNS <= 20)) throw new Error('--work big|many|tree, --runs 1..20');

// ---- vsftpd (anonymous, read-only, 127.0.0.1), stopped by the PIDs it forked ----

const servers = [];

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function descendants(pid) {
  const parent = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {}
  }
  const found = [];
  for (let queue = [pid]; queue.length > 0; ) {
    const p = queue.shift();
    for (const [child, pp] of parent) if (pp === p) found.push(child), queue.push(child);
  }
  return found;
}

async function startVsftpd(root, index) {
  const dir = fs.mkdtempSync('/tmp/bench-peers-vsftpd-');
  made.push(dir);
  fs.mkdirSync(join(dir, 'empty'), { mode: 0o755 });
  const port = await freePort();
  const pasvMin = 22_000 + index * 1000 + (process.pid % 2) * 500;
  // Passed as -o options: vsftpd reads them like config lines; isolation and seccomp off as in the tests.
  const settings = {
    listen: 'YES', listen_ipv6: 'NO', background: 'NO', listen_address: '127.0.0.1', listen_port: port,
    anonymous_enable: 'YES', local_enable: 'NO', write_enable: 'NO', anon_root: root,
    secure_chroot_dir: join(dir, 'empty'), pasv_min_port: pasvMin, pasv_max_port: pasvMin + 499,
    seccomp_sandbox: 'NO', isolate: 'NO', isolate_network: 'NO', xferlog_enable: 'NO', max_clients: 64, max_per_ip: 64,
  };
  const conf = join(dir, 'vsftpd.conf');
  fs.writeFileSync(conf, Object.entries(settings).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
  const child = spawn('/usr/sbin/vsftpd', [conf], { detached: true, stdio: ['ignore', 'ignore', 'ignore'] });
  const server = { pid: child.pid, port, dir, url: `ftp://127.0.0.1:${port}` };
  servers.push(server);
  for (let i = 0; i < 100; i++) {
    const greeted = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('data', (d) => (s.destroy(), resolve(String(d).startsWith('220'))));
      s.once('error', () => resolve(false));
    });
    if (greeted) return server;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`vsftpd on port ${port} did not greet`);
}

function stopServers() {
  for (const s of servers.splice(0)) {
    for (const pid of [...descendants(s.pid), s.pid]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    fs.rmSync(s.dir, { recursive: true, force: true });
  }
}
const running = new Set();
const killGroup = (child) => {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {}
};
const made = [];
process.on('exit', () => {
  for (const child of running) killGroup(child);
  stopServers();
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

// ---- the files served, and the digest of a tree (relative paths and contents) ----

function writeRandom(path, size) {
  const fd = fs.openSync(path, 'w', 0o644);
  for (let done = 0; done < size; ) {
    const chunk = randomBytes(Math.min(4 << 20, size - done));
    fs.writeSync(fd, chunk);
    done += chunk.length;
  }
  fs.closeSync(fd);
}

function listFiles(dir) {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)))
    .sort();
}

function treeDigest(dir, names) {
  const all = createHash('sha256');
  for (const name of names) {
    const h = createHash('sha256');
    const fd = fs.openSync(join(dir, name), 'r');
    const buf = Buffer.allocUnsafe(8 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
    fs.closeSync(fd);
    all.update(`${name}\0${h.digest('hex')}\n`);
  }
  return all.digest('hex');
}

function prepare(root) {
  const names = [];
  if (WORK === 'big') {
    writeRandom(join(root, 'big.bin'), Number(values['size-mib']) * 1024 * 1024);
    names.push('big.bin');
  } else if (WORK === 'many') {
    for (let i = 0; i < 40; i++) writeRandom(join(root, `f${String(i).padStart(2, '0')}.bin`), 512 * 1024), names.push(`f${String(i).padStart(2, '0')}.bin`);
  } else {
    for (let d = 0; d < 20; d++) {
      fs.mkdirSync(join(root, 'tree', `d${d}`), { recursive: true, mode: 0o755 });
      for (let i = 0; i < 100; i++) writeRandom(join(root, 'tree', `d${d}`, `x${i}.bin`), 1024 + ((d * 100 + i) * 7919) % (63 * 1024));
    }
  }
  return names;
}

// ---- the tools: argv for a run into `out` from the servers' URLs ----

const smartftp = (...args) => [...SMARTFTP, 'get', '-q', ...args];
const TOOLS_BY_WORK = {
  big: [
    { name: 'smartftp', argv: (u, out) => smartftp('--mirror', u[0], '--state-dir', `${out}.state`, '-d', out, 'big.bin') },
    { name: 'curl', argv: (u, out) => ['curl', '-sS', '-o', join(out, 'big.bin'), `${u[0]}/big.bin`] },
    { name: 'lftp get', argv: (u, out) => ['lftp', '-c', `get ${u[0]}/big.bin -o ${join(out, 'big.bin')}`] },
  ],
  many: [
    { name: 'smartftp', argv: (u, out, names) => smartftp('--mirror', u[0], '--state-dir', `${out}.state`, '-d', out, ...names) },
    { name: 'curl', argv: (u, out, names) => ['curl', '-sS', ...names.flatMap((n) => ['-o', join(out, n), `${u[0]}/${n}`])] },
    { name: 'lftp mget', argv: (u, out) => ['lftp', '-c', `open ${u[0]}; mget -O ${out} f*.bin`] },
  ],
  tree: [
    { name: 'smartftp -j 8', argv: (u, out) => smartftp('-r', '-j', '8', '--mirror', u[0], '--mirror', u[1], '--state-dir', `${out}.state`, '-d', out, 'tree') },
    { name: 'lftp mirror -P 8', argv: (u, out) => ['lftp', '-c', `mirror -P 8 ${u[0]}/tree ${out}`] },
    { name: 'aria2c -j 8', prepare: ariaList, argv: (u, out) => ['aria2c', '-q', '-j', '8', '-d', out, '-i', `${out}.aria2`] },
  ],
};
const TOOLS = TOOLS_BY_WORK[WORK];
if (BEFORE) {
  const ours = TOOLS[0];
  TOOLS.push({ name: 'smartftp before', argv: (...a) => [...BEFORE, ...ours.argv(...a).slice(SMARTFTP.length)] });
}

/** aria2c's input file: each file's URL on both mirrors, TAB-separated, and where it goes. */
function ariaList(urls, out, names) {
  fs.writeFileSync(`${out}.aria2`, names.map((n) => `${urls.map((u) => `${u}/tree/${n}`).join('\t')}\n  out=${n}\n`).join(''));
}

/** The environment of every run: with --slow-sync, the shim that slows each sync down. */
function runEnv() {
  if (SLOW_SYNC_MS === 0) return process.env;
  const dir = fs.mkdtempSync('/tmp/bench-peers-slow-sync-');
  made.push(dir);
  const lib = join(dir, 'slow-sync.so');
  const built = spawnSync('gcc', ['-shared', '-fPIC', '-O2', '-o', lib, join(repo, 'scripts/slow-sync.c'), '-ldl'], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`--slow-sync needs gcc: ${built.error?.message ?? built.stderr}`);
  return { ...process.env, LD_PRELOAD: lib, SLOW_SYNC_US: String(Math.round(SLOW_SYNC_MS * 1000)) };
}
let RUN_ENV;

/** One run under GNU time: wall, CPU (user+sys) and peak RSS of the child and what it waited for. */
function timed(argv) {
  const stats = `${fs.mkdtempSync('/tmp/bench-peers-time-')}/t`;
  return new Promise((resolve) => {
    // Its own process group: a run over --cap is killed with the tool under GNU time, not only time.
    const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', stats, ...argv], { stdio: ['ignore', 'ignore', 'pipe'], detached: true, env: (RUN_ENV ??= runEnv()) });
    running.add(child);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => killGroup(child), CAP_MS);
    child.on('exit', (code) => {
      running.delete(child);
      clearTimeout(timer);
      // GNU time puts "Command exited with non-zero status N" (or a signal) on a line before the figures.
      const line = fs.readFileSync(stats, 'utf8').split('\n').find((l) => /^[\d.]+ [\d.]+ [\d.]+ \d+$/.test(l)) ?? 'NaN NaN NaN NaN';
      const [wall, user, sys, rssKb] = line.split(' ').map(Number);
      fs.rmSync(dirname(stats), { recursive: true, force: true });
      resolve({ code, wall, cpu: user + sys, sys, rss: rssKb / 1024, stderr: stderr.slice(0, 300) });
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const summary = (xs, unit, digits = 2) => `${median(xs).toFixed(digits)} ${unit} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;

function fsType(dir) {
  return spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' }).stdout.trim();
}

// ---- main ----

const root = fs.mkdtempSync('/tmp/bench-peers-root-');
fs.chmodSync(root, 0o755);
const outBase = fs.mkdtempSync(join(values.out, 'bench-peers-out-'));
made.push(root, outBase);
let urls = [];
let names = [];
try {
  const generated = prepare(root);
  names = generated.length > 0 ? generated : listFiles(join(root, 'tree'));
  const served = WORK === 'tree' ? join(root, 'tree') : root;
  const expected = treeDigest(served, names);
  const mirrors = [await startVsftpd(root, 0)];
  if (WORK === 'tree') mirrors.push(await startVsftpd(root, 1));
  urls = mirrors.map((m) => m.url);
  const version = (cmd) => spawnSync(cmd[0], [...cmd.slice(1), '--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  console.log(`work: ${WORK}; ${names.length} file(s), ${(names.reduce((n, f) => n + fs.statSync(join(served, f)).size, 0) / 2 ** 20).toFixed(1)} MiB in all`);
  console.log(`servers: ${mirrors.length} vsftpd on 127.0.0.1 (${version(['/usr/sbin/vsftpd']) || 'vsftpd'}), unthrottled; runs: ${RUNS} per tool, alternating order`);
  console.log(`downloads into ${outBase} (${fsType(outBase)})${SLOW_SYNC_MS ? `, every fsync and fdatasync ${SLOW_SYNC_MS} ms slower (--slow-sync)` : ''}; node ${process.version}; ${spawnSync('nproc').stdout.toString().trim()} cores; ${new Date().toISOString()}`);
  console.log(`tools: ${TOOLS.map((t) => `${t.name} = ${t.argv(urls, 'OUT', names.slice(0, 2)).map((a) => a.replace(repo + '/', '')).join(' ').slice(0, 140)}`).join('\n       ')}`);

  const results = new Map(TOOLS.map((t) => [t.name, []]));
  for (let run = 0; run < RUNS; run++) {
    for (let k = 0; k < TOOLS.length; k++) {
      const tool = TOOLS[(run + k) % TOOLS.length];
      const out = join(outBase, `${run}-${k}`);
      fs.mkdirSync(out);
      tool.prepare?.(urls, out, names);
      spawnSync('sync');
      const r = await timed(tool.argv(urls, out, names));
      const got = r.code === 0 ? treeDigest(out, names) : undefined;
      const ok = got === expected;
      if (Number.isNaN(r.wall)) {
        console.log(`run ${run + 1} ${tool.name}: killed after the ${values.cap} s cap: not counted`);
        fs.rmSync(out, { recursive: true, force: true });
        fs.rmSync(`${out}.state`, { recursive: true, force: true });
        continue;
      }
      console.log(`run ${run + 1} ${tool.name}: ${r.wall.toFixed(2)} s wall, ${r.cpu.toFixed(2)} s CPU (sys ${r.sys.toFixed(2)}), ${r.rss.toFixed(0)} MB peak RSS, exit ${r.code}${ok ? ', sha256 ok' : `, WRONG (${r.stderr.trim() || 'digest differs'}): not counted`}`);
      if (ok) results.get(tool.name).push(r);
      fs.rmSync(out, { recursive: true, force: true });
      fs.rmSync(`${out}.state`, { recursive: true, force: true });
      fs.rmSync(`${out}.aria2`, { force: true });
    }
  }

  console.log('\nmedian (range) over the correct runs:');
  const med = {};
  for (const [name, rs] of results) {
    if (rs.length === 0) {
      console.log(`  ${name}: no correct run`);
      continue;
    }
    med[name] = { wall: median(rs.map((r) => r.wall)), cpu: median(rs.map((r) => r.cpu)), rss: median(rs.map((r) => r.rss)) };
    console.log(`  ${name.padEnd(18)} wall ${summary(rs.map((r) => r.wall), 's')}  CPU ${summary(rs.map((r) => r.cpu), 's')}  RSS ${summary(rs.map((r) => r.rss), 'MB', 0)}`);
  }
  await targets(med, names.length);
} finally {
  stopServers();
  fs.rmSync(root, { recursive: true, force: true });
  fs.rmSync(outBase, { recursive: true, force: true });
}

/** Each tool's start-up: its --version, run --runs times. */
async function startup(argv) {
  const walls = [];
  for (let i = 0; i < Math.max(RUNS, 5); i++) walls.push((await timed([...argv, '--version'])).wall);
  return median(walls);
}

/** Each tool fetching the first file alone (`many`), median wall over --runs, checked like the others. */
async function oneFile() {
  const walls = {};
  for (const tool of TOOLS) {
    const rs = [];
    for (let run = 0; run < RUNS; run++) {
      const out = join(outBase, `one-${run}`);
      fs.mkdirSync(out);
      spawnSync('sync');
      const r = await timed(tool.argv(urls, out, names.slice(0, 1)));
      if (r.code === 0 && treeDigest(out, names.slice(0, 1)) === treeDigest(root, names.slice(0, 1))) rs.push(r.wall);
      fs.rmSync(out, { recursive: true, force: true });
      fs.rmSync(`${out}.state`, { recursive: true, force: true });
    }
    if (rs.length > 0) walls[tool.name] = median(rs);
  }
  return walls;
}

async function targets(med, count) {
  const verdict = (ok) => (ok ? 'met' : 'NOT met');
  const ratio = (a, b) => (a && b ? (a / b).toFixed(2) : 'n/a');
  const s = med[TOOLS[0].name];
  if (!s) return;
  console.log('\ntargets:');
  const b = med['smartftp before'];
  if (b) console.log(`  this build / before: wall ${ratio(s.wall, b.wall)}, CPU ${ratio(s.cpu, b.cpu)}, peak RSS ${ratio(s.rss, b.rss)}`);
  if (WORK === 'big') {
    const { curl, 'lftp get': lftp } = med;
    console.log(`  wall <= curl's: ratio ${ratio(s.wall, curl?.wall)}, ${verdict(curl && s.wall <= curl.wall)}; <= lftp's: ratio ${ratio(s.wall, lftp?.wall)}, ${verdict(lftp && s.wall <= lftp.wall)}`);
    console.log(`  CPU <= 1.3 x curl's: ratio ${ratio(s.cpu, curl?.cpu)}, ${verdict(curl && s.cpu <= 1.3 * curl.cpu)}`);
    console.log(`  peak RSS < 80 MB: ${s.rss.toFixed(0)} MB, ${verdict(s.rss < 80)}`);
  } else if (WORK === 'many') {
    const up = { smartftp: await startup(SMARTFTP), curl: await startup(['curl']), 'lftp mget': await startup(['lftp']), ...(BEFORE ? { 'smartftp before': await startup(BEFORE) } : {}) };
    const perFile = (name) => (med[name] ? ((med[name].wall - up[name]) / count) * 1000 : undefined);
    // The same tool fetching one file: what a 40th file adds beyond the first, start-up and all.
    const one = await oneFile();
    for (const name of Object.keys(up)) {
      const marginal = med[name] && one[name] ? (((med[name].wall - one[name]) / (count - 1)) * 1000).toFixed(1) : 'n/a';
      console.log(`  ${name}: start-up (--version) ${up[name].toFixed(3)} s, per file ${perFile(name)?.toFixed(1) ?? 'n/a'} ms; one file alone ${one[name]?.toFixed(3) ?? 'n/a'} s, each further file ${marginal} ms`);
    }
    console.log(`  start-up < 0.15 s: ${verdict(up.smartftp < 0.15)}`);
    console.log(`  per file <= 1.5 x lftp's: ratio ${ratio(perFile('smartftp'), perFile('lftp mget'))}, ${verdict(perFile('smartftp') <= 1.5 * perFile('lftp mget'))}`);
  } else {
    const lftp = med['lftp mirror -P 8'];
    console.log(`  CPU per file: smartftp ${((s.cpu / count) * 1000).toFixed(2)} ms, lftp ${lftp ? ((lftp.cpu / count) * 1000).toFixed(2) : 'n/a'} ms, aria2c ${med['aria2c -j 8'] ? ((med['aria2c -j 8'].cpu / count) * 1000).toFixed(2) : 'n/a'} ms`);
    console.log(`  CPU per file <= 2 x lftp's: ratio ${ratio(s.cpu, lftp?.cpu)}, ${verdict(lftp && s.cpu <= 2 * lftp.cpu)}`);
  }
}

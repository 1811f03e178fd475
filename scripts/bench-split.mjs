#!/usr/bin/env node
// `get --split N` against aria2c -sN on the same capped vsftpd mirrors: N vsftpd on 127.0.0.1..N, each
// capped per connection by anon_max_rate, one file, alternating runs of the two tools (smartftp
// first, then aria2c, then smartftp...), each into a fresh directory with a fresh state, checked
// by sha256. Prints its configuration, every run, the median and range of each tool's wall time,
// their ratio, and the share of the sum of the caps each reached (for smartftp also of the
// download itself, without the process's start-up: its done event's seconds). Needs root and vsftpd. Each
// mirror has an address of its own (127.0.0.1, .2, ...): aria2c counts -x per host name, so four
// ports of one address would get it one connection in all. With curl installed, one connection
// is measured first (what a cap really delivers).
//
//   node scripts/bench-split.mjs [--runs 3] [--size-mib 256] [--rate 5000000] [--mirrors 4] [--cap 120]
//
// Only the processes this script starts are stopped, by their PID.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeSampleFile } from '../dist/emulator/sample-data.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'size-mib': { type: 'string', default: '256' },
    rate: { type: 'string', default: '5000000' },
    mirrors: { type: 'string', default: '4' },
    cap: { type: 'string', default: '120' },
  },
});
const RUNS = Number(values.runs);
const SIZE = Number(values['size-mib']) * 1024 * 1024;
const RATE = Number(values.rate);
const N = Number(values.mirrors);
const CAP_MS = Number(values.cap) * 1000;
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const VSFTPD = ['/usr/sbin/vsftpd', '/usr/bin/vsftpd'].find(existsSync);

if (!VSFTPD || process.getuid?.() !== 0 || spawnSync('sh', ['-c', 'command -v aria2c']).status !== 0) {
  console.error('bench-split: needs root, vsftpd and aria2c');
  process.exit(2);
}

function freePort(host) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Resolves once the server greets with 220 (or rejects after 5 s). */
async function greeted(host, port) {
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, host);
      s.once('data', (d) => (s.destroy(), resolve(String(d).startsWith('220'))));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`vsftpd on port ${port} did not greet within 5 s`);
}

/** One anonymous, read-only vsftpd serving `root`, capped per session at RATE bytes/s. */
async function vsftpd(root, i) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-split-vsftpd-'));
  mkdirSync(join(dir, 'empty'), { mode: 0o755 });
  const host = `127.0.0.${i + 1}`;
  const port = await freePort(host);
  const pasv = 24000 + ((process.pid + i * 64) % 6000);
  const conf = [
    'listen=YES', 'listen_ipv6=NO', 'background=NO', `listen_address=${host}`, `listen_port=${port}`,
    'anonymous_enable=YES', 'local_enable=NO', 'write_enable=NO', `anon_root=${root}`, `secure_chroot_dir=${join(dir, 'empty')}`,
    `pasv_min_port=${pasv}`, `pasv_max_port=${pasv + 63}`, 'seccomp_sandbox=NO', 'isolate=NO', 'isolate_network=NO',
    'xferlog_enable=NO', `anon_max_rate=${RATE}`, 'max_per_ip=0', 'max_clients=0',
  ];
  writeFileSync(join(dir, 'vsftpd.conf'), conf.join('\n') + '\n', { mode: 0o600 });
  const child = spawn(VSFTPD, [join(dir, 'vsftpd.conf')], { stdio: 'ignore' });
  const stop = () => (child.kill('SIGTERM'), rmSync(dir, { recursive: true, force: true }));
  servers.push({ url: `ftp://${host}:${port}/pub`, stop });
  await greeted(host, port);
}

async function sha256(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

const TOOLS = {
  smartftp: (urls, work, cert) => [process.execPath, join(repo, 'bin/smartftp.js'), 'get', 'big.bin', '--split', String(N), '--cert', cert, '-d', work, '--json', '--state-dir', join(work, 'state')],
  aria2c: (urls, work) => ['aria2c', `-s${N}`, '-x1', '-q', '-d', work, '-o', 'big.bin', ...urls.map((u) => `${u}/big.bin`)],
};

function timed(argv) {
  return new Promise((resolve) => {
    const started = performance.now();
    child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s) => (out += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), CAP_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      // smartftp's own figure for the download, from its start event to its done event (--json).
      const done = out.split('\n').filter((l) => l.includes('"type":"done"')).map((l) => JSON.parse(l))[0];
      resolve({ code, seconds: (performance.now() - started) / 1000, inside: done?.seconds });
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** What one connection to the first mirror delivers over 16 MiB, B/s (curl), or undefined without curl. */
function oneConnection(url) {
  const r = spawnSync('curl', ['-s', '-o', '/dev/null', '-r', `0-${16 * 1048576 - 1}`, '-w', '%{speed_download}', `${url}/big.bin`], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout) : undefined;
}

const root = mkdtempSync(join(tmpdir(), 'bench-split-root-'));
const servers = [];
let child;
const cleanUp = () => {
  child?.kill('SIGKILL');
  for (const s of servers.splice(0)) s.stop();
  rmSync(root, { recursive: true, force: true });
};
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => (cleanUp(), process.exit(130)));
try {
  chmodSync(root, 0o755);
  mkdirSync(join(root, 'pub'), { mode: 0o755 });
  const expected = writeSampleFile(join(root, 'pub', 'big.bin'), SIZE, 7070);
  chmodSync(join(root, 'pub', 'big.bin'), 0o644);
  for (let i = 0; i < N; i++) await vsftpd(root, i);
  const urls = servers.map((s) => s.url);
  const capsSum = N * RATE;
  console.log(`bench-split: ${SIZE / 1048576} MiB file, ${N} vsftpd on 127.0.0.1-${N} each capped at ${RATE} B/s per connection (anon_max_rate; sum ${capsSum} B/s), ${RUNS} alternating runs, cap ${CAP_MS / 1000} s`);
  console.log(`  smartftp: ${TOOLS.smartftp(urls, 'DIR', 'CERT').slice(1).join(' ')}`);
  console.log(`  aria2c:   ${TOOLS.aria2c(urls, 'DIR').join(' ')}`);
  const one = spawnSync('sh', ['-c', 'command -v curl']).status === 0 ? oneConnection(urls[0]) : undefined;
  if (one) console.log(`  one connection (curl, 16 MiB from the first mirror): ${Math.round(one)} B/s, ${((one / RATE) * 100).toFixed(1)} % of its cap`);
  const seconds = { smartftp: [], aria2c: [] };
  for (let run = 1; run <= RUNS; run++) {
    for (const tool of Object.keys(TOOLS)) {
      const work = mkdtempSync(join(tmpdir(), 'bench-split-run-'));
      const cert = join(work, 'mirrors.yaml');
      writeFileSync(cert, ['service: bench.split', 'mirrors:', ...urls.map((u, i) => `  - url: ${u}/\n    name: v${i + 1}`)].join('\n') + '\n');
      const r = await timed(TOOLS[tool](urls, work, cert));
      const out = join(work, 'big.bin');
      const ok = r.code === 0 && existsSync(out) && (await sha256(out)) === expected;
      rmSync(work, { recursive: true, force: true });
      const inside = r.inside ? `  (download itself ${r.inside.toFixed(2)} s, ${((SIZE / r.inside / capsSum) * 100).toFixed(1)} %)` : '';
      console.log(`  run ${run} ${tool.padEnd(8)} ${r.seconds.toFixed(2).padStart(7)} s  ${((SIZE / r.seconds / capsSum) * 100).toFixed(1).padStart(5)} % of the caps  exit ${r.code} ${ok ? 'sha256 ok' : 'FAILED'}${inside}`);
      if (!ok) throw new Error(`${tool} failed in run ${run}`);
      seconds[tool].push(r.seconds);
    }
  }
  for (const tool of Object.keys(TOOLS)) {
    const xs = seconds[tool];
    const m = median(xs);
    console.log(`${tool.padEnd(8)} median ${m.toFixed(2)} s (range ${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}), ${((SIZE / m / capsSum) * 100).toFixed(1)} % of the sum of the caps`);
  }
  console.log(`ratio aria2c / smartftp (median wall time): ${(median(seconds.aria2c) / median(seconds.smartftp)).toFixed(3)} (above 1: smartftp faster)`);
} finally {
  cleanUp();
}

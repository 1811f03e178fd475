#!/usr/bin/env node
// What the servers send beyond the files' sizes, on a real network stack: the paper's workload
// (each client fetches 40 files of 512 KiB one at a time) from 4 vsftpd mirrors, each in a
// network namespace behind a 10 Mbit/s tc link (scripts/netns.mjs). The bytes sent are vsftpd's
// own xferlog figures (cut transfers included). Compares smartftp builds (--bin, repeatable), in
// alternating runs; prints the configuration, then per build and client count the median and
// range of the overhead, the aggregate rate against the sum of the links' rates, and the share
// of the bytes each mirror served against an oracle that knows the rates (one file at a time:
// all from the fastest; N at once: in proportion to the rates). Needs root, vsftpd, `ip netns`.
//
//   node scripts/bench-netns.mjs --bin old=/tmp/main/bin/smartftp.js --bin new=bin/smartftp.js --runs 3
//   node scripts/bench-netns.mjs --rates-kbit 8000,16000,32000 --files 36 --file-kib 1024 --jobs 6 --clients 1

import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { makeNamespaces, netnsProblem } from './netns.mjs';

const { values } = parseArgs({
  options: {
    bin: { type: 'string', multiple: true, default: [`new=${resolve('bin/smartftp.js')}`] },
    runs: { type: 'string', default: '3' },
    clients: { type: 'string', default: '1,4' },
    servers: { type: 'string', default: '4' },
    files: { type: 'string', default: '40' },
    'file-kib': { type: 'string', default: '512' },
    'rate-kbit': { type: 'string', default: '10000' },
    'rates-kbit': { type: 'string' },
    jobs: { type: 'string', default: '1' },
  },
});
const bins = values.bin.map((b) => { const [name, path] = b.split('='); return { name, path: resolve(path) }; });
const runs = Number(values.runs);
const clientCounts = values.clients.split(',').map(Number);
const rates = values['rates-kbit'] ? values['rates-kbit'].split(',').map(Number) : Array.from({ length: Number(values.servers) }, () => Number(values['rate-kbit']));
const servers = rates.length;
const jobs = Number(values.jobs);
const files = Number(values.files);
const fileBytes = Number(values['file-kib']) * 1024;

const problem = netnsProblem();
if (problem) {
  console.error(`bench-netns: ${problem}`);
  process.exit(2);
}

console.log(`bench-netns: ${servers} vsftpd mirrors, each in a namespace behind a tbf link of ${rates.join(', ')} kbit/s; each client fetches ${files} x ${fileBytes / 1024} KiB (get -j ${jobs}, --no-state)`);
console.log(`clients: ${clientCounts.join(', ')}; runs per build and client count: ${runs}, alternating ${bins.map((b) => b.name).join(' / ')}`);
for (const b of bins) console.log(`  ${b.name}: ${b.path}`);

const work = mkdtempSync(join(tmpdir(), 'smartftp-bench-netns-'));
const root = join(work, 'root');
mkdirSync(join(root, 'pub'), { recursive: true });
for (let i = 0; i < files; i++) {
  const data = Buffer.alloc(fileBytes);
  for (let j = 0; j < fileBytes; j += 4) data.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ Math.imul(j, 40503)) >>> 0, j);
  writeFileSync(join(root, 'pub', `f${String(i).padStart(2, '0')}.bin`), data, { mode: 0o644 });
}
chmodSync(work, 0o755);
chmodSync(root, 0o755);
chmodSync(join(root, 'pub'), 0o755);

const { namespaces, remove } = makeNamespaces(rates.map((rateKbit) => ({ rateKbit })));
const children = [];
const stopAll = () => {
  for (const c of children.splice(0)) {
    try {
      process.kill(c.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  remove();
  rmSync(work, { recursive: true, force: true });
};
process.on('SIGINT', () => {
  stopAll();
  process.exit(130);
});

/** Start one vsftpd in the namespace; its xferlog says what it sent. */
function startServer(ns, i) {
  const dir = join(work, `v${i}`);
  mkdirSync(join(dir, 'empty'), { recursive: true });
  chmodSync(join(dir, 'empty'), 0o755);
  const xferlog = join(dir, 'xferlog');
  const conf = join(dir, 'vsftpd.conf');
  const settings = { listen: 'YES', background: 'NO', listen_address: ns.address, listen_port: 2121, anonymous_enable: 'YES', local_enable: 'NO', write_enable: 'NO', anon_root: root, secure_chroot_dir: join(dir, 'empty'), pasv_min_port: 30000, pasv_max_port: 30100, seccomp_sandbox: 'NO', isolate: 'NO', isolate_network: 'NO', xferlog_enable: 'YES', xferlog_std_format: 'YES', xferlog_file: xferlog, max_clients: 50, max_per_ip: 50 };
  writeFileSync(conf, Object.entries(settings).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
  const err = openSync(join(dir, 'fd0'), 'w');
  const child = spawn('ip', ['netns', 'exec', ns.name, 'vsftpd', conf], { stdio: [err, 'ignore', 'ignore'], detached: true });
  closeSync(err);
  children.push(child);
  return { url: `ftp://${ns.address}:2121/pub`, xferlog };
}

const mirrors = namespaces.map(startServer);
await new Promise((r) => setTimeout(r, 500));
const cert = join(work, 'mirrors.yaml');
writeFileSync(cert, ['service: bench-netns.test', 'director:', '  policy: ranked', 'mirrors:', ...mirrors.flatMap((m, i) => [`  - url: ${m.url}`, `    name: n${i + 1}`])].join('\n') + '\n');
const names = Array.from({ length: files }, (_, i) => `f${String(i).padStart(2, '0')}.bin`);

const logged = () => mirrors.reduce((n, m) => {
  let text = '';
  try { text = readFileSync(m.xferlog, 'utf8'); } catch { return n; }
  return n + text.split('\n').filter(Boolean).reduce((k, line) => k + Number(line.trim().split(/\s+/)[7] ?? 0), 0);
}, 0);

function client(bin, dir) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, 'get', ...names, '--cert', cert, '-d', dir, '--no-state', '-j', String(jobs), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => (stdout += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), 600_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolvePromise(stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((e) => e.type === 'done'));
      else reject(new Error(`client exited ${code}: ${stderr.trim()}`));
    });
  });
}

async function once(bin, clients) {
  const before = logged();
  const started = performance.now();
  const dirs = Array.from({ length: clients }, (_, i) => join(work, `out-${i}`));
  const done = (await Promise.all(dirs.map((d) => client(bin.path, d)))).flat();
  const byMirror = {};
  for (const e of done) for (const [m, n] of Object.entries(e.bytesByMirror)) byMirror[m] = (byMirror[m] ?? 0) + n;
  const seconds = (performance.now() - started) / 1000;
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  const wanted = clients * files * fileBytes;
  return { overhead: (logged() - before) / wanted - 1, rate: wanted / seconds, shares: rates.map((_, i) => (byMirror[`n${i + 1}`] ?? 0) / wanted) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const pct = (x) => `${(100 * x).toFixed(1)} %`;
const total = rates.reduce((a, r) => a + r, 0);
const fastest = rates.indexOf(Math.max(...rates));
const oracle = (clients) => (jobs * clients >= servers ? rates.map((r) => r / total) : rates.map((_, i) => (i === fastest ? 1 : 0)));
try {
  for (const clients of clientCounts) {
    const results = new Map(bins.map((b) => [b.name, []]));
    for (let r = 0; r < runs; r++) for (const b of bins) results.get(b.name).push(await once(b, clients));
    for (const b of bins) {
      const rs = results.get(b.name);
      const o = rs.map((x) => x.overhead);
      const rate = rs.map((x) => x.rate / 1e6);
      const links = rates.reduce((a, r) => a + r, 0) / 8 / 1000;
      const shares = rates.map((_, i) => pct(median(rs.map((x) => x.shares[i]))));
      console.log(`${servers} servers x ${clients} client(s), ${b.name}: sent beyond the files median ${pct(median(o))} (range ${pct(Math.min(...o))} to ${pct(Math.max(...o))}), aggregate ${median(rate).toFixed(2)} MB/s (${Math.min(...rate).toFixed(2)}-${Math.max(...rate).toFixed(2)}) = ${pct(median(rate) / links)} of the links' ${links.toFixed(2)} MB/s; bytes per mirror n1..n${servers}: ${shares.join(' / ')}`);
    }
    console.log(`  oracle bytes per mirror: ${oracle(clients).map(pct).join(' / ')}`);
    if (bins.length === 2) {
      const [a, b] = bins.map((x) => median(results.get(x.name).map((y) => y.rate)));
      console.log(`  rate ratio ${bins[1].name}/${bins[0].name}: ${(b / a).toFixed(2)}`);
    }
  }
} finally {
  stopAll();
}

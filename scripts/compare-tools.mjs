#!/usr/bin/env node
// Side by side, in one run: smartftp against the downloaders people use (aria2c, curl, wget, lftp,
// whichever are installed) on the same emulated mirrors, under the faults smartftp is built for.
// Every figure printed here is measured in this run; nothing is carried over.
//
//   node scripts/compare-tools.mjs [--size-mib 64] [--mbit 40] [--fault-at 3] [--cap 60]
//
// Scenarios (three mirrors holding the same file, each with its own link):
//   kill   the first mirror is killed --fault-at seconds into the download
//   stall  the first mirror stops sending (sockets stay open) --fault-at seconds in
//   slow   the first mirror runs at 1/8 of the others' speed the whole time
// Each tool gets the three mirror URLs the way it takes them; a tool that takes only one gets the
// first, as a user picking a mirror by hand from the top of the list would. Runs are capped at
// --cap seconds. "served" is what the mirrors sent in all, over the file size: above 1.00 means
// bytes fetched twice (or probes).

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { applyFault } from '../dist/emulator/faults.js';
import { startFtpServer } from '../dist/emulator/server.js';
import { writeSampleFile } from '../dist/emulator/sample-data.js';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '64' },
    mbit: { type: 'string', default: '40' },
    'fault-at': { type: 'string', default: '3' },
    cap: { type: 'string', default: '60' },
    scenarios: { type: 'string', default: 'kill,stall,slow' },
  },
});
const SIZE = Number(values['size-mib']) * 1024 * 1024;
const RATE = (Number(values.mbit) * 1e6) / 8;
const FAULT_AT_MS = Number(values['fault-at']) * 1000;
const CAP_MS = Number(values.cap) * 1000;
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Each tool: how to fetch `file` from `urls` into `dir`. */
const TOOLS = [
  // Default (ranked) starts on a random unmeasured mirror, so a fault on the first may miss it;
  // --policy ordered starts on the first URL like the single-URL tools, so the fault always hits.
  { name: 'smartftp', argv: (urls, dir, cert) => [process.execPath, join(repo, 'bin/smartftp.js'), 'get', 'f.bin', '--cert', cert, '-d', dir, '-q', '--state-dir', join(dir, 'state')] },
  { name: 'smartftp --policy ordered', argv: (urls, dir, cert) => [process.execPath, join(repo, 'bin/smartftp.js'), 'get', 'f.bin', '--cert', cert, '-d', dir, '-q', '--state-dir', join(dir, 'state'), '--policy', 'ordered'] },
  { name: 'aria2c (3 URIs, defaults)', need: 'aria2c', argv: (urls, dir) => ['aria2c', '-q', '-d', dir, '-o', 'f.bin', ...urls.map((u) => u + '/f.bin')] },
  { name: 'aria2c (3 URIs, -s1 inorder)', need: 'aria2c', argv: (urls, dir) => ['aria2c', '-q', '-s1', '--uri-selector=inorder', '-d', dir, '-o', 'f.bin', ...urls.map((u) => u + '/f.bin')] },
  { name: 'curl (first URL, --retry 3 -C -)', need: 'curl', argv: (urls, dir) => ['curl', '-s', '--retry', '3', '-C', '-', '-o', join(dir, 'f.bin'), urls[0] + '/f.bin'] },
  { name: 'wget (first URL, -c -t 3)', need: 'wget', argv: (urls, dir) => ['wget', '-q', '-c', '-t', '3', '-O', join(dir, 'f.bin'), urls[0] + '/f.bin'] },
  { name: 'lftp (first URL, get)', need: 'lftp', argv: (urls, dir) => ['lftp', '-c', `set net:max-retries 3; set net:reconnect-interval-base 1; get ${urls[0]}/f.bin -o ${join(dir, 'f.bin')}`] },
].filter((t) => !t.need || has(t.need));

function runTool(argv) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), CAP_MS);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, seconds: (performance.now() - started) / 1000, capped: performance.now() - started >= CAP_MS - 50 });
    });
  });
}

async function one(tool, scenario, root, sha) {
  const servers = [];
  for (let i = 0; i < 3; i++) {
    const slowFirst = scenario === 'slow' && i === 0;
    servers.push(await startFtpServer({ root, linkRate: slowFirst ? RATE / 8 : RATE, controlDelayMs: 10 }));
  }
  const urls = servers.map((s) => s.url.replace(/\/$/, ''));
  const work = mkdtempSync(join(tmpdir(), 'smartftp-compare-'));
  const cert = join(work, 'mirrors.yaml');
  writeFileSync(cert, ['service: compare', 'mirrors:', ...urls.map((u, i) => `  - url: ${u}/\n    name: m${i + 1}`)].join('\n') + '\n');
  let timer;
  // kill and stall are fault kinds: the first mirror gets that fault.
  if (scenario === 'kill' || scenario === 'stall') timer = setTimeout(() => applyFault(servers[0], scenario), FAULT_AT_MS);
  const result = await runTool(tool.argv(urls, work, cert));
  clearTimeout(timer);
  const out = join(work, 'f.bin');
  const ok = existsSync(out) && createHash('sha256').update(readFileSync(out)).digest('hex') === sha;
  const served = servers.reduce((n, s) => n + s.stats.bytesSent, 0) / SIZE;
  for (const s of servers) s.kill();
  rmSync(work, { recursive: true, force: true });
  return { ...result, ok, served };
}

const root = mkdtempSync(join(tmpdir(), 'smartftp-compare-root-'));
const sha = writeSampleFile(join(root, 'f.bin'), SIZE, 4242);
console.log(`compare-tools: ${SIZE / 1048576} MiB file, 3 emulated mirrors at ${values.mbit} Mbit/s each (10 ms control delay), fault at ${FAULT_AT_MS / 1000} s, cap ${CAP_MS / 1000} s`);
console.log(`tools: ${TOOLS.map((t) => t.name).join('; ')}`);
try {
  for (const scenario of values.scenarios.split(',')) {
    console.log(`\n${scenario}`);
    console.log('  tool                                   seconds   vs smartftp  served  sha256');
    let base;
    for (const tool of TOOLS) {
      const r = await one(tool, scenario, root, sha);
      base ??= r.seconds;
      const secs = r.capped ? `>${(CAP_MS / 1000).toFixed(0)} (cap)` : r.seconds.toFixed(1);
      const ratio = r.ok && !r.capped ? `${(r.seconds / base).toFixed(2)}x` : '-';
      console.log(`  ${tool.name.padEnd(38)} ${secs.padStart(9)} ${ratio.padStart(11)}  ${r.served.toFixed(2).padStart(6)}  ${r.ok ? 'ok' : 'FAILED'}`);
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

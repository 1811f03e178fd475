#!/usr/bin/env node
// An emulated link beside a real one of the same rate: the embedded server with its own link
// (linkRate) on 127.0.0.1, and the same server unthrottled in a network namespace behind a tc tbf
// link (scripts/netns.mjs). Fetches one file over each, alternating, with basic-ftp; prints the
// file data rate of each (first chunk to last) and, for the real link, the bytes tbf counted per
// byte of data (the framing src/emulator/framing.ts charges). Needs root, `ip netns` and dist/
// (npm run build). Bounded: a few transfers, and a 180 s cap on the whole run.
//
//   node scripts/link-compare.mjs [--mbit 10] [--mib 8] [--runs 3]

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { Client } from 'basic-ftp';
import { makeNamespaces, netnsProblem, sentThroughLink } from './netns.mjs';

const { values } = parseArgs({ options: { mbit: { type: 'string', default: '10' }, mib: { type: 'string', default: '8' }, runs: { type: 'string', default: '3' } } });
const mbit = Number(values.mbit);
const size = Number(values.mib) * 1024 * 1024;
const runs = Number(values.runs);
const linkRate = (mbit * 1e6) / 8;
const PORT = 2121;

const problem = netnsProblem();
if (problem) {
  console.error(`link-compare: ${problem}`);
  process.exit(2);
}
const { startFtpServer } = await import(resolve('dist/emulator/server.js'));
const { dataRate } = await import(resolve('dist/emulator/framing.js'));

console.log(`link-compare: ${values.mib} MiB over a ${mbit} Mbit/s link (${linkRate} B/s), emulated (linkRate, 127.0.0.1) and real (tc tbf ${mbit * 1000}kbit in a netns), ${runs} alternating runs each`);
const work = mkdtempSync(join(tmpdir(), 'smartftp-link-compare-'));
chmodSync(work, 0o755);
writeFileSync(join(work, 'f.bin'), Buffer.alloc(size, 7));
const { namespaces, remove } = makeNamespaces([{ rateKbit: mbit * 1000 }]);
const ns = namespaces[0];
let real;
let emulated;
const cap = setTimeout(() => {
  console.error('link-compare: over 180 s, stopping');
  cleanup().finally(() => process.exit(1));
}, 180_000);

async function cleanup() {
  clearTimeout(cap);
  if (real?.pid !== undefined && real.exitCode === null) real.kill('SIGTERM');
  await emulated?.close();
  remove();
  rmSync(work, { recursive: true, force: true });
}

/** The file's data rate over one fetch, from its first chunk to its last (the first chunk's bytes left out). */
async function fetchRate(host, port) {
  const client = new Client(30_000);
  try {
    await client.access({ host, port });
    let first;
    let last;
    let firstBytes = 0;
    let n = 0;
    const sink = new Writable({
      write(chunk, _enc, cb) {
        const now = performance.now();
        if (first === undefined) {
          first = now;
          firstBytes = chunk.length;
        }
        n += chunk.length;
        last = now;
        cb();
      },
    });
    await client.downloadTo(sink, 'f.bin');
    if (n !== size) throw new Error(`got ${n} of ${size} bytes`);
    return (n - firstBytes) / ((last - first) / 1000);
  } finally {
    client.close();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (r) => (r / 1e6).toFixed(3);

try {
  emulated = await startFtpServer({ root: work, linkRate });
  const code = `const { startFtpServer } = await import(${JSON.stringify(resolve('dist/emulator/server.js'))});
    await startFtpServer({ root: ${JSON.stringify(work)}, host: ${JSON.stringify(ns.address)}, port: ${PORT} });
    console.log('ready');`;
  real = spawn('ip', ['netns', 'exec', ns.name, process.execPath, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((ok, fail) => {
    real.stdout.on('data', (d) => String(d).includes('ready') && ok());
    real.on('exit', (c) => fail(new Error(`the server in the namespace exited (${c})`)));
  });
  const rates = { emulated: [], real: [] };
  let wire = 0;
  for (let i = 0; i < runs; i++) {
    rates.emulated.push(await fetchRate('127.0.0.1', emulated.port));
    const before = sentThroughLink(ns);
    rates.real.push(await fetchRate(ns.address, PORT));
    wire += sentThroughLink(ns) - before;
  }
  for (const [name, rs] of Object.entries(rates)) console.log(`${name.padEnd(8)} median ${mb(median(rs))} MB/s of data (runs: ${rs.map(mb).join(', ')})`);
  console.log(`real/emulated ${(median(rates.real) / median(rates.emulated)).toFixed(3)}; framing.ts's figure for the link: ${mb(dataRate(linkRate))} MB/s`);
  console.log(`real link: tbf counted ${(wire / (runs * size)).toFixed(4)} bytes per byte of file data (framing.ts charges ${(1514 / 1448).toFixed(4)}; the control connection's replies count too)`);
} finally {
  await cleanup();
}

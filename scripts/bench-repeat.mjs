#!/usr/bin/env node
// Runs `smartftp bench` several times with different seeds and prints each point's spread: on a
// shared, noisy machine one run of a point says little, and the issue's goals are comparisons.
//
//   node scripts/bench-repeat.mjs --runs 8 --servers 1,2,4 --clients 1 --policies ranked
//
// Every flag other than --runs, --seed and --against goes to `smartftp bench` unchanged. Run i uses
// seed (--seed, default 1997) + i. Needs the build (npm ci builds it).
//
// --against DIR: another checkout of smartftp (built), run alternately with this one on the same
// seeds (which goes first alternates too); both are printed, then this one's figure over the
// other's per point:
//
//   node scripts/bench-repeat.mjs --runs 4 --against /tmp/old-checkout --servers 4 --clients 16

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../bin/smartftp.js', import.meta.url));
/** One bench run may take this long before it is stopped (the default sweep takes about 3 min). */
const RUN_TIMEOUT_MS = 15 * 60_000;
const MAX_RUNS = 50;

function parseArgs(argv) {
  let runs = 5;
  let seed = 1997;
  let against;
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') runs = Number(argv[++i]);
    else if (argv[i] === '--seed') seed = Number(argv[++i]);
    else if (argv[i] === '--against') against = argv[++i];
    else rest.push(argv[i]);
  }
  const otherCli = against && join(against, 'bin', 'smartftp.js');
  if (otherCli && !existsSync(join(against, 'dist', 'cli', 'main.js'))) throw new Error(`--against ${against}: no built smartftp there (run npm ci in it)`);
  if (!Number.isInteger(runs) || runs < 1 || runs > MAX_RUNS) throw new Error(`--runs must be a whole number from 1 to ${MAX_RUNS}`);
  if (!Number.isInteger(seed)) throw new Error('--seed must be a whole number');
  if (rest.includes('--json') || rest.includes('--out')) throw new Error('--json and --out are set by this script');
  return { runs, seed, rest, otherCli };
}

function quantile(sorted, q) {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (i - lo);
}

function spread(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { median: quantile(sorted, 0.5), min: sorted[0], max: sorted[sorted.length - 1], mean, sd };
}

const pct = (x) => `${(x * 100).toFixed(1)}%`;
const signed = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

/** One `smartftp bench --json` run of `cli`; its points. */
function benchOnce(cli, rest, seed) {
  const args = [cli, 'bench', ...rest, '--seed', String(seed), '--json'];
  const run = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: RUN_TIMEOUT_MS, maxBuffer: 64 << 20 });
  if (run.status !== 0 && run.status !== 1) {
    process.stderr.write(run.stderr);
    throw new Error(`${cli} bench ${args.slice(2).join(' ')} exited with ${run.status ?? run.signal}`);
  }
  return JSON.parse(run.stdout).points;
}

/** Add one run's points to "servers/clients/policy" -> utilisation (or MB/s when the capacity is unknown) per run. */
function collect(byPoint, points) {
  for (const p of points) {
    const key = `${p.servers}/${p.clients}/${p.policy}`;
    if (!byPoint.has(key)) byPoint.set(key, { servers: p.servers, clients: p.clients, policy: p.policy, values: [], mbps: [] });
    byPoint.get(key).values.push(p.utilisation ?? p.paperMBps);
    byPoint.get(key).mbps.push(p.paperMBps);
  }
}

const pointLabel = (p) => `${String(p.servers).padStart(7)}  ${String(p.clients).padStart(7)}  ${p.policy.padEnd(16)}`;

function printSpread(title, byPoint) {
  console.log(title);
  console.log('servers  clients  policy            median   min      max      mean +- sd     median MB/s');
  for (const p of byPoint.values()) {
    const s = spread(p.values);
    const m = spread(p.mbps);
    console.log(`${pointLabel(p)}  ${pct(s.median).padEnd(7)}  ${pct(s.min).padEnd(7)}  ${pct(s.max).padEnd(7)}  ${pct(s.mean)} +- ${pct(s.sd).padEnd(6)}  ${m.median.toFixed(2)}`);
  }
}

/** Rows of per-run ratios - 1, printed with their median, range and how many are >= 0. */
function printGains(title, header, rows) {
  if (rows.length === 0) return;
  console.log('');
  console.log(title);
  console.log(`servers  clients  policy            median   min      max      ${header}`);
  for (const { p, gains } of rows) {
    const s = spread(gains);
    const wins = gains.filter((g) => g >= 0).length;
    console.log(`${pointLabel(p)}  ${signed(s.median).padEnd(7)}  ${signed(s.min).padEnd(7)}  ${signed(s.max).padEnd(7)}  ${wins} of ${gains.length}`);
  }
}

function main() {
  const { runs, seed, rest, otherCli } = parseArgs(process.argv.slice(2));
  const mine = new Map();
  const theirs = new Map();
  const started = performance.now();
  for (let i = 0; i < runs; i++) {
    // With --against, the two alternate which goes first, so neither always meets a warmer machine.
    const order = otherCli && i % 2 === 1 ? [[otherCli, theirs], [CLI, mine]] : [[CLI, mine], ...(otherCli ? [[otherCli, theirs]] : [])];
    for (const [cli, into] of order) collect(into, benchOnce(cli, rest, seed + i));
    process.stderr.write(`run ${i + 1}/${runs} (seed ${seed + i}) done after ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  }

  console.log(`smartftp bench ${rest.join(' ')}: ${runs} runs, seeds ${seed}..${seed + runs - 1}${otherCli ? `, alternating with ${otherCli}` : ''}`);
  printSpread(`%links per point (MB/s in paper units)${otherCli ? ', this checkout' : ''}:`, mine);
  if (otherCli) {
    console.log('');
    printSpread(`%links per point, ${otherCli}:`, theirs);
    const rows = [...mine.values()].filter((p) => theirs.has(`${p.servers}/${p.clients}/${p.policy}`)).map((p) => {
      const o = theirs.get(`${p.servers}/${p.clients}/${p.policy}`);
      return { p, gains: p.mbps.map((v, i) => v / o.mbps[i] - 1) };
    });
    printGains('this checkout against the other, same seed (MB/s ratio - 1):', 'runs >= other', rows);
  }

  // Paired within each run (same seed, same machine moment): n servers against one, per client count.
  const pairs = [];
  for (const p of mine.values()) {
    const one = mine.get(`1/${p.clients}/${p.policy}`);
    if (p.servers === 1 || !one) continue;
    pairs.push({ p, gains: p.mbps.map((v, i) => v / one.mbps[i] - 1) });
  }
  printGains('n servers against 1 server, same run (MB/s ratio - 1):', 'runs >= 1 server', pairs);
}

try {
  main();
} catch (error) {
  process.stderr.write(`bench-repeat: ${error.message}\n`);
  process.exit(2);
}

#!/usr/bin/env node
// The README's first command (`npm run demo`): the example certificate's three mirrors run here as
// emulated FTP servers of different speeds; smartftp fetches twelve small files (the director
// measures and settles on the fastest), then a 64 MiB file during which the fastest mirror is
// killed: the director resumes on the next one at the byte offset. Every file is checked by sha256.
// No network: everything is on 127.0.0.1.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCertificateFile } from '../dist/certificate/load.js';
import { parseFault } from '../dist/emulator/faults.js';
import { localMirrorSpecs, startLocalMirrors } from '../dist/emulator/local-mirrors.js';
import { SAMPLE_FILES } from '../dist/emulator/sample-data.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'bin', 'smartftp.js');
const certPath = join(repo, 'mirrors.yaml');
const RATES_MBIT = [80, 40, 16]; // local-a is the fastest
const KILL = parseFault('kill:1@2.5s'); // the fastest, 2.5 s into the 64 MiB file

function run(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: 'inherit' });
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

const cert = await loadCertificateFile(certPath);
const work = mkdtempSync(join(tmpdir(), 'smartftp-demo-'));
const local = await startLocalMirrors(localMirrorSpecs(cert), { rates: RATES_MBIT, controlDelayMs: 10 });
let failed = 0;
try {
  for (const m of local.mirrors) console.log(`mirror ${m.spec.name}: ${m.spec.url}, ${m.mbit} Mbit/s`);
  const common = ['--cert', certPath, '--state-dir', join(work, 'state'), '-d', join(work, 'out')];

  const small = Object.keys(SAMPLE_FILES).filter((p) => p.includes('small-'));
  console.log(`\n== 1. ${small.length} files of 1 MiB: the director measures the mirrors and keeps to the fastest`);
  failed += (await run(['get', ...small, ...common])) === 0 ? 0 : 1;
  await run(['mirrors', '--cert', certPath, '--state-dir', join(work, 'state')]);

  console.log(`\n== 2. 64 MiB; the mirror serving it is killed after ${KILL.atSeconds} s`);
  // -s 1: one mirror at a time, so that the kill shows a failover at the byte offset (without it
  // the director may fetch the file in ranges from local-a and local-b, measured at half its rate).
  const big = run(['get', 'sample/64MiB.bin', '-s', '1', ...common]);
  // Said once the get is over: a line printed while it draws its live area would be drawn over.
  const killed = [];
  local.armFaults([KILL], (_, name) => killed.push(name));
  failed += (await big) === 0 ? 0 : 1;
  for (const name of killed) console.log(`(demo: ${name} was killed ${KILL.atSeconds} s after the get connected)`);

  console.log('\n== 3. every file checked against the served copy');
  for (const path of [...small, 'sample/64MiB.bin']) {
    // Several files keep their remote paths under -d; a single one goes straight into it.
    const got = sha256(join(work, 'out', small.includes(path) ? path : path.split('/').pop()));
    const ok = got === local.sample[path];
    if (!ok) failed++;
    console.log(`${ok ? 'ok  ' : 'BAD '} ${path}  sha256 ${got}`);
  }
} finally {
  await local.stop();
  rmSync(work, { recursive: true, force: true });
}
console.log(failed === 0 ? '\ndemo: all files intact' : `\ndemo: ${failed} problem(s)`);
process.exitCode = failed === 0 ? 0 : 1;

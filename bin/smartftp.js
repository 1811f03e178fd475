#!/usr/bin/env node
// Thin shim: the CLI is compiled and bundled into dist/bundle/ by `npm ci` (the prepare script:
// tsc, then scripts/bundle.mjs). Once the work is done the process ends even if a stranger's
// server still holds a socket open.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // Answered before the CLI's modules load: a version check costs no more than node's own start.
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  const { main } = await import('../dist/bundle/main.js');
  main(process.argv).then((code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 500).unref();
  });
}

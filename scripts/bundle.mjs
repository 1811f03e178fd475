#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js, written by tsc) with its dependencies into
// dist/bundle/, which bin/smartftp.js runs. Node 20 has no compile cache, and resolving, reading
// and compiling ~170 small modules cost a `get` more than its transfer: one file per command
// (esbuild's code splitting keeps each command's lazy import lazy) halves that. tsc still builds
// dist/ for the type check and for the bench's fleet process, which is forked from dist/bench/.

import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');

// yaml's package sends Node to its CommonJS build: some 70 modules, each wrapped and initialised
// one by one at start-up (35 ms of a `get`). Its ES module build (the "default" export, the same
// code; only its warnings go to console.warn rather than process.emitWarning, and smartftp never
// asks for them: it reads the Document, never toJS) is bundled into one scope instead.
const yamlEsm = join(dirname(createRequire(import.meta.url).resolve('yaml/package.json')), 'browser', 'index.js');
const yamlAsEsm = {
  name: 'yaml-esm',
  setup(b) {
    b.onResolve({ filter: /^yaml$/ }, () => ({ path: yamlEsm }));
  },
};
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['dist/cli/main.js'],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // basic-ftp, commander and cli-progress are CommonJS and require() Node's own modules.
  banner: { js: "import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);" },
  plugins: [yamlAsEsm],
  logLevel: 'warning',
});

#!/usr/bin/env node
// Thin shim: the CLI is compiled to dist/ by `npm ci` (the prepare script). Once the work is done
// the process ends even if a stranger's server still holds a socket open.
import { main } from '../dist/cli/main.js';
main(process.argv).then((code) => {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 500).unref();
});

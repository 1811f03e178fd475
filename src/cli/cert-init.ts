// `smartftp cert init URL... [--out FILE] [--service NAME] [--force]`: a certificate from mirror
// base URLs. Each mirror is looked at first (client/mirror-survey.ts) and every one is written,
// with a comment saying what was found, so the file can be edited rather than started over.

import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { timerMs } from '../certificate/bounds.js';
import { certificateText, commandLineMirror, distinctMirrors, serviceNameFor, type MirrorBase } from '../certificate/compose.js';
import { CertificateError, parseCertificate } from '../certificate/load.js';
import type { Certificate } from '../certificate/types.js';
import { surveyMirrors, type MirrorSurvey } from '../client/mirror-survey.js';
import { Interrupted } from '../director/errors.js';
import { createReporter } from '../ui/reporter.js';
import { safeForMessage } from '../util/safe-text.js';
import { isMachineFault, localErrorText } from '../util/local-error-text.js';
import { EXIT } from './exit-codes.js';
import { interruptSignal } from './interrupt.js';
import { DEFAULT_CERT } from './load-cert.js';

export interface CertInitOptions {
  out?: string;
  service?: string;
  force?: boolean;
}

const KEPT = 'kept, edit or remove';

/** The comment above a mirror: what its survey found. */
export function surveyNote(mirror: { basePath: string; protocol: string }, s: MirrorSurvey): string {
  if (!s.reachable) {
    const hint = s.loginRefused ? ' (a login goes in ~/.netrc, or user + password_env here)' : '';
    return `${s.loginRefused ? 'login refused' : 'unreachable'}: ${s.unreachable}${hint} — ${KEPT}`;
  }
  const entries = `${s.entries} ${s.entries === 1 ? 'entry' : 'entries'} in ${mirror.basePath}`;
  const found = s.baseProblem === undefined ? entries : `${mirror.basePath} cannot be listed: ${s.baseProblem}`;
  const tls =
    mirror.protocol === 'ftps' ? 'TLS' : s.tls ? 'AUTH TLS accepted (ftps:// would require it)' : `no TLS (AUTH TLS: ${s.tlsProblem})`;
  return `reachable, ${s.loginMs} ms, ${found}; ${tls}${s.baseProblem === undefined ? '' : ` — ${KEPT}`}`;
}

export async function runCertInit(urls: string[], options: CertInitOptions): Promise<number> {
  const reporter = createReporter({ json: false, quiet: false });
  const out = options.out ?? DEFAULT_CERT;
  const given: MirrorBase[] = [];
  for (const url of urls) {
    const base = commandLineMirror(url);
    if (typeof base === 'string') reporter.note(`smartftp cert init: ${url}: ${base}`);
    else given.push(base);
  }
  if (given.length !== urls.length) return EXIT.usage;
  if (existsSync(out) && !options.force) {
    reporter.note(`smartftp cert init: ${out} exists; --force replaces it`);
    return EXIT.usage;
  }
  const mirrors = distinctMirrors(given);
  const service = options.service ?? serviceNameFor(mirrors.map((m) => m.parsed));
  let cert: Certificate;
  try {
    // Read back as `cert check` will: the mirrors to survey are the certificate's own.
    cert = parseCertificate(certificateText({ service, mirrors }), out);
  } catch (error) {
    if (!(error instanceof CertificateError)) throw error;
    reporter.note(error.message);
    return EXIT.usage;
  }

  const interrupt = interruptSignal();
  let surveys: MirrorSurvey[];
  const warned = new Set<string>();
  const onWarning = (message: string) => {
    if (!warned.has(message)) reporter.event({ type: 'warning', message });
    warned.add(message);
  };
  try {
    surveys = await surveyMirrors(cert.mirrors, { connectTimeoutMs: timerMs(cert.director.connectTimeout), signal: interrupt.signal, onWarning });
  } catch (error) {
    if (!(error instanceof Interrupted)) throw error;
    reporter.note('smartftp cert init: interrupted; nothing written');
    return EXIT.interrupted;
  } finally {
    interrupt.dispose();
  }
  const notes = cert.mirrors.map((m, i) => surveyNote(m, surveys[i]!));
  const header = [
    `A smartftp service certificate, written by \`smartftp cert init\` at ${new Date().toISOString()}.`,
    "Each mirror's comment says what was found then. Check the file with `smartftp cert check`;",
    'the README ("The certificate") has the other keys (ttl, probe, max_connections, user, password_env, ...).',
  ];
  const text = certificateText({ service, mirrors, header, notes: notes.map((n) => [n]) });
  try {
    await writeFile(out, text, { flag: options.force ? 'w' : 'wx' });
  } catch (error) {
    reporter.note(`smartftp cert init: cannot write ${localErrorText(error, out)}`);
    return isMachineFault(error) ? EXIT.local : EXIT.usage;
  }
  const reachable = surveys.filter((s) => s.reachable).length;
  const lines = [`${out}: written: service ${service}, ${mirrors.length} mirror(s), ${reachable} reachable`];
  cert.mirrors.forEach((m, i) => lines.push(`  ${m.url}: ${notes[i]}`));
  for (const line of lines) process.stdout.write(safeForMessage(line) + '\n');
  return EXIT.ok;
}

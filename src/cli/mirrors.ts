// `smartftp mirrors`: what the director knows of each mirror; --probe measures them now
// (client/probe-mirrors.ts). This file prints the table.

import { probeAll } from '../client/probe-mirrors.js';
import { ServiceClient } from '../client/service-client.js';
import type { MirrorSpec } from '../certificate/types.js';
import { Interrupted } from '../director/errors.js';
import { defaultStateDir, StateStore } from '../director/state.js';
import { emptyStats, inCooldown, type MirrorStats } from '../director/stats.js';
import { createReporter } from '../ui/reporter.js';
import { formatRate } from '../ui/format.js';
import { maskPasswords, maskPasswordsDeep } from '../util/safe-text.js';
import { textTable } from '../ui/text-table.js';
import { EXIT } from './exit-codes.js';
import { interruptSignal } from './interrupt.js';
import { loadCertificateForCli, type CertOptions } from './load-cert.js';

export interface MirrorsOptions extends CertOptions {
  probe?: boolean;
  json?: boolean;
  state?: boolean;
}

export interface MirrorRow {
  name: string;
  url: string;
  state: string;
  throughput: number;
  latencyMs: number;
  samples: number;
  lastUsed: string | null;
}

export function describeState(s: MirrorStats, now: number): string {
  if (inCooldown(s, now)) return `cooling down until ${new Date(s.cooldownUntil).toISOString()} (${s.failures.at(-1)})`;
  if (s.failures.length > 0) return `failing: ${s.failures.at(-1)}`;
  return s.samples > 0 || s.lastSuccess > 0 ? 'ok' : 'unmeasured';
}

function row(m: MirrorSpec, s: MirrorStats, now: number): MirrorRow {
  return {
    name: m.name,
    // Certificates refuse passwords in URLs, but an adopted list comes from the state file.
    url: maskPasswords(m.url),
    state: describeState(s, now),
    throughput: Math.round(s.throughput),
    latencyMs: Math.round(s.latencyMs),
    samples: s.samples,
    lastUsed: s.lastUsed ? new Date(s.lastUsed).toISOString() : null,
  };
}

export async function runMirrors(options: MirrorsOptions): Promise<number> {
  const reporter = createReporter({ json: false, quiet: false });
  const cert = await loadCertificateForCli(options, reporter);
  if (!cert) return EXIT.usage;
  const interrupt = interruptSignal();
  const client = await ServiceClient.open(cert, {
    events: (e) => (e.type === 'warning' ? reporter.event(e) : undefined),
    store: options.state === false ? undefined : new StateStore(options.stateDir ?? defaultStateDir()),
    signal: interrupt.signal,
  });
  let errors: Record<string, string> = {};
  let code: number = EXIT.ok;
  try {
    if (options.probe) errors = await probeAll(client, interrupt.signal);
  } catch (error) {
    if (!(error instanceof Interrupted)) throw error;
    code = EXIT.interrupted;
  } finally {
    await client.close();
    interrupt.dispose();
  }
  const now = Date.now();
  const rows = client.director.mirrors.map((m) => row(m, client.director.stats[m.name] ?? emptyStats(), now));
  if (options.json) {
    const out = { service: cert.service, mirrors: rows.map((r) => ({ ...r, probeError: errors[r.name] })) };
    process.stdout.write(JSON.stringify(maskPasswordsDeep(out), null, 2) + '\n');
  } else {
    const header = ['MIRROR', 'STATE', 'THROUGHPUT', 'LATENCY', 'SAMPLES', 'LAST USED'];
    const cells = rows.map((r) => [
      r.name,
      r.state,
      r.throughput ? formatRate(r.throughput) : '-',
      r.latencyMs ? `${r.latencyMs} ms` : '-',
      String(r.samples),
      r.lastUsed ?? '-',
    ]);
    const lines = [`${cert.service}: ${rows.length} mirror(s)`, ...textTable(header, cells, { align: header.map(() => 'left'), rule: false })];
    for (const [name, message] of Object.entries(errors)) lines.push(`probe ${name}: ${message}`);
    for (const line of lines) process.stdout.write(maskPasswords(line) + '\n');
  }
  return code;
}

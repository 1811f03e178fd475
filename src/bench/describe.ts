// Words for what a run was: the settings, the scale and its paper equivalents, used by the table,
// the SVG and the CSV's comment alike so they never disagree.

import { linkMbitOf, type BenchSettings, type Contender, type ScaledSettings } from './settings.js';
import { describeFault } from '../emulator/faults.js';
import { formatBytes } from '../ui/format.js';
import { fleetWorkDir } from './work-dir.js';

export const CONTENDER_LABEL: Record<Contender, string> = {
  random: 'random (paper)',
  'random-pooled': 'random+pool',
  ranked: 'ranked+affinity',
};

function mbit(n: number): string {
  return `${Number(n.toFixed(3))} Mbit/s`;
}

export function linksText(settings: BenchSettings): string {
  const most = Math.max(...settings.servers);
  const links = Array.from({ length: most }, (_, i) => linkMbitOf(settings, i + 1));
  return links.every((l) => l === links[0]) ? `${mbit(links[0]!)} per server` : `${links.map((l) => String(l)).join(', ')} Mbit/s (servers 1..${most})`;
}

/** One line of what each client did and what the mirrors were (paper units; real mirrors are what they are). */
export function settingsLine(settings: BenchSettings, scaledSettings: ScaledSettings, emulated = true): string {
  const client = settings.clientLinkMbit === undefined ? 'client links uncapped' : `client links ${mbit(settings.clientLinkMbit)}`;
  const faults = settings.faults.length > 0 ? `; faults ${settings.faults.map(describeFault).join(', ')} (wall-clock time into each point)` : '';
  const files = `${settings.files} files x ${formatBytes(settings.size)} per client, written under ${fleetWorkDir()}`;
  if (!emulated) return `${files}; real mirrors (their own links and distances); ${client}; seed ${settings.seed}`;
  return (
    `${files}; server links ${linksText(settings)}; ` +
    `control delay ${scaledSettings.paperDelayMs} ms; ${client}; ${settings.maxSessions} sessions per server; seed ${settings.seed}${faults}`
  );
}

/** How the run was sped up, and that the figures are converted back. */
export function scaleLine(settings: BenchSettings, scaledSettings: ScaledSettings): string {
  const k = settings.scale;
  if (k === 1) return 'Scale: none: MB/s as measured.';
  const rates = scaledSettings.linkRates.map((r) => Number(((r * 8) / 1e6).toFixed(3)));
  const same = rates.every((r) => r === rates[0]);
  const rounded = scaledSettings.paperDelayMs !== settings.delayMs ? ` (${settings.delayMs} ms / ${k} rounded to whole ms)` : '';
  return (
    `Scale: run ${k}x faster: links ${same ? rates[0] : rates.join(', ')} Mbit/s, control delay ${scaledSettings.delayMs} ms${rounded}, ` +
    `file count and size unchanged. MB/s are paper-equivalent (measured / ${k}); the paper's settings run with --paper.`
  );
}

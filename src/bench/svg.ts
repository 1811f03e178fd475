// The run as an SVG chart in the style of the paper's Figure 6: aggregate bandwidth against the
// number of clients, one line per server count and policy, the paper's stated figures as crosses
// and each server count's link capacity as a faint line.

import { niceCeil } from './chart.js';
import { CONTENDER_LABEL, scaleLine, settingsLine } from './describe.js';
import { PAPER_POINTS } from './paper.js';
import type { BenchResult } from './results.js';
import { paperMBps, type Contender } from './settings.js';

const W = 800;
const H = 520;
const M = { left: 64, right: 220, top: 58, bottom: 110 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
const DASH: Record<Contender, string> = { random: '7 4', 'random-pooled': '2 3', ranked: '' };

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

const r = (n: number): string => String(Math.round(n * 10) / 10);

function marker(policy: Contender, x: number, y: number, color: string): string {
  if (policy === 'ranked') return `<rect x="${r(x - 3.5)}" y="${r(y - 3.5)}" width="7" height="7" fill="${color}"/>`;
  return `<circle cx="${r(x)}" cy="${r(y)}" r="3.5" fill="white" stroke="${color}" stroke-width="1.5"/>`;
}

function cross(x: number, y: number): string {
  return `<path d="M${r(x - 5)} ${r(y - 5)}L${r(x + 5)} ${r(y + 5)}M${r(x - 5)} ${r(y + 5)}L${r(x + 5)} ${r(y - 5)}" stroke="black" stroke-width="2"/>`;
}

export function toSvg(result: BenchResult, options: { paper: boolean; title?: string }): string {
  const { points } = result;
  const policies = result.settings.policies;
  const servers = [...new Set(points.map((p) => p.servers))].sort((a, b) => a - b);
  const capacities = new Map(servers.map((n) => [n, points.find((p) => p.servers === n)?.capacity]));
  const capMBps = [...capacities.values()].filter((c): c is number => c !== undefined).map((c) => paperMBps(c, result.settings.scale));
  const reference = options.paper ? PAPER_POINTS.filter((p) => servers.includes(p.servers)) : [];
  const xMax = Math.max(16, ...points.map((p) => p.clients));
  // Headroom above the highest line, so a capacity line never sits on the frame.
  const yMax = niceCeil(1.08 * Math.max(0.1, ...points.map((p) => p.paperMBps), ...capMBps, ...reference.map((p) => p.mbps)));
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const X = (c: number): number => M.left + (c / xMax) * pw;
  const Y = (v: number): number => M.top + ph - (v / yMax) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  const title = options.title ?? 'Aggregate bandwidth vs. number of clients (after Figure 6)';
  out.push(`<text x="${M.left}" y="24" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
  out.push(`<text x="${M.left}" y="42" font-size="11" fill="#444">${escapeXml(`smartftp bench, ${result.target === 'emulated' ? 'emulated mirrors on 127.0.0.1' : result.target}`)}</text>`);

  // Grid and axes.
  const yStep = yMax / 5;
  for (let i = 0; i <= 5; i++) {
    const v = i * yStep;
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${r(Y(v))}" y2="${r(Y(v))}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${M.left - 8}" y="${r(Y(v) + 4)}" text-anchor="end">${Number(v.toFixed(2))}</text>`);
  }
  for (let c = 0; c <= xMax; c += 2) {
    out.push(`<line x1="${r(X(c))}" x2="${r(X(c))}" y1="${M.top + ph}" y2="${M.top + ph + 5}" stroke="black"/>`);
    out.push(`<text x="${r(X(c))}" y="${M.top + ph + 19}" text-anchor="middle">${c}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${M.top + ph + 38}" text-anchor="middle">Number of clients</text>`);
  const yLabel = result.settings.scale === 1 ? 'Aggregate bandwidth (MB/s)' : 'Aggregate bandwidth (MB/s, paper-equivalent)';
  out.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${yLabel}</text>`);

  // Link capacity of each server count.
  for (const [i, n] of servers.entries()) {
    const cap = capacities.get(n);
    if (cap === undefined) continue;
    const y = Y(paperMBps(cap, result.settings.scale));
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${r(y)}" y2="${r(y)}" stroke="${COLORS[i % COLORS.length]}" stroke-opacity="0.35" stroke-dasharray="1 3"/>`);
  }

  // One line per server count and policy.
  for (const [i, n] of servers.entries()) {
    const color = COLORS[i % COLORS.length]!;
    for (const policy of policies) {
      const pts = points.filter((p) => p.servers === n && p.policy === policy).sort((a, b) => a.clients - b.clients);
      if (pts.length === 0) continue;
      const d = pts.map((p, j) => `${j === 0 ? 'M' : 'L'}${r(X(p.clients))} ${r(Y(p.paperMBps))}`).join('');
      const dash = DASH[policy] ? ` stroke-dasharray="${DASH[policy]}"` : '';
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
      for (const p of pts) out.push(marker(policy, X(p.clients), Y(p.paperMBps), color));
    }
  }
  for (const p of reference) out.push(cross(X(p.clients), Y(p.mbps)));

  // Legend.
  let ly = M.top + 8;
  const lx = M.left + pw + 16;
  for (const [i, n] of servers.entries()) {
    const color = COLORS[i % COLORS.length]!;
    for (const policy of policies) {
      const dash = DASH[policy] ? ` stroke-dasharray="${DASH[policy]}"` : '';
      out.push(`<line x1="${lx}" x2="${lx + 30}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
      out.push(marker(policy, lx + 15, ly, color));
      out.push(`<text x="${lx + 38}" y="${ly + 4}">${escapeXml(`${n} server${n > 1 ? 's' : ''}, ${CONTENDER_LABEL[policy]}`)}</text>`);
      ly += 18;
    }
  }
  if (reference.length > 0) {
    out.push(cross(lx + 15, ly + 2));
    out.push(`<text x="${lx + 38}" y="${ly + 6}">paper (random), as stated</text>`);
    ly += 18;
  }
  if (capMBps.length > 0) {
    out.push(`<line x1="${lx}" x2="${lx + 30}" y1="${ly + 2}" y2="${ly + 2}" stroke="#666" stroke-dasharray="1 3"/>`);
    out.push(`<text x="${lx + 38}" y="${ly + 6}">link capacity</text>`);
  }

  // What was run, under the chart.
  const notes = [settingsLine(result.settings, result.scaled, result.target === 'emulated'), scaleLine(result.settings, result.scaled)].flatMap((n) => wrap(n, 125));
  for (const [i, part] of notes.entries()) {
    out.push(`<text x="12" y="${H - 10 - 12 * (notes.length - 1 - i)}" font-size="10" fill="#444">${escapeXml(part)}</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Break a line into parts of at most `width` characters at spaces. */
export function wrap(text: string, width: number): string[] {
  const parts: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      parts.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) parts.push(line);
  return parts;
}

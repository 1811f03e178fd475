// A plain text table: columns padded to their widest cell, numbers right-aligned, with optional
// group labels spanning several columns above the header and a rule under it. The benchmark's
// report and `smartftp mirrors` print with it.

export type Align = 'left' | 'right';

export interface Group {
  label: string;
  /** How many columns the label spans. */
  span: number;
}

const GAP = '  ';

export interface TableOptions {
  /** By column; default right. */
  align?: Align[];
  groups?: Group[];
  /** A line of dashes under the header; default true. */
  rule?: boolean;
}

export function textTable(header: string[], rows: string[][], options: TableOptions = {}): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const groups = options.groups ?? [];
  // A group label wider than its columns widens the last of them.
  let at = 0;
  for (const g of groups) {
    const inner = widths.slice(at, at + g.span).reduce((a, w) => a + w, 0) + GAP.length * (g.span - 1);
    if (g.label.length > inner && g.span > 0) widths[at + g.span - 1]! += g.label.length - inner;
    at += g.span;
  }
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => ((options.align?.[i] ?? 'right') === 'left' ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join(GAP)
      .trimEnd();
  const out: string[] = [];
  if (groups.length > 0) {
    const parts: string[] = [];
    at = 0;
    for (const g of groups) {
      const inner = widths.slice(at, at + g.span).reduce((a, w) => a + w, 0) + GAP.length * (g.span - 1);
      parts.push(g.label.padStart(Math.floor((inner + g.label.length) / 2)).padEnd(inner));
      at += g.span;
    }
    out.push(parts.join(GAP).trimEnd());
  }
  out.push(line(header));
  if (options.rule !== false) out.push(widths.map((w) => '-'.repeat(w)).join(GAP));
  out.push(...rows.map(line));
  return out;
}

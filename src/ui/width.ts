// How many terminal cells a string takes, and cutting one to fit: the live area's lines must each
// stay on one row, or erasing them would miss a row. Combining marks take none, East Asian wide
// characters and pictographs two, everything else one.

const ZERO = /^[\p{Mn}\p{Me}\p{Cf}\u200b-\u200f\ufe00-\ufe0f]$/u;
const WIDE = /^[\p{Extended_Pictographic}\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{20000}-\u{3fffd}]$/u;

export function charWidth(ch: string): number {
  if (ZERO.test(ch)) return 0;
  return WIDE.test(ch) ? 2 : 1;
}

export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += charWidth(ch);
  return w;
}

const ELLIPSIS = '...';

/** The text cut to at most `width` cells, ending in "..." when it was cut. */
export function fitEnd(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width <= ELLIPSIS.length) return ELLIPSIS.slice(0, Math.max(0, width));
  let out = '';
  let w = 0;
  for (const ch of text) {
    const cw = charWidth(ch);
    if (w + cw > width - ELLIPSIS.length) break;
    out += ch;
    w += cw;
  }
  return out + ELLIPSIS;
}

/** The text cut to at most `width` cells from the front ("...dir/file.bin"): a path's end says most. */
export function fitStart(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width <= ELLIPSIS.length) return ELLIPSIS.slice(0, Math.max(0, width));
  const chars = [...text];
  let out = '';
  let w = 0;
  for (let i = chars.length - 1; i >= 0; i--) {
    const cw = charWidth(chars[i]!);
    if (w + cw > width - ELLIPSIS.length) break;
    out = chars[i]! + out;
    w += cw;
  }
  return ELLIPSIS + out;
}

// A live area at the bottom of a terminal. Lasting lines are written above it and then belong to
// the terminal: they scroll and wrap as any output does (line wrap is never turned off). The live
// lines beneath are redrawn in place: each is cut to the width minus one so that it takes exactly
// one row, which is what lets the next redraw erase exactly what was drawn. Every change is one
// write: move up over the live rows blanking them, lasting lines, live lines.
// Nothing else is ever moved or erased, so no line above the live area can be lost.

import { displayWidth, fitEnd } from './width.js';

const CSI = '\x1b[';

/** Live lines for a terminal of this size (columns, rows). */
export type Render = (columns: number, rows: number) => string[];

export class LiveArea {
  /** Cells of each live line now on the screen. */
  private shown: number[] = [];
  private shownText = '';
  private dirty = false;
  private lastDraw = 0;
  private ticker: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly onResize = () => this.draw('');
  private readonly onExit = () => this.close();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly render: Render,
    /** At most one redraw this often for progress; a lasting line is written at once. */
    private readonly intervalMs = 200,
    /** With nothing new, a redraw this often still moves rates and ETAs on. */
    private readonly refreshMs = 1000,
  ) {
    out.on('resize', this.onResize);
    // A second Ctrl-C exits at once: the live lines go, whatever was printed stays.
    process.on('exit', this.onExit);
  }

  /** Lasting text (one or more lines) above the live area, which is redrawn beneath it. */
  print(text: string): void {
    this.draw(text.endsWith('\n') ? text : text + '\n');
  }

  /** The live lines changed: redraw soon. */
  update(): void {
    this.dirty = true;
    if (performance.now() - this.lastDraw >= this.intervalMs) this.draw('');
    else if (!this.closed) this.startTicker(); // drawn by the next tick
  }

  /** Erase the live lines for good; later lasting lines are written as plain lines. */
  close(): void {
    if (this.closed) return;
    this.stopTicker();
    this.out.off('resize', this.onResize);
    process.off('exit', this.onExit);
    const erase = this.erase(this.size()[0]);
    if (erase) this.out.write(erase);
    this.shown = [];
    this.closed = true;
  }

  /** Asked of the terminal at each draw: a redraw can come before the SIGWINCH that updates `columns`. */
  private size(): [columns: number, rows: number] {
    let [columns, rows] = [this.out.columns, this.out.rows];
    try {
      [columns, rows] = this.out.getWindowSize();
    } catch {
      // not a real terminal (tests): the stream's own figures
    }
    return [columns > 0 ? columns : 80, rows > 0 ? rows : 24];
  }

  private draw(lasting: string): void {
    if (this.closed) {
      if (lasting) this.out.write(lasting);
      return;
    }
    const [columns, rows] = this.size();
    // One row stays free for the cursor, so the area never scrolls its own top away.
    const live = this.render(columns, rows)
      .slice(0, Math.max(0, rows - 1))
      .map((line) => fitEnd(line, columns - 1));
    const text = live.map((line) => line + '\n').join('');
    this.dirty = false;
    this.lastDraw = performance.now();
    if (!lasting && text === this.shownText && this.shown.every((w) => w < columns)) return;
    this.out.write(this.erase(columns) + lasting + text);
    this.shown = live.map(displayWidth);
    this.shownText = text;
    if (live.length > 0) this.startTicker();
    else this.stopTicker();
  }

  /**
   * Back to the top of the live area, blanking each row on the way: the cursor's row first (keys
   * typed meanwhile echo there), then the live rows. Line by line rather than "erase to the end of
   * the screen", which tmux (scroll-on-clear) would take at the top left corner as a clear screen
   * and push the old live lines into the scrollback. A line drawn at a wider width takes
   * ceil(cells / columns) rows once the terminal has reflowed it to a narrower one (tmux, VTE,
   * iTerm2, kitty and Windows Terminal reflow on resize).
   */
  private erase(columns: number): string {
    const rows = this.shown.reduce((n, w) => n + Math.max(1, Math.ceil(w / columns)), 0);
    return rows > 0 ? `\r${CSI}2K` + `${CSI}1A${CSI}2K`.repeat(rows) : '';
  }

  private startTicker(): void {
    if (this.ticker) return;
    this.ticker = setInterval(() => {
      if (this.dirty || performance.now() - this.lastDraw >= this.refreshMs) this.draw('');
    }, this.intervalMs);
    this.ticker.unref();
  }

  private stopTicker(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
  }
}

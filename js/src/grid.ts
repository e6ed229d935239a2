// Virtual grid: only the visible rows (+ overscan) exist in the DOM.
import type { ColumnSpec, SortKey } from "./model";
import { alignFor, classifyType, formatCount, formatterFor, type Formatter } from "./format";
import { createHeaderCell, paintSort } from "./header";
import type { LoadedWindow } from "./loader";
import * as vp from "./viewport";

/** What the grid needs from the window loader. */
export interface RowProvider {
  request(first: number, last: number): void;
  windowFor(row: number): LoadedWindow | undefined;
  hasFailed(row: number): boolean;
}

/** How long rows keep their old content while the rows of a jump load (ms). */
export const HOLD_MS = 150;
// a numeric cell: 12px monospace digits (~0.6em each), 10px padding each side and a border
const NUM_CHAR_PX = 7.3;
const CELL_PAD_PX = 21;
const FIT_MAX_PX = 360;

export interface GridOptions {
  rowHeight?: number;
  overscan?: number;
  maxScrollPx?: number;
  /** Fallback body height when layout is unavailable (tests, hidden tabs). */
  fallbackHeight?: number;
  onSortClick?: (column: string, multi: boolean) => void;
  /** After each paint; `rangeChanged` when the visible rows changed. */
  onPaint?: (rangeChanged: boolean) => void;
}

interface RowEl {
  el: HTMLElement;
  gutter: HTMLElement;
  cells: HTMLElement[];
}

/** The `fitted` start of a column: 0 for a numeric one (it widens to its numbers), -1 else. */
function fitsItself(col: ColumnSpec): number {
  return alignFor(col.type) === "right" ? 0 : -1;
}

export function defaultWidth(col: ColumnSpec): number {
  const byType: Record<string, number> = { int: 110, float: 120, decimal: 120, bool: 72, timestamp: 232, date: 110, time: 120, duration: 110, string: 180, other: 160 };
  const w = byType[classifyType(col.type)] ?? 140;
  return Math.max(w, Math.min(320, 16 + 8 * Math.max(col.name.length, col.type.length)));
}

export class VirtualGrid {
  readonly root: HTMLElement;
  readonly scroller: HTMLElement;
  private header: HTMLElement;
  private body: HTMLElement;
  private headerCells: HTMLElement[] = [];
  private gutterHead: HTMLElement;
  private pool: RowEl[] = [];
  private columns: ColumnSpec[] = [];
  private formatters: Formatter[] = [];
  private widths: number[] = [];
  /** Per column: the longest number drawn so far (a numeric column widens to fit it, up to
   * FIT_MAX_PX, until the user sizes it), or -1 for columns that do not fit themselves. */
  private fitted: number[] = [];
  private widthsChanged = false;
  private numRows = 0;
  private sort: SortKey[] = [];
  private topRow = 0;
  private expectedScrollTop = -1;
  private raf = 0;
  private range: vp.RowRange = { first: 0, last: -1, firstVisible: 0, lastVisible: -1 };
  readonly rowHeight: number;
  private overscan: number;
  private resizeObserver: ResizeObserver | null = null;
  /** Rows rendered as placeholders (or held) in the last paint. */
  placeholderRows = 0;
  /** Since when rows wait for data while showing what they showed (see `render`). */
  private holdSince = -1;
  private holdTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private provider: RowProvider, private opts: GridOptions = {}) {
    this.rowHeight = opts.rowHeight ?? 28;
    this.overscan = opts.overscan ?? 4;
    this.root = div("tb-grid");
    this.scroller = div("tb-scroller");
    this.scroller.tabIndex = 0;
    this.scroller.setAttribute("role", "grid");
    this.header = div("tb-header");
    this.header.setAttribute("role", "row");
    this.gutterHead = div("tb-hcell tb-gutter");
    this.gutterHead.textContent = "#";
    this.body = div("tb-body");
    this.scroller.append(this.header, this.body);
    this.root.append(this.scroller);
    this.root.style.setProperty("--tb-row-h", `${this.rowHeight}px`);
    this.scroller.addEventListener("scroll", this.onScroll, { passive: true });
    this.scroller.addEventListener("wheel", this.onWheel, { passive: false });
    this.scroller.addEventListener("keydown", this.onKey);
    // Layout may only become known after mounting (hidden tabs, late attach).
    if (typeof ResizeObserver === "function") {
      this.resizeObserver = new ResizeObserver(() => this.scheduleRender());
      this.resizeObserver.observe(this.scroller);
    }
  }

  metrics(): vp.Metrics {
    const h = this.scroller.clientHeight - this.header.offsetHeight;
    const viewportHeight = h > 0 ? h : (this.opts.fallbackHeight ?? 300);
    return { numRows: this.numRows, rowHeight: this.rowHeight, viewportHeight, maxPx: this.opts.maxScrollPx };
  }

  setColumns(columns: ColumnSpec[]): void {
    this.columns = columns.map((c) => ({ name: String(c.name), type: String(c.type) }));
    this.formatters = this.columns.map((c) => formatterFor(c.type));
    this.widths = this.columns.map(defaultWidth);
    this.fitted = this.columns.map(fitsItself);
    this.headerCells = this.columns.map((c, i) =>
      createHeaderCell(c, i, {
        onSortClick: (name, multi) => this.opts.onSortClick?.(name, multi),
        onResize: (idx, w) => {
          // a reset fits again; a drag is the user's
          this.fitted[idx] = w < 0 ? fitsItself(this.columns[idx]) : -1;
          this.setWidth(idx, w < 0 ? defaultWidth(this.columns[idx]) : w);
        },
        getWidth: (idx) => this.widths[idx],
      }),
    );
    this.header.replaceChildren(this.gutterHead, ...this.headerCells, div("tb-hcell tb-filler"));
    for (const r of this.pool) r.el.remove();
    this.pool = [];
    paintSort(this.headerCells, this.columns, this.sort);
    this.applyWidths();
  }

  /** A new row count; a view showing the last row keeps showing it (appends follow). */
  setNumRows(n: number): void {
    const rows = Math.max(0, Math.floor(n));
    const follow = rows > this.numRows && this.numRows > 0 && this.range.lastVisible >= this.numRows - 1;
    this.numRows = rows;
    this.applyWidths(); // gutter width depends on the digit count
    this.body.style.height = `${vp.bodyHeight(this.metrics())}px`;
    this.topRow = Math.min(this.topRow, vp.maxTopRow(this.metrics()));
    this.expectedScrollTop = -1;
    if (follow) this.scrollToRow(rows);
    else this.scheduleRender();
  }

  setSort(sort: SortKey[]): void {
    this.sort = sort;
    paintSort(this.headerCells, this.columns, sort);
  }

  setWidth(index: number, width: number): void {
    this.widths[index] = Math.round(width);
    this.applyWidths();
  }

  getWidths(): number[] {
    return [...this.widths];
  }

  private applyWidths(): void {
    const digits = formatCount(Math.max(1, this.numRows - 1)).length; // as the gutter shows it
    const gutter = Math.max(44, Math.ceil(digits * 7.5 + 20));
    const cols = [gutter, ...this.widths];
    // A trailing filler column absorbs spare width in a wide container.
    this.root.style.setProperty("--tb-cols", `${cols.map((w) => `${w}px`).join(" ")} minmax(0, 1fr)`);
    this.root.style.setProperty("--tb-width", `${cols.reduce((a, b) => a + b, 0)}px`);
  }

  /** Scroll so that `row` is the top row (clamped so the last page is full). */
  scrollToRow(row: number): void {
    const m = this.metrics();
    this.topRow = Math.min(Math.max(0, row), vp.maxTopRow(m));
    this.setScrollTop(vp.scrollForTopRow(m, this.topRow));
    this.render();
  }

  /** Current visible range (inclusive), for the status bar and tests. */
  visibleRange(): { first: number; last: number } {
    return { first: this.range.firstVisible, last: this.range.lastVisible };
  }

  renderedRows(): number[] {
    return this.pool.filter((r) => r.el.style.display !== "none").map((r) => Number(r.el.dataset.row));
  }

  private setScrollTop(top: number): void {
    this.expectedScrollTop = top;
    this.scroller.scrollTop = top;
  }

  private onScroll = () => {
    const top = this.scroller.scrollTop;
    // Keep a precise top row set by wheel/keys unless the user moved the bar.
    if (Math.abs(top - this.expectedScrollTop) > 1) {
      this.topRow = vp.topRowForScroll(this.metrics(), top);
      this.expectedScrollTop = -1;
    }
    this.scheduleRender();
  };

  private onWheel = (e: WheelEvent) => {
    const m = this.metrics();
    if (!vp.isScaled(m) || e.ctrlKey || Math.abs(e.deltaY) < Math.abs(e.deltaX)) return;
    e.preventDefault();
    if (e.deltaX) this.scroller.scrollLeft += e.deltaX;
    const px = e.deltaMode === 1 ? e.deltaY * this.rowHeight : e.deltaMode === 2 ? e.deltaY * m.viewportHeight : e.deltaY;
    this.scrollToRow(this.topRow + px / this.rowHeight);
  };

  /** Keys scroll by rows at any size; they are the grid's, not the page's (JupyterLab's
   * notebook would move its active cell on an arrow key). A move starts from the first row in
   * view, so it is one row even when the top row shows in part (at the end). */
  private onKey = (e: KeyboardEvent) => {
    const m = this.metrics();
    const page = Math.max(1, Math.floor(m.viewportHeight / this.rowHeight) - 1);
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
    if (e.key === "Home" && (e.ctrlKey || e.metaKey || !vp.isScaled(m))) this.scrollToRow(0);
    else if (e.key === "End" && (e.ctrlKey || e.metaKey || !vp.isScaled(m))) this.scrollToRow(this.numRows);
    else if (e.key in moves && !e.altKey) this.scrollToRow(Math.floor(this.topRow + 1e-6) + moves[e.key]);
    else return;
    e.preventDefault();
    e.stopPropagation();
  };

  scheduleRender(): void {
    if (this.raf) return;
    const raf = typeof requestAnimationFrame === "function" ? requestAnimationFrame : (f: () => void) => setTimeout(f, 0) as unknown as number;
    this.raf = raf(() => {
      this.raf = 0;
      this.render();
    });
  }

  /** Paint synchronously. */
  render(): void {
    const m = this.metrics();
    const scrollTop = this.scroller.scrollTop;
    if (this.expectedScrollTop < 0) this.topRow = vp.topRowForScroll(m, scrollTop);
    this.topRow = Math.min(this.topRow, vp.maxTopRow(m));
    const r = vp.rowRange(m, this.topRow, this.overscan);
    const changed = r.firstVisible !== this.range.firstVisible || r.lastVisible !== this.range.lastVisible;
    this.range = r;
    if (r.last >= r.first) this.provider.request(r.firstVisible, r.lastVisible);
    const hold = r.last >= r.first && this.holding(r.first, r.last);
    const count = Math.max(0, r.last - r.first + 1);
    this.placeholderRows = 0;
    let held = 0;
    while (this.pool.length < count) this.pool.push(this.makeRow());
    for (let k = 0; k < this.pool.length; k++) {
      const row = this.pool[k];
      if (k >= count) {
        row.el.style.display = "none";
        continue;
      }
      const index = r.first + k;
      // out of view, a row has nothing to show before its data comes: it stays as it is
      const unseen = index < r.firstVisible || index > r.lastVisible;
      if (hold && (unseen || this.waiting(row, index))) {
        this.placeholderRows++;
        held++;
        continue;
      }
      if (unseen && !this.provider.windowFor(index)) {
        // no shimmering placeholder out of view: its animation restyles the page every frame
        row.el.style.display = "none";
        continue;
      }
      row.el.style.display = "";
      row.el.style.transform = `translateY(${vp.rowOffset(m, index, this.topRow, scrollTop)}px)`;
      this.paintRow(row, index);
    }
    // A held jump changes nothing on the page until its rows arrive (or the hold ends):
    // not even the footer, whose text would cost the scroll's frame a layout of the page.
    if (this.widthsChanged) {
      this.widthsChanged = false;
      this.applyWidths();
    }
    if (!hold || held < count) this.opts.onPaint?.(changed);
  }

  /**
   * Whether to hold the rows after a jump to rows none of which is loaded yet: they keep
   * what they showed (no DOM change at all) for up to HOLD_MS, then show placeholders; the
   * rows arrive in one paint. Rows in view that never showed data get placeholders at once;
   * rows out of view wait, hidden, for their data.
   */
  private holding(first: number, last: number): boolean {
    // only a jump to rows none of which is loaded: a held row never sits beside a painted
    // one (which could show the same row twice)
    let missing = true;
    for (let i = first; i <= last && missing; i++) missing = !this.provider.windowFor(i) && !this.provider.hasFailed(i);
    if (!missing) {
      this.holdSince = -1;
      return false;
    }
    const now = performance.now();
    if (this.holdSince < 0) {
      this.holdSince = now;
      if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
      this.holdTimer = setTimeout(() => {
        this.holdTimer = undefined;
        this.scheduleRender();
      }, HOLD_MS + 1);
    }
    return now - this.holdSince < HOLD_MS;
  }

  private waiting(row: RowEl, index: number): boolean {
    const shows = row.el.dataset.row !== undefined && !row.el.classList.contains("tb-placeholder") && row.el.style.display !== "none";
    return shows && !this.provider.windowFor(index) && !this.provider.hasFailed(index);
  }

  private makeRow(): RowEl {
    const el = div("tb-row");
    el.setAttribute("role", "row");
    const gutter = div("tb-cell tb-gutter");
    const cells = this.columns.map((c) => {
      const cls = classifyType(c.type);
      return div(`tb-cell tb-${alignFor(c.type)}${cls === "timestamp" || cls === "date" ? " tb-tabular" : ""}`);
    });
    el.append(gutter, ...cells, div("tb-cell tb-filler"));
    el.style.display = "none"; // until it is painted
    this.body.append(el);
    return { el, gutter, cells };
  }

  private paintRow(row: RowEl, index: number): void {
    row.el.dataset.row = String(index);
    row.el.classList.toggle("tb-odd", index % 2 === 1);
    setText(row.gutter, formatCount(index));
    const win = this.provider.windowFor(index);
    const failed = !win && this.provider.hasFailed(index);
    row.el.classList.toggle("tb-placeholder", !win);
    if (!win) this.placeholderRows++;
    row.el.classList.toggle("tb-refreshing", !!win?.stale);
    for (let c = 0; c < row.cells.length; c++) {
      const cell = row.cells[c];
      if (!win) {
        setText(cell, failed ? "⚠" : "");
        cell.removeAttribute("title");
        cell.classList.remove("tb-null");
        continue;
      }
      const column = win.columns[c];
      const value = column ? column.at(index - win.rowStart) : undefined;
      const f = this.formatters[c](value);
      setText(cell, f.text);
      if (f.text.length > this.fitted[c] && this.fitted[c] >= 0) this.fit(c, f.text.length);
      if (f.title) cell.title = f.title;
      else cell.removeAttribute("title");
      cell.classList.toggle("tb-null", !!f.isNull);
    }
  }

  /** Widen numeric column `c` for a number of `chars` characters: a number cut short by an
   * ellipsis reads as another number. Applied once per paint (a style change, no read). */
  private fit(c: number, chars: number): void {
    this.fitted[c] = chars;
    const need = Math.ceil(chars * NUM_CHAR_PX + CELL_PAD_PX);
    if (need > this.widths[c] && this.widths[c] < FIT_MAX_PX) {
      this.widths[c] = Math.min(FIT_MAX_PX, need);
      this.widthsChanged = true;
    }
  }

  destroy(): void {
    if (this.raf && typeof cancelAnimationFrame === "function") cancelAnimationFrame(this.raf);
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.resizeObserver?.disconnect();
    this.scroller.removeEventListener("scroll", this.onScroll);
    this.scroller.removeEventListener("wheel", this.onWheel);
    this.scroller.removeEventListener("keydown", this.onKey);
    this.root.remove();
  }
}

/** A cell's text, changed in its one text node (a new node would be a new layout object). */
function setText(el: HTMLElement, text: string): void {
  const node = el.firstChild;
  if (node && node === el.lastChild && node.nodeType === 3) {
    if ((node as Text).data !== text) (node as Text).data = text;
  } else el.textContent = text;
}

function div(className: string): HTMLElement {
  const el = document.createElement("div");
  el.className = className;
  return el;
}

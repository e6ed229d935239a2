// Scroll math for the virtual grid. Browsers cap element heights (~1.6e7 to
// 3.3e7 px), so when numRows * rowHeight exceeds `maxPx` the scroll position is
// mapped proportionally to a (fractional) top row. At the maximum scroll
// position the top row is numRows - rowsThatFit, so the last row is reachable.

export interface Metrics {
  numRows: number;
  rowHeight: number;
  /** Height of the visible body area (without the header). */
  viewportHeight: number;
  maxPx?: number;
}

export const DEFAULT_MAX_PX = 10_000_000;

/** Height of the scrollable body element. */
export function bodyHeight(m: Metrics): number {
  return Math.min(m.numRows * m.rowHeight, m.maxPx ?? DEFAULT_MAX_PX);
}

export function isScaled(m: Metrics): boolean {
  return m.numRows * m.rowHeight > (m.maxPx ?? DEFAULT_MAX_PX);
}

export function maxScrollTop(m: Metrics): number {
  return Math.max(0, bodyHeight(m) - m.viewportHeight);
}

/** Largest possible (fractional) top row. */
export function maxTopRow(m: Metrics): number {
  return Math.max(0, m.numRows - m.viewportHeight / m.rowHeight);
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/** Fractional row index shown at the top edge for a scroll position. */
export function topRowForScroll(m: Metrics, scrollTop: number): number {
  const max = maxScrollTop(m);
  if (max <= 0) return 0;
  return (clamp(scrollTop, 0, max) / max) * maxTopRow(m);
}

/** Scroll position that puts (fractional) row `top` at the top edge. */
export function scrollForTopRow(m: Metrics, top: number): number {
  const maxTop = maxTopRow(m);
  if (maxTop <= 0) return 0;
  return (clamp(top, 0, maxTop) / maxTop) * maxScrollTop(m);
}

export interface RowRange {
  /** First and last (inclusive) row index to render, with overscan. */
  first: number;
  last: number;
  /** First and last row that are (at least partly) visible. */
  firstVisible: number;
  lastVisible: number;
}

export function rowRange(m: Metrics, topRow: number, overscan = 0): RowRange {
  if (m.numRows <= 0) return { first: 0, last: -1, firstVisible: 0, lastVisible: -1 };
  const firstVisible = clamp(Math.floor(topRow), 0, m.numRows - 1);
  const bottom = topRow + m.viewportHeight / m.rowHeight;
  const lastVisible = clamp(Math.ceil(bottom) - 1, firstVisible, m.numRows - 1);
  return {
    first: Math.max(0, firstVisible - overscan),
    last: Math.min(m.numRows - 1, lastVisible + overscan),
    firstVisible,
    lastVisible,
  };
}

/** Y offset of `row` inside the body element, given the real scrollTop. */
export function rowOffset(m: Metrics, row: number, topRow: number, scrollTop: number): number {
  return scrollTop + (row - topRow) * m.rowHeight;
}

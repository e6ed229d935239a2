// Fetches fixed-size windows of rows through a DataSource (adjacent ones in one request),
// caches them in an LRU keyed by (version, window index), prefetches the next window while
// scrolling on, cancels requests that scrolled out of interest and drops stale responses.
import type { Column, Table } from "@uwdata/flechette";
import { WindowCache } from "./cache";
import type { DataSource } from "./datasource";
import { isStaleError } from "./datasource";
import { isAbortError } from "./protocol";

export interface LoadedWindow {
  index: number;
  rowStart: number;
  rowEnd: number;
  table: Table;
  /** Columns in the grid's order (by name, falling back to position). */
  columns: (Column<any> | null)[];
  /** Belongs to the previous table version (shown until the new one arrives). */
  stale?: boolean;
}

/** Rows per window: a jump's rows in view cost one or two windows of ~2 KB (4 columns). */
export const WINDOW_ROWS = 32;

export interface LoaderOptions {
  windowSize?: number;
  cacheWindows?: number;
  /** Quiet period that coalesces fast scrolling: the first request of a burst goes out at
   * once, later ones at most once per period (the last one wins). 0 = no coalescing. */
  debounceMs?: number;
  /** Called after a window arrives (or fails) so the view can repaint. */
  onChange?: () => void;
  onError?: (message: string) => void;
}

interface InFlight {
  version: number;
  controller: AbortController;
}

export class WindowLoader {
  readonly windowSize: number;
  private cache: WindowCache<LoadedWindow>;
  /** Windows of the previous version, shown (marked stale) until replaced. */
  private previous = new Map<number, LoadedWindow>();
  private inflight = new Map<number, InFlight>();
  private failedAt = new Map<number, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pending: [number, number] | null = null;
  /** A push for a version the view does not show yet (see `offer`). */
  private pushed: { version: number; rowStart: number; rowEnd: number; table: Table } | null = null;
  /** First row of the last request: tells a scroll on from a jump. */
  private lastFirst = -1;
  private version = 0;
  private numRows = 0;
  private names: string[] = [];
  /** Requests issued (for diagnostics and tests). */
  requests = 0;

  constructor(private source: DataSource, private opts: LoaderOptions = {}) {
    this.windowSize = Math.max(1, opts.windowSize ?? WINDOW_ROWS);
    this.cache = new WindowCache(opts.cacheWindows ?? 32);
  }

  /**
   * Start over for a new version / shape: clears the cache and cancels
   * requests. With `keepPrevious` (same columns, new version) the windows of
   * the old version stay visible, marked stale, until the new ones arrive.
   */
  reset(version: number, numRows: number, columnNames: string[], keepPrevious = false): void {
    const prev = new Map<number, LoadedWindow>();
    if (keepPrevious) {
      for (const key of this.cache.keys()) {
        const [v, w] = key.split(":").map(Number);
        const win = v === this.version ? this.cache.get(v, w) : undefined;
        if (win) prev.set(w, { ...win, stale: true });
      }
      // older versions fill in only what the last one never loaded, and never more than
      // the cache holds: republishes do not pile up windows
      for (const [w, win] of this.previous) if (!prev.has(w) && prev.size < this.cache.capacity) prev.set(w, win);
    }
    this.previous = prev;
    this.version = version;
    this.numRows = numRows;
    this.names = columnNames;
    this.cache.clear();
    this.failedAt.clear();
    for (const f of this.inflight.values()) f.controller.abort();
    this.inflight.clear();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = null;
    this.lastFirst = -1;
    const pushed = this.pushed;
    if (pushed && pushed.version <= version) this.pushed = null;
    if (pushed && pushed.version === version && numRows > 0) this.offer(version, pushed.rowStart, pushed.rowEnd, pushed.table);
  }

  /**
   * Rows the kernel sent unasked with a new version (the rows in view, so a republish
   * repaints without a round trip). A push for a version not shown yet waits for `reset`.
   */
  offer(version: number, rowStart: number, rowEnd: number, table: Table): void {
    if (version < this.version) return;
    if (version > this.version) {
      this.pushed = { version, rowStart, rowEnd, table };
      return;
    }
    const columns = this.columnsOf(table);
    for (let w = Math.ceil(rowStart / this.windowSize); w * this.windowSize < rowEnd; w++) {
      const end = Math.min(this.numRows, (w + 1) * this.windowSize);
      if (end > rowEnd || this.cache.has(version, w)) continue; // only whole windows
      this.cache.set(version, w, { index: w, rowStart, rowEnd, table, columns, stale: false });
      this.previous.delete(w);
    }
    this.opts.onChange?.();
  }

  private columnsOf(table: Table): (Column<any> | null)[] {
    return this.names.map((name, i) => {
      try {
        return table.getChild(name) ?? table.getChildAt(i) ?? null;
      } catch {
        return null;
      }
    });
  }

  get currentVersion(): number {
    return this.version;
  }

  get cachedWindows(): number {
    return this.cache.size;
  }

  /** Windows of earlier versions still held (shown stale until replaced). */
  get previousWindows(): number {
    return this.previous.size;
  }

  get inflightWindows(): number[] {
    return [...this.inflight.keys()];
  }

  windowOf(row: number): number {
    return Math.floor(row / this.windowSize);
  }

  /** The loaded window holding `row`, if any (marks it recently used). */
  windowFor(row: number): LoadedWindow | undefined {
    const w = this.windowOf(row);
    const win = this.cache.get(this.version, w);
    if (win || !this.previous.size) return win;
    const old = this.previous.get(w);
    return old && row < old.rowEnd && row < this.numRows ? old : undefined;
  }

  /** Make sure rows [first, last] (inclusive) are loaded or loading. */
  request(first: number, last: number): void {
    if (this.numRows <= 0) return;
    this.pending = [first, last];
    const delay = this.opts.debounceMs ?? 0;
    if (delay <= 0) return this.flush();
    if (this.timer !== undefined) return; // inside a burst: the trailing flush takes it
    this.flush(); // leading edge: a first paint or a jump does not wait
    this.timer = setTimeout(() => this.trail(delay), delay);
  }

  /** End of a quiet period: send what the burst asked for last, if anything. */
  private trail(delay: number): void {
    this.timer = undefined;
    if (!this.pending) return;
    this.flush();
    this.timer = setTimeout(() => this.trail(delay), delay);
  }

  private flush(): void {
    if (!this.pending) return;
    const [first, last] = this.pending;
    this.pending = null;
    const maxWin = this.windowOf(this.numRows - 1);
    const wa = Math.max(0, this.windowOf(Math.max(0, first)));
    const wb = Math.min(maxWin, this.windowOf(Math.max(0, last)));
    const wanted: number[] = [];
    for (let w = wa; w <= wb; w++) wanted.push(w);
    // Prefetch one window ahead while scrolling on (in the direction of travel); none after
    // a jump, where only the rows in view are worth their bytes.
    const moved = this.lastFirst < 0 ? 0 : first - this.lastFirst;
    const continuous = Math.abs(moved) <= 3 * Math.max(1, last - first + 1);
    this.lastFirst = first;
    if (continuous && moved > 0 && wb + 1 <= maxWin) wanted.push(wb + 1);
    if (continuous && moved < 0 && wa - 1 >= 0) wanted.push(wa - 1);
    // in flight and still of interest (a neighbour counts): keep; the rest is cancelled
    const keep = new Set([...wanted, wa - 1, wb + 1]);
    const kept = new Set<AbortController>();
    for (const [w, f] of this.inflight) if (keep.has(w)) kept.add(f.controller);
    for (const [w, f] of this.inflight) {
      if (kept.has(f.controller)) continue;
      f.controller.abort();
      this.inflight.delete(w);
    }
    // one request per run of adjacent windows neither cached nor in flight
    const failedRecently = (w: number) => {
      const at = this.failedAt.get(w);
      return at !== undefined && Date.now() - at < 2000;
    };
    const needed = wanted
      .filter((w) => !this.cache.has(this.version, w) && !this.inflight.has(w) && !failedRecently(w))
      .sort((a, b) => a - b);
    let run: number[] = [];
    for (const w of needed) {
      if (run.length && w !== run[run.length - 1] + 1) {
        this.fetch(run);
        run = [];
      }
      run.push(w);
    }
    if (run.length) this.fetch(run);
  }

  /** Fetch adjacent windows in one request; each is cached as a view of the same rows. */
  private fetch(windows: number[]): void {
    const version = this.version;
    const rowStart = windows[0] * this.windowSize;
    const rowEnd = Math.min(this.numRows, (windows[windows.length - 1] + 1) * this.windowSize);
    const controller = new AbortController();
    for (const w of windows) this.inflight.set(w, { version, controller });
    this.requests += 1;
    const mine = () => windows.filter((w) => this.isCurrent(w, version, controller));
    this.source.window(rowStart, rowEnd, version, controller.signal).then(
      (table) => {
        const current = mine();
        if (!current.length) return; // stale: drop
        const columns = this.columnsOf(table);
        for (const w of current) {
          this.inflight.delete(w);
          this.failedAt.delete(w);
          this.cache.set(version, w, { index: w, rowStart, rowEnd, table, columns, stale: false });
          this.previous.delete(w);
        }
        this.opts.onChange?.();
      },
      (err) => {
        const current = mine();
        if (!current.length) return;
        for (const w of current) this.inflight.delete(w);
        if (isAbortError(err) || isStaleError(err)) return;
        for (const w of current) this.failedAt.set(w, Date.now());
        this.opts.onError?.(err instanceof Error ? err.message : String(err));
        this.opts.onChange?.();
      },
    );
  }

  private isCurrent(index: number, version: number, controller: AbortController): boolean {
    const f = this.inflight.get(index);
    return version === this.version && !!f && f.controller === controller && !controller.signal.aborted;
  }

  hasFailed(row: number): boolean {
    return this.failedAt.has(this.windowOf(row));
  }

  dispose(): void {
    this.reset(this.version, 0, []);
  }
}

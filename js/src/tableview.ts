// Wires the model (num_rows, columns, version, sort) to the loader and grid.
import type { Chrome } from "./chrome";
import { decodeIPC, type DataSource } from "./datasource";
import { formatCount } from "./format";
import { VirtualGrid } from "./grid";
import { WindowLoader } from "./loader";
import { listen, type ColumnSpec, type WidgetModel } from "./model";
import { nextSort, normalizeSort } from "./sort";

export interface TableViewOptions {
  windowSize?: number;
  cacheWindows?: number;
  debounceMs?: number;
  rowHeight?: number;
  maxScrollPx?: number;
  fallbackHeight?: number;
}

function readColumns(model: WidgetModel): ColumnSpec[] {
  const cols = model.get("columns");
  if (!Array.isArray(cols)) return [];
  return cols.map((c: any) => (typeof c === "string" ? { name: c, type: "" } : { name: String(c?.name), type: String(c?.type ?? "") }));
}

export class TableView {
  readonly grid: VirtualGrid;
  readonly loader: WindowLoader;
  private unsubs: (() => void)[] = [];
  private columnsKey = "";
  private version = -1;
  private numRows = -1;
  /** The sort sent to the kernel (JSON) until it answers: "sorting…" meanwhile. */
  private sortRequest: string | null = null;
  private lastError = "";
  private queued = false;

  constructor(private model: WidgetModel, private chrome: Chrome, source: DataSource, opts: TableViewOptions = {}) {
    this.loader = new WindowLoader(source, {
      windowSize: opts.windowSize,
      cacheWindows: opts.cacheWindows,
      debounceMs: opts.debounceMs ?? 30,
      onChange: () => this.grid.scheduleRender(),
      onError: (msg) => {
        this.lastError = msg;
        this.updateFooter();
      },
    });
    this.grid = new VirtualGrid(this.loader, {
      rowHeight: opts.rowHeight,
      maxScrollPx: opts.maxScrollPx,
      fallbackHeight: opts.fallbackHeight,
      onSortClick: (column, multi) => this.toggleSort(column, multi),
      onPaint: () => this.updateFooter(),
    });
    chrome.content.append(this.grid.root);
    for (const key of ["num_rows", "columns", "version", "sort"]) {
      this.unsubs.push(listen(model, `change:${key}`, () => this.queueSync()));
    }
    // the kernel sends the rows in view of a new version ahead of the version itself
    this.unsubs.push(
      listen(model, "msg:custom", (content: any, buffers: unknown) => {
        if (content?.kind !== "window-push" || !Array.isArray(buffers) || !buffers.length) return;
        const table = decodeIPC(buffers[0]);
        this.loader.offer(Number(content.version), Number(content.row_start), Number(content.row_end), table);
      }),
    );
    this.sync();
  }

  /** Traits often change together; apply them once, after all are set. */
  private queueSync(): void {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      this.sync();
    });
  }

  sync(): void {
    const m = this.model;
    const columns = readColumns(m);
    const key = JSON.stringify(columns);
    const version = Number(m.get("version") ?? 0);
    const numRows = Math.max(0, Number(m.get("num_rows") ?? 0));
    const columnsChanged = key !== this.columnsKey;
    const versionChanged = version !== this.version;
    if (columnsChanged) {
      this.columnsKey = key;
      this.grid.setColumns(columns);
    }
    if (columnsChanged || versionChanged || numRows !== this.numRows) {
      this.version = version;
      this.numRows = numRows;
      this.sortRequest = null; // new data: the kernel has sorted (or the table changed)
      this.lastError = "";
      this.loader.reset(version, numRows, columns.map((c) => c.name), !columnsChanged);
      this.takeFirstRows(version);
      this.grid.setNumRows(numRows);
      if (columnsChanged) this.grid.scrollToRow(0);
    }
    const sort = normalizeSort(m.get("sort"));
    // The kernel answers a sort it cannot do by setting `sort` back to the order shown
    // (status_message says why), without a new version: stop waiting then too.
    if (this.sortRequest !== null && JSON.stringify(sort) !== this.sortRequest) this.sortRequest = null;
    this.grid.setSort(sort);
    this.chrome.meta.textContent = `${formatCount(numRows)} ${numRows === 1 ? "row" : "rows"} × ${columns.length} ${columns.length === 1 ? "column" : "columns"}`;
    this.grid.render();
    this.updateFooter();
  }

  /** The first rows the kernel sent with the view (or with this version), if they are
   * of this version: the grid paints them without asking. */
  private takeFirstRows(version: number): void {
    const bytes = this.model.get("first_rows");
    if (Number(this.model.get("first_rows_version") ?? -1) !== version || !bytes?.byteLength) return;
    try {
      const table = decodeIPC(bytes);
      this.loader.offer(version, 0, table.numRows, table);
    } catch {
      // not decodable: the grid asks for the rows as usual
    }
  }

  toggleSort(column: string, multi: boolean): void {
    const sort = nextSort(normalizeSort(this.model.get("sort")), column, multi);
    this.model.set("sort", sort);
    this.model.save_changes();
    this.sortRequest = JSON.stringify(sort);
    this.grid.setSort(sort);
    this.updateFooter();
  }

  private footerKey = "";

  private updateFooter(): void {
    const { first, last } = this.grid.visibleRange();
    const sorting = this.sortRequest !== null;
    const key = [first, last, this.numRows, sorting, this.grid.placeholderRows > 0, this.lastError].join("|");
    if (key === this.footerKey) return;
    this.footerKey = key;
    const foot = this.chrome.footLeft;
    foot.replaceChildren();
    foot.append(this.numRows > 0 ? `rows ${formatCount(first)}–${formatCount(last)} of ${formatCount(this.numRows)}` : "no rows");
    if (sorting) foot.append(" · sorting…");
    else if (this.grid.placeholderRows > 0 && !this.lastError) foot.append(" · loading…");
    if (this.lastError) {
      const e = document.createElement("span");
      e.className = "tb-err";
      e.textContent = ` · ${this.lastError}`;
      foot.append(e);
    }
  }

  destroy(): void {
    this.unsubs.forEach((u) => u());
    this.loader.dispose();
    this.grid.destroy();
  }
}

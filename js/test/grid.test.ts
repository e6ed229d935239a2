import { afterEach, describe, expect, it } from "vitest";
import { FAKE_COLUMNS, FakeDataSource, fakeValue } from "../src/fake";
import { mount, type Mounted } from "../src/index";
import type { TableView } from "../src/tableview";
import { HOLD_MS } from "../src/grid";
import * as vp from "../src/viewport";
import { FakeModel, tick, until } from "./fakemodel";

const N = 10_000_000;
let mounted: Mounted | null = null;
afterEach(() => {
  mounted?.destroy();
  mounted = null;
  document.body.replaceChildren();
});

function setup(numRows = N, extra: Record<string, unknown> = {}, opts: Record<string, unknown> = {}) {
  const model = new FakeModel({ kind: "table", num_rows: numRows, columns: FAKE_COLUMNS, sort: [], version: 1, ...extra });
  const source = new FakeDataSource({ numRows });
  const host = document.createElement("div");
  document.body.append(host);
  mounted = mount(model, host, { source, fallbackHeight: 300, rowHeight: 30, debounceMs: 0, windowSize: 200, ...opts });
  const view = mounted.view() as TableView;
  return { model, source, host, view, grid: view.grid };
}

const rowsIn = (host: HTMLElement) =>
  [...host.querySelectorAll<HTMLElement>(".tb-row")].filter((r) => r.style.display !== "none");
const cellText = (host: HTMLElement, row: number, col: number) =>
  host.querySelector<HTMLElement>(`.tb-row[data-row="${row}"]`)!.querySelectorAll(".tb-cell")[col + 1].textContent;

describe("viewport math", () => {
  const m = { numRows: N, rowHeight: 30, viewportHeight: 300, maxPx: 1e7 };
  it("caps the body height and maps the ends exactly", () => {
    expect(vp.bodyHeight(m)).toBe(1e7);
    expect(vp.isScaled(m)).toBe(true);
    expect(vp.topRowForScroll(m, 0)).toBe(0);
    const end = vp.topRowForScroll(m, vp.maxScrollTop(m));
    expect(end).toBe(N - 10);
    const r = vp.rowRange(m, end);
    expect(r.lastVisible).toBe(N - 1);
    expect(vp.scrollForTopRow(m, N)).toBe(vp.maxScrollTop(m));
  });
  it("is exact (1 row = rowHeight px) when unscaled", () => {
    const s = { numRows: 1000, rowHeight: 30, viewportHeight: 300 };
    expect(vp.bodyHeight(s)).toBe(30_000);
    expect(vp.topRowForScroll(s, 300)).toBeCloseTo(10);
    expect(vp.rowOffset(s, 12, 10, 300)).toBeCloseTo(360);
  });
});

describe("column widths", () => {
  it("a numeric column widens to fit the longest number drawn, never cut by an ellipsis", async () => {
    const rows = 1e15; // ids up to 999,999,999,999,999: 19 characters
    const { host, grid } = setup(rows);
    await until(() => host.querySelector('.tb-row[data-row="3"]:not(.tb-placeholder)') !== null);
    const before = grid.getWidths();
    grid.scrollToRow(rows);
    await until(() => host.querySelector(`.tb-row[data-row="${rows - 1}"]:not(.tb-placeholder)`) !== null);
    grid.render();
    const after = grid.getWidths();
    expect(cellText(host, rows - 1, 0)).toBe("999,999,999,999,999");
    expect(after[0]).toBeGreaterThan(before[0]);
    expect(after[0]).toBeGreaterThanOrEqual(Math.ceil(19 * 7.3 + 21));
    expect(after[2]).toBeGreaterThan(before[2]); // the double column too (~1.4e14 there)
    const others = (w: number[]) => w.filter((_, i) => i !== 0 && i !== 2);
    expect(others(after)).toEqual(others(before)); // text, bool and time columns keep theirs
    const cols = (host.querySelector(".tb-grid") as HTMLElement).style.getPropertyValue("--tb-cols");
    expect(cols.split(" ")[1]).toBe(`${after[0]}px`);
  });
});

describe("keys", () => {
  const press = (host: HTMLElement, key: string, ctrlKey = false) => {
    const e = new KeyboardEvent("keydown", { key, ctrlKey, bubbles: true, cancelable: true });
    let reachedPage = false;
    const outside = () => (reachedPage = true);
    document.addEventListener("keydown", outside);
    host.querySelector(".tb-scroller")!.dispatchEvent(e);
    document.removeEventListener("keydown", outside);
    return { prevented: e.defaultPrevented, reachedPage };
  };

  it("arrows and pages scroll a small (unscaled) table, and stay the grid's", () => {
    const { host, grid } = setup(1000);
    expect(press(host, "ArrowDown")).toEqual({ prevented: true, reachedPage: false });
    expect(grid.visibleRange().first).toBe(1);
    press(host, "PageDown");
    expect(grid.visibleRange().first).toBe(10);
    press(host, "ArrowUp");
    expect(grid.visibleRange().first).toBe(9);
    expect(press(host, "a")).toEqual({ prevented: false, reachedPage: true });
  });

  it("the first arrow up after End moves one row, with the top row in part", () => {
    const { host, grid } = setup(N, {}, { fallbackHeight: 315 });
    press(host, "End", true); // Ctrl+End: a scaled grid leaves a plain End to the browser
    const end = grid.visibleRange();
    expect(end.last).toBe(N - 1);
    press(host, "ArrowUp");
    expect(grid.visibleRange().first).toBe(end.first - 1);
    press(host, "ArrowDown");
    expect(grid.visibleRange().first).toBe(end.first);
  });
});

describe("virtual grid", () => {
  it("renders only ~visible rows for 10M rows, with header, types and row count", async () => {
    const { host, source } = setup();
    expect(rowsIn(host).length).toBeGreaterThan(5);
    expect(rowsIn(host).length).toBeLessThanOrEqual(20);
    expect(host.querySelectorAll(".tb-row").length).toBeLessThanOrEqual(20);
    expect(host.querySelector(".tb-body")!.getBoundingClientRect).toBeDefined();
    expect(parseFloat((host.querySelector(".tb-body") as HTMLElement).style.height)).toBeLessThanOrEqual(1e7);
    const heads = [...host.querySelectorAll(".tb-hcell:not(.tb-gutter):not(.tb-filler)")];
    expect(heads.map((h) => h.querySelector(".tb-hname-text")!.textContent)).toEqual(FAKE_COLUMNS.map((c) => c.name));
    expect(heads[4].querySelector(".tb-htype")!.textContent).toBe("timestamp[us, tz=UTC]");
    expect(host.querySelector(".tb-meta")!.textContent).toContain("10,000,000 rows");
    // Placeholders first, then real values.
    expect(host.querySelector(".tb-row.tb-placeholder")).not.toBeNull();
    await until(() => host.querySelector('.tb-row[data-row="3"]:not(.tb-placeholder)') !== null);
    expect(cellText(host, 3, 0)).toBe("3");
    expect(cellText(host, 3, 1)).toBe("delta-3");
    expect(host.querySelector('.tb-row[data-row="3"] .tb-gutter')!.textContent).toBe("3");
    expect(source.windowCalls[0]).toEqual({ rowStart: 0, rowEnd: 200, version: 1 });
  });

  it("jumps to row 9,999,990, shows the last rows with the right values, and back", async () => {
    const { host, grid } = setup();
    grid.scrollToRow(9_999_990);
    expect(grid.visibleRange()).toEqual({ first: 9_999_990, last: 9_999_999 });
    await until(() => host.querySelector('.tb-row[data-row="9999999"]:not(.tb-placeholder)') !== null);
    expect(cellText(host, 9_999_999, 0)).toBe("9,999,999");
    expect(cellText(host, 9_999_999, 1)).toBe(`${["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"][9]}-9999999`);
    expect(rowsIn(host).length).toBeLessThanOrEqual(20);
    for (const r of [1_234_567, 42, 7_777_777, 9_999_999]) grid.scrollToRow(r);
    expect(host.querySelectorAll(".tb-row").length).toBeLessThanOrEqual(20); // DOM rows are recycled
    const last = host.querySelector<HTMLElement>('.tb-row[data-row="9999999"]')!;
    const first = host.querySelector<HTMLElement>('.tb-row[data-row="9999990"]')!;
    const y = (el: HTMLElement) => Number(/translateY\((-?[\d.]+)px\)/.exec(el.style.transform)![1]);
    expect(y(last) - y(first)).toBeCloseTo(9 * 30);
    expect(host.querySelector(".tb-foot")!.textContent).toContain("rows 9,999,990–9,999,999 of 10,000,000");
    grid.scrollToRow(0);
    expect(grid.visibleRange().first).toBe(0);
    await until(() => host.querySelector('.tb-row[data-row="0"]:not(.tb-placeholder)') !== null);
    expect(cellText(host, 0, 1)).toBe("alpha-0");
  });

  it("maps a scrollbar drag to the end onto the last row", async () => {
    const { host, grid } = setup();
    const m = grid.metrics();
    let top = vp.maxScrollTop(m);
    Object.defineProperty(grid.scroller, "scrollTop", { get: () => top, set: (v) => (top = v), configurable: true });
    grid.scroller.dispatchEvent(new Event("scroll"));
    grid.render();
    expect(grid.visibleRange().last).toBe(N - 1);
    await until(() => host.querySelector('.tb-row[data-row="9999999"]:not(.tb-placeholder)') !== null);
    expect(cellText(host, 9_999_999, 2)).toBe(expectFloat(9_999_999));
    top = vp.maxScrollTop(m) / 2;
    grid.scroller.dispatchEvent(new Event("scroll"));
    grid.render();
    expect(grid.visibleRange().first).toBe(Math.floor(vp.maxTopRow(m) / 2));
  });

  it("shows dimmed nulls, right-aligned numbers, timestamps and dates", async () => {
    const { host } = setup(1000);
    await until(() => host.querySelector('.tb-row[data-row="0"]:not(.tb-placeholder)') !== null);
    const row0 = host.querySelector('.tb-row[data-row="0"]')!.querySelectorAll(".tb-cell");
    expect(row0[3].classList.contains("tb-null")).toBe(true); // value null at i % 17 == 0
    expect(row0[3].textContent).toBe("null");
    expect(row0[1].classList.contains("tb-right")).toBe(true);
    expect(cellText(host, 1, 4)).toBe("2024-01-01 00:00:01.001001");
    expect(cellText(host, 1, 5)).toBe("2024-01-02");
    expect(cellText(host, 3, 3)).toBe("true");
  });

  it("column resize updates the grid template", () => {
    const { host, grid } = setup(100);
    const before = grid.getWidths()[1];
    grid.setWidth(1, before + 50);
    expect(grid.getWidths()[1]).toBe(before + 50);
    const root = host.querySelector<HTMLElement>(".tb-grid")!;
    expect(root.style.getPropertyValue("--tb-cols").split(" ")[2]).toBe(`${before + 50}px`);
    // Pointer drag on the grip.
    const grip = host.querySelectorAll<HTMLElement>(".tb-resizer")[0];
    const w0 = grid.getWidths()[0];
    grip.dispatchEvent(new MouseEvent("pointerdown", { clientX: 100, bubbles: true }) as PointerEvent);
    grip.dispatchEvent(new MouseEvent("pointermove", { clientX: 140 }) as PointerEvent);
    grip.dispatchEvent(new MouseEvent("pointerup", { clientX: 160 }) as PointerEvent);
    expect(grid.getWidths()[0]).toBe(w0 + 60);
  });
});

function expectFloat(i: number): string {
  const v = fakeValue("value", i) as number | null;
  if (v == null) return "null";
  return v.toLocaleString("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 0 });
}

describe("table view live updates", () => {
  it("header click cycles sort, writes model sort and shows an arrow", () => {
    const { host, model } = setup(100);
    const head = host.querySelectorAll<HTMLElement>(".tb-hcell:not(.tb-gutter):not(.tb-filler)")[2];
    head.click();
    expect(model.get("sort")).toEqual([{ column: "value", descending: false }]);
    expect(model.saves).toBe(1);
    expect(head.querySelector(".tb-sort")!.textContent).toBe("▲");
    expect(head.getAttribute("aria-sort")).toBe("ascending");
    head.click();
    expect(model.get("sort")).toEqual([{ column: "value", descending: true }]);
    expect(head.querySelector(".tb-sort")!.textContent).toBe("▼");
    head.click();
    expect(model.get("sort")).toEqual([]);
    expect(head.querySelector(".tb-sort")!.textContent).toBe("");
    expect(model.saves).toBe(3);
  });

  it("version bump with same columns keeps the scroll position and refetches", async () => {
    const { host, model, source, grid, view } = setup();
    grid.scrollToRow(5_000_000);
    await until(() => host.querySelector('.tb-row[data-row="5000000"]:not(.tb-placeholder)') !== null);
    expect(cellText(host, 5_000_000, 0)).toBe("5,000,000");
    source.applySort([{ column: "id", descending: true }]);
    const calls = source.windowCalls.length;
    model.update({ version: 2, sort: [{ column: "id", descending: true }] });
    await tick();
    expect(grid.visibleRange().first).toBe(5_000_000);
    expect(view.loader.currentVersion).toBe(2);
    // Old rows stay visible (dimmed) while the new version loads: no blank flash.
    const row = host.querySelector('.tb-row[data-row="5000000"]')!;
    if (row.classList.contains("tb-refreshing")) expect(cellText(host, 5_000_000, 0)).toBe("5,000,000");
    expect(row.classList.contains("tb-placeholder")).toBe(false);
    expect(source.windowCalls.length).toBeGreaterThan(calls);
    expect(source.windowCalls.at(-1)!.version).toBe(2);
    await until(() => host.querySelector('.tb-row[data-row="5000000"]:not(.tb-placeholder):not(.tb-refreshing)') !== null);
    expect(cellText(host, 5_000_000, 0)).toBe("4,999,999");
  });

  it("a grown table: a view at the last row follows the new rows, one elsewhere stays", async () => {
    const { host, model, source, grid } = setup(1000);
    grid.scrollToRow(1000);
    await until(() => host.querySelector('.tb-row[data-row="999"]:not(.tb-placeholder)') !== null);
    source.numRows = 1500;
    model.update({ version: 2, num_rows: 1500 });
    await tick();
    expect(grid.visibleRange().last).toBe(1499);
    await until(() => host.querySelector('.tb-row[data-row="1499"]:not(.tb-placeholder)') !== null);
    expect(cellText(host, 1499, 0)).toBe("1,499");
    grid.scrollToRow(200);
    source.numRows = 2000;
    model.update({ version: 3, num_rows: 2000 });
    await tick();
    expect(grid.visibleRange().first).toBe(200);
  });

  it("a jump changes no row until its data arrives (placeholders only after HOLD_MS)", async () => {
    const { host, source, grid } = setup();
    await until(() => host.querySelector('.tb-row[data-row="0"]:not(.tb-placeholder)') !== null);
    source.delayMs = 60;
    const body = host.querySelector(".tb-body")!;
    const shown = rowsIn(host);
    const footer = host.querySelector(".tb-range")!.textContent;
    const changes: MutationRecord[] = [];
    const observer = new MutationObserver((records) => changes.push(...records));
    observer.observe(host, { subtree: true, childList: true, characterData: true, attributes: true });
    grid.scrollToRow(7_000_000);
    await new Promise((r) => setTimeout(r, 30));
    // nothing on the page changes: not the rows that showed data, not the footer (whose
    // text would cost the scroll's frame a layout of the whole page); rows added to the
    // pool stay hidden
    const touched = changes.filter((c) => !(c.target === body && c.type === "childList"));
    expect(touched.map((c) => `${c.type} ${c.attributeName ?? ""} ${(c.target as Element).className}`)).toEqual([]);
    expect(rowsIn(host)).toEqual(shown);
    expect(host.querySelector(".tb-range")!.textContent).toBe(footer);
    await until(() => host.querySelector('.tb-row[data-row="7000000"]:not(.tb-placeholder)') !== null);
    expect(cellText(host, 7_000_000, 0)).toBe("7,000,000");
    const { first, last } = grid.visibleRange();
    for (let row = first; row <= last; row++) {
      expect(host.querySelector(`.tb-row[data-row="${row}"]:not(.tb-placeholder)`)).not.toBeNull();
    }
    // data that takes longer than HOLD_MS: placeholders say so meanwhile
    source.delayMs = HOLD_MS + 200;
    grid.scrollToRow(3_000_000);
    await new Promise((r) => setTimeout(r, HOLD_MS + 60));
    expect(host.querySelector('.tb-row.tb-placeholder[data-row="3000000"]')).not.toBeNull();
    await until(() => host.querySelector('.tb-row[data-row="3000000"]:not(.tb-placeholder)') !== null);
    observer.disconnect();
  });

  it("shows no placeholder out of view: rows whose data is not asked for stay hidden", async () => {
    // windows of 8 rows: after a jump only the windows of the rows in view are fetched, so
    // some of the overscan rows (4 each side) have no data; a placeholder there would
    // shimmer (restyling the page every frame) where nobody sees it
    const { host, grid } = setup(N, {}, { windowSize: 8 });
    await until(() => host.querySelector('.tb-row[data-row="0"]:not(.tb-placeholder)') !== null);
    grid.scrollToRow(5_000_003);
    await until(() => host.querySelector('.tb-row[data-row="5000003"]:not(.tb-placeholder)') !== null);
    await tick();
    const { first, last } = grid.visibleRange();
    const shown = rowsIn(host).map((r) => Number(r.dataset.row));
    expect(host.querySelectorAll(".tb-row.tb-placeholder:not([style*='display: none'])").length).toBe(0);
    for (let row = first; row <= last; row++) expect(shown).toContain(row);
    // overscan rows are shown only where the windows in view reach
    expect(Math.min(...shown)).toBe(Math.max(first - 4, Math.floor(first / 8) * 8));
    expect(Math.max(...shown)).toBe(Math.min(last + 4, Math.floor(last / 8) * 8 + 7));
    expect(Math.min(...shown)).toBeGreaterThan(first - 4); // (this jump leaves some out)
  });

  it("changes a cell's text in place: a repainted row keeps its text nodes", async () => {
    const { host, grid } = setup();
    await until(() => host.querySelector('.tb-row[data-row="5"]:not(.tb-placeholder)') !== null);
    const cellsOf = (row: Element) => [...row.querySelectorAll(".tb-cell:not(.tb-filler)")];
    const before = new Map(rowsIn(host).map((row) => [row, cellsOf(row).map((c) => c.firstChild)]));
    grid.scrollToRow(4_000_000);
    await until(() => host.querySelector('.tb-row[data-row="4000005"]:not(.tb-placeholder)') !== null);
    const row = host.querySelector<HTMLElement>('.tb-row[data-row="4000005"]')!;
    expect(before.has(row)).toBe(true); // a pooled row, painted before the jump
    expect(cellText(host, 4_000_005, 0)).toBe("4,000,005");
    expect(row.querySelector(".tb-gutter")!.textContent).toBe("4,000,005");
    const nodes = cellsOf(row).map((c) => c.firstChild);
    expect(nodes.every((n, i) => n !== null && n === before.get(row)![i])).toBe(true);
  });

  it("paints the first rows sent with the view without asking for them", async () => {
    const rows = new FakeDataSource({ numRows: 1000 }).encode(0, 64);
    const first = { first_rows: new DataView(rows.buffer, rows.byteOffset, rows.byteLength) };
    const { host, source } = setup(1000, { ...first, first_rows_version: 1 }, { windowSize: 32 });
    await until(() => host.querySelector('.tb-row[data-row="0"]:not(.tb-placeholder)') !== null);
    expect(cellText(host, 3, 0)).toBe("3");
    await tick();
    expect(source.windowCalls).toEqual([]);
    // rows of another version are not used
    const other = setup(1000, { ...first, first_rows_version: 7 }, { windowSize: 32 });
    await until(() => other.source.windowCalls.length > 0);
  });

  it("columns change resets to the top", async () => {
    const { host, model, grid } = setup();
    grid.scrollToRow(123_456);
    model.update({ version: 2, columns: FAKE_COLUMNS.slice(0, 2), num_rows: 50 });
    await tick();
    expect(grid.visibleRange().first).toBe(0);
    expect(host.querySelectorAll(".tb-hcell:not(.tb-gutter):not(.tb-filler)").length).toBe(2);
    expect(host.querySelector(".tb-meta")!.textContent).toBe("50 rows × 2 columns");
  });

  it("released / publisher-gone / error show a banner and keep content dimmed", async () => {
    const { host, model } = setup(100);
    await until(() => host.querySelector('.tb-row[data-row="0"]:not(.tb-placeholder)') !== null);
    for (const status of ["released", "publisher-gone", "error"]) {
      model.update({ status, status_message: `msg for ${status}` });
      const banner = host.querySelector<HTMLElement>(".tb-banner")!;
      expect(banner.classList.contains("tb-show")).toBe(true);
      expect(banner.textContent).toContain(`msg for ${status}`);
      expect(host.querySelector(".tb-root")!.classList.contains("tb-stale")).toBe(true);
      expect(host.querySelector('.tb-row[data-row="0"]')).not.toBeNull();
    }
    model.update({ status: "live", status_message: "ok" });
    expect(host.querySelector(".tb-banner")!.classList.contains("tb-show")).toBe(false);
    expect(host.querySelector(".tb-root")!.classList.contains("tb-stale")).toBe(false);
  });
});

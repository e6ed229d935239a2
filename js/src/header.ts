// Grid header: column name + type, sort arrow, click-to-sort, drag-to-resize.
import type { ColumnSpec, SortKey } from "./model";
import { sortDirection } from "./sort";
import { alignFor } from "./format";

export interface HeaderCallbacks {
  onSortClick(column: string, multi: boolean): void;
  onResize(index: number, width: number, done: boolean): void;
  getWidth(index: number): number;
}

export const MIN_COL_WIDTH = 48;

export function createHeaderCell(col: ColumnSpec, index: number, cb: HeaderCallbacks): HTMLElement {
  const cell = document.createElement("div");
  cell.className = "tb-hcell";
  cell.dataset.col = String(index);
  cell.setAttribute("role", "columnheader");
  cell.tabIndex = 0;
  if (alignFor(col.type) === "right") cell.classList.add("tb-right");

  const top = document.createElement("div");
  top.className = "tb-hname";
  const name = document.createElement("span");
  name.className = "tb-hname-text";
  name.textContent = col.name;
  const arrow = document.createElement("span");
  arrow.className = "tb-sort";
  top.append(name, arrow);

  const type = document.createElement("div");
  type.className = "tb-htype";
  type.textContent = col.type;
  cell.title = `${col.name}: ${col.type}\nClick to sort (shift-click adds a key)`;

  const grip = document.createElement("div");
  grip.className = "tb-resizer";
  grip.title = "Drag to resize, double-click to reset";
  cell.append(top, type, grip);

  let dragged = false;
  cell.addEventListener("click", (e) => {
    if (dragged || (e.target as HTMLElement).closest(".tb-resizer")) {
      dragged = false;
      return;
    }
    cb.onSortClick(col.name, e.shiftKey);
  });
  cell.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      cb.onSortClick(col.name, e.shiftKey);
    }
  });
  grip.addEventListener("dblclick", (e) => {
    e.stopPropagation();
    cb.onResize(index, -1, true);
  });
  grip.addEventListener("pointerdown", (e: PointerEvent) => {
    e.preventDefault();
    e.stopPropagation();
    const startX = e.clientX;
    const startW = cb.getWidth(index);
    dragged = false;
    try {
      grip.setPointerCapture?.(e.pointerId);
    } catch {
      /* not capturable (synthetic events) */
    }
    cell.classList.add("tb-resizing");
    const move = (ev: PointerEvent) => {
      dragged = true;
      cb.onResize(index, Math.max(MIN_COL_WIDTH, startW + ev.clientX - startX), false);
    };
    const up = (ev: PointerEvent) => {
      grip.removeEventListener("pointermove", move);
      grip.removeEventListener("pointerup", up);
      grip.removeEventListener("pointercancel", up);
      cell.classList.remove("tb-resizing");
      cb.onResize(index, Math.max(MIN_COL_WIDTH, startW + ev.clientX - startX), true);
      // Swallow the click that follows a drag.
      setTimeout(() => (dragged = false), 0);
    };
    grip.addEventListener("pointermove", move);
    grip.addEventListener("pointerup", up);
    grip.addEventListener("pointercancel", up);
  });
  return cell;
}

/** Update arrows and aria-sort on all header cells. */
export function paintSort(cells: HTMLElement[], columns: ColumnSpec[], sort: readonly SortKey[]): void {
  cells.forEach((cell, i) => {
    const col = columns[i];
    const dir = sortDirection(sort, col.name);
    const arrow = cell.querySelector(".tb-sort") as HTMLElement;
    const rank = sort.length > 1 && dir ? String(sort.findIndex((s) => s.column === col.name) + 1) : "";
    arrow.textContent = dir === "asc" ? `▲${rank}` : dir === "desc" ? `▼${rank}` : "";
    cell.classList.toggle("tb-sorted", dir !== null);
    cell.setAttribute("aria-sort", dir === "asc" ? "ascending" : dir === "desc" ? "descending" : "none");
  });
}

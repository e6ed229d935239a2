// Header-click sort state machine: none -> ascending -> descending -> none.
import type { SortKey } from "./model";

export function sortDirection(sort: readonly SortKey[], column: string): "asc" | "desc" | null {
  const k = sort.find((s) => s.column === column);
  return k ? (k.descending ? "desc" : "asc") : null;
}

/**
 * Next sort after clicking `column`. A plain click sorts by that column
 * alone; with `multi` (shift-click) the other keys are kept.
 */
export function nextSort(sort: readonly SortKey[], column: string, multi = false): SortKey[] {
  const dir = sortDirection(sort, column);
  const others = multi ? sort.filter((s) => s.column !== column) : [];
  if (dir === null) return [...others, { column, descending: false }];
  if (dir === "asc") {
    return multi
      ? sort.map((s) => (s.column === column ? { column, descending: true } : { ...s }))
      : [{ column, descending: true }];
  }
  return others;
}

export function normalizeSort(value: unknown): SortKey[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((s) => s && typeof s.column === "string")
    .map((s) => ({ column: String(s.column), descending: !!s.descending }));
}

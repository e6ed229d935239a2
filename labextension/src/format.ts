// Text for the list: sizes, counts, ages, short type names.
import { isTable, type Obj } from "./objects";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** 0 B, 999 B, 1.5 KiB, 12 MiB, 3.21 GiB (three significant digits above 1 KiB). */
export function humanBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "?";
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i += 1;
  }
  if (i === 0) return `${Math.round(v)} B`;
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${Number(v.toFixed(digits))} ${UNITS[i]}`;
}

export function count(n: number, one: string, many: string): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}

/** "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago" (future times: "just now"). */
export function relativeAge(publishedAtSeconds: number, nowMs: number): string {
  if (!Number.isFinite(publishedAtSeconds) || publishedAtSeconds <= 0) return "";
  const s = Math.floor(nowMs / 1000 - publishedAtSeconds);
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}

/** The figure type's library and class: "matplotlib.figure.Figure" -> "matplotlib Figure". */
export function shortType(type: string): string {
  if (!type) return "?";
  const parts = type.split(".").filter(Boolean);
  if (parts.length < 2) return type;
  return `${parts[0]} ${parts[parts.length - 1]}`;
}

/** The list's second line: "1,234 rows × 5 columns · 48.2 KiB" or "Figure · 12 KiB"; no
 * size when the server does not know it (a Deephaven server reports 0). */
export function summary(obj: Obj): string {
  const size = obj.nbytes > 0 ? ` · ${humanBytes(obj.nbytes)}` : "";
  if (isTable(obj)) {
    return `${count(obj.num_rows, "row", "rows")} × ${count(obj.num_columns, "column", "columns")}${size}`;
  }
  return `${shortType(obj.type)}${size}`;
}

/** The list's third line: "v3 · kernel-1234 · 5 min ago". */
export function provenance(obj: Obj, nowMs: number): string {
  return [`v${obj.version}`, obj.publisher, relativeAge(obj.published_at, nowMs)].filter(Boolean).join(" · ");
}

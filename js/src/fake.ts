// In-memory DataSource for tests and the dev harness: generates rows on the
// fly and encodes real Arrow IPC stream bytes with flechette.
import {
  bool, dateDay, float64, int64, tableFromArrays, tableToIPC, timestamp, utf8, TimeUnit, type Table,
} from "@uwdata/flechette";
import type { DataSource, RendererName } from "./datasource";
import { decodeIPC } from "./datasource";
import { abortError } from "./protocol";
import type { ColumnSpec } from "./model";

export const FAKE_COLUMNS: ColumnSpec[] = [
  { name: "id", type: "int64" },
  { name: "name", type: "string" },
  { name: "value", type: "double" },
  { name: "active", type: "bool" },
  { name: "created", type: "timestamp[us, tz=UTC]" },
  { name: "day", type: "date32[day]" },
  { name: "comment", type: "string" },
];

const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"];
const BASE_MS = Date.UTC(2024, 0, 1);

/** Deterministic value of `column` for logical row `i` (before sorting). */
export function fakeValue(column: string, i: number): unknown {
  switch (column) {
    case "id":
      return BigInt(i);
    case "name":
      return `${WORDS[i % WORDS.length]}-${i}`;
    case "value":
      return i % 17 === 0 ? null : Math.sin(i) * 1000 + i / 7;
    case "active":
      return i % 11 === 0 ? null : i % 3 === 0;
    case "created":
      return BASE_MS + i * 1000 + (i % 1000) + (i % 7) / 1000; // ms with µs part
    case "day":
      return BASE_MS + (i % 3650) * 86_400_000;
    case "comment":
      return i % 5 === 0 ? null : `Row ${i} says ${WORDS[(i * 7) % WORDS.length]} `.repeat((i % 4) + 1).trim();
    default:
      return null;
  }
}

export interface FakeOptions {
  numRows: number;
  /** Artificial latency in ms per request. */
  delayMs?: number;
  /** Version reported back; tests can make the source answer stale. */
  columns?: ColumnSpec[];
}

export class FakeDataSource implements DataSource {
  numRows: number;
  delayMs: number;
  columns: ColumnSpec[];
  /** Maps a displayed row to a logical row (e.g. reversed for a descending sort). */
  rowMap: (row: number) => number = (r) => r;
  windowCalls: { rowStart: number; rowEnd: number; version: number }[] = [];
  rendererCalls: RendererName[] = [];
  aborted = 0;
  rendererSources: Partial<Record<RendererName, string>> = {};

  constructor(opts: FakeOptions) {
    this.numRows = opts.numRows;
    this.delayMs = opts.delayMs ?? 0;
    this.columns = opts.columns ?? FAKE_COLUMNS;
  }

  /** Sort on the fake's `id` order only: descending reverses the rows. */
  applySort(sort: { column: string; descending: boolean }[]): void {
    const desc = sort.length > 0 && sort[0].descending;
    const n = this.numRows;
    this.rowMap = desc ? (r) => n - 1 - r : (r) => r;
  }

  /** Encode rows [rowStart, rowEnd) as Arrow IPC stream bytes. */
  encode(rowStart: number, rowEnd: number): Uint8Array {
    const rows = Array.from({ length: Math.max(0, rowEnd - rowStart) }, (_, k) => this.rowMap(rowStart + k));
    const types: Record<string, any> = {
      int64: int64(), string: utf8(), double: float64(), bool: bool(),
      "timestamp[us, tz=UTC]": timestamp(TimeUnit.MICROSECOND, "UTC"), "date32[day]": dateDay(),
    };
    const data: Record<string, unknown[]> = {};
    const typeMap: Record<string, any> = {};
    for (const c of this.columns) {
      data[c.name] = rows.map((i) => fakeValue(c.name, i));
      typeMap[c.name] = types[c.type] ?? utf8();
    }
    const bytes = tableToIPC(tableFromArrays(data, { types: typeMap }), { format: "stream" });
    if (!bytes) throw new Error("flechette produced no IPC bytes");
    return bytes;
  }

  private wait(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal.reason));
      const t = setTimeout(resolve, this.delayMs);
      signal?.addEventListener("abort", () => {
        clearTimeout(t);
        this.aborted += 1;
        reject(abortError(signal.reason));
      }, { once: true });
    });
  }

  async window(rowStart: number, rowEnd: number, version: number, signal?: AbortSignal): Promise<Table> {
    this.windowCalls.push({ rowStart, rowEnd, version });
    await this.wait(signal);
    return decodeIPC(this.encode(rowStart, Math.min(rowEnd, this.numRows)));
  }

  async renderer(name: RendererName, signal?: AbortSignal): Promise<Uint8Array> {
    this.rendererCalls.push(name);
    await this.wait(signal);
    const src = this.rendererSources[name] ?? `export function render(el, spec) { el.textContent = ${JSON.stringify(name)} + ":" + JSON.stringify(spec).length; }`;
    return new TextEncoder().encode(src);
  }
}

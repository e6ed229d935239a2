// Where table windows and renderer bundles come from. CommDataSource talks to
// the kernel over the widget comm; HttpDataSource (http.ts) asks the Jupyter server and
// FallbackDataSource (fallback.ts) combines both. FakeDataSource (fake.ts): tests, demos.
import { tableFromIPC, type Table } from "@uwdata/flechette";
import type { WidgetModel } from "./model";
import { invoke, toBytes } from "./protocol";

export type RendererName = "plotly" | "vega";

export interface DataSource {
  /** Rows [rowStart, rowEnd) of the table at `version`, all columns. */
  window(rowStart: number, rowEnd: number, version: number, signal?: AbortSignal): Promise<Table>;
  /** Source text of the ES module for a heavy renderer. */
  renderer(name: RendererName, signal?: AbortSignal): Promise<Uint8Array | ArrayBuffer>;
}

/** The response belongs to another table version and must be dropped. */
export class StaleResponseError extends Error {
  constructor(public readonly expected: number, public readonly got: number) {
    super(`stale response: version ${got}, expected ${expected}`);
    this.name = "StaleResponseError";
  }
}

export function isStaleError(err: unknown): boolean {
  return err instanceof Error && err.name === "StaleResponseError";
}

/** Decode Arrow IPC (stream or file) bytes into a flechette Table. */
export function decodeIPC(bytes: Uint8Array | ArrayBuffer | ArrayBufferView): Table {
  // decimals as their scaled integers: exact digits (as numbers they would be float64)
  return tableFromIPC(toBytes(bytes as ArrayBufferView), { useBigInt: true, useDecimalInt: true });
}

interface WindowResponse {
  row_start: number;
  row_end: number;
  version: number;
}

export interface CommDataSourceOptions {
  windowTimeoutMs?: number;
  rendererTimeoutMs?: number;
}

export class CommDataSource implements DataSource {
  constructor(private model: WidgetModel, private opts: CommDataSourceOptions = {}) {}

  async window(rowStart: number, rowEnd: number, version: number, signal?: AbortSignal): Promise<Table> {
    const { response, buffers } = await invoke<WindowResponse>(
      this.model,
      "window",
      { row_start: rowStart, row_end: rowEnd, version },
      { timeoutMs: this.opts.windowTimeoutMs ?? 60_000, signal },
    );
    if (typeof response?.version === "number" && response.version !== version) {
      throw new StaleResponseError(version, response.version);
    }
    if (!buffers.length) throw new Error("window response carried no Arrow buffer");
    return decodeIPC(buffers[0]);
  }

  async renderer(name: RendererName, signal?: AbortSignal): Promise<Uint8Array> {
    const { buffers } = await invoke(this.model, "renderer", { name }, {
      timeoutMs: this.opts.rendererTimeoutMs ?? 120_000,
      signal,
    });
    if (!buffers.length) throw new Error(`renderer ${name}: no module source in response`);
    return toBytes(buffers[0]);
  }
}

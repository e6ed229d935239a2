// Dev harness: mounts the *built* widget (python/ticketbooth/static/widget.js)
// with a fake model that plays the kernel: window requests are answered with
// Arrow IPC from FakeDataSource, renderer requests with the built bundles.
// Build: npm run harness; serve the repo root: python -m http.server -d ..
// (from js/), then open /js/dev/harness.html?view=table|end|dark|figures|released
import { FAKE_COLUMNS, FakeDataSource } from "../src/fake";
import type { Callback, WidgetModel } from "../src/model";

const STATIC = new URL("../../python/ticketbooth/static/", import.meta.url).href;

class HarnessModel implements WidgetModel {
  private handlers = new Map<string, Set<Callback>>();
  constructor(public state: Record<string, any>, private fake?: FakeDataSource, private delayMs = 80) {}
  get(k: string) {
    return this.state[k];
  }
  set(k: string, v: unknown) {
    this.state[k] = v;
    this.emit(`change:${k}`, v);
  }
  on(e: string, cb: Callback) {
    if (!this.handlers.has(e)) this.handlers.set(e, new Set());
    this.handlers.get(e)!.add(cb);
  }
  off(e?: string | null, cb?: Callback | null) {
    if (e && cb) this.handlers.get(e)?.delete(cb);
  }
  emit(e: string, ...args: unknown[]) {
    for (const cb of [...(this.handlers.get(e) ?? [])]) cb(...args);
  }
  save_changes() {
    // Play Python: re-sort on the "kernel" and bump the version.
    if (this.fake) {
      this.fake.applySort(this.state.sort ?? []);
      setTimeout(() => this.set("version", this.state.version + 1), 300);
    }
  }
  send(msg: any) {
    setTimeout(async () => {
      try {
        if (msg.kind === "window" && this.fake) {
          const bytes = this.fake.encode(msg.row_start, Math.min(msg.row_end, this.fake.numRows));
          const response = { row_start: msg.row_start, row_end: msg.row_end, version: this.state.version };
          this.emit("msg:custom", { kind: "window-response", id: msg.id, response }, [new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
        } else if (msg.kind === "renderer") {
          const res = await fetch(`${STATIC}${msg.name}.js`);
          const buf = await res.arrayBuffer();
          this.emit("msg:custom", { kind: "renderer-response", id: msg.id, response: { name: msg.name } }, [new DataView(buf)]);
        }
      } catch (err) {
        this.emit("msg:custom", { kind: `${msg.kind}-response`, id: msg.id, error: String(err) });
      }
    }, this.delayMs);
  }
}

const params = new URLSearchParams(location.search);
const DELAY = Number(params.get("delay") ?? 80);

function tableModel(numRows: number, extra: Record<string, unknown> = {}) {
  const fake = new FakeDataSource({ numRows });
  return new HarnessModel(
    { kind: "table", status: "live", status_message: "published by analysis.ipynb", label: "sales/orders", version: 1, num_rows: numRows, columns: FAKE_COLUMNS, sort: [], ...extra },
    fake,
    DELAY,
  );
}

const PLOTLY_SPEC = {
  data: [{ type: "scatter", mode: "lines+markers", x: [1, 2, 3, 4, 5], y: [2, 6, 3, 8, 5], name: "series" }],
  layout: { title: { text: "plotly via lazy bundle" }, margin: { t: 40, l: 40, r: 10, b: 30 } },
};
const VEGA_SPEC = {
  $schema: "https://vega.github.io/schema/vega-lite/v5.json",
  data: { values: [{ a: "A", b: 28 }, { a: "B", b: 55 }, { a: "C", b: 43 }, { a: "D", b: 91 }] },
  mark: "bar", encoding: { x: { field: "a", type: "nominal" }, y: { field: "b", type: "quantitative" } },
};
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="220" height="120"><rect width="220" height="120" rx="12" fill="#1976d2"/><text x="110" y="68" font-size="20" text-anchor="middle" fill="#fff">inline SVG</text></svg>';

async function main() {
  const widget = (await import(/* @vite-ignore */ `${STATIC}widget.js`)).default;
  const view = params.get("view") ?? "table";
  const root = document.getElementById("app")!;
  const add = (title: string, model: WidgetModel, dark = false) => {
    const box = document.createElement("section");
    box.className = dark ? "dark" : "";
    const h = document.createElement("h3");
    h.textContent = title;
    const host = document.createElement("div");
    box.append(h, host);
    root.append(box);
    widget.render({ model, el: host });
    return host;
  };
  if (view === "figures") {
    const fig = (label: string, mimebundle: Record<string, unknown>) =>
      new HarnessModel({ kind: "figure", status: "live", status_message: "", label, version: 1, mimebundle });
    add("plotly", fig("plots/plotly", { "application/vnd.plotly.v1+json": PLOTLY_SPEC, "text/plain": "fig" }));
    add("vega-lite", fig("plots/vega", { "application/vnd.vegalite.v5+json": VEGA_SPEC }));
    add("svg", fig("plots/svg", { "image/svg+xml": SVG }));
    return;
  }
  if (view === "narrow") {
    add("3 columns", tableModel(1234, { columns: FAKE_COLUMNS.slice(0, 3), label: "small" }));
    return;
  }
  if (view === "released") {
    add("released", tableModel(1_000_000, { status: "publisher-gone", status_message: "kernel of analysis.ipynb shut down" }));
    return;
  }
  const host = add("10,000,000 rows", tableModel(10_000_000), view === "dark");
  if (params.get("scrollx")) {
    setTimeout(() => (host.querySelector<HTMLElement>(".tb-scroller")!.scrollLeft = Number(params.get("scrollx"))), 300);
  }
  if (params.get("sort")) {
    // Click the first data column header n times (1 = ascending, 2 = descending).
    setTimeout(() => {
      const head = host.querySelectorAll<HTMLElement>(".tb-hcell:not(.tb-gutter):not(.tb-filler)")[0];
      for (let i = 0; i < Number(params.get("sort")); i++) head.click();
    }, 300);
  }
  if (view === "end") {
    setTimeout(() => {
      const scroller = host.querySelector<HTMLElement>(".tb-scroller")!;
      scroller.dispatchEvent(new KeyboardEvent("keydown", { key: "End", ctrlKey: true, bubbles: true }));
    }, 200);
  }
}

main().catch((err) => {
  document.body.append(`harness failed: ${err}`);
  console.error(err);
});

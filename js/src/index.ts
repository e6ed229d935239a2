// anywidget entry point: render({model, el}) mounts the right view for the
// model's `kind` and swaps it when `kind` changes.
import { Chrome, el as make } from "./chrome";
import type { DataSource } from "./datasource";
import { FigureView } from "./figureview";
import type { RendererLoader } from "./figure";
import { listen, type WidgetModel } from "./model";
import { rendererLoader } from "./renderers";
import { TableView, type TableViewOptions } from "./tableview";
import { widgetSource, type WidgetSourceOptions } from "./widgetsource";

export interface MountOptions extends TableViewOptions {
  source?: DataSource;
  loadRenderer?: RendererLoader;
  height?: number;
  /** How the default source (comm, HTTP fallback) is set up; ignored with `source`. */
  sourceOptions?: WidgetSourceOptions;
}

export interface Mounted {
  chrome: Chrome;
  view(): TableView | FigureView | null;
  destroy(): void;
}

export function mount(model: WidgetModel, host: HTMLElement, opts: MountOptions = {}): Mounted {
  const own = opts.source ? null : widgetSource(model, opts.sourceOptions);
  const source = opts.source ?? own!.source;
  const load = opts.loadRenderer ?? rendererLoader(source);
  const chrome = new Chrome(model, host);
  const height = Number(opts.height ?? model.get("height") ?? 0);
  if (height > 0) chrome.setHeight(height);
  let view: TableView | FigureView | null = null;
  let kind = "";

  const update = () => {
    const next = String(model.get("kind") ?? "empty");
    if (next === kind && view) return;
    kind = next;
    view?.destroy();
    view = null;
    chrome.content.replaceChildren();
    chrome.footLeft.textContent = "";
    if (kind === "table") view = new TableView(model, chrome, source, opts);
    else if (kind === "figure") view = new FigureView(model, chrome, load);
    else {
      const empty = make("div", "tb-empty");
      empty.textContent = model.get("status") === "loading" ? "Waiting for the ticket…" : "Nothing shared yet";
      chrome.content.append(empty);
      chrome.meta.textContent = "";
    }
  };
  const unsub = listen(model, "change:kind", update);
  update();
  return {
    chrome,
    view: () => view,
    destroy() {
      unsub();
      view?.destroy();
      own?.dispose();
      chrome.destroy();
    },
  };
}

// anywidget's entry: `export default { render }` only (a named `render` export is deprecated
// by anywidget and logs a warning for every view)
function render({ model, el }: { model: WidgetModel; el: HTMLElement }): () => void {
  const m = mount(model, el);
  return () => m.destroy();
}

export default { render };

// Shows the figure MIME bundle and re-renders on change.
import type { Chrome } from "./chrome";
import { renderBundle, pickMime, type RendererLoader, type Rendered } from "./figure";
import { listen, type WidgetModel } from "./model";

export class FigureView {
  readonly host: HTMLElement;
  private unsubs: (() => void)[] = [];
  private current: Rendered | null = null;
  private generation = 0;
  /** Resolves when the latest render finished (tests). */
  done: Promise<void> = Promise.resolve();

  constructor(private model: WidgetModel, private chrome: Chrome, private load: RendererLoader) {
    this.host = document.createElement("div");
    this.host.className = "tb-figure";
    chrome.content.append(this.host);
    this.unsubs.push(listen(model, "change:mimebundle", () => this.queueUpdate()));
    this.unsubs.push(listen(model, "change:version", () => this.queueUpdate()));
    this.update();
  }

  private queued = false;

  /** mimebundle and version usually change together: render once. */
  private queueUpdate(): void {
    if (this.queued) return;
    this.queued = true;
    // `done` already points at the coming render so tests can await it.
    this.done = new Promise<void>((resolve) =>
      queueMicrotask(() => {
        this.queued = false;
        this.update();
        this.done.then(resolve);
      }),
    );
  }

  update(): void {
    const gen = ++this.generation;
    const bundle = this.model.get("mimebundle") ?? null;
    const mime = pickMime(bundle);
    this.chrome.meta.textContent = mime ? mime : "no figure";
    this.chrome.footLeft.textContent = mime ? "rendering…" : "";
    this.current?.cleanup?.();
    this.current = null;
    this.done = renderBundle(this.host, bundle, this.load, () => gen === this.generation).then(({ rendered, errors }) => {
      if (gen !== this.generation) return;
      this.current = rendered;
      this.chrome.footLeft.textContent = rendered ? `rendered as ${rendered.mime}` : "";
      if (errors.length) this.chrome.footLeft.textContent += ` · ${errors.join("; ")}`;
      if (!rendered) {
        const empty = document.createElement("div");
        empty.className = "tb-empty";
        empty.textContent = "Nothing to display";
        this.host.append(empty);
      }
    });
  }

  destroy(): void {
    this.generation++;
    this.current?.cleanup?.();
    this.unsubs.forEach((u) => u());
    this.host.remove();
  }
}

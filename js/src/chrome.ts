// The frame around any ticket: title bar (label, meta, status pill), banner
// for released / publisher-gone / error, content area, footer.
import { CSS } from "./styles";
import { listen, type WidgetModel } from "./model";

const STALE = new Set(["released", "publisher-gone", "error"]);
const STATUS_TEXT: Record<string, string> = {
  loading: "loading",
  live: "live",
  released: "released",
  "publisher-gone": "publisher gone",
  error: "error",
};

/** The status and banner text for a ticket's end, from the reason the broker gives: the
 * kernel's view words it in Python (_widget.py RELEASE_REASONS), the panel's with this. */
export function endStatus(reason: string): { status: string; status_message: string } {
  const again = "the view updates if the ticket is published again";
  if (reason === "closed") return { status: "publisher-gone", status_message: `its session was closed; ${again}` };
  if (reason === "expired") {
    return { status: "publisher-gone", status_message: `it stopped answering (killed or disconnected); ${again}` };
  }
  return { status: "released", status_message: reason === "released" || !reason ? again : reason };
}

export class Chrome {
  readonly root: HTMLElement;
  readonly content: HTMLElement;
  readonly meta: HTMLElement;
  readonly footLeft: HTMLElement;
  readonly footMsg: HTMLElement;
  private label: HTMLElement;
  private kind: HTMLElement;
  private pill: HTMLElement;
  private banner: HTMLElement;
  private unsubs: (() => void)[] = [];
  private themeObserver: MutationObserver | null = null;

  constructor(private model: WidgetModel, host: HTMLElement) {
    this.root = el("div", "tb-root");
    const style = el("style", "");
    style.textContent = CSS;
    const bar = el("div", "tb-bar");
    this.kind = el("span", "tb-kind");
    this.label = el("div", "tb-label");
    this.meta = el("div", "tb-meta");
    this.pill = el("span", "tb-pill");
    bar.append(this.kind, this.label, this.meta, el("div", "tb-spacer"), this.pill);
    this.banner = el("div", "tb-banner");
    this.banner.setAttribute("role", "status");
    this.content = el("div", "tb-content");
    const foot = el("div", "tb-foot");
    this.footLeft = el("span", "tb-range");
    this.footMsg = el("span", "tb-msg");
    foot.append(this.footLeft, this.footMsg);
    this.root.append(style, bar, this.banner, this.content, foot);
    host.append(this.root);
    for (const key of ["kind", "label", "version", "publisher_version", "status", "status_message"]) {
      this.unsubs.push(listen(model, `change:${key}`, () => this.update()));
    }
    this.update();
    this.detectColorScheme();
    if (typeof requestAnimationFrame === "function") requestAnimationFrame(() => this.detectColorScheme());
  }

  /** Native scrollbars follow the theme: dark background -> color-scheme dark. */
  detectColorScheme(): void {
    // JupyterLab marks the theme on <body>; follow it when present.
    const light = document.body?.dataset.jpThemeLight;
    if (light === "true" || light === "false") {
      this.root.style.colorScheme = light === "true" ? "light" : "dark";
      if (!this.themeObserver && typeof MutationObserver === "function") {
        this.themeObserver = new MutationObserver(() => this.detectColorScheme());
        this.themeObserver.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-light"] });
      }
      return;
    }
    const bg = getComputedStyle(this.root).backgroundColor;
    const m = /rgba?\((\d+)[, ]+(\d+)[, ]+(\d+)/.exec(bg || "");
    if (!m) return;
    const lum = 0.2126 * +m[1] + 0.7152 * +m[2] + 0.0722 * +m[3];
    this.root.style.colorScheme = lum < 128 ? "dark" : "light";
  }

  update(): void {
    const m = this.model;
    const label = String(m.get("label") ?? "") || "ticket";
    // the publisher's version of the ticket when the kernel reports it; `version` is the
    // view's own data version (it also moves on a re-sort)
    const version = Number(m.get("publisher_version") ?? m.get("version") ?? 0);
    const status = String(m.get("status") ?? "loading");
    const message = String(m.get("status_message") ?? "");
    const kind = String(m.get("kind") ?? "");
    this.kind.textContent = kind === "empty" ? "" : kind;
    this.label.textContent = label;
    this.label.title = `${label} (version ${version})`;
    this.pill.dataset.status = status;
    this.pill.textContent = `${STATUS_TEXT[status] ?? status}${version ? ` · v${version}` : ""}`;
    const stale = STALE.has(status);
    this.root.classList.toggle("tb-stale", stale);
    this.root.dataset.status = status;
    this.banner.classList.toggle("tb-show", stale);
    this.banner.classList.toggle("tb-error", status === "error");
    if (stale) {
      const head = status === "error" ? "Error" : status === "released" ? "Ticket released" : "Publisher gone";
      this.banner.textContent = `${head}${message ? `: ${message}` : ""} — showing the last received content.`;
    }
    this.footMsg.textContent = stale ? "" : message;
    this.footMsg.title = message;
  }

  setHeight(px: number): void {
    this.root.style.setProperty("--tb-height", `${px}px`);
  }

  destroy(): void {
    this.unsubs.forEach((u) => u());
    this.themeObserver?.disconnect();
    this.root.remove();
  }
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  return e;
}

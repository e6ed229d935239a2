// Render a Jupyter MIME bundle. Preference: plotly, vega-lite, html, svg,
// png, plain text. Heavy renderers come from a lazy loader.
import type { RendererName } from "./datasource";

export interface RendererModule {
  /** Render `spec` into `el`; may return a cleanup function. */
  render(el: HTMLElement, spec: any): unknown;
}
export type RendererLoader = (name: RendererName) => Promise<RendererModule>;
export type MimeBundle = Record<string, unknown>;

export const PLOTLY = "application/vnd.plotly.v1+json";
// newest first; the bundled vega-lite (6) renders specs of 4 to 6 (altair 6 sends v6)
export const VEGALITE = [
  "application/vnd.vegalite.v6+json",
  "application/vnd.vegalite.v5+json",
  "application/vnd.vegalite.v4+json",
];
export const PREFERENCE = [PLOTLY, ...VEGALITE, "text/html", "image/svg+xml", "image/png", "image/jpeg", "text/plain"];

export function pickMime(bundle: MimeBundle | null | undefined, exclude: ReadonlySet<string> = new Set()): string | null {
  if (!bundle) return null;
  return PREFERENCE.find((m) => bundle[m] != null && !exclude.has(m)) ?? null;
}

function asText(v: unknown): string {
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return v.join(""); // nbformat multiline strings
  return JSON.stringify(v, null, 2);
}

function asJson(v: unknown): any {
  return typeof v === "string" ? JSON.parse(v) : v;
}

/** base64 of the UTF-8 bytes of `text` (btoa alone rejects characters above U+00FF). */
export function base64Utf8(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/**
 * SVG as an `<img>` with a data: URL. An SVG loaded as an image runs no script and loads
 * nothing (no handlers, javascript: links, <use> of data: documents, SMIL tricks), so the
 * markup is never put into the page. It is parsed (inert) only to catch broken SVG, so
 * the next MIME type is tried, and to size an SVG without width/height to the view.
 */
export function svgImage(svg: string): HTMLImageElement {
  const doc = new DOMParser().parseFromString(svg, "image/svg+xml");
  const root = doc.documentElement;
  if (!root || root.localName !== "svg" || doc.getElementsByTagName("parsererror").length) {
    throw new Error("invalid SVG");
  }
  const img = document.createElement("img");
  img.className = "tb-svg";
  img.alt = "figure";
  if (!root.hasAttribute("width") && !root.hasAttribute("height")) img.classList.add("tb-fill");
  img.src = `data:image/svg+xml;charset=utf-8;base64,${base64Utf8(svg)}`;
  return img;
}

export interface Rendered {
  mime: string;
  element: HTMLElement;
  cleanup?: () => void;
}

async function renderOne(host: HTMLElement, mime: string, data: unknown, load: RendererLoader): Promise<Rendered> {
  if (mime === PLOTLY || VEGALITE.includes(mime)) {
    const div = document.createElement("div");
    div.className = "tb-heavy";
    div.dataset.mime = mime;
    host.append(div);
    try {
      const mod = await load(mime === PLOTLY ? "plotly" : "vega");
      const out = await mod.render(div, asJson(data));
      return { mime, element: div, cleanup: typeof out === "function" ? (out as () => void) : undefined };
    } catch (err) {
      div.remove();
      throw err;
    }
  }
  if (mime === "text/html") {
    const frame = document.createElement("iframe");
    frame.setAttribute("sandbox", "allow-scripts");
    frame.setAttribute("referrerpolicy", "no-referrer");
    frame.srcdoc = asText(data);
    host.append(frame);
    return { mime, element: frame };
  }
  if (mime === "image/svg+xml") {
    const img = svgImage(asText(data));
    host.append(img);
    return { mime, element: img };
  }
  if (mime === "image/png" || mime === "image/jpeg") {
    const img = document.createElement("img");
    img.alt = "figure";
    img.src = `data:${mime};base64,${asText(data).replace(/\s+/g, "")}`;
    host.append(img);
    return { mime, element: img };
  }
  const pre = document.createElement("pre");
  pre.textContent = asText(data);
  host.append(pre);
  return { mime, element: pre };
}

/**
 * Render the best MIME type of `bundle` into `host` (replacing its content).
 * If a renderer fails, fall back to the next type; the errors are returned.
 */
export async function renderBundle(
  host: HTMLElement,
  bundle: MimeBundle | null | undefined,
  load: RendererLoader,
  isCurrent: () => boolean = () => true,
): Promise<{ rendered: Rendered | null; errors: string[] }> {
  host.replaceChildren();
  const tried = new Set<string>();
  const errors: string[] = [];
  for (let mime = pickMime(bundle, tried); mime && bundle; mime = pickMime(bundle, tried)) {
    tried.add(mime);
    try {
      const rendered = await renderOne(host, mime, bundle[mime], load);
      if (!isCurrent()) {
        rendered.cleanup?.();
        rendered.element.remove();
        return { rendered: null, errors };
      }
      return { rendered, errors };
    } catch (err) {
      if (!isCurrent()) return { rendered: null, errors };
      errors.push(`${mime}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { rendered: null, errors };
}

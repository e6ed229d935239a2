import { afterEach, describe, expect, it, vi } from "vitest";
import { PLOTLY, pickMime, renderBundle, type RendererLoader } from "../src/figure";
import { FakeDataSource } from "../src/fake";
import { mount, type Mounted } from "../src/index";
import type { FigureView } from "../src/figureview";
import { _resetRendererCache, rendererLoader } from "../src/renderers";
import { FakeModel } from "./fakemodel";

const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)"><script>alert(2)</script><rect width="10" height="10" onclick="x()"/><a href="javascript:alert(3)"><circle r="2"/></a></svg>';

function fakeLoader() {
  const calls: string[] = [];
  const load: RendererLoader = async (name) => {
    calls.push(name);
    return {
      render(el: HTMLElement, spec: any) {
        el.textContent = `${name} rendered ${spec.data?.length ?? spec.mark ?? ""}`;
        return () => calls.push(`cleanup:${name}`);
      },
    };
  };
  return { load, calls };
}

let mounted: Mounted | null = null;
afterEach(() => {
  mounted?.destroy();
  mounted = null;
  _resetRendererCache();
});

describe("pickMime", () => {
  it("prefers plotly > vega-lite > html > svg > png > plain", () => {
    const all = {
      "text/plain": "p", "image/png": PNG, "image/svg+xml": SVG, "text/html": "<b>h</b>",
      "application/vnd.vegalite.v4+json": {}, "application/vnd.vegalite.v5+json": {}, [PLOTLY]: {},
      "application/vnd.vegalite.v6+json": {},
    };
    const order: string[] = [];
    const b: Record<string, unknown> = { ...all };
    for (let m = pickMime(b); m; m = pickMime(b)) {
      order.push(m);
      delete b[m];
    }
    expect(order).toEqual([PLOTLY, "application/vnd.vegalite.v6+json", "application/vnd.vegalite.v5+json", "application/vnd.vegalite.v4+json", "text/html", "image/svg+xml", "image/png", "text/plain"]);
    expect(pickMime({})).toBeNull();
    expect(pickMime(null)).toBeNull();
  });
});

describe("renderBundle", () => {
  const render = async (bundle: Record<string, unknown>, load = fakeLoader().load) => {
    const host = document.createElement("div");
    const out = await renderBundle(host, bundle, load);
    return { host, ...out };
  };

  it("png -> <img> data URL", async () => {
    const { host, rendered } = await render({ "image/png": PNG + "\n", "text/plain": "fig" });
    const img = host.querySelector("img")!;
    expect(rendered!.mime).toBe("image/png");
    expect(img.getAttribute("src")).toBe(`data:image/png;base64,${PNG}`);
    expect(host.children.length).toBe(1);
  });

  it("svg -> <img> with a data: URL (svg.test.ts has the attack payloads)", async () => {
    const { host, rendered } = await render({ "image/svg+xml": SVG, "image/png": PNG });
    expect(rendered!.mime).toBe("image/svg+xml");
    expect(host.querySelector("img")!.getAttribute("src")).toMatch(/^data:image\/svg\+xml;charset=utf-8;base64,/);
    expect(host.querySelector("svg, script")).toBeNull();
  });

  it("html -> sandboxed iframe with srcdoc", async () => {
    const { host } = await render({ "text/html": "<p>hi</p><script>1</script>", "image/png": PNG });
    const frame = host.querySelector("iframe")!;
    expect(frame.getAttribute("sandbox")).toBe("allow-scripts");
    expect(frame.srcdoc).toContain("<p>hi</p>");
    expect(host.querySelector("img")).toBeNull();
  });

  it("plain -> <pre> (multi-line list form too)", async () => {
    const { host } = await render({ "text/plain": ["a\n", "<b>"] });
    expect(host.querySelector("pre")!.textContent).toBe("a\n<b>");
    expect(host.querySelector("b")).toBeNull();
  });

  it("plotly and vega-lite go through the lazy loader", async () => {
    const fl = fakeLoader();
    const p = await render({ [PLOTLY]: { data: [1, 2, 3] }, "text/plain": "x" }, fl.load);
    expect(fl.calls).toEqual(["plotly"]);
    expect(p.host.querySelector(".tb-heavy")!.textContent).toBe("plotly rendered 3");
    p.rendered!.cleanup!();
    expect(fl.calls).toContain("cleanup:plotly");
    const v = await render({ "application/vnd.vegalite.v4+json": JSON.stringify({ mark: "bar" }) }, fl.load);
    expect(fl.calls).toContain("vega");
    expect(v.host.textContent).toBe("vega rendered bar");
    // altair 6's bundle: its v6 spec through vega, not its text/plain repr
    const v6 = await render(
      { "application/vnd.vegalite.v6+json": { mark: "line" }, "text/plain": "alt.Chart(...)" },
      fl.load,
    );
    expect(v6.rendered!.mime).toBe("application/vnd.vegalite.v6+json");
    expect(v6.host.textContent).toBe("vega rendered line");
  });

  it("falls back to the next MIME type when a renderer fails", async () => {
    const failing: RendererLoader = async () => {
      throw new Error("no renderer");
    };
    const { host, rendered, errors } = await render({ [PLOTLY]: {}, "image/png": PNG }, failing);
    expect(rendered!.mime).toBe("image/png");
    expect(errors[0]).toMatch(/no renderer/);
    expect(host.querySelector(".tb-heavy")).toBeNull();
  });
});

describe("renderer loader", () => {
  it("fetches and imports each renderer once per page", async () => {
    const src = new FakeDataSource({ numRows: 0 });
    const importer = vi.fn(async (bytes: Uint8Array | ArrayBuffer) => {
      const text = new TextDecoder().decode(bytes as Uint8Array);
      return { render: (el: HTMLElement) => (el.textContent = text.slice(0, 6)) };
    });
    const a = rendererLoader(src, importer);
    const b = rendererLoader(src, importer);
    const [m1, m2, m3] = await Promise.all([a("plotly"), b("plotly"), a("plotly")]);
    expect(m1).toBe(m2);
    expect(m1).toBe(m3);
    expect(src.rendererCalls).toEqual(["plotly"]);
    expect(importer).toHaveBeenCalledTimes(1);
    await a("vega");
    expect(src.rendererCalls).toEqual(["plotly", "vega"]);
  });

  it("retries after a failed load", async () => {
    const src = new FakeDataSource({ numRows: 0 });
    let n = 0;
    const importer = async () => {
      if (n++ === 0) throw new Error("bad module");
      return { render() {} };
    };
    const load = rendererLoader(src, importer);
    await expect(load("vega")).rejects.toThrow("bad module");
    await expect(load("vega")).resolves.toBeDefined();
    expect(src.rendererCalls).toEqual(["vega", "vega"]);
  });
});

describe("figure view", () => {
  it("re-renders on mimebundle change and switches views on kind change", async () => {
    const fl = fakeLoader();
    const model = new FakeModel({ kind: "figure", mimebundle: { "image/png": PNG } });
    const host = document.createElement("div");
    mounted = mount(model, host, { source: new FakeDataSource({ numRows: 0 }), loadRenderer: fl.load });
    let view = mounted.view() as FigureView;
    await view.done;
    expect(host.querySelector(".tb-figure img")).not.toBeNull();
    model.update({ mimebundle: { [PLOTLY]: { data: [1] } }, version: 2 });
    view = mounted.view() as FigureView;
    await view.done;
    expect(host.querySelector(".tb-figure img")).toBeNull();
    expect(host.querySelector(".tb-heavy")!.textContent).toBe("plotly rendered 1");
    expect(fl.calls).toEqual(["plotly"]); // mimebundle + version changed together: one render
    model.update({ mimebundle: { "text/plain": "bye" } });
    await (mounted.view() as FigureView).done;
    expect(fl.calls).toContain("cleanup:plotly");
    model.update({ kind: "empty" });
    expect(host.querySelector(".tb-figure")).toBeNull();
    expect(host.querySelector(".tb-empty")).not.toBeNull();
  });
});

// Shared SVG is shown as an <img> with a data: URL: the markup never enters the page, so
// nothing in it can run (scripts, handlers, SMIL href tricks, <use> of data: documents).
import { afterEach, describe, expect, it } from "vitest";
import { base64Utf8, pickMime, renderBundle, type RendererLoader } from "../src/figure";

const NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"';
const PWN = "window.__tb_pwned=1;alert(document.domain)";
const INNER = `<svg ${NS}><script>${PWN}</script></svg>`;
const PAYLOADS: Record<string, string> = {
  animate: `<svg ${NS} width="100" height="50"><a><animate attributeName="href" values="javascript:${PWN}"/><text y="20">click</text></a></svg>`,
  set: `<svg ${NS} width="100" height="50"><a><set attributeName="href" to="javascript:${PWN}"/><rect width="50" height="50"/></a></svg>`,
  "use data:": `<svg ${NS} width="100" height="50"><use href="data:image/svg+xml,${encodeURIComponent(INNER)}#x"/><use xlink:href="data:image/svg+xml;base64,${btoa(INNER)}"/></svg>`,
  script: `<svg ${NS} width="10" height="10"><script>${PWN}</script><script href="data:text/javascript,${PWN}"/></svg>`,
  onload: `<svg ${NS} width="10" height="10" onload="${PWN}"><rect width="10" height="10" onclick="${PWN}"/><image href="x" onerror="${PWN}"/></svg>`,
  foreignObject: `<svg ${NS}><foreignObject><iframe xmlns="http://www.w3.org/1999/xhtml" src="javascript:${PWN}"/></foreignObject></svg>`,
};
const noLoader: RendererLoader = async () => {
  throw new Error("no heavy renderer in these tests");
};

/** The text a data:...;base64 URL carries, decoded as UTF-8. */
function dataUrlText(src: string): string {
  const m = /^data:image\/svg\+xml;charset=utf-8;base64,([A-Za-z0-9+/=]+)$/.exec(src);
  if (!m) throw new Error(`not an SVG base64 data URL: ${src.slice(0, 60)}`);
  return new TextDecoder().decode(Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0)));
}

async function render(bundle: Record<string, unknown>) {
  const host = document.createElement("div");
  document.body.append(host);
  const out = await renderBundle(host, bundle, noLoader);
  return { host, ...out };
}

afterEach(() => {
  document.body.replaceChildren();
  delete (window as any).__tb_pwned;
});

describe("SVG figures", () => {
  for (const [name, svg] of Object.entries(PAYLOADS)) {
    it(`${name}: the payload is only inside an <img> data: URL`, async () => {
      const { host, rendered } = await render({ "image/svg+xml": svg, "text/plain": "fig" });
      expect(rendered!.mime).toBe("image/svg+xml");
      expect([...host.children].map((e) => e.tagName)).toEqual(["IMG"]);
      const img = host.querySelector("img")!;
      expect(dataUrlText(img.getAttribute("src")!)).toBe(svg); // byte for byte, inert
      expect(img.attributes.length).toBe(3); // class, alt, src: nothing else from the SVG
      const all = [...document.querySelectorAll("*")];
      expect(all.filter((e) => e.namespaceURI === "http://www.w3.org/2000/svg")).toEqual([]);
      expect(document.querySelector("svg, script, animate, set, use, foreignObject, iframe")).toBeNull();
      expect(all.some((e) => e.shadowRoot)).toBe(false);
      expect(document.body.innerHTML).not.toContain("__tb_pwned"); // only base64 text
      expect(document.body.innerHTML).not.toContain("javascript:");
      expect((window as any).__tb_pwned).toBeUndefined();
    });
  }

  it("keeps Unicode: the data URL carries the SVG's UTF-8 bytes", async () => {
    const svg = `<svg ${NS} width="200pt" height="50pt"><text>Umsatz € — 売上 😀 ñ</text></svg>`;
    const { host } = await render({ "image/svg+xml": svg });
    expect(dataUrlText(host.querySelector("img")!.src)).toBe(svg);
    const big = `<svg ${NS}><!-- ${"é漢😀".repeat(40_000)} --></svg>`; // > one 32 KB chunk
    expect(new TextDecoder().decode(Uint8Array.from(atob(base64Utf8(big)), (c) => c.charCodeAt(0)))).toBe(big);
  });

  it("sizes like an image: natural size (pt sizes too), or the view's width without one", async () => {
    const sized = await render({ "image/svg+xml": `<svg ${NS} width="460.8pt" height="345.6pt" viewBox="0 0 460.8 345.6"/>` });
    expect(sized.host.querySelector("img")!.classList.contains("tb-fill")).toBe(false);
    const bare = await render({ "image/svg+xml": `<svg ${NS} viewBox="0 0 10 5"/>` });
    expect(bare.host.querySelector("img")!.classList.contains("tb-fill")).toBe(true);
  });

  it("broken SVG falls back to the next type; matplotlib's PNG + SVG picks the SVG", async () => {
    const png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
    const { host, rendered, errors } = await render({ "image/svg+xml": "<svg><unclosed>", "image/png": png });
    expect(rendered!.mime).toBe("image/png");
    expect(errors).toEqual(["image/svg+xml: invalid SVG"]);
    expect(host.querySelector("img")!.getAttribute("src")).toBe(`data:image/png;base64,${png}`);
    expect((await render({ "image/svg+xml": "<html><body/></html>", "text/plain": "t" })).rendered!.mime).toBe("text/plain");
    expect(pickMime({ "text/plain": "<Figure>", "image/png": png, "image/svg+xml": "<svg/>" })).toBe("image/svg+xml");
  });
});

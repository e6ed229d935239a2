import { describe, expect, it } from "vitest";
import widget, * as entry from "../src/index";
import { WINDOW_ROWS } from "../src/loader";
import { FakeModel } from "./fakemodel";

const render = widget.render;

describe("anywidget entry", () => {
  it("exports render as default {render} and cleans up", () => {
    expect("render" in entry).toBe(false); // anywidget warns about a named render export
    const model = new FakeModel({ kind: "empty", status: "loading", label: "sales" });
    const el = document.createElement("div");
    const cleanup = render({ model, el });
    expect(el.querySelector(".tb-root")).not.toBeNull();
    expect(el.querySelector(".tb-label")!.textContent).toBe("sales");
    expect(el.querySelector(".tb-empty")!.textContent).toMatch(/Waiting/);
    expect(el.querySelector(".tb-pill")!.textContent).toBe("loading · v1");
    model.update({ status: "live", version: 7 });
    expect(el.querySelector(".tb-pill")!.textContent).toBe("live · v7");
    cleanup();
    expect(el.children.length).toBe(0);
    expect(model.listenerCount("change:kind")).toBe(0);
    expect(model.listenerCount("change:status")).toBe(0);
  });

  it("table kind talks to the kernel through model.send (CommDataSource)", async () => {
    const model = new FakeModel({ kind: "table", num_rows: 1000, columns: [{ name: "id", type: "int64" }], version: 3 });
    const el = document.createElement("div");
    const cleanup = render({ model, el });
    await new Promise((r) => setTimeout(r, 80)); // debounce
    const req = model.sent.map((s) => s.content).find((c) => c.kind === "window");
    expect(req).toMatchObject({ kind: "window", row_start: 0, row_end: WINDOW_ROWS, version: 3 });
    cleanup();
  });
});

// A sort the kernel cannot do: it sets `sort` back to the order shown and says why in
// status_message, without a new version. The view must stop saying "sorting…".
import { afterEach, describe, expect, it } from "vitest";
import { FAKE_COLUMNS, FakeDataSource } from "../src/fake";
import { mount, type Mounted } from "../src/index";
import { FakeModel, tick } from "./fakemodel";

let mounted: Mounted | null = null;
afterEach(() => {
  mounted?.destroy();
  mounted = null;
  document.body.replaceChildren();
});

function setup() {
  const model = new FakeModel({ kind: "table", num_rows: 100, columns: FAKE_COLUMNS, sort: [], version: 1 });
  const host = document.createElement("div");
  document.body.append(host);
  mounted = mount(model, host, { source: new FakeDataSource({ numRows: 100 }), fallbackHeight: 300, rowHeight: 30, debounceMs: 0 });
  const heads = [...host.querySelectorAll<HTMLElement>(".tb-hcell:not(.tb-gutter):not(.tb-filler)")];
  const head = (name: string) => heads[FAKE_COLUMNS.findIndex((c) => c.name === name)];
  const foot = () => host.querySelector(".tb-range")!.textContent ?? "";
  return { model, host, head, foot };
}

describe("a sort the kernel rejects", () => {
  it("ends 'sorting…', shows the order the kernel kept and its message", async () => {
    const { model, host, head, foot } = setup();
    head("id").click();
    await tick();
    expect(foot()).toContain("sorting…"); // our own change event does not end the wait
    model.update({ version: 2 }); // the kernel sorted by id
    await tick();
    expect(foot()).not.toContain("sorting…");

    head("comment").click();
    await tick();
    expect(foot()).toContain("sorting…");
    expect(head("comment").getAttribute("aria-sort")).toBe("ascending");
    // the kernel's answer: the order actually shown, and why (no new version)
    const why = "cannot sort by 'comment': pyarrow cannot sort its type, list<item: int64>";
    model.update({ sort: [{ column: "id", descending: false }] });
    model.update({ status_message: why });
    await tick();
    expect(foot()).not.toContain("sorting…");
    expect(head("comment").getAttribute("aria-sort")).toBe("none");
    expect(head("comment").querySelector(".tb-sort")!.textContent).toBe("");
    expect(head("id").querySelector(".tb-sort")!.textContent).toBe("▲");
    expect(host.querySelector(".tb-msg")!.textContent).toBe(why);

    // a later click works as usual from the order the kernel kept
    head("id").click();
    expect(model.get("sort")).toEqual([{ column: "id", descending: true }]);
    await tick();
    expect(foot()).toContain("sorting…");
  });

  it("a rejected shift-click (multi-key) reverts to the kept keys", async () => {
    const { model, head, foot } = setup();
    model.update({ sort: [{ column: "id", descending: true }], version: 2 });
    await tick();
    head("name").dispatchEvent(new MouseEvent("click", { shiftKey: true, bubbles: true }));
    expect(model.get("sort")).toEqual([{ column: "id", descending: true }, { column: "name", descending: false }]);
    await tick();
    expect(foot()).toContain("sorting…");
    model.update({ sort: [{ column: "id", descending: true }], status_message: "cannot sort by 'name'" });
    await tick();
    expect(foot()).not.toContain("sorting…");
    expect(head("id").querySelector(".tb-sort")!.textContent).toBe("▼");
    expect(head("name").getAttribute("aria-sort")).toBe("none");
  });
});

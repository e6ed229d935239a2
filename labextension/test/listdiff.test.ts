import { describe, expect, it } from "vitest";
import { diffObjects, sortObjects } from "../src/listdiff";
import type { Obj } from "../src/objects";

const obj = (name: string, over: Partial<Obj> = {}): Obj => ({
  ticket: name || `shared:${over.version ?? 0}`,
  name,
  type: "Table",
  num_rows: 10,
  num_columns: 2,
  nbytes: 100,
  publisher: "p",
  published_at: 1,
  version: 1,
  ...over,
});

describe("diffObjects", () => {
  it("adds everything to an empty list, in name order", () => {
    const d = diffObjects([], [obj("b"), obj("a")]);
    expect(d).toEqual({ order: ["a", "b"], added: ["b", "a"], removed: [], changed: [] });
  });
  it("finds removed, added and changed objects; unchanged ones are left alone", () => {
    const prev = [obj("a"), obj("b"), obj("c")];
    const next = [obj("a"), obj("b", { version: 2, num_rows: 20 }), obj("d")];
    expect(diffObjects(prev, next)).toEqual({ order: ["a", "b", "d"], added: ["d"], removed: ["c"], changed: ["b"] });
  });
  it("sees a change of any shown field", () => {
    for (const over of [{ nbytes: 5 }, { publisher: "q" }, { published_at: 2 }, { type: "Figure" }]) {
      expect(diffObjects([obj("a")], [obj("a", over)]).changed).toEqual(["a"]);
    }
  });
  it("is empty for the same list", () => {
    const list = [obj("a"), obj("b")];
    expect(diffObjects(list, list.map((o) => ({ ...o })))).toEqual({ order: ["a", "b"], added: [], removed: [], changed: [] });
  });
});

describe("sortObjects", () => {
  it("sorts by name, then shared tickets by their text", () => {
    const s = sortObjects([obj("zeta"), obj("", { ticket: "shared:ff" }), obj("alpha"), obj("", { ticket: "shared:0a" })]);
    expect(s.map((o) => o.ticket)).toEqual(["alpha", "shared:0a", "shared:ff", "zeta"]);
  });
});

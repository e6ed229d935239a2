import { describe, expect, it } from "vitest";
import { nextSort, normalizeSort, sortDirection } from "../src/sort";

describe("sort state machine", () => {
  it("cycles none -> asc -> desc -> none", () => {
    let s = nextSort([], "a");
    expect(s).toEqual([{ column: "a", descending: false }]);
    s = nextSort(s, "a");
    expect(s).toEqual([{ column: "a", descending: true }]);
    s = nextSort(s, "a");
    expect(s).toEqual([]);
  });

  it("a plain click on another column replaces the sort", () => {
    expect(nextSort([{ column: "a", descending: true }], "b")).toEqual([{ column: "b", descending: false }]);
  });

  it("shift-click keeps other keys in order", () => {
    let s = nextSort([{ column: "a", descending: false }], "b", true);
    expect(s).toEqual([{ column: "a", descending: false }, { column: "b", descending: false }]);
    s = nextSort(s, "a", true);
    expect(s).toEqual([{ column: "a", descending: true }, { column: "b", descending: false }]);
    s = nextSort(s, "a", true);
    expect(s).toEqual([{ column: "b", descending: false }]);
  });

  it("direction lookup and normalisation", () => {
    expect(sortDirection([{ column: "x", descending: true }], "x")).toBe("desc");
    expect(sortDirection([], "x")).toBeNull();
    expect(normalizeSort(null)).toEqual([]);
    expect(normalizeSort([{ column: "x", descending: 1 }, { nope: 1 }])).toEqual([{ column: "x", descending: true }]);
  });
});

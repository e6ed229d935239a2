import { describe, expect, it, vi } from "vitest";
import { LocalModel } from "../src/localmodel";

describe("LocalModel", () => {
  it("emits change:<key> only when a value changes", () => {
    const m = new LocalModel({ kind: "empty", sort: [] });
    const kind = vi.fn();
    const sort = vi.fn();
    m.on("change:kind", kind);
    m.on("change:sort", sort);
    m.set("kind", "empty");
    m.set("sort", []);
    expect(kind).not.toHaveBeenCalled();
    expect(sort).not.toHaveBeenCalled();
    m.set("kind", "table");
    m.set("sort", [{ column: "a", descending: true }]);
    expect(kind).toHaveBeenCalledTimes(1);
    expect(sort).toHaveBeenCalledTimes(1);
    expect(m.get("kind")).toBe("table");
  });
  it("runs listeners after every key of an update is set", () => {
    const m = new LocalModel({ kind: "empty", num_rows: 0 });
    const seen: unknown[] = [];
    m.on("change:kind", () => seen.push(m.get("num_rows")));
    m.update({ kind: "table", num_rows: 5 });
    expect(seen).toEqual([5]);
  });
  it("off removes one listener, an event's listeners, or all", () => {
    const m = new LocalModel();
    const a = vi.fn();
    const b = vi.fn();
    m.on("change:x", a);
    m.on("change:x", b);
    m.off("change:x", a);
    m.set("x", 1);
    expect(a).not.toHaveBeenCalled();
    expect(b).toHaveBeenCalledTimes(1);
    m.off("change:x");
    m.set("x", 2);
    m.on("change:y", a);
    m.off();
    m.set("y", 1);
    expect(b).toHaveBeenCalledTimes(1);
    expect(a).not.toHaveBeenCalled();
  });
  it("save_changes tells the host; send goes nowhere", () => {
    const m = new LocalModel();
    const saved = vi.fn();
    m.onSave = saved;
    m.send();
    m.save_changes();
    expect(saved).toHaveBeenCalledTimes(1);
  });
});

import { describe, expect, it } from "vitest";
import { LRU, WindowCache, windowKey } from "../src/cache";

describe("LRU", () => {
  it("evicts the least recently used entry", () => {
    const lru = new LRU<string, number>(3);
    lru.set("a", 1);
    lru.set("b", 2);
    lru.set("c", 3);
    expect(lru.get("a")).toBe(1); // a is now most recent
    expect(lru.set("d", 4)).toEqual(["b"]);
    expect(lru.has("b")).toBe(false);
    expect(lru.keys()).toEqual(["c", "a", "d"]);
    expect(lru.size).toBe(3);
  });

  it("peek does not refresh; re-set refreshes", () => {
    const lru = new LRU<number, string>(2);
    lru.set(1, "x");
    lru.set(2, "y");
    lru.peek(1);
    expect(lru.set(3, "z")).toEqual([1]);
    lru.set(2, "y2");
    expect(lru.set(4, "w")).toEqual([3]);
    expect(lru.get(2)).toBe("y2");
  });

  it("rejects zero capacity", () => {
    expect(() => new LRU(0)).toThrow();
  });
});

describe("WindowCache", () => {
  it("keys by (version, window index)", () => {
    const c = new WindowCache<string>(4);
    expect(windowKey(2, 5)).toBe("2:5");
    c.set(1, 0, "v1w0");
    c.set(2, 0, "v2w0");
    expect(c.get(1, 0)).toBe("v1w0");
    expect(c.get(2, 0)).toBe("v2w0");
    expect(c.get(2, 1)).toBeUndefined();
    c.set(2, 1, "a");
    c.set(2, 2, "b");
    const evicted = c.set(2, 3, "c");
    expect(evicted).toEqual(["1:0"]); // 2:0 was read after 1:0
    expect(c.size).toBe(4);
    c.clear();
    expect(c.size).toBe(0);
  });
});

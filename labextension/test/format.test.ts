import { describe, expect, it } from "vitest";
import { count, humanBytes, provenance, relativeAge, shortType, summary } from "../src/format";
import type { Obj } from "../src/objects";

const obj = (over: Partial<Obj> = {}): Obj => ({
  ticket: "sales",
  name: "sales",
  type: "Table",
  num_rows: 1234,
  num_columns: 5,
  nbytes: 49_357,
  publisher: "alice@host pid 7",
  published_at: 1_000_000,
  version: 3,
  ...over,
});

describe("humanBytes", () => {
  it("uses binary units with three significant digits", () => {
    expect(humanBytes(0)).toBe("0 B");
    expect(humanBytes(1023)).toBe("1023 B");
    expect(humanBytes(1024)).toBe("1 KiB");
    expect(humanBytes(1536)).toBe("1.5 KiB");
    expect(humanBytes(49_357)).toBe("48.2 KiB");
    expect(humanBytes(200 * 1024 * 1024)).toBe("200 MiB");
    expect(humanBytes(3.214 * 1024 ** 3)).toBe("3.21 GiB");
    expect(humanBytes(2 * 1024 ** 6)).toBe("2048 PiB");
  });
  it("says ? for nonsense", () => {
    expect(humanBytes(-1)).toBe("?");
    expect(humanBytes(Number.NaN)).toBe("?");
  });
});

describe("relativeAge", () => {
  const now = 1_000_000 * 1000;
  it("counts back from now", () => {
    expect(relativeAge(1_000_000, now)).toBe("just now");
    expect(relativeAge(1_000_000 - 42, now)).toBe("42 s ago");
    expect(relativeAge(1_000_000 - 5 * 60 - 3, now)).toBe("5 min ago");
    expect(relativeAge(1_000_000 - 3 * 3600, now)).toBe("3 h ago");
    expect(relativeAge(1_000_000 - 3 * 86400, now)).toBe("3 d ago");
  });
  it("treats clock skew (a time ahead of now) as just now, and no time as nothing", () => {
    expect(relativeAge(1_000_100, now)).toBe("just now");
    expect(relativeAge(0, now)).toBe("");
  });
});

describe("list lines", () => {
  it("summarises a table: rows, columns, size", () => {
    expect(summary(obj())).toBe("1,234 rows × 5 columns · 48.2 KiB");
    expect(summary(obj({ num_rows: 1, num_columns: 1 }))).toBe("1 row × 1 column · 48.2 KiB");
  });
  it("summarises a figure: its type and size", () => {
    expect(summary(obj({ type: "Figure", nbytes: 2048 }))).toBe("Figure · 2 KiB");
    // a Deephaven server does not report sizes: none is shown rather than "0 B"
    expect(summary(obj({ nbytes: 0 }))).toBe("1,234 rows × 5 columns");
    expect(summary(obj({ type: "Figure", nbytes: 0 }))).toBe("Figure");
    expect(shortType("matplotlib.figure.Figure")).toBe("matplotlib Figure");
  });
  it("says version, publisher and age", () => {
    expect(provenance(obj(), (1_000_000 + 90) * 1000)).toBe("v3 · alice@host pid 7 · 1 min ago");
    expect(provenance(obj({ publisher: "" }), 1_000_000 * 1000)).toBe("v3 · just now");
  });
  it("counts with thousands separators", () => {
    expect(count(1_000_000, "row", "rows")).toBe("1,000,000 rows");
  });
});

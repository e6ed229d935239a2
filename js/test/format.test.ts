import { describe, expect, it } from "vitest";
import { decimal, tableFromArrays, tableToIPC } from "@uwdata/flechette";
import { decodeIPC } from "../src/datasource";
import {
  alignFor, classifyType, decimalScale, formatBool, formatCount, formatDate, formatFloat, formatInt, formatString, formatTimestamp,
  formatterFor,
} from "../src/format";

describe("formatters", () => {
  it("ints with thousands separators, number or bigint", () => {
    expect(formatInt(1234567).text).toBe("1,234,567");
    expect(formatInt(-42).text).toBe("-42");
    expect(formatInt(9007199254740993n).text).toBe("9,007,199,254,740,993");
    expect(formatInt(-1234n).text).toBe("-1,234");
    expect(formatInt(-9223372036854775808n).text).toBe("-9,223,372,036,854,775,808");
    expect(formatCount(9_999_999)).toBe("9,999,999");
    expect(formatCount(0)).toBe("0");
    expect(formatterFor("int64")(5n).text).toBe("5");
    expect(formatterFor("uint8")(255).text).toBe("255");
  });

  it("floats with sensible decimals", () => {
    expect(formatFloat(1234.5678).text).toBe("1,234.57");
    expect(formatFloat(3.14159265).text).toBe("3.14159");
    expect(formatFloat(0.000123456).text).toBe("0.000123");
    expect(formatFloat(2).text).toBe("2");
    expect(formatFloat(0).text).toBe("0");
    expect(formatFloat(1e20).text).toBe("1e+20");
    expect(formatFloat(1.5e-7).text).toBe("1.5e-7");
    expect(formatFloat(NaN).text).toBe("NaN");
    expect(formatFloat(-Infinity).text).toBe("-∞");
    expect(formatterFor("double")(-98765.4321).text).toBe("-98,765.43");
  });

  it("decimals keep their scale and every digit", () => {
    expect(decimalScale("decimal128(4, 2)")).toBe(2);
    expect(decimalScale("decimal256(40, -3)")).toBe(-3);
    const money = formatterFor("decimal128(4, 2)");
    expect(money(2490n).text).toBe("24.90");
    expect(money(-2490n).text).toBe("-24.90");
    expect(money(5n).text).toBe("0.05");
    expect(money(null).isNull).toBe(true);
    expect(formatterFor("decimal128(19, 2)")(1234567890123456789n).text).toBe("12,345,678,901,234,567.89");
    expect(formatterFor("decimal32(5, 0)")(-12345).text).toBe("-12,345");
    expect(formatterFor("decimal128(5, -2)")(123n).text).toBe("12,300");
    // through the decoder the grid uses: the scaled integers, not float64 values
    const bytes = tableToIPC(tableFromArrays({ d: [24.9, -0.05, null] }, { types: { d: decimal(4, 2) } }), { format: "stream" });
    const column = decodeIPC(bytes!).getChild("d")!;
    expect([0, 1, 2].map((i) => money(column.at(i)).text)).toEqual(["24.90", "-0.05", "null"]);
  });

  it("nulls are marked for dimmed display in every type", () => {
    for (const t of ["int64", "double", "string", "bool", "timestamp[us]", "date32[day]", "list<item: int64>"]) {
      const f = formatterFor(t)(null);
      expect(f).toMatchObject({ text: "null", isNull: true });
      expect(formatterFor(t)(undefined).isNull).toBe(true);
    }
  });

  it("timestamps ISO-like, with ms/us only when nonzero", () => {
    const ms = Date.UTC(2024, 0, 2, 3, 4, 5);
    expect(formatTimestamp(ms).text).toBe("2024-01-02 03:04:05");
    expect(formatTimestamp(ms + 123).text).toBe("2024-01-02 03:04:05.123");
    expect(formatTimestamp(ms + 123.456).text).toBe("2024-01-02 03:04:05.123456");
    expect(formatTimestamp(ms + 0.001).text).toBe("2024-01-02 03:04:05.000001");
    expect(formatTimestamp(new Date(ms)).text).toBe("2024-01-02 03:04:05");
    expect(formatterFor("timestamp[us, tz=UTC]")(ms).text).toBe("2024-01-02 03:04:05");
    expect(formatterFor("timestamp[ns]")(ms).text).toBe("2024-01-02 03:04:05");
    // Pre-epoch instants with fractional ms.
    expect(formatTimestamp(-1.5).text).toBe("1969-12-31 23:59:59.998500");
  });

  it("timestamps in a named zone show wall time there", () => {
    const ms = Date.UTC(2024, 6, 1, 12, 0, 0);
    expect(formatterFor("timestamp[us, tz=Europe/Paris]")(ms).text).toBe("2024-07-01 14:00:00");
    expect(formatterFor("timestamp[us, tz=Not/AZone]")(ms).text).toBe("2024-07-01 12:00:00");
  });

  it("dates", () => {
    expect(formatDate(Date.UTC(2024, 0, 2)).text).toBe("2024-01-02");
    expect(formatterFor("date32[day]")(0).text).toBe("1970-01-01");
  });

  it("times of day and durations", () => {
    expect(formatterFor("time64[us]")(3723000001n).text).toBe("01:02:03.000001");
    expect(formatterFor("time64[us]")(3723500000n).text).toBe("01:02:03.500");
    expect(formatterFor("time32[s]")(3723).text).toBe("01:02:03");
    expect(formatterFor("time32[ms]")(3723250).text).toBe("01:02:03.250");
    expect(formatterFor("duration[ms]")(1500n).text).toBe("1,500 ms");
    expect(formatterFor("duration[us]")(null).isNull).toBe(true);
  });

  it("booleans", () => {
    expect(formatBool(true).text).toBe("true");
    expect(formatBool(false).text).toBe("false");
    expect(formatterFor("bool")(true).text).toBe("true");
  });

  it("strings: long ones get a title tooltip and are cut, newlines flattened", () => {
    expect(formatString("short")).toEqual({ text: "short", title: undefined });
    const long = "x".repeat(1000);
    const f = formatString(long);
    expect(f.title).toBe(long);
    expect(f.text.length).toBeLessThan(600);
    expect(f.text.endsWith("…")).toBe(true);
    expect(formatString("a\nb").text).toBe("a b");
  });

  it("classifies types and alignment", () => {
    expect(classifyType("int64")).toBe("int");
    expect(classifyType("large_string")).toBe("string");
    expect(classifyType("timestamp[us, tz=UTC]")).toBe("timestamp");
    expect(classifyType("date32[day]")).toBe("date");
    expect(alignFor("double")).toBe("right");
    expect(alignFor("string")).toBe("left");
    expect(alignFor("bool")).toBe("center");
  });

  it("other types fall back to JSON-ish text", () => {
    expect(formatterFor("list<item: int64>")([1, 2n]).text).toBe("[1,2]");
    expect(formatterFor("list<item: int64>")([-9007199254740993n]).text).toBe("[-9007199254740993]");
    expect(formatterFor("struct<a: string>")({ a: "x" }).text).toBe('{"a":"x"}');
    expect(formatterFor("binary")(new Uint8Array([1, 255])).text).toBe("0x01ff");
  });
});

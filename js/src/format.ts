// Cell formatters chosen from the Arrow type text sent by Python
// (e.g. "int64", "double", "timestamp[us, tz=UTC]", "date32[day]").

export type Align = "left" | "right" | "center";

export interface Formatted {
  text: string;
  /** Full value for a tooltip when the text may be cut off. */
  title?: string;
  isNull?: boolean;
}

export type Formatter = (value: unknown) => Formatted;

export type TypeClass = "int" | "float" | "decimal" | "bool" | "string" | "timestamp" | "date" | "time" | "duration" | "other";

export function classifyType(type: string): TypeClass {
  const t = type.trim().toLowerCase();
  if (/^u?int(8|16|32|64)$/.test(t)) return "int";
  if (/^(halffloat|float|double|float16|float32|float64)$/.test(t)) return "float";
  if (t.startsWith("decimal")) return "decimal";
  if (t === "bool" || t === "boolean") return "bool";
  if (/^(large_)?(string|utf8)$/.test(t) || t === "string_view") return "string";
  if (t.startsWith("timestamp")) return "timestamp";
  if (t.startsWith("date")) return "date";
  if (t.startsWith("time")) return "time";
  if (t.startsWith("duration")) return "duration";
  return "other";
}

export function alignFor(type: string): Align {
  const c = classifyType(type);
  if (c === "int" || c === "float" || c === "decimal" || c === "duration") return "right";
  if (c === "bool") return "center";
  return "left";
}

const NULL: Formatted = { text: "null", isNull: true };
const intFmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const floatFmts = [0, 1, 2, 3, 4, 5, 6].map(
  (d) => new Intl.NumberFormat("en-US", { minimumFractionDigits: 0, maximumFractionDigits: d }),
);

/** A row number or count with thousands separators (one cached formatter: a call of
 * BigInt's `toLocaleString` makes a new one, ~60 µs in Chromium). */
export function formatCount(n: number | bigint): string {
  return intFmt.format(n);
}

export function formatInt(v: unknown): Formatted {
  if (v == null) return NULL;
  if (typeof v === "bigint") return { text: intFmt.format(v) };
  if (typeof v === "number") return Number.isFinite(v) ? { text: intFmt.format(v) } : { text: String(v) };
  return { text: String(v) };
}

export function formatFloat(v: unknown): Formatted {
  if (v == null) return NULL;
  if (typeof v === "bigint") return formatInt(v);
  if (typeof v !== "number") return { text: String(v) };
  if (Number.isNaN(v)) return { text: "NaN" };
  if (!Number.isFinite(v)) return { text: v > 0 ? "∞" : "-∞" };
  if (v === 0) return { text: "0" };
  const a = Math.abs(v);
  if (a >= 1e15 || a < 1e-4) return { text: v.toExponential(4).replace(/\.?0+e/, "e"), title: String(v) };
  // Keep ~6 significant digits, at most 6 decimals, at least 2 for |v| >= 1000.
  const intDigits = a >= 1 ? Math.floor(Math.log10(a)) + 1 : 0;
  const decimals = Math.min(6, Math.max(intDigits >= 4 ? 2 : 0, 6 - intDigits));
  return { text: floatFmts[decimals].format(v) };
}

/** The scale of `decimal128(19, 2)` and the like (0 when the type names none). */
export function decimalScale(type: string): number {
  const m = /^decimal\d*\(\s*\d+\s*,\s*(-?\d+)\s*\)/.exec(type.trim());
  return m ? Number(m[1]) : 0;
}

/** A decimal from its scaled integer (what the decoder gives): every digit exact, and as
 * many fraction digits as the scale says (24.90 stays 24.90). */
export function formatDecimal(v: unknown, scale: number): Formatted {
  if (v == null) return NULL;
  if (typeof v === "number" && !Number.isInteger(v)) return formatFloat(v);
  if (typeof v !== "bigint" && typeof v !== "number") return { text: String(v) };
  let n = BigInt(v);
  const sign = n < 0n ? "-" : "";
  if (n < 0n) n = -n;
  if (scale <= 0) return { text: sign + intFmt.format(n * 10n ** BigInt(-scale)) };
  const unit = 10n ** BigInt(scale);
  const fraction = (n % unit).toString().padStart(scale, "0");
  return { text: `${sign}${intFmt.format(n / unit)}.${fraction}` };
}

export function formatBool(v: unknown): Formatted {
  if (v == null) return NULL;
  return { text: v ? "true" : "false" };
}

const MAX_TEXT = 500;
export function formatString(v: unknown): Formatted {
  if (v == null) return NULL;
  const s = typeof v === "string" ? v : String(v);
  const oneLine = s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) + "…" : s;
  return { text: oneLine.replace(/[\r\n\t]+/g, " "), title: s.length > 20 ? s.slice(0, 4000) : undefined };
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Wall-clock parts of an instant in a named time zone (UTC fallback). */
function parts(ms: number, tz?: string): number[] {
  const d = new Date(Math.floor(ms));
  if (tz && !/^(utc|z|\+00:00|etc\/utc)$/i.test(tz)) {
    try {
      const f = new Intl.DateTimeFormat("en-US", {
        timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit",
      });
      const p: Record<string, number> = {};
      for (const x of f.formatToParts(d)) if (x.type !== "literal") p[x.type] = Number(x.value);
      return [p.year, p.month, p.day, p.hour % 24, p.minute, p.second];
    } catch {
      /* unknown zone: fall through to UTC */
    }
  }
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()];
}

function toMillis(v: unknown, unitPerMs = 1): number | null {
  if (v == null) return null;
  if (v instanceof Date) return v.getTime();
  if (typeof v === "bigint") return Number(v) / unitPerMs;
  if (typeof v === "number") return v / unitPerMs;
  return null;
}

/** `2024-01-02 03:04:05[.123[456]]`; value in ms (flechette default) or a Date. */
export function formatTimestamp(v: unknown, tz?: string, unitPerMs = 1): Formatted {
  const ms = toMillis(v, unitPerMs);
  if (ms == null) return v == null ? NULL : { text: String(v) };
  if (!Number.isFinite(ms)) return { text: String(v) };
  const [y, mo, d, h, mi, s] = parts(ms, tz);
  // Sub-second part in microseconds, rounded to kill float noise.
  let us = Math.round((ms - Math.floor(ms / 1000) * 1000) * 1000);
  if (us >= 1_000_000) us = 999_999;
  let frac = "";
  if (us % 1000 !== 0) frac = "." + pad(us, 6);
  else if (us !== 0) frac = "." + pad(us / 1000, 3);
  const year = y < 0 ? "-" + pad(-y, 4) : pad(y, 4);
  const text = `${year}-${pad(mo)}-${pad(d)} ${pad(h)}:${pad(mi)}:${pad(s)}${frac}`;
  return { text, title: tz ? `${text} (${tz})` : undefined };
}

export function formatDate(v: unknown): Formatted {
  const ms = toMillis(v);
  if (ms == null) return v == null ? NULL : { text: String(v) };
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return { text: String(v) };
  return { text: `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` };
}

export function formatOther(v: unknown): Formatted {
  if (v == null) return NULL;
  if (typeof v === "string") return formatString(v);
  if (typeof v === "number" || typeof v === "bigint") return formatFloat(v);
  if (v instanceof Uint8Array) {
    const hex = Array.from(v.subarray(0, 32), (b) => b.toString(16).padStart(2, "0")).join("");
    return { text: `0x${hex}${v.length > 32 ? "…" : ""}`, title: `${v.length} bytes` };
  }
  let s: string;
  try {
    // 64-bit integers (bigint) print as numbers, not quoted strings: mark them, then unquote
    const json = JSON.stringify(v, (_k, x) =>
      typeof x === "bigint" ? `${BIGINT_MARK}${x}` : ArrayBuffer.isView(x) ? Array.from(x as any) : x,
    );
    s = json?.replace(BIGINT_QUOTED, "$1");
  } catch {
    s = String(v);
  }
  return formatString(s ?? String(v));
}

const BIGINT_MARK = "\u0001bigint:";
const BIGINT_QUOTED = /"\\u0001bigint:(-?\d+)"/g;

const UNIT_PER_SECOND: Record<string, number> = { s: 1, ms: 1e3, us: 1e6, ns: 1e9 };

function unitOf(type: string): string {
  const m = /\[\s*(s|ms|us|ns)\b/.exec(type);
  return m ? m[1] : "us";
}

/** time32/time64 (value in the type's unit since midnight) -> `HH:MM:SS[.ffffff]`. */
export function formatTime(v: unknown, unit = "us"): Formatted {
  if (v == null) return NULL;
  if (typeof v !== "number" && typeof v !== "bigint") return { text: String(v) };
  const per = UNIT_PER_SECOND[unit] ?? 1e6;
  const big = typeof v === "bigint" ? v : BigInt(Math.round(v));
  const secs = Number(big / BigInt(per));
  const frac = Number(big % BigInt(per));
  const text = `${pad(Math.floor(secs / 3600))}:${pad(Math.floor(secs / 60) % 60)}:${pad(secs % 60)}`;
  if (!frac) return { text };
  const digits = String(per).length - 1;
  return { text: `${text}.${String(frac).padStart(digits, "0").replace(/(\d{3})0{3}$|0{3}$/, "$1")}` };
}

/** duration[unit] -> number with the unit, e.g. `1,500 ms`. */
export function formatDuration(v: unknown, unit = "us"): Formatted {
  if (v == null) return NULL;
  const f = formatInt(v);
  return { text: `${f.text} ${unit === "us" ? "µs" : unit}` };
}

function timestampTz(type: string): string | undefined {
  const m = /tz=([^\],]+)/.exec(type);
  return m ? m[1].trim() : undefined;
}

/** Pick the formatter for an Arrow type string. */
export function formatterFor(type: string): Formatter {
  switch (classifyType(type)) {
    case "int":
      return formatInt;
    case "float":
      return formatFloat;
    case "decimal": {
      const scale = decimalScale(type);
      return (v) => formatDecimal(v, scale);
    }
    case "bool":
      return formatBool;
    case "string":
      return formatString;
    case "timestamp": {
      const tz = timestampTz(type);
      return (v) => formatTimestamp(v, tz);
    }
    case "date":
      return formatDate;
    case "time": {
      const unit = unitOf(type);
      return (v) => formatTime(v, unit);
    }
    case "duration": {
      const unit = unitOf(type);
      return (v) => formatDuration(v, unit);
    }
    default:
      return formatOther;
  }
}

"""The peer run's summary (medians per system, ratios, targets) and its printed table.

Columns: ticketbooth ``tb.view("big")``, Perspective pre-ingested (``PerspectiveWidget(table)``
of a table loaded before timing) and Perspective default (``PerspectiveWidget(arrow_table)``,
ingest included). Medians over rounds; jumps and republishes pooled over rounds.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from _util import percentile

NAMES = {"tb": "ticketbooth", "pre": "Perspective pre-ingested", "default": "Perspective default"}
JUMP_MAX_S = 0.030
JUMP_MAX_BYTES = 5_000
REPAINT_P95_MAX_S = 0.100
FIRST_PAINT_MAX_S = 0.250
DISPLAY_MAX_BYTES = 150_000
KERNEL_MAX_BYTES = 30 * 2**20


def _med(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _p95(xs: list[float]) -> float | None:
    xs = [x for x in xs if x is not None]
    return percentile(xs, 95) if xs else None


def _jumps(items: list[dict[str, Any]], name: str | None = None) -> list[dict[str, Any]]:
    return [j for it in items for j in it.get("jumps", []) if name is None or j["name"] == name]


def summarize_peers(peers: dict[str, Any]) -> dict[str, Any]:
    s: dict[str, Any] = {}
    for system, items in peers["results"].items():
        if not items:
            continue
        row: dict[str, Any] = {
            "first_paint_s": _med([it["first_paint_s"] for it in items]),
            "first_paint_each_s": [it["first_paint_s"] for it in items],
            "display_bytes": _med([it["display_ws"]["bytes_in"] for it in items]),
            "display_bytes_to_paint": _med([it["display_ws_to_paint"]["bytes_in"] for it in items]),
            "display_msgs": _med([it["display_ws"]["msgs_in"] for it in items]),
            "rss_delta": _med([it["rss_delta"]["VmRSS"] for it in items]),
            "rss_anon_delta": _med([it["rss_delta"]["RssAnon"] for it in items]),
        }
        jumps = _jumps(items)
        if jumps:
            done = [j["total_s"] for j in jumps if j["total_s"] is not None]
            row.update(
                jumps_n=len(jumps),
                jumps_failed=len(jumps) - len(done),
                jump_mid_s=_med([j["total_s"] for j in _jumps(items, "mid")]),
                jump_end_s=_med([j["total_s"] for j in _jumps(items, "end")]),
                jump_random_s=_med([j["total_s"] for j in _jumps(items, "random")]),
                jump_p50_s=_med(done),
                jump_p95_s=percentile(done, 95) if done else None,
                jump_bytes=_med([j["ws"]["bytes_in"] for j in jumps]),
                jump_bytes_to_done=_med([j["ws_to_done"]["bytes_in"] for j in jumps]),
                jump_msgs=_med([j["ws"]["msgs_in"] + j["ws"]["msgs_out"] for j in jumps]),
                jump_msgs_to_done=_med(
                    [j["ws_to_done"]["msgs_in"] + j["ws_to_done"]["msgs_out"] for j in jumps]
                ),
                jump_rows=[(j["name"], j["target_row"], j["expected_row"]) for j in jumps],
            )
        reps = [x for it in items for x in it.get("republish", [])]
        if reps:
            done = [x["total_s"] for x in reps if x["total_s"] is not None]
            row.update(
                repaint_n=len(reps),
                repaint_failed=len(reps) - len(done),
                repaint_p50_s=percentile(done, 50) if done else None,
                repaint_p95_s=percentile(done, 95) if done else None,
                repaint_source_call_s=_med([x["source_call_s"] for x in reps]),
                repaint_after_call_s=_med([x["after_call_s"] for x in reps]),
                repaint_after_call_p95_s=_p95([x["after_call_s"] for x in reps]),
                repaint_bytes=_med([x["ws"]["bytes_in"] for x in reps]),
            )
        s[system] = row
    s["targets"] = _targets(s)
    return s


def _targets(s: dict[str, Any]) -> list[dict[str, Any]]:
    tb, pre = s.get("tb", {}), s.get("pre", {})
    out = []

    def add(name: str, value: Any, ok: bool, target: str) -> None:
        out.append({"name": name, "value": value, "pass": bool(ok), "target": target})

    for key, label in (("jump_mid_s", "jump to the middle"), ("jump_end_s", "jump to the end")):
        v, peer = tb.get(key), pre.get(key)
        ok = v is not None and peer is not None and v <= peer and v <= JUMP_MAX_S
        add(f"{label}, median", v, ok and not tb.get("jumps_failed"), "<= Perspective and 30 ms")
    v = tb.get("jump_bytes")
    add("bytes received per jump, median", v, v is not None and v <= JUMP_MAX_BYTES, "<= 5 KB")
    v = tb.get("repaint_p95_s")
    add("republish -> repaint, p95", v, v is not None and v <= REPAINT_P95_MAX_S, "<= 100 ms")
    v = tb.get("first_paint_s")
    add("first paint, median", v, v is not None and v <= FIRST_PAINT_MAX_S, "<= 250 ms")
    v = tb.get("display_bytes")
    add("bytes received at display", v, v is not None and v <= DISPLAY_MAX_BYTES, "<= 150 KB")
    v = tb.get("rss_delta")
    add("kernel RSS after display", v, v is not None and v <= KERNEL_MAX_BYTES, "<= +30 MB")
    return out


def _kb(n: float | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1e3:,.1f} KB" if abs(n) < 1e6 else f"{n / 1e6:,.1f} MB"


def _mb(n: float | None) -> str:
    return "-" if n is None else f"{n / 2**20:+,.1f} MB"


def _num(n: float | None) -> str:
    return "-" if n is None else f"{n:g}"


def report_peers(peers: dict[str, Any], fmt: Callable[[float | None], str]) -> str:
    s, setup = peers["summary"], peers["setup"]
    rounds = len(peers["rounds"])
    orders = ", ".join("/".join(r["order"]) for r in peers["rounds"])
    lines = [
        "",
        f"  peers: ticketbooth vs Perspective {peers['perspective']}, {rounds} interleaved rounds "
        f"in one JupyterLab and kernel, a freshly loaded page per measurement (orders: {orders})",
        f"  Perspective pre-ingest (not timed): perspective.table(arrow, index='id') took "
        f"{setup['preingest_s']:.2f} s, kernel RSS {_mb(setup['preingest_rss_delta'])}",
    ]
    cols = [c for c in ("tb", "pre", "default") if c in s]
    rows: list[tuple[str, str, Callable[[Any], str], bool]] = [
        ("first paint (keydown -> row 0 shown)", "first_paint_s", fmt, True),
        ("  bytes received, keydown -> row 0", "display_bytes_to_paint", _kb, True),
        ("  bytes received at display (to +1.5 s)", "display_bytes", _kb, True),
        ("  kernel RSS delta after display", "rss_delta", _mb, True),
        ("  kernel RssAnon delta after display", "rss_anon_delta", _mb, True),
        ("jump to the middle, median", "jump_mid_s", fmt, True),
        ("jump to the end, median", "jump_end_s", fmt, True),
        ("jump to random far rows, median", "jump_random_s", fmt, True),
        ("all jumps, p50", "jump_p50_s", fmt, True),
        ("all jumps, p95", "jump_p95_s", fmt, True),
        ("  bytes received per jump (to +0.8 s)", "jump_bytes", _kb, True),
        ("  bytes received per jump (to done)", "jump_bytes_to_done", _kb, True),
        ("  kernel msgs per jump, both ways (to +0.8 s)", "jump_msgs", _num, True),
        ("  kernel msgs per jump, both ways (to done)", "jump_msgs_to_done", _num, True),
        ("republish/update -> repaint, p50", "repaint_p50_s", fmt, True),
        ("republish/update -> repaint, p95", "repaint_p95_s", fmt, True),
        ("  of which the source call (publish / update)", "repaint_source_call_s", fmt, False),
        ("  call returned -> repaint, p50", "repaint_after_call_s", fmt, True),
        ("  call returned -> repaint, p95", "repaint_after_call_p95_s", fmt, True),
        ("  bytes received per repaint (to +0.8 s)", "repaint_bytes", _kb, True),
    ]
    head = f"  {'median over rounds':<46}" + "".join(f"{NAMES[c]:>26}" for c in cols)
    lines += ["", head + f"{'tb / pre':>10}"]
    for label, key, f, ratio in rows:
        vals = [s[c].get(key) for c in cols]
        if all(v is None for v in vals):
            continue
        line = f"  {label:<46}" + "".join(f"{f(v):>26}" for v in vals)
        tb, pre = s.get("tb", {}).get(key), s.get("pre", {}).get(key)
        if ratio and tb is not None and pre:
            line += f"{tb / pre:>9.2f}x"
        lines.append(line)
    for c in cols:
        each = ", ".join(fmt(v) for v in s[c]["first_paint_each_s"])
        lines.append(f"  first paint per round, {NAMES[c]}: {each}")
        if s[c].get("jumps_failed") or s[c].get("repaint_failed"):
            lines.append(
                f"  ! {NAMES[c]}: {s[c].get('jumps_failed', 0)} jumps and "
                f"{s[c].get('repaint_failed', 0)} repaints not done"
            )
    lines.append(f"  screenshots of round 1's first paints: {', '.join(peers['screenshots'])}")
    src = peers.get("republish_from", "memory")
    what = "only the changed batch is written" if src == "fetched" else "the table is written whole"
    lines.append(f"  ticketbooth republishes a changed copy of the {src} table ({what})")
    lines += ["", "  targets (ticketbooth, this run):"]
    for t in s["targets"]:
        v = t["value"]
        shown = _kb(v) if "bytes" in t["name"] else _mb(v) if "RSS" in t["name"] else fmt(v)
        lines.append(
            f"  {'PASS' if t['pass'] else 'MISS'}  {t['name']:<40} {shown:>12}  ({t['target']})"
        )
    return "\n".join(lines)


def peers_header(m: dict[str, Any]) -> str:
    """The report's first lines when only the peer run ran (--peers-only)."""
    return "\n".join(
        [
            f"ticketbooth {m['ticketbooth']} widget benchmark, peer run only, {m['date']}",
            f"  table: {m['rows']:,} rows x 4 ({', '.join(m['schema'])}), "
            f"{m['table_nbytes'] / 1e6:,.0f} MB; published in {m['publish_s']:.2f} s",
            f"  python {m['python']}; {m['cpu_count']} CPUs ({m['cpu_model']}), "
            f"RAM {m['mem_total_gib']} GiB, {m['platform']}",
            f"  load average at start {m['loadavg_start'][0]:.2f}, at end "
            f"{m['loadavg_end'][0]:.2f}; checkout {m['git']}",
        ]
    )

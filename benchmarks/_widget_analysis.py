"""bench_widget.py's arithmetic: page timestamps + kernel marks -> splits, and the report.

Page times are ``performance.now()`` milliseconds; kernel marks are ``time.time()`` seconds:
["pre"|"post", t], or [name, start, end, row_start] for TicketView.__init__/_load/_on_request.
A page time t maps to the kernel's clock as (timeOrigin + t) / 1e3 - skew.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

Marks = list[list[Any]]


def _first(marks: Marks, name: str, lo: float, hi: float) -> list[Any] | None:
    return next((m for m in marks if m[0] == name and lo <= m[1] <= hi), None)


def _long_tasks(ws: dict[str, Any], start: float, end: float) -> list[list[float]]:
    """Main-thread tasks over 50 ms overlapping [start, end] (page ms), relative to start."""
    tasks = ws.get("long", [])
    return [[round(t - start, 1), round(d, 1)] for t, d in tasks if t < end and t + d > start]


def _ws_pair(ws: dict[str, list[float]], after: float, before: float) -> tuple[float, float] | None:
    """The first window request sent on the websocket after `after` and the first response
    received after it (page times, ms), if both happened before `before`."""
    sent = next((t for t in ws["sent"] if after <= t <= before), None)
    recv = next((t for t in ws["recv"] if sent is not None and sent <= t <= before), None)
    return None if sent is None or recv is None else (sent, recv)


def _comm_split(
    start_name: str,
    start: float,
    end: float,
    req: list[Any],
    pair: tuple[float, float] | None,
    k: Callable[[float], float],
    end_name: str,
) -> list[tuple[str, float]]:
    """start (page ms) -> ws send -> kernel handler -> ws receive -> end (page ms)."""
    if pair is None:
        return [
            (f"{start_name} -> 1st window request in the kernel", req[1] - k(start)),
            ("window request answered in the kernel", req[2] - req[1]),
            (f"answer sent -> {end_name}", k(end) - req[2]),
        ]
    sent, recv = pair
    return [
        (f"{start_name} -> window request on the websocket", (sent - start) / 1e3),
        ("websocket -> kernel handler starts", req[1] - k(sent)),
        ("window request answered in the kernel", req[2] - req[1]),
        ("kernel handler ends -> response on the websocket", k(recv) - req[2]),
        (f"response on the websocket -> {end_name}", (end - recv) / 1e3),
    ]


def first_paint_split(
    st: dict[str, Any], marks: Marks, ws: dict[str, list[float]], origin_ms: float, skew: float
) -> dict[str, Any]:
    def k(t_ms: float) -> float:
        return (origin_ms + t_ms) / 1e3 - skew

    t0, root, row = k(st["t0"]), k(st["root"]), k(st["row"])
    out: dict[str, Any] = {
        "total_s": (st["row"] - st["t0"]) / 1e3,
        "root_to_row_s": (st["row"] - st["root"]) / 1e3,
        "to_next_frame_s": (st["frame"] - st["t0"]) / 1e3,
        "key_presses": st["keys"],
    }
    pre = _first(marks, "pre", t0 - 0.25, row)
    post = _first(marks, "post", pre[1], row + 5) if pre else None
    if not (pre and post):
        out["split"] = None
        return out
    init = _first(marks, "__init__", pre[1], post[1])
    if init is None:  # an HTML peer
        out["split"] = [
            ("keydown -> kernel starts the cell", pre[1] - t0),
            ("kernel runs the cell (head, to_html)", post[1] - pre[1]),
            ("kernel cell end -> <table> in the DOM", root - post[1]),
            ("<table> in the DOM -> all rows in it", row - root),
        ]
        return out
    load = _first(marks, "_load", init[1], init[2])
    load_s = load[2] - load[1] if load else 0.0
    split: list[tuple[str, float]] = [
        ("keydown -> tb.view() starts in the kernel", init[1] - t0),
        ("tb.view(): Session(), watch, widget init", init[2] - init[1] - load_s),
        ("tb.view(): _load (fetch, TableWindows, traits)", load_s),
    ]
    shown = next((t for t in ws.get("display", []) if st["t0"] <= t <= st["root"]), None)
    if shown is None:
        split.append(("tb.view() returns -> .tb-root in the DOM", root - init[2]))
    else:
        split += [
            ("tb.view() returns -> widget display msg in the page", k(shown) - init[2]),
            ("display msg -> .tb-root (model, ESM, render)", (st["root"] - shown) / 1e3),
        ]
    req = _first(marks, "_on_request", root - 0.25, row + 0.25)
    pair = _ws_pair(ws, st["root"], st["row"])
    any_row = st.get("anyRow")
    if req and pair and any_row is not None and st["root"] <= any_row <= pair[0]:
        split.append((".tb-root -> first grid paint (placeholders)", (any_row - st["root"]) / 1e3))
        split += _comm_split("grid paint", any_row, st["row"], req, pair, k, "first row")
    elif req:
        split += _comm_split(".tb-root", st["root"], st["row"], req, pair, k, "first row")
    if pair is not None and st.get("resizes") is not None:
        during = [t - st["root"] for t in st["resizes"] if t <= pair[0]]
        out["grid_resizes_before_request"] = len(during)
        out["last_resize_before_request_s"] = during[-1] / 1e3 if during else None
    out["kernel_cell_end_s"] = post[1] - t0
    out["long_tasks_ms"] = _long_tasks(ws, st["t0"], st["row"])
    out["split"] = split
    return out


def jump_split(
    st: dict[str, Any], marks: Marks, ws: dict[str, list[float]], origin_ms: float, skew: float
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "expected_row": st["expected"],
        "first_row_seen": st["firstSeen"],
        "rows_visible": st["shown"],
        "expected_row_at_top": st.get("atTop"),
        "row_offset_px": st.get("offset"),
        "expected_offset_px": st.get("expectedOffset"),
        "total_s": None if st["done"] is None else (st["done"] - st["t0"]) / 1e3,
        "split": None,
    }
    if st["done"] is None:
        return out
    t0, done = (origin_ms + st["t0"]) / 1e3 - skew, (origin_ms + st["done"]) / 1e3 - skew
    reqs = [m for m in marks if m[0] == "_on_request" and t0 - 0.01 <= m[1] <= done]
    out["requests_before_done"] = len(reqs)
    out["long_tasks_ms"] = _long_tasks(ws, st["t0"], st["done"])
    if reqs:
        pair = _ws_pair(ws, st["t0"], st["done"])
        out["split"] = _comm_split(
            "scroll set",
            st["t0"],
            st["done"],
            reqs[0],
            pair,
            lambda t: (origin_ms + t) / 1e3 - skew,
            "rows painted",
        )
    elif st.get("http"):
        out["split"] = http_split(st["http"], (st["done"] - st["t0"]) / 1e3)
    out["http"] = st.get("http") or []  # Resource Timing of each window fetched (HTTP_WINDOWS_JS)
    out["http_windows"] = len(out["http"])
    out["http_bytes"] = sum(int(h[3] or 0) for h in out["http"])
    return out


def http_split(entries: list[list[float]], total_s: float) -> list[tuple[str, float]]:
    """A jump the server extension answered: its first window request's Resource Timing
    (ms after the scroll was set) split into the page's, the server's and the paint's parts."""
    start, first_byte, last_byte, _, sent, server_ms = entries[0]
    return [
        ("scroll set -> fetch() of the window (HTTP)", start / 1e3),
        ("fetch() -> request on the wire", (sent - start) / 1e3),
        ("request -> first byte of the answer", (first_byte - sent) / 1e3),
        ("  of which in the server's handler", (server_ms or 0.0) / 1e3),
        ("first -> last byte", (last_byte - first_byte) / 1e3),
        ("last byte -> rows painted", total_s - last_byte / 1e3),
    ]


def message_rows(
    msgs: list[list[Any]], st: dict[str, Any], origin_ms: float, skew: float
) -> list[list[Any]]:
    """Websocket messages during a first paint: direction, page time after the keydown (ms),
    channel, msg_type, bytes, and ms from the sender's header date to the page's send or
    arrival time (kernel clock)."""
    import datetime as _dt

    rows = []
    for direction, t, chan, kind, date, size in msgs:
        if st["t0"] - 5 <= t <= st["row"] + 5:
            lag = None
            if date:
                sent = _dt.datetime.fromisoformat(date.replace("Z", "+00:00")).timestamp()
                lag = round(((origin_ms + t) / 1e3 - skew - sent) * 1e3, 1)
            rows.append([direction, round(t - st["t0"], 1), chan, kind, size, lag])
    return rows


def echo_split(
    echo: dict[str, list[float]], marks: Marks, origin_ms: float, skew: float
) -> dict[str, Any]:
    """Round trips of the echo widget, split at the kernel's receipt of each ping."""
    arrived = [m[1] for m in marks if m[0] == "echo"]
    rtt, up, down = [], [], []
    for i, (sent, recv) in enumerate(zip(echo["sent"], echo["recv"], strict=False)):
        rtt.append((recv - sent) / 1e3)
        if i < len(arrived):
            k_sent = (origin_ms + sent) / 1e3 - skew
            up.append(arrived[i] - k_sent)
            down.append((origin_ms + recv) / 1e3 - skew - arrived[i])
    return {"rtt_s": rtt, "page_to_kernel_s": up, "kernel_to_page_s": down}


def response_path(
    msgs: list[list[Any]],
    trace: list[list[Any]],
    lo: float,
    hi: float,
    origin_ms: float,
    skew: float,
) -> list[float] | None:
    """For the first comm_msg received in page time [lo, hi] (a window response): seconds
    from the kernel building it to the server receiving it, to the server writing it to the
    websocket, to the page's message event."""
    import datetime as _dt

    for direction, t, _chan, kind, date, _size in msgs:
        if direction == "in" and kind == "comm_msg" and lo <= t <= hi and date:
            got = [x[0] for x in trace if x[1] == kind and x[2] == date]
            if len(got) < 2:
                return None
            made = _dt.datetime.fromisoformat(date.replace("Z", "+00:00")).timestamp()
            page = (origin_ms + t) / 1e3 - skew
            return [got[0] - made, got[1] - got[0], page - got[1]]
    return None


def message_path(
    msgs: list[list[Any]], trace: list[list[Any]], origin_ms: float, skew: float
) -> dict[str, dict[str, float]]:
    """Per msg_type, medians over the run (ms): kernel builds the message (header date) ->
    the server receives it -> the server writes it to the websocket -> the page's event."""
    import datetime as _dt

    recv = {(m, d): t for t, m, d, what in trace if what == "recv"}
    wrote = {(m, d): t for t, m, d, what in trace if what == "write"}
    paths: dict[str, list[tuple[float, float, float]]] = {}
    for direction, t, _chan, kind, date, _size in msgs:
        key = (kind, date)
        if direction != "in" or key not in recv or key not in wrote:
            continue
        made = _dt.datetime.fromisoformat(date.replace("Z", "+00:00")).timestamp()
        page = (origin_ms + t) / 1e3 - skew
        step = (recv[key] - made, wrote[key] - recv[key], page - wrote[key])
        paths.setdefault(kind, []).append(step)
    med = statistics.median
    return {
        kind: {
            "n": len(v),
            "kernel_to_server_ms": med(x[0] for x in v) * 1e3,
            "server_recv_to_write_ms": med(x[1] for x in v) * 1e3,
            "server_write_to_page_ms": med(x[2] for x in v) * 1e3,
        }
        for kind, v in sorted(paths.items())
    }


def _median_split(items: list[dict[str, Any]]) -> list[tuple[str, float]] | None:
    splits = [x["split"] for x in items if x.get("split")]
    if not splits or any([n for n, _ in s] != [n for n, _ in splits[0]] for s in splits):
        return splits[0] if splits else None
    return [
        (name, statistics.median(s[i][1] for s in splits)) for i, (name, _) in enumerate(splits[0])
    ]


def report(data: dict[str, Any], fmt: Callable[[float | None], str]) -> str:
    m, s, paints = data["meta"], data["summary"], data["paints"]
    lines = [
        f"ticketbooth {m['ticketbooth']} widget benchmark (JupyterLab + chromium), {m['date']}",
        f"  table: {m['rows']:,} rows x 4 ({', '.join(m['schema'])}), "
        f"{m['table_nbytes'] / 1e6:,.0f} MB; published in {m['publish_s']:.2f} s",
        f"  python {m['python']}; {m['cpu_count']} CPUs ({m['cpu_model']}), "
        f"RAM {m['mem_total_gib']} GiB, {m['platform']}",
        f"  load average at start {m['loadavg_start'][0]:.2f}, at end {m['loadavg_end'][0]:.2f};"
        f" checkout {m['git']}",
        *(
            [f"  waited {w['waited_s']:.0f} s for the load average (below target: {w['below']})"]
            if (w := m.get("waited_for_load"))
            else []
        ),
        *(
            ["  EXPERIMENT: Jupyter Server's kernel websockets with TCP_NODELAY (not the default)"]
            if m.get("server_nodelay")
            else []
        ),
        f"  browser clock - kernel clock: {data['clock']['skew_s'] * 1e3:+.1f} ms (probe rtt "
        f"{data['clock']['probe_rtt_s'] * 1e3:.1f} ms), after: "
        f"{data['clock_after']['skew_s'] * 1e3:+.1f} ms",
        f"  kernel: `from ticketbooth import _widget` took {m['widget_module_import_s'] * 1e3:.0f}"
        " ms in the setup cell (a fresh kernel's first tb.view pays it; not counted below)",
        "",
        "  first paint: keydown (Shift+Enter) -> first non-placeholder row / full HTML table",
        f"  {'cell':<30} {'to DOM':>10} {'next frame':>11} {'root->row':>10}",
    ]
    names = {"view": 'tb.view("big")', "html1k": "df.head(1000)", "html10k": "df.head(10_000)"}
    for key, items in paints.items():
        for i, p in enumerate(items):
            tag = " (cold)" if key == "view" and i == 0 else ""
            lines.append(
                f"  {names[key] + f' #{i + 1}' + tag:<30} {fmt(p['total_s']):>10} "
                f"{fmt(p['to_next_frame_s']):>11} {fmt(p['root_to_row_s']):>10}"
                + (f"  ({p['key_presses']} key presses)" if p["key_presses"] != 1 else "")
            )
    views = paints["view"]
    busy = [sum(d for _, d in v.get("long_tasks_ms") or []) for v in views]
    lines.append(
        f"  main-thread long tasks (> 50 ms) between keydown and first row, per view: "
        f"{', '.join(f'{b:.0f}' for b in busy)} ms"
    )
    for title, items in (("cold view", views[:1]), ("warm views, median", views[1:])):
        split = _median_split(items)
        if split:
            lines += ["", f"  where the first paint goes ({title}):"]
            lines += [f"    {name:<50} {fmt(v):>10}" for name, v in split]
    for key in ("html1k", "html10k"):
        split = _median_split(paints[key])
        if split:
            lines += ["", f"  where the time goes ({names[key]}, median):"]
            lines += [f"    {name:<50} {fmt(v):>10}" for name, v in split]
    lines += ["", "  scroll jumps (expected top row, time to rows painted)"]
    for j in data["jumps"]:
        lines.append(
            f"    row {j['expected_row']:>12,}  {fmt(j['total_s']):>10}"
            + ("" if j["total_s"] is not None else f"  NOT DONE (shows {j['first_row_seen']})")
            + (
                f"  (row at {j['row_offset_px']:.1f} px, the mapping says "
                f"{j['expected_offset_px']:.1f} px)"
                if j.get("expected_row_at_top") is False
                else ""
            )
        )
    js = s["jump_s"]
    lines.append(
        f"  jumps: median {fmt(js['p50'])}, p95 {fmt(js['p95'])}, max {fmt(js['max'])} "
        f"({js['n']} done, {s['jumps_failed']} not done, "
        f"{s['jumps_expected_row_not_at_top']} with the row off its place)"
    )
    split = _median_split(data["jumps"])
    if split:
        lines += ["  where a jump goes (median):"]
        lines += [f"    {name:<50} {fmt(v):>10}" for name, v in split]
    per_jump = [sum(d for _, d in j.get("long_tasks_ms") or []) for j in data["jumps"]]
    first_tasks = [
        next((d for t, d in j.get("long_tasks_ms") or [] if t < 20), 0.0) for j in data["jumps"]
    ]
    lines.append(
        "  main thread: a long task (> 50 ms) starts within 20 ms of the scroll in "
        f"{sum(1 for d in first_tasks if d)} of {len(first_tasks)} jumps, median "
        f"{statistics.median(first_tasks):.0f} ms; long tasks per jump in all, median "
        f"{statistics.median(per_jump):.0f} ms"
    )
    if data.get("echo") and data["echo"]["rtt_s"]:
        e = data["echo"]
        med = statistics.median
        lines += [
            "",
            f"  peer: a minimal anywidget's ping -> pong (8 KB buffer) round trip, "
            f"{len(e['rtt_s'])} times: median {fmt(med(e['rtt_s']))}, max {fmt(max(e['rtt_s']))};"
            f" page -> kernel {fmt(med(e['page_to_kernel_s']))}, kernel -> page "
            f"{fmt(med(e['kernel_to_page_s']))} (medians)",
        ]
    for title, key in (("warm views' first window", "view_responses"), ("jumps", "jump_responses")):
        paths = [x for x in data.get(key) or [] if x]
        if paths:
            med = [statistics.median(x[i] for x in paths) for i in range(3)]
            lines.append(
                f"  window response, {title} (median of {len(paths)}): kernel -> server "
                f"{fmt(med[0])}, server receipt -> websocket write {fmt(med[1])}, "
                f"websocket write -> page event {fmt(med[2])}"
            )
    if data.get("message_path"):
        lines += [
            "",
            "  kernel messages, medians over the run (ms): kernel builds it -> server receives it"
            " -> server writes it to the websocket -> the page's message event",
        ]
        for kind, p in data["message_path"].items():
            lines.append(
                f"    {kind:<22} n={p['n']:>4}  {p['kernel_to_server_ms']:7.1f} "
                f"{p['server_recv_to_write_ms']:7.1f} {p['server_write_to_page_ms']:7.1f}"
            )
    if data.get("messages"):
        lines += ["", "  websocket messages during the last first paint (header date -> page):"]
        for d, t, chan, kind, size, lag in data["messages"][-1]:
            lag_text = "" if lag is None else f"{lag:8.1f} ms after the sender's header date"
            lines.append(f"    {d:<3} +{t:7.1f} ms  {chan:<8} {kind:<24} {size:>7} B {lag_text}")
    if s.get("ratios"):
        lines += [""] + [f"  {k} = {v:.2f}x" for k, v in s["ratios"].items()]
    lines += ["", "  targets:"]
    for t in s["targets"]:
        lines.append(
            f"  {'PASS' if t['pass'] else 'MISS'}  {t['name']:<45} {fmt(t['value_s']):>10}"
            f"  (target <= {t['target_s'] * 1e3:.0f} ms)"
        )
    if data["outside"]:
        lines.append(f"  ! requests that tried to leave the machine: {data['outside'][:5]}")
    if data["page_errors"]:
        lines.append(f"  ! page errors: {data['page_errors'][:5]}")
    lines.append(f"  screenshot: {data['screenshot']}")
    return "\n".join(lines)

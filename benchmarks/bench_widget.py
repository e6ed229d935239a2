#!/usr/bin/env python
"""Widget benchmark in a real JupyterLab: first paint of ``tb.view("big")`` and scroll jumps.

    python benchmarks/bench_widget.py [--rows N] [--views V] [--jumps J] [--html-repeat H]
                                      [--no-html10k] [--screenshot PATH] [--json PATH]
                                      [--rounds R] [--peer-jumps J] [--republish K]
                                      [--peers-only | --no-perspective]

Starts its own broker process in a temporary JUPYTER_RUNTIME_DIR, publishes an N-row x 4-column
table (int64, float64, string, timestamp; default 10,000,000 rows) from this process to "big",
starts ``jupyter lab --allow-root`` (its kernels find the broker through the runtime dir) and
drives Debian's chromium with Playwright, as tests/e2e does. Notebook B runs:

  * setup (not timed): a probe that records kernel timestamps (benchmarks/_widget_probe.py),
    then ``df = tb.Session().fetch_table("big").to_pandas()`` for the peers;
  * V cells ``tb.view("big")``. First paint = from the Shift+Enter keydown that requests the
    cell's execution to the first non-placeholder grid row in the DOM, measured in the page
    (performance.now() in a MutationObserver); also from the first .tb-root (the widget's view
    exists) to that row. The first view is cold (first widget in the page, first Session of
    the kernel); the others are warm;
  * J scroll jumps on the last view: scrollTop set to a random far position, timed in the page
    until the top visible row's gutter shows the expected row number and no visible row is a
    placeholder;
  * peers: H cells ``df.head(1000)`` (pandas HTML; display.max_rows raised so all rows show)
    and 2 cells ``df.head(10_000)``: from keydown to the HTML table with all rows in the DOM.

Kernel timestamps split each first paint and jump into kernel, comm and front-end parts.
Targets: first paint <= 300 ms, scroll jump <= 50 ms.

Then the peer run (_widget_peers.py; needs perspective-python 5.x, the `bench` extra, unless
--no-perspective): in the same JupyterLab, R interleaved rounds of tb.view("big") against
Perspective's PerspectiveWidget (pre-ingested table and default ingest): first paint, bytes
received and kernel RSS at display, jumps to the middle, the end and random rows, and
republish/update -> repaint, with the targets of the widget issue (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the _*.py helpers next to this file
from _broker import broker_in_temp_runtime, explicit_session_kwargs
from _lab import (
    SERVER_NODELAY,
    chromium,
    clock_skew,
    code_cell,
    jupyter_lab,
    local_only,
    open_notebook,
    run_cell,
    server_trace,
    start_cell,
    wait_cell_done,
)
from _perspective import KERNEL_WS_JS, require_perspective
from _util import add_output_args, fmt_ms, log, machine_meta, summary, wait_for_load, write_json
from _widget_analysis import (
    echo_split,
    first_paint_split,
    jump_split,
    message_path,
    message_rows,
    report,
    response_path,
)
from _widget_peers import RESOURCE_BUFFER_JS, peer_cells, run_peers
from _widget_peers_report import peers_header, report_peers, summarize_peers
from _widget_probe import (
    ECHO_CELL,
    FIRST_PAINT_JS,
    JUMP_JS,
    KERNEL_PEER_SETUP,
    KERNEL_SETUP,
    MSG_LOG_JS,
    WS_PROBE_JS,
    kernel_dump,
)

ROOT = Path(__file__).resolve().parents[1]
TRACE_CATS = ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute"]
FIRST_PAINT_MAX_S = 0.300
JUMP_MAX_S = 0.050


def big_table(rows: int) -> pa.Table:
    """rows x 4: id int64, value float64, label string ("item-<id>"), when timestamp[us]."""
    ids = np.arange(rows, dtype=np.int64)
    start = np.datetime64("2024-01-01T00:00:00", "us").astype(np.int64)
    return pa.table(
        {
            "id": pa.array(ids),
            "value": pa.array(np.random.default_rng(3).random(rows) * 1000.0),
            "label": pc.binary_join_element_wise("item", pc.cast(pa.array(ids), pa.string()), "-"),
            "when": pa.array(start + ids * 1_000_000, pa.timestamp("us")),
        }
    )


def first_paint(page: Any, k: int, arg: dict[str, Any], timeout_ms: int) -> dict[str, Any]:
    cell = code_cell(page, k)
    cell.scroll_into_view_if_needed()
    cell.evaluate(FIRST_PAINT_JS, arg)
    start_cell(page, k)
    page.wait_for_function(
        "() => window.__tbPaint && window.__tbPaint.frame !== null", timeout=timeout_ms
    )
    st: dict[str, Any] = page.evaluate("() => window.__tbPaint")
    wait_cell_done(page, k)
    return st


# windows the page fetched from the server extension since `t0` (the jump's start): when each
# request started, its first byte and its last byte arrived, its size, when it was sent, ms
# after t0, and the server's own time for it (Resource Timing, Server-Timing)
HTTP_WINDOWS_JS = """(t0) => performance.getEntriesByType('resource')
  .filter((e) => e.name.includes('/ticketbooth/api/window') && e.startTime >= t0)
  .map((e) => [e.startTime - t0, e.responseStart - t0, e.responseEnd - t0, e.transferSize,
    e.requestStart - t0, (e.serverTiming.find((t) => t.name === 'window') || {}).duration])"""


def scroll_jumps(page: Any, k: int, rows: int, jumps: int, seed: int) -> list[dict[str, Any]]:
    scroller = code_cell(page, k).locator(".tb-scroller").first
    scroller.scroll_into_view_if_needed()
    time.sleep(1.0)
    rng = random.Random(seed)
    out = []
    for j in range(jumps):
        frac = rng.uniform(0.02, 0.98)
        scroller.evaluate(JUMP_JS, {"frac": frac, "rows": rows})
        try:
            page.wait_for_function("() => window.__tbJump.done !== null", timeout=15_000)
        except Exception:
            log(f"jump {j}: not done after 15 s: {page.evaluate('() => window.__tbJump')}")
        st: dict[str, Any] = page.evaluate("() => window.__tbJump")
        st["frac"] = frac
        st["http"] = page.evaluate(HTTP_WINDOWS_JS, st["t0"])
        out.append(st)
        time.sleep(0.8)  # prefetches land, the kernel is idle again
    return out


def comm_round_trips(page: Any, k: int, n: int) -> dict[str, list[float]]:
    """Display the echo widget (cell k) and time n ping -> pong round trips in the page."""
    code_cell(page, k).scroll_into_view_if_needed()
    run_cell(page, k, 60_000)
    code_cell(page, k).locator(".tb-echo").first.wait_for(timeout=30_000)
    time.sleep(1.0)
    for i in range(n):
        page.evaluate("() => window.__echoSend()")
        page.wait_for_function(f"() => window.__echo.recv.length > {i}", timeout=10_000)
        time.sleep(0.3)
    return dict(page.evaluate("() => window.__echo"))


def bench(args: argparse.Namespace) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="ticketbooth-bench-widget-"))
    try:
        return _bench(args, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _bench(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    import ticketbooth as tb

    meta = machine_meta(paths=("python", "js"))
    meta.update(
        ticketbooth=tb.__version__,
        rows=args.rows,
        views=args.views,
        jumps=args.jumps,
        loadavg_start=os.getloadavg(),
        server_nodelay=args.server_nodelay,
    )
    data: dict[str, Any] = {"meta": meta}
    peers = not args.no_perspective
    with broker_in_temp_runtime() as broker:
        pub = tb.Session(name="bench-widget-publisher", **explicit_session_kwargs(broker))
        log(f"building and publishing {args.rows:,} rows")
        table = big_table(args.rows)
        meta["table_nbytes"] = table.nbytes
        meta["schema"] = [f"{f.name}: {f.type}" for f in table.schema]
        t0 = time.perf_counter()
        pub.publish_table(table, "big")
        meta["publish_s"] = time.perf_counter() - t0
        if not peers:
            del table  # the peer run republishes changed copies of it
        env = dict(os.environ)  # JUPYTER_RUNTIME_DIR is ours; name the broker if a URL is set
        env.update(
            {"TICKETBOOTH_" + k.upper(): v for k, v in explicit_session_kwargs(broker).items()}
        )
        config = SERVER_NODELAY if args.server_nodelay else ""
        trace_path = base / "server-trace.jsonl"
        if args.trace_messages:
            config += server_trace(str(trace_path))
        with jupyter_lab(base / "lab", env, config) as lab, chromium() as browser:
            outside: list[str] = []
            errors: list[str] = []

            def new_context(*scripts: str) -> Any:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                local_only(context, outside)
                for js in scripts:
                    context.add_init_script(js)
                context.on("weberror", lambda e: errors.append(f"pageerror: {e.error}"))
                return context

            raw = None
            if not args.peers_only:
                probes = [
                    WS_PROBE_JS,
                    RESOURCE_BUFFER_JS,
                    *([MSG_LOG_JS] if args.trace_messages else []),
                ]
                context = new_context(*probes)
                raw = _classic_page(lab, browser, context, args, base)
                context.close()
            if peers:
                if raw is not None:
                    shutdown_kernels(lab)  # frees notebook B's kernel (its 10M-row DataFrame)
                # a fresh page: nothing of B's run in it
                context = new_context(KERNEL_WS_JS, RESOURCE_BUFFER_JS)
                lab.write_notebook("P.ipynb", *peer_cells(args.rounds))
                # the table the republishes change: the fetched one (a notebook that edits a
                # shared table; only the changed batch is written) or the in-memory original
                # (the whole table is written again)
                held = pub.fetch_table("big") if args.republish_from == "fetched" else None
                source = table if held is None else held.to_arrow()
                data["peers"] = run_peers(context, lab, args, pub, source)
                data["peers"]["republish_from"] = args.republish_from
                data["peers"]["perspective"] = args.perspective_version
                data["peers"]["summary"] = summarize_peers(data["peers"])
                context.close()
        pub.close()
    meta["loadavg_end"] = os.getloadavg()
    data.update(outside=outside, page_errors=errors[:20])
    if raw is not None:
        _classic_results(data, raw, args, trace_path)
    return data


def shutdown_kernels(lab: Any) -> None:
    """Shut down every kernel of the lab server (its REST API)."""
    import urllib.request

    url = f"{lab.url}/api/kernels?token={lab.token}"
    with urllib.request.urlopen(url, timeout=30) as r:
        kernels = json.load(r)
    for k in kernels:
        req = urllib.request.Request(
            f"{lab.url}/api/kernels/{k['id']}?token={lab.token}", method="DELETE"
        )
        urllib.request.urlopen(req, timeout=30).close()
    time.sleep(2.0)


def _classic_page(
    lab: Any, browser: Any, context: Any, args: argparse.Namespace, base: Path
) -> dict[str, Any]:
    """Notebook B: the first paints, jumps and the pandas / echo peers (raw page records)."""
    marks_path = base / "kernel-marks.json"
    views = list(range(2, 2 + args.views))
    html1k = list(range(views[-1] + 1, views[-1] + 1 + args.html_repeat))
    html10k = [] if args.no_html10k else [html1k[-1] + 1, html1k[-1] + 2]
    cells = [KERNEL_SETUP, KERNEL_PEER_SETUP]
    cells += ['tb.view("big")'] * len(views)
    cells += ["df.head(1000)"] * len(html1k) + ["df.head(10_000)"] * len(html10k)
    echo = len(cells)
    cells.append(ECHO_CELL)
    cells.append(kernel_dump(str(marks_path)))
    lab.write_notebook("B.ipynb", *cells)
    page = open_notebook(context, lab, "B.ipynb")
    raw: dict[str, Any] = {"clock": clock_skew(page)}
    log("setup cells (probe, df = ...to_pandas())")
    run_cell(page, 0, 120_000)
    run_cell(page, 1, 600_000)
    time.sleep(2.0)
    paints: dict[str, list[dict[str, Any]]] = {"view": [], "html1k": [], "html10k": []}
    for k in views:
        log(f"first paint, view cell {k}")
        paints["view"].append(first_paint(page, k, {"kind": "view"}, 120_000))
        time.sleep(1.5)
    log(f"{args.jumps} scroll jumps")
    if args.chrome_trace:  # diagnostics: a Chrome trace of the jumps (Perfetto UI)
        browser.start_tracing(page=page, path=args.chrome_trace, categories=TRACE_CATS)
    jumps = scroll_jumps(page, views[-1], args.rows, args.jumps, args.seed)
    if args.chrome_trace:
        browser.stop_tracing()
    shot = Path(args.screenshot)
    shot.parent.mkdir(parents=True, exist_ok=True)
    view_root = code_cell(page, views[-1]).locator(".tb-root").first
    view_root.evaluate("el => el.scrollIntoView({block: 'center'})")
    time.sleep(0.5)
    page.screenshot(path=str(shot))
    for key, ks, n in (("html1k", html1k, 1000), ("html10k", html10k, 10_000)):
        for k in ks:
            log(f"peer: {n:,}-row pandas HTML, cell {k}")
            paints[key].append(first_paint(page, k, {"kind": "html", "rows": n}, 300_000))
            time.sleep(1.5)
    log(f"peer: {args.pings} comm round trips of a minimal anywidget")
    echoes = comm_round_trips(page, echo, args.pings)
    run_cell(page, len(cells) - 1, 60_000)
    raw["clock_after"] = clock_skew(page)
    ws = page.evaluate("() => window.__tbWs")
    ws["long"] = page.evaluate("() => window.__tbLong")
    raw.update(
        paints=paints,
        jumps=jumps,
        echoes=echoes,
        ws=ws,
        msgs=page.evaluate("() => window.__tbMsgs || []"),
        shot=shot,
        probe=json.loads(marks_path.read_text()),
    )
    return raw


def _classic_results(
    data: dict[str, Any],
    raw: dict[str, Any],
    args: argparse.Namespace,
    trace_path: Path,
) -> None:
    paints, jumps, ws, msgs, probe = (
        raw["paints"],
        raw["jumps"],
        raw["ws"],
        raw["msgs"],
        raw["probe"],
    )
    data["meta"]["widget_module_import_s"] = probe["widget_import_s"]
    data.update(clock=raw["clock"], clock_after=raw["clock_after"], screenshot=str(raw["shot"]))
    skew, origin = data["clock"]["skew_s"], data["clock"]["origin_ms"]
    data["paints"] = {
        key: [first_paint_split(st, probe["marks"], ws, origin, skew) for st in sts]
        for key, sts in paints.items()
    }
    data["jumps"] = [jump_split(st, probe["marks"], ws, origin, skew) for st in jumps]
    data["echo"] = echo_split(raw["echoes"], probe["marks"], origin, skew)
    if args.trace_messages:
        data["messages"] = [message_rows(msgs, st, origin, skew) for st in paints["view"]]
        trace = [json.loads(x) for x in trace_path.read_text().splitlines() if x.strip()]
        data["message_path"] = message_path(msgs, trace, origin, skew)
        data["view_responses"] = [
            response_path(msgs, trace, st["root"], st["row"], origin, skew)
            for st in paints["view"][1:]
        ]
        data["jump_responses"] = [
            response_path(msgs, trace, st["t0"], st["done"] or st["t0"] + 15e3, origin, skew)
            for st in jumps
        ]
    data["summary"] = summarize(data)


def summarize(data: dict[str, Any]) -> dict[str, Any]:
    views = data["paints"]["view"]
    warm = [v["total_s"] for v in views[1:]] or [views[0]["total_s"]]
    done = [j["total_s"] for j in data["jumps"] if j["total_s"] is not None]
    html1k = [p["total_s"] for p in data["paints"]["html1k"]]
    html10k = [p["total_s"] for p in data["paints"]["html10k"]]
    med = statistics.median
    s: dict[str, Any] = {
        "first_paint_cold_s": views[0]["total_s"],
        "first_paint_warm_s": summary(warm),
        "root_to_row_warm_s": summary([v["root_to_row_s"] for v in views[1:] or views]),
        "jump_s": summary(done),
        "jumps_failed": len(data["jumps"]) - len(done),
        "jumps_expected_row_not_at_top": sum(
            1 for j in data["jumps"] if j.get("expected_row_at_top") is False
        ),
        "html1k_s": summary(html1k) if html1k else None,
        "html10k_s": summary(html10k) if html10k else None,
    }
    targets = [
        ("first paint, first view in the page (cold)", views[0]["total_s"], FIRST_PAINT_MAX_S),
        ("first paint, later views (median)", med(warm), FIRST_PAINT_MAX_S),
        ("scroll jump, median", s["jump_s"]["p50"], JUMP_MAX_S),
        ("scroll jump, p95", s["jump_s"]["p95"], JUMP_MAX_S),
    ]
    s["targets"] = [
        {"name": n, "value_s": v, "target_s": t, "pass": v <= t and not s["jumps_failed"]}
        if "jump" in n
        else {"name": n, "value_s": v, "target_s": t, "pass": v <= t}
        for n, v, t in targets
    ]
    if html1k:
        s["ratios"] = {
            "html head(1000) / view first paint (warm median)": med(html1k) / med(warm),
            "html head(1000) / view first paint (cold)": med(html1k) / views[0]["total_s"],
        }
        if html10k:
            s["ratios"]["html head(10_000) / view first paint (warm median)"] = med(html10k) / med(
                warm
            )
    return s


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=10_000_000, help="table rows (10,000,000)")
    p.add_argument("--views", type=int, default=6, help="tb.view cells; the 1st is cold (6)")
    p.add_argument("--jumps", type=int, default=10, help="scroll jumps (10)")
    p.add_argument("--html-repeat", type=int, default=3, help="df.head(1000) cells (3)")
    p.add_argument("--no-html10k", action="store_true", help="skip the df.head(10_000) peer")
    p.add_argument(
        "--trace-messages",
        action="store_true",
        help="also time every kernel message in the server and the page (diagnostics)",
    )
    p.add_argument(
        "--server-nodelay",
        action="store_true",
        help="experiment: set TCP_NODELAY on Jupyter Server's kernel websockets (not default)",
    )
    p.add_argument(
        "--chrome-trace", metavar="PATH", help="write a Chrome trace of the scroll jumps to PATH"
    )
    p.add_argument("--pings", type=int, default=20, help="echo widget round trips (20)")
    p.add_argument("--seed", type=int, default=2026, help="seed of the jump positions")
    p.add_argument("--screenshot", default=str(ROOT / "artifacts" / "bench-widget.png"))
    peers = p.add_argument_group("peer run: ticketbooth vs Perspective, interleaved")
    peers.add_argument(
        "--no-perspective",
        action="store_true",
        help="skip the Perspective peer run (ticketbooth and the pandas/echo peers only)",
    )
    peers.add_argument(
        "--peers-only", action="store_true", help="only the peer run (skip the views/HTML/echo)"
    )
    peers.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    peers.add_argument(
        "--peer-jumps", type=int, default=6, help="random jumps per system and round (6)"
    )
    peers.add_argument(
        "--republish", type=int, default=5, help="republish -> repaint repeats per round (5)"
    )
    peers.add_argument(
        "--republish-from",
        choices=("fetched", "memory"),
        default="fetched",
        help="republish a changed copy of the fetched table (only the changed batch is "
        "written) or of the in-memory original (written whole) (fetched)",
    )
    add_output_args(p)
    args = p.parse_args(argv)
    if args.rows < 1000 or args.views < 1 or args.jumps < 1 or args.html_repeat < 1:
        p.error("--rows >= 1000, --views, --jumps and --html-repeat >= 1")
    if args.no_perspective and args.peers_only:
        p.error("--peers-only needs the Perspective peer (drop --no-perspective)")
    if args.rounds < 1 or args.peer_jumps < 0 or args.republish < 1:
        p.error("--rounds >= 1, --peer-jumps >= 0, --republish >= 1")
    args.perspective_version = None if args.no_perspective else require_perspective()
    waited = wait_for_load(args.wait_load, 900.0) if args.wait_load > 0 else None
    data = bench(args)
    data["meta"]["waited_for_load"] = waited
    text = report(data, fmt_ms) if "summary" in data else peers_header(data["meta"])
    if "peers" in data:
        text += "\n" + report_peers(data["peers"], fmt_ms)
    print(text)
    write_json(args.json, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

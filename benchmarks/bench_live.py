#!/usr/bin/env python
"""Live-update benchmark: how soon a subscriber hears of a republish, and big-figure costs.

    python benchmarks/bench_live.py [--versions N] [--interval-ms MS] [--poll-ms MS]
                                    [--fig-repeat K] [--points P] [--skip-big-fig]
                                    [--json PATH]

Starts its own broker process in a temporary JUPYTER_RUNTIME_DIR (set for this process and
its children; nothing is unset). The publisher is this process; every subscriber is a child
process (``benchmarks/_live_child.py``) with its own Session. Clocks: ``time.time()`` in both
processes (one host).

Measured:
  * notify latency   this process republishes a small table to "live" N times, ~MS ms apart
                     (the pause is taken after each publish returns), recording ``time.time()``
                     just before each ``publish_table``; a child runs
                     ``for e in s.watch("live")`` and records ``time.time()`` at each event.
                     latency = receipt - publish start, matched by version. p50/p95/max.
  * poll peer        the same N republishes, with a child that polls
                     ``s.info("live").version`` every --poll-ms ms (what a user does without
                     watch): for each version, the first poll that returns it (or a later one).
  * figure           both again with ``publish_figure`` of a small matplotlib figure.
  * big figure       ``publish_figure`` of a 12x8 in, 150 dpi figure (a 200k-point scatter
                     and a line) and ``fetch_object`` of it in a child process; the bundle size;
                     peers: ``savefig`` PNG + SVG alone (the render inside publish), and pickle
                     round trips of the bundle's wire bytes and of the Figure itself.

Target (from the issue): a watching subscriber is notified within 100 ms (PASS/MISS on p95).
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the _*.py helpers next to this file
from _broker import Broker, broker_in_temp_runtime, explicit_session_kwargs
from _util import (
    add_output_args,
    fmt_ms,
    log,
    machine_meta,
    summary,
    timeit,
    wait_for_load,
    write_json,
)

NOTIFY_P95_MAX_S = 0.100  # a watcher hears of a republish within 100 ms
CHILD = str(Path(__file__).resolve().parent / "_live_child.py")


# --------------------------------------------------------------------------------------
# the objects
# --------------------------------------------------------------------------------------
def small_table(i: int) -> pa.Table:
    """100 rows x 3 columns; the values change with `i`."""
    n = 100
    return pa.table(
        {
            "id": pa.array(np.arange(n, dtype=np.int64)),
            "value": pa.array(np.arange(n, dtype=np.float64) * 0.5 + i),
            "label": pa.array([f"v{i}-{k}" for k in range(n)]),
        }
    )


def small_figure() -> tuple[Any, Callable[[int], Any]]:
    """A 4x3 in, 80 dpi line chart, and a function that changes its data for version i."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3), dpi=80)
    x = np.arange(60)
    (line,) = ax.plot(x, np.sin(x / 6))
    ax.set_ylim(-2.5, 2.5)

    def update(i: int) -> Any:
        line.set_ydata(np.sin(x / 6 + i / 10) * (1 + (i % 5) / 5))
        ax.set_title(f"revenue v{i}")
        return fig

    return fig, update


def big_figure(points: int) -> Any:
    """12x8 in at 150 dpi: a scatter of `points` points and a line."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(7)
    fig, ax = plt.subplots(figsize=(12, 8), dpi=150)
    x = rng.standard_normal(points)
    ax.scatter(x, x * 0.6 + rng.standard_normal(points) * 0.8, s=2, alpha=0.3)
    xs = np.linspace(-4, 4, 400)
    ax.plot(xs, 0.6 * xs, color="C3", linewidth=2)
    ax.set_title(f"{points:,} points")
    return fig


# --------------------------------------------------------------------------------------
# a subscriber child
# --------------------------------------------------------------------------------------
def start_child(broker: Broker, **cfg: Any) -> subprocess.Popen[str]:
    kw = explicit_session_kwargs(broker)
    cfg = {"url": kw.get("url"), "token": kw.get("token"), **cfg}
    return subprocess.Popen(
        [sys.executable, CHILD, json.dumps(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def child_lines(proc: subprocess.Popen[str], timeout: float) -> list[dict[str, Any]]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise RuntimeError(f"subscriber timed out:\n{out}\n{err}") from None
    if proc.returncode != 0:
        raise RuntimeError(f"subscriber failed ({proc.returncode}):\n{out}\n{err}")
    return [json.loads(x) for x in out.splitlines() if x.startswith("{")]


# --------------------------------------------------------------------------------------
# notify latency: N republishes against a watching or a polling subscriber
# --------------------------------------------------------------------------------------
def run_live(
    pub: Any,
    broker: Broker,
    ticket: str,
    publish: Callable[[int], None],
    mode: str,
    versions: int,
    interval_s: float,
    poll_s: float,
    render_marks: list[float] | None = None,
) -> dict[str, Any]:
    publish(0)
    first = pub.info(ticket).version
    last = first + versions
    child = start_child(
        broker,
        mode=mode,
        ticket=ticket,
        last=last,
        poll_s=poll_s,
        timeout_s=versions * (interval_s + 1.0) + 60,
    )
    assert child.stdout is not None
    ready = json.loads(child.stdout.readline() or "{}")
    if not ready.get("ready") or ready.get("version") != first:
        child.kill()
        raise RuntimeError(f"subscriber did not start: {ready} {child.stderr.read()}")  # type: ignore[union-attr]
    time.sleep(0.2)  # let the subscriber settle (it is blocked in its first next()/sleep)
    starts: dict[int, float] = {}
    rendered: dict[int, float] = {}  # figures: when to_mimebundle returned inside publish
    durations: list[float] = []
    for i in range(1, versions + 1):
        n_marks = len(render_marks) if render_marks is not None else 0
        t0 = time.time()
        publish(i)
        t1 = time.time()
        starts[first + i] = t0
        durations.append(t1 - t0)
        if render_marks is not None and len(render_marks) > n_marks:
            rendered[first + i] = render_marks[-1]
        time.sleep(interval_s)
    lines = child_lines(child, timeout=120)
    records = lines[-1]["records"]
    final = pub.info(ticket).version
    if final != last:
        raise RuntimeError(f"{ticket}: expected version {last} after the run, found {final}")
    spacing = [b - a for a, b in itertools.pairwise(starts.values())]
    result: dict[str, Any] = {
        "mode": mode,
        "versions": versions,
        "publish_s": summary(durations),
        "start_spacing_s": summary(spacing),
    }
    if mode == "watch":
        got = {r[0]: r for r in records if r[3] in ("published", "updated")}
        missing = [v for v in starts if v not in got]
        if missing:
            raise RuntimeError(f"watch missed versions {missing[:10]} ({len(missing)} in all)")
        lat = [got[v][1] - starts[v] for v in starts]
        result["latency_s"] = summary(lat)
        result["to_broker_event_s"] = summary([got[v][2] - starts[v] for v in starts])
        result["broker_event_to_receipt_s"] = summary([got[v][1] - got[v][2] for v in starts])
        result["after_publish_returned_s"] = summary(
            [got[v][1] - (starts[v] + d) for v, d in zip(starts, durations, strict=True)]
        )
        if len(rendered) == len(starts):
            result["render_s"] = summary([rendered[v] - starts[v] for v in starts])
            result["rendered_to_receipt_s"] = summary([got[v][1] - rendered[v] for v in starts])
    else:  # for each version: the first poll that returned it or a later version
        polls = sorted(records, key=lambda r: r[1])
        lat = []
        for v, t0 in starts.items():
            seen = next((r[1] for r in polls if r[0] >= v and r[1] >= t0), None)
            if seen is None:
                raise RuntimeError(f"the poller never saw version {v}")
            lat.append(seen - t0)
        result["latency_s"] = summary(lat)
        result["changes_seen"] = len(polls)
    return result


# --------------------------------------------------------------------------------------
# big figure: publish, fetch in a child, and the peers
# --------------------------------------------------------------------------------------
def run_big_figure(pub: Any, broker: Broker, points: int, repeat: int) -> dict[str, Any]:
    from ticketbooth._objects import to_mimebundle

    fig = big_figure(points)

    def render() -> None:  # what _objects._from_matplotlib does inside publish_figure
        for fmt in ("png", "svg"):
            fig.savefig(io.BytesIO(), format=fmt, dpi=fig.dpi, bbox_inches="tight")

    log(f"big figure: savefig png+svg x{repeat}")
    render_s = timeit(render, repeat)
    t0 = time.perf_counter()
    wire = to_mimebundle(fig).to_wire()
    bundle_s = time.perf_counter() - t0
    sizes = {m: len(v) for m, v in to_mimebundle(fig).data.items()}

    log(f"big figure: publish_figure x{repeat}")
    publish_s = timeit(lambda: pub.publish_figure(fig, "big-fig"), repeat)

    log("big figure: fetch_object in a child process")
    with tempfile.NamedTemporaryFile(suffix=".tbmb", delete=False) as f:
        f.write(wire)
    try:
        lines = child_lines(
            start_child(broker, mode="fetch", ticket="big-fig", reps=repeat + 1, wire_path=f.name),
            timeout=600,
        )
    finally:
        os.unlink(f.name)
    fetch_s = [x["seconds"] for x in lines if "seconds" in x]
    from_wire_s = [x["from_wire_s"] for x in lines if "from_wire_s" in x]
    if not fetch_s or any(x.get("type", "Figure") != "Figure" for x in lines):
        raise RuntimeError(f"fetch_object failed: {lines}")

    log("big figure: pickle round trips")
    pickle_wire_s = timeit(lambda: pickle.loads(pickle.dumps(wire, protocol=5)), repeat)
    fig_pickle = pickle.dumps(fig, protocol=5)
    pickle_fig_s = timeit(lambda: pickle.loads(pickle.dumps(fig, protocol=5)), repeat)

    med = statistics.median
    return {
        "points": points,
        "figsize_in": list(fig.get_size_inches()),
        "dpi": fig.dpi,
        "bundle_bytes": len(wire),
        "part_bytes": sizes,
        "figure_pickle_bytes": len(fig_pickle),
        "rows": {
            "publish": ('s.publish_figure(fig, "big-fig")', publish_s),
            "render": ("fig.savefig(png) + fig.savefig(svg) alone", render_s),
            "fetch_first": ('fetch_object("big-fig"), child, 1st call', fetch_s[:1]),
            "fetch": ('fetch_object("big-fig"), child, later calls', fetch_s[1:] or fetch_s),
            "from_wire": ("  of which MimeBundle.from_wire (timed apart)", from_wire_s),
            "pickle_wire": ("pickle round trip of the bundle's wire bytes", pickle_wire_s),
            "pickle_fig": ("pickle round trip of the matplotlib Figure", pickle_fig_s),
        },
        "to_mimebundle_once_s": bundle_s,
        "ratios": {
            "publish / render": med(publish_s) / med(render_s),
            "render / fetch": med(render_s) / med(fetch_s[1:] or fetch_s),
            "fetch / pickle of the bundle bytes": med(fetch_s[1:] or fetch_s) / med(pickle_wire_s),
            "pickle of the Figure / fetch": med(pickle_fig_s) / med(fetch_s[1:] or fetch_s),
        },
    }


# --------------------------------------------------------------------------------------
# the run and the report
# --------------------------------------------------------------------------------------
def bench(args: argparse.Namespace) -> dict[str, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import ticketbooth as tb

    meta = machine_meta()
    meta.update(
        ticketbooth=tb.__version__,
        matplotlib=matplotlib.__version__,
        loadavg_start=os.getloadavg(),
        versions=args.versions,
        interval_ms=args.interval_ms,
        poll_ms=args.poll_ms,
    )
    live: dict[str, Any] = {}
    big = None
    with broker_in_temp_runtime() as broker:
        pub = tb.Session(name="bench-live-publisher", **explicit_session_kwargs(broker))
        _fig, update = small_figure()
        kinds: dict[str, Callable[[int], None]] = {
            "table": lambda i: pub.publish_table(small_table(i), "live"),
            "figure": lambda i: pub.publish_figure(update(i), "live-fig"),
        }
        render_marks = instrument_render()
        for kind, publish in kinds.items():
            ticket = "live" if kind == "table" else "live-fig"
            for mode in ("watch", "poll"):
                log(f"{kind}: {args.versions} republishes, subscriber {mode}s")
                live[f"{kind}/{mode}"] = run_live(
                    pub,
                    broker,
                    ticket,
                    publish,
                    mode,
                    args.versions,
                    args.interval_ms / 1e3,
                    args.poll_ms / 1e3,
                    render_marks if kind == "figure" else None,
                )
        if not args.skip_big_fig:
            big = run_big_figure(pub, broker, args.points, args.fig_repeat)
        pub.close()
    meta["loadavg_end"] = os.getloadavg()
    return {"meta": meta, "live": live, "big_figure": big, "targets": targets(live)}


def instrument_render() -> list[float] | None:
    """Record when the figure render inside publish_figure ends (time.time() after
    ``to_mimebundle`` returns, wrapped in this process only), to split a figure's latency
    into rendering and delivery. None if the package no longer calls it by that name."""
    import ticketbooth._session_objects as calls

    render = getattr(calls, "to_mimebundle", None)
    if render is None:
        return None
    marks: list[float] = []

    def timed(*args: Any, **kw: Any) -> Any:
        bundle = render(*args, **kw)
        marks.append(time.time())
        return bundle

    calls.to_mimebundle = timed  # type: ignore[attr-defined]
    return marks


def targets(live: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for kind in ("table", "figure"):
        p95 = live[f"{kind}/watch"]["latency_s"]["p95"]
        out.append(
            {
                "name": f"watch notified of a {kind} republish, p95",
                "value_ms": p95 * 1e3,
                "target": f"<= {NOTIFY_P95_MAX_S * 1e3:.0f} ms",
                "pass": p95 <= NOTIFY_P95_MAX_S,
            }
        )
    return out


def report(data: dict[str, Any]) -> str:
    m, live, big = data["meta"], data["live"], data["big_figure"]
    lines = [
        f"ticketbooth {m['ticketbooth']} live benchmark, {m['date']}",
        f"  python {m['python']}, matplotlib {m['matplotlib']}; {m['cpu_count']} CPUs "
        f"({m['cpu_model']}), RAM {m['mem_total_gib']} GiB, {m['platform']}",
        f"  load average at start {m['loadavg_start'][0]:.2f}, at end {m['loadavg_end'][0]:.2f};"
        f" checkout {m['git']}",
        *(
            [f"  waited {w['waited_s']:.0f} s for the load average (below target: {w['below']})"]
            if (w := m.get("waited_for_load"))
            else []
        ),
        f"  {m['versions']} republishes per row, {m['interval_ms']} ms pause after each; "
        f"poller every {m['poll_ms']} ms",
        "",
        "  notify latency = subscriber's receipt - publisher's time.time() before the call",
        f"  {'object / subscriber':<22} {'p50':>9} {'p95':>9} {'max':>9} {'publish p50':>12}"
        f" {'start gap':>10}",
    ]
    for key, r in live.items():
        s = r["latency_s"]
        lines.append(
            f"  {key:<22} {fmt_ms(s['p50']):>9} {fmt_ms(s['p95']):>9} {fmt_ms(s['max']):>9} "
            f"{fmt_ms(r['publish_s']['p50']):>12} {fmt_ms(r['start_spacing_s']['p50']):>10}"
        )
    lines.append("")
    for kind in ("table", "figure"):
        w, p = live[f"{kind}/watch"], live[f"{kind}/poll"]
        lines.append(
            f"  {kind}: polling / watch = {p['latency_s']['p50'] / w['latency_s']['p50']:.1f}x "
            f"(p50), {p['latency_s']['p95'] / w['latency_s']['p95']:.1f}x (p95); watch split "
            f"(p50): publish start -> broker event {fmt_ms(w['to_broker_event_s']['p50'])}, "
            f"broker event -> receipt {fmt_ms(w['broker_event_to_receipt_s']['p50'])}"
        )
        if "render_s" in w:
            lines.append(
                f"  {kind}: of the watch latency, rendering (savefig PNG+SVG inside publish) "
                f"p50 {fmt_ms(w['render_s']['p50'])}; render end -> receipt p50 "
                f"{fmt_ms(w['rendered_to_receipt_s']['p50'])}, p95 "
                f"{fmt_ms(w['rendered_to_receipt_s']['p95'])}"
            )
    if big:
        lines += [
            "",
            f"  big figure: {big['figsize_in'][0]:g}x{big['figsize_in'][1]:g} in at "
            f"{big['dpi']:g} dpi, scatter of {big['points']:,} points + a line; bundle "
            f"{big['bundle_bytes'] / 1e6:.2f} MB ("
            + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in big["part_bytes"].items())
            + f"); Figure pickle {big['figure_pickle_bytes'] / 1e6:.2f} MB",
            f"  {'measurement':<48} {'median':>10} {'min':>10} {'max':>10} {'runs':>4}",
        ]
        for label, xs in big["rows"].values():
            if xs:
                lines.append(
                    f"  {label:<48} {fmt_ms(statistics.median(xs)):>10} {fmt_ms(min(xs)):>10} "
                    f"{fmt_ms(max(xs)):>10} {len(xs):>4}"
                )
        lines += [f"  {k} = {v:.2f}x" for k, v in big["ratios"].items()]
    lines += ["", "  targets:"]
    for t in data["targets"]:
        lines.append(
            f"  {'PASS' if t['pass'] else 'MISS'}  {t['name']:<45} {t['value_ms']:8.1f} ms"
            f"  (target {t['target']})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--versions", type=int, default=200, help="republishes per row (200)")
    p.add_argument("--interval-ms", type=float, default=20.0, help="pause after each (20)")
    p.add_argument("--poll-ms", type=float, default=100.0, help="the poller's period (100)")
    p.add_argument("--points", type=int, default=200_000, help="big-figure scatter points")
    p.add_argument("--fig-repeat", type=int, default=3, help="runs per big-figure row (3)")
    p.add_argument("--skip-big-fig", action="store_true", help="only the notify latency")
    add_output_args(p)
    args = p.parse_args(argv)
    if args.versions < 2 or args.fig_repeat < 1:
        p.error("--versions must be >= 2 and --fig-repeat >= 1")
    waited = wait_for_load(args.wait_load, 900.0) if args.wait_load > 0 else None
    data = bench(args)
    data["meta"]["waited_for_load"] = waited
    print(report(data))
    write_json(args.json, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

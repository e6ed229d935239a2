#!/usr/bin/env python
"""Deephaven benchmark: importing a table and fetching it from another process with raw
pydeephaven, with ticketbooth on a Deephaven server, and with ticketbooth on its own broker.

    python benchmarks/bench_deephaven.py [--rows N] [--rounds K] [--timeout S] [--heap H]
                                         [--json PATH]

Rows (rows x 4 columns, 32 bytes a row: int64 id, float64 price, int64 ts, float64 qty):
  (a)  raw pydeephaven: ``Session(host, port).import_table(table)``, ``publish_table`` to a
       ``SharedTicket.random_ticket()``; another process ``fetch_table(shared).to_arrow()``.
       The table is given already in batches of at most 524,288 rows (16 MiB, the message
       size ticketbooth sends, so both send the same messages): given one 320 MB
       record batch, pydeephaven's import appears to succeed and the next fetch hangs
  (b)  ticketbooth on Deephaven: ``Session(url="deephaven://127.0.0.1:PORT")``,
       ``import_table`` (one record batch: ticketbooth chunks it itself), ``publish``;
       another process ``fetch_table(shared).to_arrow()``. "unavailable: ..." when this
       checkout's Session does not take the URL yet
  (c)  ticketbooth on its broker (``ticketbooth serve --port 0``), same host: shared memory
  (c') the same with ``force_remote=True`` on both sides: gRPC/Flight over loopback TCP

Processes: one ``deephaven server`` (tests/deephaven_server.py, anonymous, --heap) and one
broker (a temporary JUPYTER_RUNTIME_DIR); per path a long-lived publisher process that builds
the table and opens its session once, and a fresh fetching process per run
(_deephaven_rounds.py). Every step has a timeout (--timeout): a publisher over it is killed
(and started again next round), a fetcher too. Exports and shared tickets are released after
every run, so the servers' memory does not grow.

The runs are interleaved: K rounds, each running every path once (the order rotates). Each
figure is the median of its runs. GB/s is ``table.nbytes / seconds`` (1 GB = 1e9 bytes).
The target: (b) within 10% of (a), i.e. its median time at most 1.10x that of (a), for the
import and for the fetch.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the _*.py helpers next to this file
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # tests.deephaven_server
from _broker import broker_in_temp_runtime
from _deephaven_rounds import Publisher
from _tables_procs import run_child
from _util import add_output_args, fmt_s, log, machine_meta, summary, write_json

PATHS = {
    "dh": "(a)  raw pydeephaven (512K-row batches)",
    "tb_dh": "(b)  ticketbooth on Deephaven",
    "tb": "(c)  ticketbooth broker, shared memory",
    "tb_remote": "(c') ticketbooth broker, force_remote",
}
TARGET = 1.10


def bench(rows: int, rounds: int, timeout: float, heap: str) -> dict[str, Any]:
    from tests.deephaven_server import DeephavenServer

    t_start = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="ticketbooth-bench-dh-"))
    res: dict[str, dict[str, Any]] = {
        k: {"label": v, "import_s": [], "publish_s": [], "fetch_s": [], "errors": []}
        for k, v in PATHS.items()
    }
    pubs: dict[str, Publisher] = {}
    nbytes = rows * 32
    stack = ExitStack()
    try:
        log(f"starting deephaven-server (-Xmx{heap}) and a ticketbooth broker")
        dh = stack.enter_context(DeephavenServer(heap=heap))
        broker = stack.enter_context(broker_in_temp_runtime("--port", "0"))
        where = {
            "dh": {"url": dh.url},
            "tb_dh": {"url": dh.url},
            "tb": {"url": broker.url, "token": broker.token},
            "tb_remote": {"url": broker.tcp_url, "token": broker.token, "remote": True},
        }
        base = {"rows": rows, "timeout": timeout}
        for r in range(rounds):
            keys = list(PATHS)[r % len(PATHS) :] + list(PATHS)[: r % len(PATHS)]
            for key in keys:
                out = res[key]
                if "unavailable" in out:
                    continue
                if key not in pubs:
                    log(f"starting the publisher of {key}")
                    cfg = {"role": "publisher", "path": key, **base, **where[key]}
                    try:
                        pubs[key] = Publisher(cfg, timeout, work / f"{key}.log")
                    except Exception as exc:
                        out["unavailable"] = str(exc)
                        continue
                    out["ready"] = pubs[key].ready
                    nbytes = pubs[key].ready["nbytes"]
                log(f"round {r + 1}/{rounds}: {key}")
                one_run(key, pubs, out, {"role": "fetch", "path": key, **base, **where[key]})
    finally:
        for p in pubs.values():
            p.stop()
        stack.close()
        shutil.rmtree(work, ignore_errors=True)
    for out in res.values():
        for k in ("import_s", "publish_s", "fetch_s"):
            out[k + "_summary"] = summary(out[k]) if out[k] else None
    meta = machine_meta(("python", "benchmarks"))
    meta |= {"rows": rows, "columns": 4, "nbytes": nbytes, "rounds": rounds, "timeout_s": timeout}
    meta |= {"heap": heap, "wall_s": time.monotonic() - t_start}
    meta |= {p: version(p) for p in ("pydeephaven", "deephaven-server", "pyarrow", "ticketbooth")}
    return {"meta": meta, "results": res, "targets": targets(res)}


def one_run(key: str, pubs: dict[str, Publisher], out: dict[str, Any], cfg: dict[str, Any]) -> None:
    """import + publish in the publisher, fetch in a fresh process, release: each timed out."""
    timeout, pub = cfg["timeout"], pubs[key]
    try:
        got = pub.ask("import", timeout)
    except Exception as exc:
        out["errors"].append(f"import: {exc}")
        del pubs[key]
        return
    out["import_s"].append(got["import_s"])
    out["publish_s"].append(got["publish_s"])
    try:
        line = run_child("_deephaven_rounds.py", {**cfg, "ticket": got["ticket"]}, timeout)[-1]
        rows = cfg["rows"]
        if line["rows"] != rows or line["sum"] != rows * (rows - 1) // 2:
            raise RuntimeError(f"wrong data: {line}")
        out["fetch_s"].append(line["seconds"])
        if line.get("release_failed"):
            out["errors"].append(f"fetcher's release (untimed): {line['release_failed']}")
    except Exception as exc:
        out["errors"].append(f"fetch: {type(exc).__name__}: {exc}")
    try:
        pub.ask("release", timeout)
    except Exception as exc:
        out["errors"].append(f"release: {exc}")
        del pubs[key]


def med(out: dict[str, Any], k: str) -> float | None:
    s = out.get(k + "_summary")
    return s["p50"] if s else None


def targets(res: dict[str, Any]) -> dict[str, Any]:
    t: dict[str, Any] = {}
    for k in ("import", "fetch"):
        a, b = med(res["dh"], k + "_s"), med(res["tb_dh"], k + "_s")
        ratio = b / a if a and b else None
        verdict = None if ratio is None else "PASS" if ratio <= TARGET else "MISS"
        t[k] = {"ratio_b_over_a": ratio, "target": TARGET, "verdict": verdict}
    return t


def report(data: dict[str, Any]) -> str:
    m, nb = data["meta"], data["meta"]["nbytes"]
    gbs = lambda s: "-" if s is None else f"{nb / s / 1e9:.2f}"  # noqa: E731
    lines = [
        f"Deephaven benchmark: {m['rows']:,} rows x 4 columns, {nb / 1e6:.0f} MB; median of "
        f"{m['rounds']} round(s); {m['cpu_count']} CPUs, {m['mem_total_gib']} GiB, "
        f"deephaven-server {m['deephaven-server']} -Xmx{m['heap']}, pydeephaven "
        f"{m['pydeephaven']}, pyarrow {m['pyarrow']}, git {m['git']}",
        "",
        f"{'path':40} {'import':>10} {'fetch+to_arrow':>15} {'imp GB/s':>9} {'fetch GB/s':>10}",
    ]
    for out in data["results"].values():
        if "unavailable" in out:
            lines.append(f"{out['label']:40} unavailable: {out['unavailable'][:300]}")
            continue
        imp, fet = med(out, "import_s"), med(out, "fetch_s")
        lines.append(
            f"{out['label']:40} {fmt_s(imp):>10} {fmt_s(fet):>15} {gbs(imp):>9} {gbs(fet):>10}"
        )
        lines += [f"{'':6}error: {e[:300]}" for e in out["errors"]]
    lines.append("")
    for k, t in data["targets"].items():
        r = t["ratio_b_over_a"]
        shown = "n/a ((a) or (b) has no time)" if r is None else f"{r:.2f}x -> {t['verdict']}"
        lines.append(f"{k} time (b)/(a): {shown}  (target: (b) within 10% of (a), <= 1.10x)")
    lines.append(
        "(a) gets the table in batches of <= 524,288 rows (pydeephaven fails on one 320 MB "
        "batch); (b), (c), (c') get it as one record batch."
    )
    return "\n".join(lines)


def add_run_args(p: argparse.ArgumentParser) -> None:
    """--rows, --rounds, --timeout and --heap (also bench_pydeephaven.py's)."""
    p.add_argument("--rows", type=int, default=10_000_000, help="table rows (default 10M)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument(
        "--timeout", type=float, default=300.0, help="seconds for each step (default 300)"
    )
    p.add_argument("--heap", default="8g", help="the Deephaven server's -Xmx (default 8g)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_args(p)
    add_output_args(p, wait_load=False)
    args = p.parse_args(argv)
    if args.rows < 1 or args.rounds < 1 or args.timeout <= 0:
        p.error("--rows, --rounds and --timeout must be positive")
    data = bench(args.rows, args.rounds, args.timeout, args.heap)
    print(report(data))
    write_json(args.json, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

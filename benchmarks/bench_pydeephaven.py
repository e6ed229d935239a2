#!/usr/bin/env python
"""pydeephaven benchmark: the same unmodified pydeephaven code against a real
deephaven-server and against the ticketbooth broker's Deephaven port.

    python benchmarks/bench_pydeephaven.py [--rows N] [--rounds K] [--timeout S] [--heap H]
                                           [--connects C] [--json PATH]

Paths, both plain ``pydeephaven.Session(host, port, auth_type=PSK, auth_token=...)``:
  (a)  a real deephaven-server (tests/deephaven_server.py, pre-shared key, -Xmx --heap)
  (b)  the broker, ``ticketbooth serve --port 0 --deephaven-port 0`` (its token as the key)

Measured per path, as bench_deephaven.py's path (a) (its _deephaven_rounds.py processes):
``import_table`` of an N-row x 4-column table (default 10,000,000 rows; 32 bytes a row),
given to both in batches of at most 524,288 rows, then ``publish_table`` to a
``SharedTicket.random_ticket()``, in a long-lived publisher process; ``fetch_table(shared)
.to_arrow()`` in a fresh process (checked: rows, sum of id); everything released after
every run. And the connect: a fresh process (_pydeephaven_rounds.py) times ``Session()``
C times (default 20), each followed by ``close()``; the first of each process is shown
apart (it also sets up gRPC in that process).

K interleaved rounds (default 3), the order of the paths alternating; every step has a
timeout (--timeout). Before each path's run and each connect process, the benchmark waits
(at most 20 s) until both servers (and, before a run, the publishers) are idle: under 10%
of a core in three 0.5 s windows in a row. With 2 cores, the JVM's collector after a run
of (a), which comes in bursts, would otherwise slow the next run of (b), or back.
Figures are medians (the connect: of all C x K sessions); GB/s is ``table.nbytes /
seconds`` (1 GB = 1e9 bytes). Targets: the broker's throughput at least
2x the real server's for the import and 3x for fetch + to_arrow (time (a)/(b)), and its
median ``Session()`` at most 20 ms.
"""

from __future__ import annotations

import argparse
import json
import os
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
from _broker import start_broker
from _deephaven_rounds import Publisher
from _tables_procs import run_child
from _util import add_output_args, fmt_ms, fmt_s, log, machine_meta, summary, write_json
from bench_deephaven import add_run_args, med, one_run

PATHS = {
    "real": "(a) pydeephaven -> deephaven-server",
    "broker": "(b) pydeephaven -> ticketbooth broker",
}
# (what, the broker's result as a multiple of the real server's, at least / at most)
TARGETS = {"import": 2.0, "fetch": 3.0, "connect_ms": 20.0}
SERIES = ("import_s", "publish_s", "fetch_s", "connect_s", "first_connect_s", "close_s")
QUIET = 0.10  # settled: the processes together use under 10% of a core over SETTLE_WINDOW,
SETTLE_WINDOW, SETTLE_QUIET_WINDOWS, SETTLE_CAP = 0.5, 3, 20.0  # three windows in a row


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid`, all its threads (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pids: list[int]) -> float:
    """Wait (at most SETTLE_CAP s) until the servers and publishers are idle, so that neither
    path runs while the other's processes still work on its last run (the JVM's collector
    comes in bursts, on 2 cores)."""
    t0 = time.monotonic()
    used = sum(map(cpu_seconds, pids))
    quiet = 0
    while time.monotonic() - t0 < SETTLE_CAP and quiet < SETTLE_QUIET_WINDOWS:
        time.sleep(SETTLE_WINDOW)
        now = sum(map(cpu_seconds, pids))
        quiet = quiet + 1 if now - used < QUIET * SETTLE_WINDOW else 0
        used = now
    return time.monotonic() - t0


def deephaven_port(broker: Any) -> int:
    """The broker's Deephaven port: its attribute, else its connection file's key."""
    port = getattr(broker, "deephaven_port", None)
    if port is None:
        port = json.loads(Path(broker.connection_file).read_text()).get("deephaven_port")
    if not port:
        raise RuntimeError(f"the broker names no deephaven_port in {broker.connection_file}")
    return int(port)


def start_servers(
    stack: ExitStack, heap: str, work: Path, res: dict[str, Any], pids: list[int]
) -> dict[str, Any]:
    """A PSK deephaven-server and a broker with a Deephaven port; where each one listens
    (a path whose server did not start is marked unavailable and left out); their process
    ids are added to `pids`."""
    from tests.deephaven_server import DeephavenServer, new_psk

    where: dict[str, Any] = {}
    try:
        log(f"starting deephaven-server (-Xmx{heap}, PSK)")
        psk = new_psk()
        dh = stack.enter_context(DeephavenServer(psk=psk, heap=heap))
        where["real"] = {"url": dh.url, "token": psk}
        pids.append(dh.proc.pid)
    except Exception as exc:
        res["real"]["unavailable"] = f"{type(exc).__name__}: {exc}"
    try:
        log("starting a ticketbooth broker with --deephaven-port 0")
        broker = start_broker(work / "runtime", "--port", "0", "--deephaven-port", "0")
        stack.callback(broker.stop)
        port = deephaven_port(broker)
        where["broker"] = {"url": f"deephaven://127.0.0.1:{port}", "token": broker.token}
        pids.append(broker.proc.pid)
    except Exception as exc:
        log_file = work / "runtime" / "ticketbooth-broker.log"
        tail = (
            log_file.read_text(errors="replace").strip().splitlines()[-2:]
            if log_file.exists()
            else []
        )
        res["broker"]["unavailable"] = " | ".join([f"{type(exc).__name__}: {exc}", *tail])
    return where


def bench(rows: int, rounds: int, timeout: float, heap: str, connects: int) -> dict[str, Any]:
    t_start = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="ticketbooth-bench-pydh-"))
    res: dict[str, dict[str, Any]] = {}
    for key, label in PATHS.items():
        res[key] = {"label": label, "errors": []} | {k: [] for k in SERIES}
    pubs: dict[str, Publisher] = {}
    nbytes = rows * 32
    pids: list[int] = []
    waited: list[float] = []  # settle() before every timed step
    stack = ExitStack()
    try:
        where = start_servers(stack, heap, work, res, pids)
        base = {"rows": rows, "timeout": timeout, "path": "dh"}  # plain pydeephaven for both
        for r in range(rounds):
            keys = [k for k in PATHS if k in where]
            keys = keys[r % 2 :] + keys[: r % 2] if len(keys) == 2 else keys
            for key in keys:
                log(f"round {r + 1}/{rounds}: {key}, import + fetch")
                if key not in pubs and not new_publisher(
                    key, pubs, res[key], base | where[key], work
                ):
                    continue
                nbytes = pubs[key].ready["nbytes"]
                waited.append(settle(pids + [p.proc.pid for p in pubs.values()]))
                one_run(key, pubs, res[key], {"role": "fetch", **base, **where[key]})
            for key in keys:
                log(f"round {r + 1}/{rounds}: {key}, {connects} connects")
                waited.append(settle(pids))
                time_connects(res[key], {**base, **where[key], "connects": connects})
    finally:
        for p in pubs.values():
            p.stop()
        stack.close()
        shutil.rmtree(work, ignore_errors=True)
    for out in res.values():
        for k in SERIES:
            out[k + "_summary"] = summary(out[k]) if out[k] else None
    meta = machine_meta(("python", "benchmarks"))
    meta |= {"rows": rows, "columns": 4, "nbytes": nbytes, "rounds": rounds, "timeout_s": timeout}
    meta |= {"heap": heap, "connects": connects, "wall_s": time.monotonic() - t_start}
    meta |= {"settle_s": summary(waited) if waited else None}
    meta |= {p: version(p) for p in ("pydeephaven", "deephaven-server", "pyarrow", "ticketbooth")}
    return {"meta": meta, "results": res, "targets": targets(res)}


def new_publisher(
    key: str, pubs: dict[str, Any], out: dict[str, Any], cfg: dict[str, Any], work: Path
) -> bool:
    """Start `key`'s publisher (again after a failure); False, with the error, if it fails."""
    try:
        pubs[key] = Publisher({"role": "publisher", **cfg}, cfg["timeout"], work / f"{key}.log")
    except Exception as exc:
        out["errors"].append(f"publisher: {exc}")
        return False
    out["ready"] = pubs[key].ready
    return True


def time_connects(out: dict[str, Any], cfg: dict[str, Any]) -> None:
    try:
        line = run_child("_pydeephaven_rounds.py", cfg, cfg["timeout"])[-1]
    except Exception as exc:
        out["errors"].append(f"connect: {type(exc).__name__}: {exc}")
        return
    out["first_connect_s"].append(line["connect_s"][0])
    out["connect_s"] += line["connect_s"]
    out["close_s"] += line["close_s"]


def targets(res: dict[str, Any]) -> dict[str, Any]:
    t: dict[str, Any] = {}
    for k in ("import", "fetch"):
        a, b = med(res["real"], k + "_s"), med(res["broker"], k + "_s")
        speedup = a / b if a and b else None
        ok = None if speedup is None else "PASS" if speedup >= TARGETS[k] else "MISS"
        t[k] = {"throughput_b_over_a": speedup, "target_at_least": TARGETS[k], "verdict": ok}
    a, b = med(res["real"], "connect_s"), med(res["broker"], "connect_s")
    ok = None if b is None else "PASS" if b * 1e3 <= TARGETS["connect_ms"] else "MISS"
    t["connect"] = {
        "broker_ms": None if b is None else b * 1e3,
        "time_b_over_a": b / a if a and b else None,
        "target_ms_at_most": TARGETS["connect_ms"],
        "verdict": ok,
    }
    return t


def report(data: dict[str, Any]) -> str:
    m, nb = data["meta"], data["meta"]["nbytes"]
    gbs = lambda s: "-" if s is None else f"{nb / s / 1e9:.2f}"  # noqa: E731
    lines = [
        f"pydeephaven benchmark: {m['rows']:,} rows x 4 columns, {nb / 1e6:.0f} MB in batches of "
        f"<= 524,288 rows; median of {m['rounds']} round(s), connect of {m['connects']} x "
        f"{m['rounds']}; {m['cpu_count']} CPUs, {m['mem_total_gib']} GiB, deephaven-server "
        f"{m['deephaven-server']} -Xmx{m['heap']}, pydeephaven {m['pydeephaven']}, pyarrow "
        f"{m['pyarrow']}, git {m['git']}",
        "",
        f"{'path':40} {'import':>10} {'publish':>9} {'fetch+to_arrow':>15} {'imp GB/s':>9} "
        f"{'fetch GB/s':>10} {'connect':>9} {'1st conn':>9} {'close':>8}",
    ]
    for out in data["results"].values():
        if "unavailable" in out:
            lines.append(f"{out['label']:40} unavailable: {out['unavailable'][:400]}")
            continue
        imp, fet = med(out, "import_s"), med(out, "fetch_s")
        conn = [fmt_ms(med(out, k)) for k in ("connect_s", "first_connect_s", "close_s")]
        lines.append(
            f"{out['label']:40} {fmt_s(imp):>10} {fmt_s(med(out, 'publish_s')):>9} "
            f"{fmt_s(fet):>15} {gbs(imp):>9} {gbs(fet):>10} {conn[0]:>9} {conn[1]:>9} {conn[2]:>8}"
        )
        lines += [f"{'':6}error: {e[:400]}" for e in out["errors"]]
    lines.append("")
    t = data["targets"]
    for k, what in (("import", "import_table"), ("fetch", "fetch_table + to_arrow")):
        x = t[k]["throughput_b_over_a"]
        shown = "n/a ((a) or (b) has no time)" if x is None else f"{x:.2f}x -> {t[k]['verdict']}"
        lines.append(f"{what} throughput (b)/(a): {shown}  (target >= {TARGETS[k]:.0f}x)")
    st = m.get("settle_s")
    if st:
        lines.append(
            f"waited for idle servers before each step: median {st['p50']:.1f} s, "
            f"max {st['max']:.1f} s"
        )
    c = t["connect"]
    shown = "n/a" if c["broker_ms"] is None else f"{c['broker_ms']:.2f} ms -> {c['verdict']}"
    ratio = "" if c["time_b_over_a"] is None else f"; time (b)/(a) {c['time_b_over_a']:.2f}x"
    lines.append(
        f"Session() connect, (b) median: {shown}  (target <= {TARGETS['connect_ms']:.0f} ms{ratio})"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_args(p)
    p.add_argument(
        "--connects", type=int, default=20, help="sessions timed per process (default 20)"
    )
    add_output_args(p, wait_load=False)
    args = p.parse_args(argv)
    if min(args.rows, args.rounds, args.connects) < 1 or args.timeout <= 0:
        p.error("--rows, --rounds, --connects and --timeout must be positive")
    data = bench(args.rows, args.rounds, args.timeout, args.heap, args.connects)
    print(report(data))
    write_json(args.json, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

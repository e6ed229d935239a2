#!/usr/bin/env python
"""Table benchmark: what publishing and fetching an Arrow table through ticketbooth costs.

    python benchmarks/bench_tables.py [--rows N] [--repeat K] [--json PATH]
                                      [--remote-timeout S] [--skip-pickle2]

Starts its own broker process (``python -m ticketbooth serve``) in a temporary Jupyter
runtime dir (JUPYTER_RUNTIME_DIR is set for this process and its children; nothing is
unset), publishes a table from this process and fetches it from child processes: a
subscriber is never the publisher's process. Every figure is the median of K runs.

Measured:
  * baseline      plain Arrow IPC file write to /dev/shm: the floor for publishing
  * publish       ``Session().publish_table(table, "bench")`` on the same host
  * fetch         ``fetch_table("bench").to_arrow()`` in a fresh child process (same host,
                  memory-mapped), then a full read of one column (``pc.sum``) timed apart,
                  so the cost of touching the mapped pages is visible separately
  * pickle        ``pickle.loads(pickle.dumps(table, protocol=P))`` for P = 5, 4, 2
  * remote        ``Session(force_remote=True)`` in a child process: fetch (unix socket and
                  TCP loopback) and publish (import over gRPC), in seconds and GB/s

The table is built as ONE record batch (what ``pa.table(numpy arrays)`` or
``pa.Table.from_pandas`` give). The remote rows are measured twice: with that table as
published, and with the same data re-built as independent record batches of at most
``max_message_bytes`` ("chunked"), which isolates the wire path from how the client slices
one large batch. Remote runs share a time budget (--remote-timeout); a run over budget is
killed and reported as a lower bound.

GB/s everywhere is ``table.nbytes / seconds`` with 1 GB = 1e9 bytes.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import pickle
import platform
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
from _broker import start_broker
from _tables_child import run_child
from _tables_data import chunk_rows_for, make_table
from _tables_report import report
from _util import add_output_args, cpu_model, git_state, log, mem_total_gib, timeit, write_json

FETCH_VS_PICKLE_MIN = 100.0  # same-host fetch at least 100x faster than a pickle round trip
FETCH_MAX_S = 0.005  # same-host fetch within 5 ms
PUBLISH_VS_IPC_MAX = 1.5  # publish within 1.5x of a plain IPC file write
REMOTE_MIN_GBPS = 1.2  # remote path at least 1.2 GB/s

MAX_MESSAGE_BYTES = 4 << 20  # the broker default (ticketbooth.Limits.max_message_bytes)


# --------------------------------------------------------------------------------------
# the benchmark
# --------------------------------------------------------------------------------------
def bench(rows: int, repeat: int, remote_timeout: float, skip_pickle2: bool) -> dict[str, Any]:
    import grpc

    import ticketbooth as tb

    load_start = os.getloadavg()
    table = make_table(rows)
    nbytes = table.nbytes
    expected_sum = int(pc.sum(table.column("id")).as_py())
    chunk_rows = chunk_rows_for(MAX_MESSAGE_BYTES)
    results: dict[str, dict[str, Any]] = {}

    def record(
        key: str,
        label: str,
        samples: list[float],
        *,
        gb: bool = False,
        col_gb: bool = False,
        timed_out: float | None = None,
        **extra: Any,
    ) -> None:
        """Median of `samples`; `timed_out` = seconds a killed run had used (a lower bound)."""
        med = statistics.median(samples) if samples else timed_out
        bytes_ = nbytes / 4 if col_gb else nbytes
        results[key] = {
            "label": label,
            "median_s": med,
            "min_s": min(samples) if samples else None,
            "max_s": max(samples) if samples else None,
            "samples_s": samples,
            "runs": len(samples),
            "timed_out_after_s": timed_out,
            "gbps": (bytes_ / med / 1e9) if (gb or col_gb) and med else None,
            "gbps_is_one_column": col_gb,
            **extra,
        }

    runtime = Path(tempfile.mkdtemp(prefix="ticketbooth-bench-"))
    os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime)  # the children inherit it
    scratch = tempfile.mkdtemp(prefix="ticketbooth-bench-ipc-", dir="/dev/shm")
    broker = start_broker(runtime, "--port", "0")
    # Discovery looks at $TICKETBOOTH_URL before the runtime dir; when it is set, name our
    # broker explicitly instead of unsetting anything.
    explicit = os.environ.get("TICKETBOOTH_URL") is not None
    url = broker.url if explicit else None
    kw: dict[str, Any] = {"url": broker.url, "token": broker.token} if explicit else {}
    try:
        # 1. baseline: plain Arrow IPC file write to /dev/shm ------------------------------
        log("baseline: plain IPC file write")
        counter = iter(range(10**9))
        unlink_s: list[float] = []

        def ipc_write() -> None:
            path = os.path.join(scratch, f"plain-{next(counter)}.arrow")
            with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
                w.write_table(table)
            t0 = time.perf_counter()
            os.unlink(path)
            unlink_s.append(time.perf_counter() - t0)

        with_unlink = timeit(ipc_write, repeat)
        write_only = [s - u for s, u in zip(with_unlink, unlink_s, strict=True)]
        record("ipc_write", "plain IPC file write to /dev/shm", write_only, gb=True)
        record("ipc_write_unlink", "  same + unlink", with_unlink, gb=True)

        # 2. publish on the same host ------------------------------------------------------
        log("publish (same host)")
        pub = tb.Session(name="bench-publisher", **kw)
        assert pub.same_host, "the publisher does not see the broker's /dev/shm directory"
        published = [False]

        def unpublish() -> None:
            if published[0]:
                pub.release("bench")  # unlinks the previous file, outside the timing

        def publish() -> None:
            pub.publish_table(table, "bench")
            published[0] = True

        record(
            "publish", 'publish_table(table, "bench")', timeit(publish, repeat, unpublish), gb=True
        )
        assert pub.info("bench").num_rows == rows

        # 3. same-host fetch in other processes (a fresh process per run) -------------------
        log("fetch (same host, child processes)")
        runs = []
        for _ in range(repeat):
            r = run_child(
                {
                    "mode": "fetch",
                    "ticket": "bench",
                    "remote": False,
                    "url": url,
                    "token": broker.token,
                    "reps": 2,
                },
                timeout=600,
            )
            for f in r.samples:
                if "error" in f or f["rows"] != rows or f["sum"] != expected_sum:
                    raise RuntimeError(f"same-host fetch failed or returned wrong data: {f}")
            runs.append(r.samples)
        record(
            "fetch",
            'fetch_table("bench").to_arrow(), other process',
            [x[0]["seconds"] for x in runs],
            arrow_pool_bytes=max(x[0]["pool_bytes"] for x in runs),
        )
        record(
            "fetch_sum",
            "  then pc.sum(id): first touch of mapped pages",
            [x[0]["sum_s"] for x in runs],
            col_gb=True,
        )
        record("fetch_warm", "  2nd fetch in the same process", [x[1]["seconds"] for x in runs])
        record(
            "fetch_warm_sum", "  then pc.sum(id) again", [x[1]["sum_s"] for x in runs], col_gb=True
        )
        record(
            "local_sum",
            "pc.sum(id) on the publisher's own table",
            timeit(lambda: pc.sum(table.column("id")), repeat),
            col_gb=True,
        )

        # 4. pickle round trips (what %store-style sharing costs) ----------------------------
        for proto in [5, 4] + ([] if skip_pickle2 else [2]):
            log(f"pickle protocol {proto}")
            size = [0]

            def roundtrip(proto: int = proto, size: list[int] = size) -> None:
                blob = pickle.dumps(table, protocol=proto)
                size[0] = len(blob)
                back = pickle.loads(blob)
                assert back.num_rows == rows
                del blob, back

            record(
                f"pickle{proto}",
                f"pickle round trip, protocol {proto}",
                timeit(roundtrip, repeat),
                gb=True,
                pickle_bytes=size[0],
            )

        # 5. remote path ---------------------------------------------------------------------
        chunked = make_table(rows, chunk_rows)
        pub.publish_table(chunked, "bench-chunked")
        del chunked
        remote_runs = [
            # key, label, mode, ticket, url, chunk_rows
            ("remote_fetch", "remote fetch, unix socket", "fetch", "bench", url, None),
            (
                "remote_publish",
                "remote publish (import over gRPC)",
                "publish",
                "bench-remote",
                url,
                None,
            ),
            (
                "remote_fetch_chunked",
                "remote fetch, unix socket, chunked",
                "fetch",
                "bench-chunked",
                url,
                None,
            ),
            (
                "remote_fetch_chunked_tcp",
                "remote fetch, TCP loopback, chunked",
                "fetch",
                "bench-chunked",
                broker.tcp_url,
                None,
            ),
            (
                "remote_publish_chunked",
                "remote publish, chunked",
                "publish",
                "bench-remote-chunked",
                url,
                chunk_rows,
            ),
        ]
        for key, label, mode, ticket, target, crows in remote_runs:
            if target is None and key.endswith("_tcp"):
                continue
            log(f"{key} (budget {remote_timeout:.0f} s)")
            samples, killed_after, batches, error = [], None, None, None
            deadline = time.monotonic() + remote_timeout
            # fetch: a fresh process per run; publish: one process publishing `repeat` times
            for _ in range(repeat if mode == "fetch" else 1):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                cfg = {
                    "mode": mode,
                    "ticket": ticket,
                    "remote": True,
                    "url": target,
                    "token": broker.token,
                    "rows": rows,
                    "chunk_rows": crows,
                    "reps": 1 if mode == "fetch" else repeat,
                    # the default Session timeout (30 s) would fail a slow import: allow
                    # the whole budget so a number comes out (the doc notes the default)
                    "session_timeout": remote_timeout + 60,
                }
                r = run_child(cfg, timeout=left)
                for f in r.samples:
                    if "error" in f:
                        error = f"{f['error']} (after {f['after_s']:.1f} s)"
                        break
                    if f["rows"] != rows or f.get("sum", expected_sum) != expected_sum:
                        raise RuntimeError(f"{key} returned wrong data: {f}")
                    samples.append(f["seconds"])
                    batches = f.get("batches", batches)
                if error:
                    log(f"{key}: {error}")
                    break
                if r.timed_out:
                    if not samples:
                        killed_after = r.elapsed_s
                    break
            if not samples and killed_after is None:
                results[key] = {
                    "label": label,
                    "median_s": None,
                    "min_s": None,
                    "max_s": None,
                    "samples_s": [],
                    "runs": 0,
                    "timed_out_after_s": None,
                    "gbps": None,
                    "gbps_is_one_column": False,
                    "error": error,
                }
                continue
            record(
                key,
                label,
                samples,
                gb=True,
                timed_out=killed_after,
                batches_received=batches,
                error=error,
            )
        pub.close()
    finally:
        broker.stop()
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(runtime, ignore_errors=True)

    meta = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "rows": rows,
        "columns": table.num_columns,
        "schema": [f"{f.name}: {f.type}" for f in table.schema],
        "nbytes": nbytes,
        "record_batches": table.to_batches().__len__(),
        "chunked_rows_per_batch": chunk_rows,
        "repeat": repeat,
        "remote_timeout_s": remote_timeout,
        "python": platform.python_version(),
        "pyarrow": pa.__version__,
        "grpcio": grpc.__version__,
        "numpy": np.__version__,
        "ticketbooth": tb.__version__,
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "mem_total_gib": mem_total_gib(),
        "loadavg_start": load_start,
        "loadavg_end": os.getloadavg(),
        "git": git_state(),
        "broker_via": "explicit url ($TICKETBOOTH_URL is set)"
        if explicit
        else "runtime-dir discovery",
    }
    return {"meta": meta, "results": results, "targets": targets(results)}


def targets(r: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    fetch = r["fetch"]["median_s"]
    ratio_pickle = r["pickle5"]["median_s"] / fetch
    ratio_publish = r["publish"]["median_s"] / r["ipc_write"]["median_s"]
    out = [
        {
            "name": "same-host fetch vs pickle round trip (protocol 5)",
            "value": ratio_pickle,
            "unit": "x faster",
            "target": f">= {FETCH_VS_PICKLE_MIN:.0f}x",
            "pass": ratio_pickle >= FETCH_VS_PICKLE_MIN,
        },
        {
            "name": "same-host fetch, absolute",
            "value": fetch * 1e3,
            "unit": "ms",
            "target": f"<= {FETCH_MAX_S * 1e3:.0f} ms",
            "pass": fetch <= FETCH_MAX_S,
        },
        {
            "name": "publish / plain IPC file write",
            "value": ratio_publish,
            "unit": "x",
            "target": f"<= {PUBLISH_VS_IPC_MAX}x",
            "pass": ratio_publish <= PUBLISH_VS_IPC_MAX,
        },
    ]
    for key in (
        "remote_fetch",
        "remote_publish",
        "remote_fetch_chunked",
        "remote_fetch_chunked_tcp",
        "remote_publish_chunked",
    ):
        if key in r:
            res = r[key]
            out.append(
                {
                    "name": res["label"],
                    "value": res["gbps"],
                    "unit": "GB/s",
                    "target": f">= {REMOTE_MIN_GBPS} GB/s",
                    "upper_bound": res["timed_out_after_s"] is not None,
                    "error": res.get("error"),
                    "pass": res["gbps"] is not None
                    and res["timed_out_after_s"] is None
                    and not res.get("error")
                    and res["gbps"] >= REMOTE_MIN_GBPS,
                }
            )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=10_000_000, help="table rows (default 10,000,000)")
    p.add_argument("--repeat", type=int, default=5, help="runs per measurement (default 5)")
    add_output_args(p, wait_load=False)
    p.add_argument(
        "--remote-timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="time budget in seconds for each remote measurement (default 300)",
    )
    p.add_argument("--skip-pickle2", action="store_true", help="skip the protocol 2 round trip")
    args = p.parse_args(argv)
    if args.rows < 1 or args.repeat < 1:
        p.error("--rows and --repeat must be positive")
    data = bench(args.rows, args.repeat, args.remote_timeout, args.skip_pickle2)
    print(report(data))
    write_json(args.json, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
import gc
import json
import os
import pickle
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

FETCH_VS_PICKLE_MIN = 100.0  # same-host fetch at least 100x faster than a pickle round trip
FETCH_MAX_S = 0.005  # same-host fetch within 5 ms
PUBLISH_VS_IPC_MAX = 1.5  # publish within 1.5x of a plain IPC file write
REMOTE_MIN_GBPS = 1.2  # remote path at least 1.2 GB/s

MAX_MESSAGE_BYTES = 4 << 20  # the broker default (ticketbooth.Limits.max_message_bytes)


# --------------------------------------------------------------------------------------
# broker process (the pattern of tests/conftest.py::start_broker)
# --------------------------------------------------------------------------------------
@dataclass
class Broker:
    proc: subprocess.Popen[bytes]
    url: str
    token: str
    tcp_url: str | None
    runtime_dir: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_broker(runtime_dir: Path, *extra: str, timeout: float = 30.0) -> Broker:
    runtime_dir.mkdir(parents=True, exist_ok=True)
    conn = runtime_dir / "ticketbooth-broker.json"
    log = open(runtime_dir / "broker.log", "ab")  # noqa: SIM115 - lives as long as the broker
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime_dir))
    cmd = [sys.executable, "-m", "ticketbooth", "serve", "--connection-file", str(conn), *extra]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if conn.exists():
            info = json.loads(conn.read_text())
            if info.get("pid") == proc.pid:
                return Broker(proc, info["url"], info["token"], info.get("tcp_url"), runtime_dir)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"broker did not start:\n{(runtime_dir / 'broker.log').read_text()}")


# --------------------------------------------------------------------------------------
# the data
# --------------------------------------------------------------------------------------
def make_columns(rows: int) -> dict[str, tuple[np.ndarray, pa.DataType]]:
    """rows x 4 columns, 32 bytes a row: int64, float64, timestamp[ns] (int64), float64."""
    rng = np.random.default_rng(42)
    start = np.datetime64("2024-01-01T00:00:00", "ns").astype(np.int64)
    return {
        "id": (np.arange(rows, dtype=np.int64), pa.int64()),
        "price": (rng.random(rows) * 100.0, pa.float64()),
        "ts": (start + np.arange(rows, dtype=np.int64) * 1_000_000, pa.timestamp("ns")),
        "qty": (rng.standard_normal(rows), pa.float64()),
    }


def make_table(rows: int, chunk_rows: int | None = None) -> pa.Table:
    """One record batch, or independent batches of `chunk_rows` rows (own buffers each)."""
    cols = make_columns(rows)
    if chunk_rows is None:
        return pa.table({k: pa.array(v, t) for k, (v, t) in cols.items()})
    batches = [
        pa.record_batch(
            {k: pa.array(v[s : s + chunk_rows].copy(), t) for k, (v, t) in cols.items()}
        )
        for s in range(0, rows, chunk_rows)
    ]
    return pa.Table.from_batches(batches)


def chunk_rows_for(max_bytes: int, row_bytes: int = 32) -> int:
    """Rows per message the client aims at (ticketbooth._arrow._fitted: 90% of the limit)."""
    return max(1, int(max_bytes * 0.9 / row_bytes))


# --------------------------------------------------------------------------------------
# child processes: a subscriber (fetch) or a remote publisher, each with its own Session
# --------------------------------------------------------------------------------------
CHILD = textwrap.dedent(
    """
    import json, sys, time
    cfg = json.loads(sys.argv[1])
    sys.path.insert(0, cfg["bench_dir"])
    sys.dont_write_bytecode = True  # no __pycache__ next to the script
    import pyarrow as pa, pyarrow.compute as pc
    import ticketbooth as tb

    def emit(**kw):
        print(json.dumps(kw), flush=True)

    def fetch():
        for i in range(cfg["reps"]):
            pool0 = pa.total_allocated_bytes()
            t0 = time.perf_counter()
            table = s.fetch_table(cfg["ticket"])
            data = table.to_arrow()
            t1 = time.perf_counter()
            total = pc.sum(data.column("id")).as_py()
            t2 = time.perf_counter()
            emit(seconds=t1 - t0, sum_s=t2 - t1, rows=data.num_rows, sum=total,
                 batches=len(data.to_batches()), pool_bytes=pa.total_allocated_bytes() - pool0)
            del data
            s.release(table)
            del table  # unmap now, not inside the next run's timing

    def publish():
        from bench_tables import make_table
        data = make_table(cfg["rows"], cfg["chunk_rows"])
        for i in range(cfg["reps"]):
            if i:
                s.release(cfg["ticket"])
            t0 = time.perf_counter()
            s.publish_table(data, cfg["ticket"])
            t1 = time.perf_counter()
            emit(seconds=t1 - t0, rows=s.info(cfg["ticket"]).num_rows)

    kw = {"url": cfg["url"], "token": cfg["token"]} if cfg["url"] else {}
    if cfg.get("session_timeout"):
        kw["timeout"] = cfg["session_timeout"]
    s = tb.Session(force_remote=cfg["remote"], name="bench-" + cfg["mode"], **kw)
    emit(same_host=s.same_host)
    started = time.perf_counter()
    try:
        fetch() if cfg["mode"] == "fetch" else publish()
    except Exception as exc:
        emit(error=f"{type(exc).__name__}: {exc}", after_s=time.perf_counter() - started)
    s.close()
    """
)


@dataclass
class ChildResult:
    samples: list[dict[str, Any]]
    timed_out: bool = False
    elapsed_s: float = 0.0


def run_child(cfg: dict[str, Any], timeout: float) -> ChildResult:
    """Run CHILD; collect its JSON lines (also those printed before a timeout kill)."""
    cfg = {"bench_dir": str(Path(__file__).resolve().parent), "reps": 1, **cfg}
    t0 = time.monotonic()
    timed_out = False
    try:
        res = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(cfg)],
            capture_output=True,
            text=True,
            timeout=max(timeout, 1.0),
        )
        stdout, stderr, code = res.stdout, res.stderr, res.returncode
    except subprocess.TimeoutExpired as exc:
        timed_out, code = True, 0
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stderr = ""
    if code != 0:
        raise RuntimeError(f"child {cfg['mode']} failed ({code}):\n{stdout}\n{stderr}")
    lines = [json.loads(x) for x in stdout.splitlines() if x.startswith("{")]
    if not lines:
        if timed_out:
            return ChildResult([], True, time.monotonic() - t0)
        raise RuntimeError(f"child {cfg['mode']} printed nothing:\n{stderr}")
    if lines[0]["same_host"] == cfg["remote"]:
        raise RuntimeError(
            f"child session has same_host={lines[0]['same_host']} but remote={cfg['remote']} "
            "was asked (is TICKETBOOTH_FORCE_REMOTE set, or /dev/shm not shared?)"
        )
    return ChildResult(lines[1:], timed_out, time.monotonic() - t0)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def timeit(
    fn: Callable[[], Any], repeat: int, before: Callable[[], Any] | None = None
) -> list[float]:
    samples = []
    for _ in range(repeat):
        if before is not None:
            before()
        gc.collect()
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return samples


def fmt_s(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.3f} s"


def log(msg: str) -> None:
    print(f"  .. {msg}", file=sys.stderr, flush=True)


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
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "mem_total_gib": _mem_total_gib(),
        "loadavg_start": load_start,
        "loadavg_end": os.getloadavg(),
        "git": _git_state(),
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


def _git_state() -> str | None:
    """HEAD of the checkout whose package is benchmarked, and whether python/ is modified."""
    root = Path(tb_file()).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "python"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}{' + uncommitted changes in python/' if dirty else ''}" if head else None


def tb_file() -> str:
    import ticketbooth

    return str(ticketbooth.__file__)


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _mem_total_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def report(data: dict[str, Any]) -> str:
    m, r = data["meta"], data["results"]
    lines = [
        f"ticketbooth {m['ticketbooth']} table benchmark, {m['date']}",
        f"  table: {m['rows']:,} rows x {m['columns']} columns ({', '.join(m['schema'])}), "
        f"{m['nbytes'] / 1e6:,.1f} MB (table.nbytes), {m['record_batches']} record batch(es); "
        f"'chunked' = same data as batches of {m['chunked_rows_per_batch']:,} rows",
        f"  python {m['python']}, pyarrow {m['pyarrow']}, grpcio {m['grpcio']}, numpy {m['numpy']}",
        f"  CPUs: os.cpu_count()={m['cpu_count']} (usable {m['cpu_affinity']}), "
        f"{m['cpu_model']}, RAM {m['mem_total_gib']} GiB, {m['platform']}",
        f"  median of {m['repeat']} runs; broker found by {m['broker_via']}; "
        f"remote budget {m['remote_timeout_s']:.0f} s per measurement",
        f"  load average at start {m['loadavg_start'][0]:.2f}, at end {m['loadavg_end'][0]:.2f}; "
        f"ticketbooth checkout {m['git']}",
        "",
        f"  {'measurement':<50} {'median':>10} {'min':>10} {'max':>10} {'runs':>4} {'GB/s':>8}",
        f"  {'-' * 50} {'-' * 10} {'-' * 10} {'-' * 10} {'-' * 4} {'-' * 8}",
    ]
    notes = []
    for res in r.values():
        if res.get("error"):
            notes.append(f"  ! {res['label'].strip()}: {res['error']}")
        med = fmt_s(res["median_s"])
        g = f"{res['gbps']:8.3f}" if res["gbps"] else ""
        if res["timed_out_after_s"] is not None:
            med, g = "> " + med, "<" + g.strip()
        if res["gbps_is_one_column"]:
            g += "*"
        lines.append(
            f"  {res['label']:<50} {med:>10} {fmt_s(res['min_s']):>10} "
            f"{fmt_s(res['max_s']):>10} {res['runs']:>4} {g:>8}"
        )
    lines.append("  (GB/s = table.nbytes / median; * = bytes of the one int64 column summed;")
    lines.append("   '>' = killed at the time budget before one run finished: a lower bound)")
    lines += notes
    if "fetch" in r:
        lines.append(
            f"  Arrow memory pool growth in the subscriber after its fetch: "
            f"{r['fetch']['arrow_pool_bytes']:,} bytes (0 = nothing copied, the file is mapped)"
        )
    for p in (5, 4, 2):
        if f"pickle{p}" in r:
            lines.append(
                f"  pickle protocol {p} payload: {r[f'pickle{p}']['pickle_bytes'] / 1e6:,.1f} MB"
            )
    for key in ("remote_fetch", "remote_fetch_chunked"):
        if r.get(key, {}).get("batches_received"):
            lines.append(
                f"  {r[key]['label']}: {r[key]['batches_received']:,} record batches received"
            )
    lines += ["", "  targets:"]
    if m["rows"] < 10_000_000:
        lines.append(
            "  (the targets are set for the default 10M-row table; with fewer rows fixed per-call"
            " costs dominate and the ratios and GB/s say little)"
        )
    for t in data["targets"]:
        v = "-" if t["value"] is None else f"{'<' if t.get('upper_bound') else ''}{t['value']:.3g}"
        lines.append(
            f"  {'PASS' if t['pass'] else 'MISS'}  {t['name']:<50} {v:>9} {t['unit']:<9} "
            f"(target {t['target']})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=10_000_000, help="table rows (default 10,000,000)")
    p.add_argument("--repeat", type=int, default=5, help="runs per measurement (default 5)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
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
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

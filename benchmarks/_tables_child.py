"""bench_tables.py's child processes: a subscriber (fetch) or a remote publisher, each with
its own Session, printing one JSON line per run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
        from _tables_data import make_table
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

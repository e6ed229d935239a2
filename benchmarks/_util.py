"""Small helpers shared by the benchmarks: timing, formatting, percentiles, machine facts."""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


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


def fmt_ms(s: float | None) -> str:
    """Seconds as milliseconds with a precision that suits latencies."""
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "-"
    ms = s * 1e3
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms" if ms < 1000 else f"{ms:.0f} ms"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation (numpy's default method)."""
    if not values:
        return math.nan
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary(values: Sequence[float]) -> dict[str, float]:
    """n, min, p50, p95, max and mean of `values` (seconds in, seconds out)."""
    return {
        "n": len(values),
        "min": min(values) if values else math.nan,
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "max": max(values) if values else math.nan,
        "mean": sum(values) / len(values) if values else math.nan,
    }


def wait_for_load(max_load: float, timeout_s: float, poll_s: float = 15.0) -> dict[str, Any]:
    """Wait until the 1-minute load average is below `max_load` (at most `timeout_s`)."""
    t0 = time.monotonic()
    while True:
        load = os.getloadavg()
        waited = time.monotonic() - t0
        if load[0] < max_load or waited >= timeout_s:
            return {"loadavg": load, "waited_s": round(waited, 1), "below": load[0] < max_load}
        log(f"load average {load[0]:.2f} >= {max_load}; waiting ({waited:.0f} s so far)")
        time.sleep(poll_s)


def machine_meta(paths: Sequence[str] = ("python",)) -> dict[str, Any]:
    """Facts about the machine and the checkout, for the report."""
    import datetime as _dt

    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "mem_total_gib": mem_total_gib(),
        "platform": platform.platform(),
        "git": git_state(paths),
    }


def git_state(paths: Sequence[str] = ("python",)) -> str | None:
    """HEAD of the checkout whose package is benchmarked, and whether `paths` are modified."""
    root = Path(tb_file()).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", *paths],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    changed = sorted({line[3:].strip() for line in dirty.splitlines()})
    where = ", ".join(changed[:4]) + (f" and {len(changed) - 4} more" if len(changed) > 4 else "")
    return f"{head}{f' + uncommitted changes to {where}' if changed else ''}" if head else None


def tb_file() -> str:
    import ticketbooth

    return str(ticketbooth.__file__)


def cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def mem_total_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def add_output_args(p: Any, wait_load: bool = True) -> None:
    """The options every benchmark shares: --json PATH and (optionally) --wait-load L."""
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    if wait_load:
        p.add_argument(
            "--wait-load",
            type=float,
            default=0.0,
            metavar="L",
            help="first wait (up to 15 min) until the 1-minute load average is below L",
        )


def write_json(path: str | None, data: Any) -> None:
    """Write the results to `path` (if given) as indented JSON."""
    if path:
        with open(path, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")

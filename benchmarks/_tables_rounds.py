"""Measurements of bench_tables.py and how they are run: interleaved, in rounds.

A round runs every measurement once, in a fixed order; `repeat` rounds give each one its
samples. A change of load during the benchmark thus hits every row alike, instead of
whichever measurement happened to run then. A measurement with a time budget gets what is
left of it as the timeout of each run; a run killed at the budget ends that measurement (its
time is a lower bound when no run finished), and so does an error.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from _tables_procs import BudgetExceeded
from _util import log

# one run: given the seconds left in its budget (None: no budget), the sample(s) in seconds
# (by name; "seconds" is the main one) and extra facts to keep (the last run's win)
RunFn = Callable[[float | None], tuple[dict[str, float], dict[str, Any]]]


@dataclass
class Ctx:
    """What every measurement needs to know about the run."""

    rows: int
    nbytes: int
    expected_sum: int
    budget_s: float
    url: str | None  # the TCP broker's url when it must be named explicitly, else None
    token: str
    flight_batch_rows: int | None = None  # None: Flight peers send the table's own batches


@dataclass
class Row:
    """One printed row fed by one named sample of a measurement."""

    key: str
    label: str
    sample: str = "seconds"
    gb: str | None = "table"  # GB/s of: "table" (table.nbytes), "column" (one of 4), None


@dataclass
class Measurement:
    key: str
    label: str
    run: RunFn
    group: str = "same-host"  # or "transfer"
    budget_s: float | None = None
    rows: list[Row] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)  # peer/direction/transport, ...
    samples: dict[str, list[float]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    killed_after_s: float | None = None
    spent_s: float = 0.0
    done: bool = False

    def __post_init__(self) -> None:
        if not self.rows:
            self.rows = [Row(self.key, self.label)]


def failed(why: str) -> RunFn:
    """A run for a measurement whose set-up failed: it reports `why` as its error."""

    def run(left: float | None) -> tuple[dict[str, float], dict[str, Any]]:
        raise RuntimeError(why)

    return run


def run_rounds(ms: list[Measurement], repeat: int) -> list[dict[str, Any]]:
    """Run `repeat` rounds over `ms`; returns per-round load averages and durations."""
    rounds = []
    for i in range(repeat):
        t_round, load = time.monotonic(), os.getloadavg()
        for m in ms:
            if m.done:
                continue
            left = None if m.budget_s is None else m.budget_s - m.spent_s
            if left is not None and left <= 0:
                m.done = True
                continue
            log(f"round {i + 1}/{repeat}: {m.key}")
            t0 = time.monotonic()
            try:
                samples, extra = m.run(left)
            except BudgetExceeded as exc:
                if not m.samples and exc.elapsed_s is None:
                    m.error = f"{exc} (its start-up took the whole budget)"
                elif not m.samples:
                    m.killed_after_s = exc.elapsed_s
                m.done = True
                log(f"{m.key}: {exc}")
            except Exception as exc:
                m.error, m.done = f"{type(exc).__name__}: {exc}", True
                log(f"{m.key}: {m.error}")
            else:
                for name, value in samples.items():
                    m.samples.setdefault(name, []).append(value)
                m.extra.update(extra)
            m.spent_s += time.monotonic() - t0
        rounds.append({"loadavg_start": load, "seconds": round(time.monotonic() - t_round, 1)})
    return rounds


def results(ms: list[Measurement], nbytes: int) -> dict[str, dict[str, Any]]:
    """Median, min, max and GB/s of every row (GB/s = nbytes / median, 1 GB = 1e9 B)."""
    out: dict[str, dict[str, Any]] = {}
    for m in ms:
        for row in m.rows:
            xs = m.samples.get(row.sample, [])
            med = statistics.median(xs) if xs else m.killed_after_s
            size = nbytes / 4 if row.gb == "column" else nbytes
            out[row.key] = {
                "label": row.label,
                "group": m.group,
                "median_s": med,
                "min_s": min(xs) if xs else None,
                "max_s": max(xs) if xs else None,
                "samples_s": xs,
                "runs": len(xs),
                "timed_out_after_s": None if xs else m.killed_after_s,
                "gbps": size / med / 1e9 if row.gb and med else None,
                "gbps_is_one_column": row.gb == "column",
                "error": m.error,
                "budget_s": m.budget_s,
                **m.info,
                **(m.extra if row.sample == "seconds" else {}),
            }
    return out

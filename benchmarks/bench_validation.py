#!/usr/bin/env python
"""What the broker's full validation of every accepted table costs, next to what it guards.

    python benchmarks/bench_validation.py [--rows N] [--repeat K]

For a table of N rows (default 10M) per column type and for the usual 4-column mix:
  * write     a segment (Arrow IPC stream) in /dev/shm: what a same-host publisher pays anyway
  * open      the check before validation: map the segment, read every batch (no validation)
  * validate  the broker's check now (`_segments.segment_info`): open + `validate(full=True)`
              of every batch
  * remote    `validate(full=True)` of the same data as 4 MiB record-batch messages, the
              unit of the remote path (decode included)
Prints medians of K runs and the ratio validate / write.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from ticketbooth import _arrow, _segments


def tables(rows: int) -> dict[str, pa.Table]:
    ints = np.arange(rows, dtype=np.int64)
    strings = pa.array(ints % 100_000).cast(pa.string())
    return {
        "int64": pa.table({"a": ints}),
        "float64": pa.table({"b": np.random.default_rng(0).random(rows)}),
        "string": pa.table({"c": strings}),
        "list<int32>": pa.table(
            {
                "d": pa.ListArray.from_arrays(
                    np.arange(0, rows + 1, 4, dtype=np.int32),
                    pa.array(np.arange(rows // 4 * 4, dtype=np.int32)),
                )
            }
        ),
        "mix (int64, float64, string, int32)": pa.table(
            {
                "a": ints,
                "b": np.random.default_rng(1).random(rows),
                "c": strings,
                "d": ints.astype(np.int32),
            }
        ),
    }


def median_s(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def old_open(path: str) -> None:
    _segments.read_segment(path)


def remote_validate(messages: list[pa.Buffer], schema: pa.Schema) -> None:
    for message in messages:
        _arrow.validate(pa.ipc.read_record_batch(message, schema))


def measure(name: str, table: pa.Table, base: str, repeat: int) -> str:
    path = os.path.join(base, f"bench-validation-{os.getpid()}.arrow")

    def write() -> None:
        _segments.unlink_quietly(path)
        _segments.write_segment(_arrow.as_reader(table), path)

    try:
        t_write = median_s(write, repeat)
        t_open = median_s(lambda: old_open(path), repeat)
        t_val = median_s(lambda: _segments.segment_info(path), repeat)
    finally:
        _segments.unlink_quietly(path)
    messages = [
        piece.serialize()
        for batch in table.to_batches()
        for piece in _arrow.message_sized(batch, 4 << 20)
    ]
    t_remote = median_s(lambda: remote_validate(messages, table.schema), repeat)
    return (
        f"{name:38} {table.nbytes / 1e6:7.0f} {t_write * 1e3:8.1f} {t_open * 1e3:7.2f} "
        f"{t_val * 1e3:9.1f} {t_remote * 1e3:8.1f} {t_val / t_write:10.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    base = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    print(f"{args.rows:,} rows, median of {args.repeat}; times in ms")
    widths = {"MB": 7, "write": 8, "open": 7, "validate": 9, "remote": 8, "val/write": 10}
    print(f"{'columns':38} " + " ".join(f"{h:>{w}}" for h, w in widths.items()))
    for name, table in tables(args.rows).items():
        print(measure(name, table, base, args.repeat))


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""Does one big upload stall everyone else? Latency of other sessions' calls meanwhile.

    python benchmarks/bench_stall.py [--mb 480] [--repeat 3]

A child process calls Heartbeat in a loop (its own session) and records each call's latency.
We measure it idle, then while this process publishes a table of about --mb MB over the
remote path: once a dictionary-encoded table (decoded, validated and written by the broker
as one IPC stream), once a plain one (validated and written batch by batch). Prints the
median, p99 and max latency of the other session's calls in each phase (median of
--repeat runs of each).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa

import ticketbooth as tb
from benchmarks._broker import broker_in_temp_runtime

PINGER = textwrap.dedent(
    """
    import json, sys, time, ticketbooth as tb
    from ticketbooth._proto.v1 import broker_pb2 as pb
    s = tb.Session(force_remote=True)
    print("ready", flush=True)
    lat = []
    end = time.monotonic() + float(sys.argv[1])
    while time.monotonic() < end:
        t = time.perf_counter()
        s._backend.call("ping", s._backend.conn.sessions.Heartbeat, pb.HeartbeatRequest())
        lat.append(time.perf_counter() - t)
        time.sleep(0.005)
    print(json.dumps(lat), flush=True)
    """
)


def table(mb: int, dictionary: bool) -> pa.Table:
    rows = mb * 1_000_000 // 12
    words = pa.array([f"word-{i}" for i in range(10_000)])
    indices = pa.array(np.random.default_rng(0).integers(0, 10_000, rows, dtype=np.int32))
    k = pa.DictionaryArray.from_arrays(indices, words) if dictionary else indices
    return pa.table({"k": k, "x": np.arange(rows, dtype=np.int64)})


def phase(seconds: float, work: object = None) -> list[float]:
    child = subprocess.Popen(
        [sys.executable, "-c", PINGER, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    if callable(work):
        work()
    lat: list[float] = json.loads(child.stdout.readline())
    child.wait()
    return lat


def summary(lat: list[float]) -> tuple[float, float, float]:
    ordered = sorted(lat)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(lat) * 1e3, p99 * 1e3, max(lat) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--mb", type=int, default=480)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with broker_in_temp_runtime():
        pub = tb.Session(force_remote=True)
        rows: dict[str, list[tuple[float, float, float]]] = {}
        for _ in range(args.repeat):
            rows.setdefault("idle", []).append(summary(phase(3.0)))
            for dictionary in (True, False):
                data = table(args.mb, dictionary)
                kind = "dictionary" if dictionary else "plain"
                name = f"during a {data.nbytes / 1e6:.0f} MB {kind} upload"
                rows.setdefault(name, []).append(
                    summary(phase(6.0, lambda data=data: pub.publish_table(data, "big")))
                )
        pub.close()
    print(f"other session's Heartbeat latency, ms (median of {args.repeat} runs)")
    print(f"{'phase':44} {'median':>8} {'p99':>8} {'max':>8}")
    for name, runs in rows.items():
        med = [statistics.median(r[i] for r in runs) for i in range(3)]
        print(f"{name:44} {med[0]:8.2f} {med[1]:8.2f} {med[2]:8.2f}")


if __name__ == "__main__":
    main()

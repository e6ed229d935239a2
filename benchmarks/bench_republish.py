#!/usr/bin/env python
"""Republishing a changed table in parts against writing it whole, and what readers pay.

    python benchmarks/bench_republish.py [--rows N] [--repeat K] [--json PATH]

A broker in its own process; one publisher session, a same-host reader and a remote reader
(Arrow Flight). The table is bench_widget's (N rows x 4, default 10M, ~400 MB). Timed, K
times each (median, and the bytes the publisher wrote to shared memory):
  * change one row, whole   publish_table of a changed copy of the in-memory table: every
                            byte is written and validated again (the peer: what any
                            republish cost before tables in parts)
  * change one row, parts   the same change to the *fetched* table: only the batch holding
                            the row is written, the rest is named
  * append one row, whole   publish_table(concat_tables([table, row])) of the in-memory table
  * append one row, parts   append_table(ticket, row)
  * fetch, same host        fetch_table(...).to_arrow() of a version written whole / in parts
  * fetch, remote           the same through Arrow Flight (DoGet)
Ratios are parts / whole.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import pyarrow as pa
from _broker import broker_in_temp_runtime, explicit_session_kwargs
from _util import add_output_args, fmt_ms, log, machine_meta, wait_for_load, write_json
from _widget_peers import with_label
from bench_widget import big_table

import ticketbooth as tb
from ticketbooth._proto.v1 import broker_pb2 as pb


def written(session: tb.Session, ticket: str) -> int:
    """Bytes of the file that the current version of `ticket` brought (its own segment)."""
    backend = session._backend
    req = pb.GetInfoRequest(ticket=tb.ScopeTicket.scope_ticket(ticket).bytes)
    info = backend.call("get info", backend.conn.sessions.GetInfo, req)
    return os.path.getsize(os.path.join(backend.server.shm_dir, info.shm_name))


def interleaved(
    steps: dict[str, tuple[Callable[[], Any], str]], repeat: int, pub: tb.Session
) -> dict[str, dict[str, Any]]:
    """Each step once per round, in turn (reversed every other round); per step the median
    seconds and bytes written (the new version's own file; None for steps that publish
    nothing)."""
    times: dict[str, list[float]] = {k: [] for k in steps}
    sizes: dict[str, list[int]] = {k: [] for k in steps}
    for r in range(repeat):
        order = list(steps.items())
        for name, (fn, ticket) in order[::-1] if r % 2 else order:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
            if ticket:
                sizes[name].append(written(pub, ticket))
    return {
        k: {
            "median_s": statistics.median(times[k]),
            "all_s": times[k],
            "written_bytes": statistics.median(sizes[k]) if sizes[k] else None,
        }
        for k in steps
    }


def bench(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    out: dict[str, Any] = {"meta": machine_meta(paths=("python",)) | {"rows": args.rows}}
    with broker_in_temp_runtime() as broker:
        kw = explicit_session_kwargs(broker)
        pub = tb.Session(name="bench-republish", **kw)
        local, remote = tb.Session(**kw), tb.Session(force_remote=True, **kw)
        log(f"building and publishing {args.rows:,} rows")
        table = big_table(args.rows)
        out["meta"]["table_nbytes"] = table.nbytes
        pub.publish_table(table, "whole")
        pub.publish_table(table, "parts")
        held = pub.fetch_table("parts")  # the handle is kept: its batches may be named
        fetched = held.to_arrow()
        row = table.slice(0, 1)

        def change(source: pa.Table, ticket: str) -> Callable[[], None]:
            def run() -> None:
                text = f"r{rng.randrange(1 << 30)}"
                pub.publish_table(with_label(source, text), ticket)

            return run

        log("change one row, whole and parts, interleaved")
        res = interleaved(
            {
                "change_whole": (change(table, "whole"), "whole"),
                "change_parts": (change(fetched, "parts"), "parts"),
            },
            args.repeat,
            pub,
        )
        log("append one row, whole and parts, interleaved")
        res |= interleaved(
            {
                "append_whole": (
                    lambda: pub.publish_table(pa.concat_tables([table, row]), "whole"),
                    "whole",
                ),
                "append_parts": (lambda: pub.append_table("parts", row), "parts"),
            },
            args.repeat,
            pub,
        )
        log("fetches")
        for reader, label in ((local, "same_host"), (remote, "remote")):
            steps: dict[str, tuple[Callable[[], Any], str]] = {
                f"fetch_{label}_{t}": (lambda r=reader, t=t: r.fetch_table(t).to_arrow(), "")
                for t in ("whole", "parts")
            }
            res |= interleaved(steps, args.repeat, pub)
        pub.release(held)
        for s in (local, remote, pub):
            s.close()
    out["results"] = res
    return out


def report(data: dict[str, Any]) -> str:
    m, r = data["meta"], data["results"]
    lines = [
        f"ticketbooth republish benchmark, {m['date']}; {m['rows']:,} rows, "
        f"{m['table_nbytes'] / 1e6:,.0f} MB; {m['cpu_count']} CPUs, checkout {m['git']}",
        f"  {'':<22}{'whole':>14}{'parts':>14}{'parts/whole':>13}"
        f"{'written, whole':>17}{'parts':>12}",
    ]
    for key, label in [
        ("change", "change one row"),
        ("append", "append one row"),
        ("fetch_same_host", "fetch, same host"),
        ("fetch_remote", "fetch, remote"),
    ]:
        w, p = r[f"{key}_whole"], r[f"{key}_parts"]
        line = f"  {label:<22}{fmt_ms(w['median_s']):>14}{fmt_ms(p['median_s']):>14}"
        line += f"{p['median_s'] / w['median_s']:>12.3f}x"
        if key in ("change", "append"):
            line += f"{w['written_bytes'] / 1e6:>14.1f} MB{p['written_bytes'] / 1e6:>9.1f} MB"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument("--rows", type=int, default=10_000_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--seed", type=int, default=7)
    add_output_args(p)
    args = p.parse_args(argv)
    if args.rows < 1000 or args.repeat < 1:
        p.error("--rows >= 1000, --repeat >= 1")
    if args.wait_load > 0:
        wait_for_load(args.wait_load, 900.0)
    data = bench(args)
    print(report(data))
    write_json(args.json, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

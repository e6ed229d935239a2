"""bench_tables.py's same-host measurements (shared memory), and pickle for comparison.

ipc_write   a plain Arrow IPC file write to /dev/shm, in the benchmark process: the floor
            for publishing (and the same + unlink)
publish     ``publish_table(table, name)`` from the benchmark process's Session (same
            host: it writes the segment, the broker claims it); checked with ``info``
            and released after the clock stops
fetch       a fresh child process (discovery through JUPYTER_RUNTIME_DIR, unless
            $TICKETBOOTH_URL forces an explicit url): ``fetch_table(...).to_arrow()``,
            then ``pc.sum(id)`` (the first touch of the mapped pages), then both again
local_sum   ``pc.sum(id)`` on the benchmark process's own table
pickle      ``pickle.loads(pickle.dumps(table, protocol=P))`` for P = 5, 4 (, 2)
"""

from __future__ import annotations

import gc
import itertools
import os
import pickle
import time
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from _tables_child import tb_child
from _tables_rounds import Ctx, Measurement, Row


def _timed(fn: Any) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def local_measurements(
    ctx: Ctx, table: pa.Table, pub: Any, scratch: str, skip_pickle2: bool
) -> list[Measurement]:
    counter = itertools.count()

    def ipc_write(left: float | None) -> tuple[dict[str, float], dict[str, Any]]:
        path = os.path.join(scratch, f"plain-{next(counter)}.arrow")
        gc.collect()
        t0 = time.perf_counter()
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table)
        t1 = time.perf_counter()
        os.unlink(path)
        return {"seconds": t1 - t0, "with_unlink": time.perf_counter() - t0}, {}

    def publish(left: float | None) -> tuple[dict[str, float], dict[str, Any]]:
        seconds = _timed(lambda: pub.publish_table(table, "bench-publish"))
        got = pub.info("bench-publish").num_rows
        pub.release("bench-publish")  # unlinks the segment, outside the timing
        if got != ctx.rows:
            raise RuntimeError(f"the broker holds {got} rows, not {ctx.rows}")
        return {"seconds": seconds}, {}

    pool = [0]

    def fetch(left: float | None) -> tuple[dict[str, float], dict[str, Any]]:
        first, warm = tb_child(
            ctx, {"mode": "fetch", "ticket": "bench", "remote": False, "reps": 2}, left
        )
        pool[0] = max(pool[0], first["pool_bytes"])
        times = {"seconds": first["seconds"], "sum_s": first["sum_s"]}
        times |= {"warm": warm["seconds"], "warm_sum": warm["sum_s"]}
        return times, {"arrow_pool_bytes": pool[0]}

    def local_sum(left: float | None) -> tuple[dict[str, float], dict[str, Any]]:
        return {"seconds": _timed(lambda: pc.sum(table.column("id")))}, {}

    ms = [
        Measurement(
            "ipc_write",
            "plain IPC file write to /dev/shm",
            ipc_write,
            rows=[
                Row("ipc_write", "plain IPC file write to /dev/shm"),
                Row("ipc_write_unlink", "  same + unlink", "with_unlink"),
            ],
        ),
        Measurement("publish", "publish_table(table, name), same host", publish),
        Measurement(
            "fetch",
            "fetch_table(name).to_arrow(), other process",
            fetch,
            budget_s=ctx.budget_s,
            rows=[
                Row("fetch", "fetch_table(name).to_arrow(), other process", gb=None),
                Row(
                    "fetch_sum", "  then pc.sum(id): first touch of mapped pages", "sum_s", "column"
                ),
                Row("fetch_warm", "  2nd fetch in the same process", "warm", None),
                Row("fetch_warm_sum", "  then pc.sum(id) again", "warm_sum", "column"),
            ],
        ),
        Measurement(
            "local_sum",
            "pc.sum(id) on the publisher's own table",
            local_sum,
            rows=[Row("local_sum", "pc.sum(id) on the publisher's own table", gb="column")],
        ),
    ]
    for proto in [5, 4] + ([] if skip_pickle2 else [2]):
        ms.append(Measurement(f"pickle{proto}", f"pickle round trip, protocol {proto}",
                              _pickle_run(table, proto, ctx.rows)))  # fmt: skip
    return ms


def _pickle_run(table: pa.Table, proto: int, rows: int) -> Any:
    def run(left: float | None) -> tuple[dict[str, float], dict[str, Any]]:
        gc.collect()
        t0 = time.perf_counter()
        blob = pickle.dumps(table, protocol=proto)
        size = len(blob)
        back = pickle.loads(blob)
        got = back.num_rows
        del blob, back  # freeing both is part of a round trip (as it always was here)
        seconds = time.perf_counter() - t0
        if got != rows:
            raise RuntimeError("the pickle round trip lost rows")
        return {"seconds": seconds}, {"pickle_bytes": size}

    return run

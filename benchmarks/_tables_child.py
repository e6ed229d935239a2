"""bench_tables.py's ticketbooth client: a fresh process with its own Session, using only
the public API (Session, fetch_table, publish_table, info, release), so it measures whatever
remote path the checkout has.

    fetch    ``fetch_table(ticket).to_arrow()`` timed; then ``pc.sum(id)`` timed apart (on
             the same host that is the first touch of the mapped pages); `reps` times
    publish  the table is built first, then ``publish_table(table, ticket)`` is timed;
             ``info(ticket).num_rows`` checks it and ``release`` frees it, both untimed

Its first line says whether the session is on the same host; the driver checks that it is
what was asked (force_remote=True must not silently map /dev/shm, and vice versa).
"""

from __future__ import annotations

import time
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from _tables_procs import clock_starts, emit, read_cfg

import ticketbooth as tb


def fetch(s: tb.Session, cfg: dict[str, Any]) -> None:
    for _ in range(cfg.get("reps", 1)):
        pool0 = pa.total_allocated_bytes()
        t0 = clock_starts()
        table = s.fetch_table(cfg["ticket"])
        data = table.to_arrow()
        t1 = time.perf_counter()
        total = pc.sum(data.column("id")).as_py()
        t2 = time.perf_counter()
        emit(
            seconds=t1 - t0,
            sum_s=t2 - t1,
            rows=data.num_rows,
            sum=total,
            batches=len(data.to_batches()),
            pool_bytes=pa.total_allocated_bytes() - pool0,
        )
        del data
        s.release(table)
        del table  # unmap now, not inside the next run's timing


def publish(s: tb.Session, cfg: dict[str, Any]) -> None:
    from _tables_data import make_table

    data = make_table(cfg["rows"])
    t0 = clock_starts()
    s.publish_table(data, cfg["ticket"])
    seconds = time.perf_counter() - t0
    emit(seconds=seconds, rows=s.info(cfg["ticket"]).num_rows)
    s.release(cfg["ticket"])


def main() -> None:
    cfg = read_cfg()
    kw: dict[str, Any] = {"url": cfg["url"], "token": cfg["token"]} if cfg.get("url") else {}
    if cfg.get("tls_root_certs"):
        kw["tls_root_certs"] = cfg["tls_root_certs"]  # a path: Session reads the PEM
    if cfg.get("session_timeout"):
        # the default Session timeout (30 s) bounds each step; allow the whole budget so a
        # slow path still gives a number (the run itself is killed at the budget)
        kw["timeout"] = cfg["session_timeout"]
    started = time.perf_counter()
    try:
        s = tb.Session(force_remote=cfg["remote"], name="bench-" + cfg["mode"], **kw)
        emit(same_host=s.same_host)
        with s:
            fetch(s, cfg) if cfg["mode"] == "fetch" else publish(s, cfg)
    except Exception as exc:
        emit(error=f"{type(exc).__name__}: {exc}", after_s=time.perf_counter() - started)


if __name__ == "__main__":
    main()


# --------------------------------------------------------------------------------------
# in the benchmark process
# --------------------------------------------------------------------------------------
def tb_child(
    ctx: Any, cfg: dict[str, Any], left: float | None, **over: Any
) -> list[dict[str, Any]]:
    """Run this script once with `cfg` (url/token/tls_root_certs default to the run's TCP
    broker as `ctx` names it; `over` replaces them); check what it says; its runs' lines."""
    from _tables_procs import run_child

    full = {"url": ctx.url, "token": ctx.token, "rows": ctx.rows}
    full |= {"session_timeout": ctx.budget_s + 60, **cfg, **over}
    lines = run_child("_tables_child.py", full, ctx.budget_s if left is None else left)
    if lines[0].get("same_host") == full["remote"]:
        raise RuntimeError(
            f"the child's session has same_host={lines[0].get('same_host')} but "
            f"remote={full['remote']} was asked (TICKETBOOTH_FORCE_REMOTE? /dev/shm not shared?)"
        )
    runs = lines[1:]
    for f in runs:
        if f["rows"] != ctx.rows or f.get("sum", ctx.expected_sum) != ctx.expected_sum:
            raise RuntimeError(f"{full['mode']} returned wrong data: {f}")
    if not runs:
        raise RuntimeError(f"{full['mode']} child reported no run")
    return runs

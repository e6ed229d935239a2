#!/usr/bin/env python
"""Table benchmark: what handing an Arrow table between processes costs with ticketbooth,
on the same host (shared memory) and over loopback TCP and TLS, against raw sockets and
pyarrow's own Arrow Flight server.

    python benchmarks/bench_tables.py [--rows N] [--repeat K] [--json PATH] [--quick]
                                      [--remote-timeout S] [--skip-pickle2]
                                      [--flight-batch-rows N] [--link GBIT]

Processes (a subscriber is never the publisher's process; each server is its own process):
  * two brokers, ``python -m ticketbooth serve --port 0`` in a temporary Jupyter runtime dir
    (JUPYTER_RUNTIME_DIR is set for this process and its children; nothing is unset), and
    the same with ``--tls-cert C --tls-key K`` in another; C/K is a self-signed certificate
    made at run time
  * a raw socket server and a pyarrow FlightServerBase, each once plain and once with TLS
  * this process: the same-host rows (IPC write, publish, pickle) and the publisher of the
    table the brokers serve; every other client is a fresh child process per run

Same host (_tables_local.py): a plain IPC write to /dev/shm (the floor for publishing);
``publish_table``; ``fetch_table(name).to_arrow()`` in a child, then ``pc.sum(id)`` timed
apart; pickle round trips. Between processes (_tables_peers.py): raw TCP and raw TLS
(sendall -> recv_into, the ceiling); Flight DoGet/DoPut over grpc+tcp and grpc+tls;
ticketbooth ``Session(url, token=..., force_remote=True)`` fetch and publish over TCP and
TLS (public API only: it measures whatever remote path the checkout has). With --link GBIT
(root only) those transfers cross an emulated GBIT Gbit/s Ethernet link instead of loopback
(_tables_link.py): a veth pair to a network namespace, where every client process runs.

The runs are interleaved: K rounds, each running every measurement once. Each figure is the
median of its K runs. Each measurement in another process has a time budget
(--remote-timeout) over all its runs; a run over it is killed, and its time is reported as a
lower bound when no run finished. GB/s is ``table.nbytes / seconds`` (1 GB = 1e9 bytes);
the ratios are relative throughputs between rows of the same run.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import shutil
import ssl
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the _*.py helpers next to this file
from _broker import start_broker
from _tables_data import make_table
from _tables_link import emulated_link
from _tables_local import local_measurements
from _tables_peers import start_servers, transfer_measurements
from _tables_report import report
from _tables_rounds import Ctx, results, run_rounds
from _tables_targets import add_ratios, targets
from _tables_tls import self_signed_cert
from _util import add_output_args, cpu_model, git_state, log, mem_total_gib, write_json


def bench(
    rows: int,
    repeat: int,
    budget: float,
    skip_pickle2: bool,
    flight_batch_rows: int | None,
    link_gbit: float | None = None,
) -> dict[str, Any]:
    import ticketbooth as tb

    t_start, load_start = time.monotonic(), os.getloadavg()
    table = make_table(rows)
    work = Path(tempfile.mkdtemp(prefix="ticketbooth-bench-"))
    runtime = work / "runtime"
    os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime)  # the children inherit it
    scratch = tempfile.mkdtemp(prefix="ticketbooth-bench-ipc-", dir="/dev/shm")
    stack = ExitStack()
    host: tuple[str, ...] = ()
    try:
        if link_gbit is not None:
            log(f"setting up an emulated {link_gbit:g} Gbit/s link (veth + tc tbf)")
            host = ("--host", stack.enter_context(emulated_link(link_gbit)))
        cert, key, cert_made_by = self_signed_cert(work / "tls", host[1:])
        log("starting the brokers and the raw and Flight servers")
        broker = start_broker(runtime, "--port", "0", *host, *(("--insecure",) if host else ()))
        stack.callback(broker.stop)
        brokers: dict[str, Any] = {"tcp": broker}
        try:
            tls_args = ("--port", "0", *host, "--tls-cert", str(cert), "--tls-key", str(key))
            brokers["tls"] = start_broker(work / "runtime-tls", *tls_args)
            stack.callback(brokers["tls"].stop)
        except Exception as exc:
            brokers["tls"] = exc
        # discovery looks at $TICKETBOOTH_URL before the runtime dir; when it is set, name
        # our broker explicitly instead of unsetting anything
        explicit = os.environ.get("TICKETBOOTH_URL") is not None
        ctx = Ctx(
            rows=rows,
            nbytes=table.nbytes,
            expected_sum=int(pc.sum(table.column("id")).as_py()),
            budget_s=budget,
            url=broker.url if explicit else None,
            token=broker.token,
            flight_batch_rows=flight_batch_rows,
        )
        servers = start_servers(ctx, cert, key, work)
        for srv in servers.values():
            if not isinstance(srv, Exception):
                stack.callback(srv.stop)
        log("publishing the table the brokers serve")
        kw = {"url": broker.url, "token": broker.token} if explicit else {}
        pub = tb.Session(name="bench-publisher", **kw)
        stack.callback(pub.close)
        if not pub.same_host:
            raise RuntimeError("the publisher does not see the broker's /dev/shm directory")
        pub.publish_table(table, "bench")
        if not isinstance(brokers["tls"], Exception):
            b = brokers["tls"]
            pub_tls = tb.Session(b.url, token=b.token, name="bench-publisher-tls")
            stack.callback(pub_tls.close)
            pub_tls.publish_table(table, "bench")  # on the same host, over its unix socket
        ms = local_measurements(ctx, table, pub, scratch, skip_pickle2)
        ms += transfer_measurements(ctx, servers, brokers, cert)
        rounds = run_rounds(ms, repeat)
    finally:
        stack.close()
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    res = results(ms, table.nbytes)
    add_ratios(res)
    meta = metadata(table, repeat, budget, explicit)
    meta |= {"loadavg_start": load_start, "rounds": rounds, "cert_made_by": cert_made_by}
    meta["flight_batch_rows"] = flight_batch_rows
    meta["link_gbit"] = link_gbit
    meta["raw_tls_cipher"] = " ".join(map(str, res["raw_tls"].get("cipher") or [])) or None
    meta["wall_s"] = time.monotonic() - t_start
    return {"meta": meta, "results": res, "targets": targets(res)}


def metadata(table: pa.Table, repeat: int, budget: float, explicit: bool) -> dict[str, Any]:
    import grpc

    import ticketbooth as tb

    try:
        import cryptography

        crypto = cryptography.__version__
    except ImportError:
        crypto = None
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "rows": table.num_rows,
        "columns": table.num_columns,
        "schema": [f"{f.name}: {f.type}" for f in table.schema],
        "nbytes": table.nbytes,
        "record_batches": len(table.to_batches()),
        "repeat": repeat,
        "remote_timeout_s": budget,
        "python": platform.python_version(),
        "pyarrow": pa.__version__,
        "grpcio": grpc.__version__,
        "numpy": np.__version__,
        "openssl": ssl.OPENSSL_VERSION,
        "cryptography": crypto,
        "ticketbooth": tb.__version__,
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "mem_total_gib": mem_total_gib(),
        "loadavg_end": os.getloadavg(),
        "git": git_state(("python", "benchmarks")),
        "broker_via": "explicit url ($TICKETBOOTH_URL is set)"
        if explicit
        else "runtime-dir discovery",
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, help="table rows (default 10,000,000; --quick 1,000,000)")
    p.add_argument("--repeat", type=int, help="runs per measurement (default 5; --quick 1)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a smoke test: 1,000,000 rows, 1 run each, a 60 s budget (unless given)",
    )
    add_output_args(p, wait_load=False)
    p.add_argument(
        "--remote-timeout",
        type=float,
        metavar="S",
        help="time budget in seconds for each measurement in other processes, over all its "
        "runs (default 300; --quick 60)",
    )
    p.add_argument("--skip-pickle2", action="store_true", help="skip the protocol 2 round trip")
    p.add_argument(
        "--flight-batch-rows",
        type=int,
        metavar="N",
        help="pyarrow's Flight peers send the table in batches of at most N rows (default: "
        "as built, one batch; ticketbooth's own messages hold ~4 MiB: 117,964 of these rows)",
    )
    p.add_argument(
        "--link",
        type=float,
        metavar="GBIT",
        help="root only: the transfers between processes cross an emulated Ethernet link of "
        "GBIT Gbit/s (a veth pair to a network namespace, shaped by tc tbf) instead of loopback",
    )
    args = p.parse_args(argv)
    quick = args.quick
    rows = args.rows if args.rows is not None else (1_000_000 if quick else 10_000_000)
    repeat = args.repeat if args.repeat is not None else (1 if quick else 5)
    budget = args.remote_timeout if args.remote_timeout is not None else (60.0 if quick else 300.0)
    if rows < 1 or repeat < 1 or budget <= 0:
        p.error("--rows, --repeat and --remote-timeout must be positive")
    if args.flight_batch_rows is not None and args.flight_batch_rows < 1:
        p.error("--flight-batch-rows must be positive")
    if args.link is not None and args.link <= 0:
        p.error("--link must be positive (Gbit/s)")
    data = bench(rows, repeat, budget, args.skip_pickle2, args.flight_batch_rows, args.link)
    print(report(data))
    write_json(args.json, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())

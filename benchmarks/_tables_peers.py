"""bench_tables.py's transfers between processes over loopback: the peers and ticketbooth.

Every row has a server process, started once for the whole benchmark and holding the data,
and a fresh client process for every run (which times its own transfer, after its imports
and its connection are done):

    raw_tcp, raw_tls      _tables_raw.py server  <- _tables_raw.py client (recv_into)
    flight_{get,put}_*    _tables_flight.py server (pyarrow FlightServerBase)
                              <- _tables_flight.py client (stock FlightClient)
    tb_{fetch,publish}_*  ``ticketbooth serve --port 0`` [--tls-cert C --tls-key K]
                              <- _tables_child.py: Session(tcp_url, token=...,
                                 force_remote=True[, tls_root_certs=C])

The brokers hold "bench", published on the same host by the benchmark process (the broker
then serves it from its /dev/shm segment). Raw rows move table.nbytes bytes one way
(server -> client); on loopback both directions take the same path.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from _tables_child import tb_child
from _tables_procs import Server, run_child, start_server
from _tables_rounds import Ctx, Measurement, failed

# name, script, TLS, extra configuration
SERVERS: list[tuple[str, str, bool, dict[str, Any]]] = [
    ("raw_tcp", "_tables_raw.py", False, {}),
    ("raw_tls", "_tables_raw.py", True, {}),
    ("raw_tls_bio", "_tables_raw.py", True, {"bio": True}),
    ("flight_tcp", "_tables_flight.py", False, {}),
    ("flight_tls", "_tables_flight.py", True, {}),
]

Run = tuple[dict[str, float], dict[str, Any]]


def start_servers(ctx: Ctx, cert: Path, key: Path, log_dir: Path) -> dict[str, Server | Exception]:
    """The raw and Flight servers (an exception in place of one that did not start)."""
    out: dict[str, Server | Exception] = {}
    for name, script, tls, extra in SERVERS:
        cfg = {"role": "server", "nbytes": ctx.nbytes, "rows": ctx.rows, **extra}
        cfg["batch_rows"] = ctx.flight_batch_rows
        if tls:
            cfg |= {"cert": str(cert), "key": str(key)}
        try:
            out[name] = start_server(name, script, cfg, log_dir)
        except Exception as exc:
            out[name] = exc
    return out


def transfer_measurements(
    ctx: Ctx, servers: dict[str, Server | Exception], brokers: dict[str, Any], cert: Path
) -> list[Measurement]:
    """One round's order: per transport, raw, then get/fetch pairs, then put/publish pairs."""
    ms = []
    for transport in ("tcp", "tls"):
        tls = transport == "tls"
        name = transport.upper()
        pem = str(cert) if tls else None
        ms.append(
            _m(
                f"raw_{transport}",
                f"raw {name}{' (Python ssl)' if tls else ''}: sendall -> recv_into",
                ("raw", "get", transport),
                ctx,
                servers[f"raw_{transport}"],
                lambda srv, left, pem=pem: _raw(ctx, srv, left, pem),
            )
        )
        if tls:  # the same ssl module, driven with fewer system calls: how soft a ceiling
            ms.append(
                _m(
                    "raw_tls_bio",
                    "raw TLS, ssl.MemoryBIO, 4 MiB socket reads",
                    ("raw", "get", transport),
                    ctx,
                    servers["raw_tls_bio"],
                    lambda srv, left: _raw(ctx, srv, left, str(cert), bio=True),
                )
            )
        broker = brokers[transport]
        for direction, verb in (("get", "fetch"), ("put", "publish")):
            ms.append(
                _m(
                    f"flight_{direction}_{transport}",
                    f"pyarrow Flight server Do{direction.capitalize()}, grpc+{transport}",
                    ("flight", direction, transport),
                    ctx,
                    servers[f"flight_{transport}"],
                    lambda srv, left, d=direction, pem=pem: _flight(ctx, srv, left, d, pem),
                )
            )
            ms.append(
                _m(
                    f"tb_{verb}_{transport}",
                    f"ticketbooth {verb}, force_remote, {name}",
                    ("ticketbooth", direction, transport),
                    ctx,
                    broker,
                    lambda b, left, v=verb, pem=pem: _tb(ctx, b, left, v, pem),
                )
            )
    return ms


def _m(key: str, label: str, info: tuple[str, str, str], ctx: Ctx, server: Any, fn: Any) -> Any:
    peer, direction, transport = info
    if isinstance(server, Exception):
        run = failed(f"its server did not start: {server}")
    else:
        run = lambda left: fn(server, left)  # noqa: E731
    return Measurement(
        key,
        label,
        run,
        group="transfer",
        budget_s=ctx.budget_s,
        info={"peer": peer, "direction": direction, "transport": transport},
    )


def _raw(ctx: Ctx, srv: Server, left: float | None, pem: str | None, bio: bool = False) -> Run:
    cfg = {"role": "client", "port": srv.port, "nbytes": ctx.nbytes, "cert": pem, "bio": bio}
    cfg["probe_pool"] = pem is None
    line = run_child("_tables_raw.py", cfg, left or ctx.budget_s)[-1]
    if line["bytes"] != ctx.nbytes:
        raise RuntimeError(f"received {line['bytes']} bytes, not {ctx.nbytes}")
    return {"seconds": line["seconds"]}, {
        "first_touch_s": line["first_touch_s"],
        "pool_touch_s": line.get("pool_touch_s"),
        "cipher": line["cipher"],
    }


def _flight(ctx: Ctx, srv: Server, left: float | None, mode: str, pem: str | None) -> Run:
    cfg = {"role": "client", "mode": mode, "port": srv.port, "rows": ctx.rows, "cert": pem}
    cfg["batch_rows"] = ctx.flight_batch_rows
    line = run_child("_tables_flight.py", cfg, left or ctx.budget_s)[-1]
    if line["rows"] != ctx.rows or line.get("sum", ctx.expected_sum) != ctx.expected_sum:
        raise RuntimeError(f"Flight {mode} returned wrong data: {line}")
    return {"seconds": line["seconds"]}, {"batches": line.get("batches")}


_tickets = itertools.count()


def _tb(ctx: Ctx, broker: Any, left: float | None, verb: str, pem: str | None) -> Run:
    cfg: dict[str, Any] = {"mode": verb, "remote": True}
    cfg["ticket"] = "bench" if verb == "fetch" else f"bench-remote-{next(_tickets)}"
    if not broker.tcp_url:
        raise RuntimeError("the broker listens on no TCP port")
    over = {"url": broker.tcp_url, "token": broker.token, "tls_root_certs": pem}
    line = tb_child(ctx, cfg, left, **over)[-1]
    return {"seconds": line["seconds"]}, {"batches": line.get("batches")}

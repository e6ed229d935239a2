"""The `ticketbooth` command: serve, ls, info, --version."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from ._errors import TicketboothError
from ._limits import Limits, MiB
from ._version import __version__


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _age(published_at: float) -> str:
    secs = max(0, int(time.time() - published_at))
    if secs < 120:
        return f"{secs}s"
    if secs < 7200:
        return f"{secs // 60}m"
    return f"{secs // 3600}h"


def _serve(args: argparse.Namespace) -> int:
    from . import _discovery
    from .broker import BrokerConfig, run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.host not in ("127.0.0.1", "localhost", "::1") and args.port is None:
        print("--host needs --port (the unix socket is always local)", file=sys.stderr)
        return 2
    limits = Limits(
        max_message_bytes=args.max_message_bytes,
        session_ttl_s=args.session_ttl,
        heartbeat_interval_s=min(2.0, args.session_ttl / 3),
    )
    conn = args.connection_file or _discovery.connection_file_path()
    cfg = BrokerConfig(
        port=args.port,
        host=args.host,
        token=args.token,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        limits=limits,
        idle_timeout_s=args.idle_timeout,
        connection_file=conn,
    )

    def ready(broker: Any) -> None:
        print(f"ticketbooth {__version__} broker listening on {broker.url}", flush=True)
        if broker.tcp_url:
            print(f"  and on {broker.tcp_url}", flush=True)
        print(f"  connection file (token inside, private): {conn}", flush=True)
        if args.show_token:
            print(f"  token: {broker.token}", flush=True)

    asyncio.run(run(cfg, ready))
    return 0


def _session(args: argparse.Namespace) -> Any:
    from ._session import Session

    return Session(args.url, args.token, start_broker=False)


def _ls(args: argparse.Namespace) -> int:
    with _session(args) as s:
        rows = s.list_objects()
    if not rows:
        print("no published objects")
        return 0
    header = ("NAME", "TYPE", "ROWS", "COLUMNS", "BYTES", "VERSION", "PUBLISHER", "AGE")
    table = [header] + [
        (
            o.name,
            o.type,
            f"{o.num_rows:,}" if o.type == "Table" else "-",
            str(o.num_columns) if o.type == "Table" else "-",
            _human_bytes(o.nbytes),
            str(o.version),
            o.publisher,
            _age(o.published_at),
        )
        for o in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def _info(args: argparse.Namespace) -> int:
    import pyarrow as pa

    with _session(args) as s:
        o = s.info(args.ticket)
    print(f"ticket:     {args.ticket}")
    print(f"type:       {o.type}")
    print(f"version:    {o.version}")
    print(f"publisher:  {o.publisher}")
    print(f"age:        {_age(o.published_at)}")
    print(f"bytes:      {_human_bytes(o.nbytes)}")
    if o.type == "Table":
        print(f"rows:       {o.num_rows:,}")
        print("schema:")
        for field in pa.ipc.read_schema(pa.py_buffer(o.schema)):
            print(f"  {field.name}: {field.type}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(args.rows)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ticketbooth", description=__doc__)
    p.add_argument("--version", action="version", version=f"ticketbooth {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run a broker (unix socket; TCP with --port)")
    serve.add_argument("--port", type=int, help="also listen on TCP (0 = any free port)")
    serve.add_argument("--host", default="127.0.0.1", help="TCP host (default loopback only)")
    serve.add_argument("--token", help="token clients must send (default: random)")
    serve.add_argument("--show-token", action="store_true", help="print the token")
    serve.add_argument("--tls-cert", help="PEM certificate for TCP (with --tls-key)")
    serve.add_argument("--tls-key", help="PEM private key for TCP")
    serve.add_argument("--idle-timeout", type=float, help="exit after N seconds without sessions")
    serve.add_argument("--connection-file", help="where to write url+token (default: runtime dir)")
    serve.add_argument("--session-ttl", type=float, default=10.0, help="seconds without heartbeat")
    serve.add_argument("--max-message-bytes", type=int, default=4 * MiB)
    serve.set_defaults(fn=_serve)

    demo = sub.add_parser("demo", help="hand a table from one process to another")
    demo.add_argument("--rows", type=int, default=1_000_000)
    demo.set_defaults(fn=_demo)

    for name, fn, text in (("ls", _ls, "list named objects"), ("info", _info, "describe one")):
        cmd = sub.add_parser(name, help=text)
        if name == "info":
            cmd.add_argument("ticket", help="a scope name or a shared ticket's text")
        cmd.add_argument("--url", help="broker address (default: discovery)")
        cmd.add_argument("--token", help="broker token")
        cmd.set_defaults(fn=fn)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except TicketboothError as exc:
        print(f"ticketbooth: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

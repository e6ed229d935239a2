"""The `ticketbooth` command: serve, ls, info, demo, --version."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from ._cli_serve import add_serve
from ._cli_values import UsageError, parse_count, refuse_token, shown
from ._connection import read_file
from ._errors import InvalidInputError, TicketboothError
from ._version import __version__


def _human_bytes(n: int) -> str:
    if n <= 0:  # not known (a Deephaven server does not report sizes)
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _age(published_at: float) -> str:
    if published_at <= 0:  # not known (a Deephaven server does not record it)
        return "-"
    secs = max(0, int(time.time() - published_at))
    if secs < 120:
        return f"{secs}s"
    if secs < 7200:
        return f"{secs // 60}m"
    return f"{secs // 3600}h"


# ls, info --------------------------------------------------------------------------------------
def _session(args: argparse.Namespace) -> Any:
    from . import _discovery
    from ._session import Session

    token = None
    if args.token_file:
        try:
            token = _discovery.read_token_file(args.token_file)
        except InvalidInputError as exc:
            raise UsageError(str(exc)) from None
    url = args.url or (os.environ.get(_discovery.ENV_URL) if token else None)
    if token and not url:
        raise UsageError(
            "--token-file needs --url (or TICKETBOOTH_URL); "
            "without an address the connection file gives both"
        )
    try:
        certs = read_file("--tls-root-certs", args.tls_root_certs) if args.tls_root_certs else None
    except InvalidInputError as exc:
        raise UsageError(str(exc)) from None
    return Session(url, token, tls_root_certs=certs, start_broker=False)


def _ls(args: argparse.Namespace) -> int:
    with _session(args) as s:
        rows = s.list_objects(include_shared=args.all)
    if not rows:
        print(
            "no published objects" if args.all else "no named objects (--all adds shared tickets)"
        )
        return 0
    header = ("NAME", "TYPE", "ROWS", "COLUMNS", "BYTES", "VERSION", "PUBLISHER", "AGE")
    table = [header] + [
        (
            shown(o.name or str(o.ticket)),
            shown(o.type),
            f"{o.num_rows:,}" if o.type == "Table" else "-",
            str(o.num_columns) if o.type == "Table" else "-",
            _human_bytes(o.nbytes),
            str(o.version),
            shown(o.publisher),
            _age(o.published_at),
        )
        for o in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def _info(args: argparse.Namespace) -> int:
    with _session(args) as s:
        o = s.info(args.ticket)
    print(f"ticket:     {shown(args.ticket)}")
    print(f"type:       {shown(o.type)}")
    print(f"version:    {o.version}")
    print(f"publisher:  {shown(o.publisher)}")
    print(f"age:        {_age(o.published_at)}")
    print(f"bytes:      {_human_bytes(o.nbytes)}")
    if o.type == "Table":
        print(f"rows:       {o.num_rows:,}")
        print("schema:")
        for field in o.schema or []:
            print(f"  {shown(field.name)}: {shown(str(field.type))}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    return run_demo(args.rows)


# the parser ------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `ticketbooth` command.

    Returns:
        The parser; each subcommand sets ``fn``, the function that runs it.
    """
    p = argparse.ArgumentParser(prog="ticketbooth", description=__doc__)
    p.add_argument("--version", action="version", version=f"ticketbooth {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    add_serve(sub)

    demo = sub.add_parser("demo", help="hand a table from one process to another")
    demo.add_argument(
        "--rows", type=parse_count, default=1_000_000, help="rows of the table (1,000,000)"
    )
    demo.set_defaults(fn=_demo)

    for name, fn, text in (("ls", _ls, "list named objects"), ("info", _info, "describe one")):
        cmd = sub.add_parser(name, help=text)
        if name == "info":
            cmd.add_argument("ticket", help="a scope name or a shared ticket's text")
        else:
            cmd.add_argument(
                "--all",
                action="store_true",
                help="also the shared tickets your sessions published (NAME shows the ticket)",
            )
        cmd.add_argument("--url", help="broker address (default: discovery)")
        cmd.add_argument("--token", action=refuse_token())
        cmd.add_argument(
            "--token-file",
            metavar="PATH",
            help="file (mode 0600) with the token "
            "(else $TICKETBOOTH_TOKEN, else the connection file's)",
        )
        cmd.add_argument(
            "--tls-root-certs", metavar="PEM", help="CA certificate of a grpcs:// broker"
        )
        cmd.set_defaults(fn=fn)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `ticketbooth` command.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
        0 on success, 1 when the broker refused or failed, 2 for a bad option (argparse's
        code), 130 on Ctrl-C.
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except UsageError as exc:
        print(f"ticketbooth {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except TicketboothError as exc:
        print(f"ticketbooth: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

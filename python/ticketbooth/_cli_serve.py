"""`ticketbooth serve`: its options, their checks, and running the broker."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from typing import Any

from ._cli_values import (
    UsageError,
    parse_count,
    parse_count_or_zero,
    parse_port,
    parse_seconds,
    parse_size,
    parse_size_or_zero,
    refuse_token,
)
from ._errors import InvalidInputError
from ._limits import Limits
from ._version import __version__


def _serve_token(args: argparse.Namespace) -> tuple[str | None, str]:
    """The token `serve` uses and where it came from (None: the broker makes one)."""
    from . import _discovery

    if args.token_file:
        return _discovery.read_token_file(args.token_file), f"--token-file {args.token_file}"
    env = os.environ.get(_discovery.ENV_TOKEN)
    if env:
        return _discovery.check_token(env, _discovery.ENV_TOKEN), _discovery.ENV_TOKEN
    return None, "random"


def _limits(args: argparse.Namespace) -> Limits:
    """The broker's limits from the options given; the others keep Limits' defaults."""
    names = (
        "max_queue_bytes",
        "max_store_bytes",
        "max_object_bytes",
        "max_message_bytes",
        "max_sessions",
        "max_exports_per_session",
        "history_versions",
    )
    given: dict[str, Any] = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    if args.history_bytes is not None:
        given["max_history_bytes"] = args.history_bytes
    if args.session_ttl is not None:
        given["session_ttl_s"] = args.session_ttl
        given["heartbeat_interval_s"] = min(2.0, args.session_ttl / 3)
    try:
        return Limits(**given)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"invalid limits: {exc}") from None


def _check_host(args: argparse.Namespace) -> str:
    """The TCP host, if it may and can be listened on.

    Refused: beyond loopback without --port, or without TLS or --insecure; and a host or
    port that cannot be bound (unknown host, port in use).
    """
    from ._connection import bind_problem, is_loopback

    host = str(args.host).strip("[]")
    tls = bool(args.tls_cert or args.tls_key)
    ports = [p for p in (args.port, args.deephaven_port) if p is not None]
    if not ports and (tls or not is_loopback(host)):
        what = "--tls-cert/--tls-key" if tls else "--host"
        raise UsageError(f"{what} needs --port (the unix socket is always local and plain)")
    if not is_loopback(host) and not tls and not args.insecure:
        raise UsageError(
            f"--host {host} would accept other machines without TLS, sending the token and "
            "the data in clear text: add --tls-cert CERT --tls-key KEY, or --insecure "
            "if the network is trusted"
        )
    if args.deephaven_anonymous and (args.deephaven_port is None or not is_loopback(host)):
        raise UsageError(
            "--deephaven-anonymous needs --deephaven-port, and a loopback --host (anyone who "
            "reaches the port gets in without a token)"
        )
    if args.port is not None and args.port == args.deephaven_port and args.port != 0:
        raise UsageError(f"--port and --deephaven-port are both {args.port}: give two ports")
    for port in ports:
        problem = bind_problem(host, port)
        if problem:
            raise UsageError(problem)
    return host


def _check_dir(option: str, path: str) -> str:
    if not os.path.isdir(path) or not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path} is not a writable directory")
    return path


def _check_connection_file(path: str) -> str:
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"cannot write the connection file {path}: {directory} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write the connection file {path}: {directory} is not writable")
    return path


def _serve_config(args: argparse.Namespace) -> tuple[Any, str]:
    """The BrokerConfig for the options, and where its token comes from.

    Raises:
        UsageError: any option that cannot be used (host, TLS files, token, limits).
    """
    from . import _discovery
    from ._connection import read_tls_pair
    from .broker import BrokerConfig

    host = _check_host(args)
    try:
        if args.tls_cert or args.tls_key:
            read_tls_pair(args.tls_cert, args.tls_key)
        token, token_source = _serve_token(args)
        users = _discovery.read_users_file(args.users_file) if args.users_file else None
    except InvalidInputError as exc:
        raise UsageError(str(exc)) from None
    config = BrokerConfig(
        shm_base=_check_dir("--shm-dir", args.shm_dir) if args.shm_dir else None,
        sweep_interval_s=args.sweep_interval or 30.0,
        port=args.port,
        host=host,
        token=token,
        users=users,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        limits=_limits(args),
        idle_timeout_s=args.idle_timeout,
        deephaven_port=args.deephaven_port,
        deephaven_anonymous=args.deephaven_anonymous,
        deephaven_session_ttl_s=args.deephaven_session_ttl or BrokerConfig.deephaven_session_ttl_s,
        connection_file=_check_connection_file(
            args.connection_file or _discovery.connection_file_path()
        ),
    )
    return config, token_source


def _serve(args: argparse.Namespace) -> int:
    from .broker import run

    config, token_source = _serve_config(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    started = False

    def ready(broker: Any) -> None:
        nonlocal started
        started = True
        print(f"ticketbooth {__version__} broker listening on {broker.url}", flush=True)
        if broker.tcp_url:
            print(f"  and on {broker.tcp_url}", flush=True)
        if broker.deephaven_port is not None:
            print(f"  Deephaven protocol (pydeephaven) on port {broker.deephaven_port}", flush=True)
        print(f"  connection file (token inside, private): {config.connection_file}", flush=True)
        if token_source != "random":
            print(f"  token: from {token_source}", flush=True)
        if args.show_token:
            print(f"  token: {broker.token}", flush=True)

    try:
        asyncio.run(run(config, ready))
    except InvalidInputError as exc:
        if started:
            raise
        raise UsageError(str(exc)) from None
    except OSError as exc:
        if started:
            raise
        print(f"ticketbooth serve: cannot start the broker: {exc}", file=sys.stderr)
        return 1
    return 0


#: serve's valued options: (name, type, metavar, help).
_SERVE_OPTIONS: tuple[tuple[str, Any, str, str], ...] = (
    ("--port", parse_port, "N", "also listen on TCP (0 = any free port)"),
    ("--host", str, "HOST", "TCP host (default 127.0.0.1, loopback only)"),
    ("--token-file", str, "PATH", "file (mode 0600) with the token (else $TICKETBOOTH_TOKEN)"),
    ("--users-file", str, "PATH", "per-user tokens, `<user> <token>` lines (mode 0600)"),
    ("--tls-cert", str, "PEM", "certificate for TCP (with --tls-key)"),
    ("--tls-key", str, "PEM", "private key for TCP (with --tls-cert)"),
    ("--idle-timeout", parse_seconds, "S", "exit after S seconds without sessions"),
    ("--connection-file", str, "PATH", "where to write url+token (default: runtime dir)"),
    ("--session-ttl", parse_seconds, "S", "seconds without heartbeat (default 10)"),
    ("--max-message-bytes", parse_size, "SIZE", "largest table-data message (4MiB)"),
    ("--max-object-bytes", parse_size, "SIZE", "largest single object (8GiB)"),
    ("--max-store-bytes", parse_size, "SIZE", "all objects (90%% of free shm at start)"),
    ("--max-queue-bytes", parse_size, "SIZE", "a slow reader's backlog per stream (64MiB)"),
    ("--shm-dir", str, "DIR", "where table segments live (default /dev/shm)"),
    ("--sweep-interval", parse_seconds, "S", "seconds between sweeps of orphaned segments (30)"),
    ("--max-sessions", parse_count, "N", "concurrent sessions (1000)"),
    ("--max-exports-per-session", parse_count, "N", "exports one session holds (10000)"),
    ("--history-versions", parse_count_or_zero, "N", "earlier versions kept per ticket (3)"),
    ("--history-bytes", parse_size_or_zero, "SIZE", "all kept versions (a quarter of the store)"),
    ("--deephaven-port", parse_port, "N", "serve pydeephaven clients on this port (0 = any)"),
    ("--deephaven-session-ttl", parse_seconds, "S", "a pydeephaven session's TTL (default 60)"),
)


def add_serve(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run a broker (unix socket; TCP with --port)")
    for name, kind, metavar, text in _SERVE_OPTIONS:
        serve.add_argument(name, type=kind, metavar=metavar, help=text)
    serve.set_defaults(host="127.0.0.1")
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="allow --host beyond loopback "
        "without TLS (the token and data cross the network in clear text)",
    )
    serve.add_argument(
        "--deephaven-anonymous",
        action="store_true",
        help="accept pydeephaven's auth_type='Anonymous' (loopback only)",
    )
    serve.add_argument("--show-token", action="store_true", help="print the token")
    serve.add_argument("--token", action=refuse_token())
    serve.set_defaults(fn=_serve)

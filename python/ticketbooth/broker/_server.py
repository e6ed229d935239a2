"""Running the broker: sockets, TLS, the connection file, the reaper and the idle exit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field

import grpc

from .. import _discovery
from .._errors import InvalidInputError, TicketboothError
from .._limits import Limits
from .._version import __version__
from ._events import EventHub
from ._flight import FlightServicer
from ._janitor import OwnerLock, claim_dir, holder, sweep_dead_dirs, sweep_incoming
from ._object_servicer import ObjectServicer
from ._plugins import HandlerRegistry
from ._servicer import Core, SessionServicer
from ._shm import ShmDir, default_base
from ._store import Store, StoredObject
from ._table_servicer import TableServicer
from ._wire import service_handler

log = logging.getLogger("ticketbooth.broker")
KEEPALIVE_S = 300
KEEPALIVE_TIMEOUT_S = 60


@dataclass
class BrokerConfig:
    """How to run a broker. Nothing listens beyond this machine unless `host` says so."""

    port: int | None = None  # TCP port (0 = any free port); None = unix socket only
    host: str = "127.0.0.1"
    token: str | None = None  # generated when None
    tls_cert: str | None = None
    tls_key: str | None = None
    limits: Limits = field(default_factory=Limits)
    idle_timeout_s: float | None = None  # exit after this long with no sessions
    connection_file: str | None = None
    shm_base: str | None = None
    sweep_interval_s: float = 30.0  # orphaned segments and dead brokers' dirs are removed
    # per-user tokens (user -> token) besides `token`, for a broker shared by many users
    users: dict[str, str] | None = None
    # the Deephaven-protocol front end (unmodified pydeephaven): its port (0 = any free one;
    # None = off), on `host` with the same TLS; anonymous logins (loopback only); its TTL
    deephaven_port: int | None = None
    deephaven_anonymous: bool = False
    deephaven_session_ttl_s: float = 60.0


class BrokerInUseError(TicketboothError):
    """Another live broker already owns the connection file (one broker per runtime dir)."""


class Broker:
    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        self._conn_owner = _claim_connection_file(config.connection_file)
        self.token = (
            _discovery.check_token(config.token, "BrokerConfig.token")
            if config.token
            else _discovery.new_token()
        )
        sweep_dead_dirs(config.shm_base or default_base())
        sweep_dead_dirs(tempfile.gettempdir())
        self.shm = ShmDir(config.shm_base)
        limits = config.limits.resolved(self.shm.free_bytes())
        self.store = Store(limits, self._free)
        if config.users and self.token in config.users.values():
            raise InvalidInputError("the broker's token must not also be a user's token")
        self.core = Core(self.store, self.shm, self.token, config.users)
        self.hub = EventHub(limits.max_queue_bytes)
        self.store.hooks.append(self.hub)
        self.handlers = HandlerRegistry(limits.max_queue_bytes)
        self.store.closed_hooks.append(self.handlers.drop_session)
        self._sock_dir = tempfile.mkdtemp(prefix="ticketbooth-sock-")
        self._sock_owner = claim_dir(self._sock_dir)
        self.url = f"unix://{self._sock_dir}/broker.sock"
        self.tcp_url: str | None = None
        self.deephaven_port: int | None = None
        self._stopped = asyncio.Event()

    def _free(self, obj: StoredObject, names: list[str]) -> None:
        for name in names:
            self.shm.unlink(name)

    async def start(self) -> None:
        self.server = _grpc_server(self.config.limits.grpc_message_limit)
        self.sessions = SessionServicer(self.core)
        tables = TableServicer(self.core)
        objects = ObjectServicer(self.core, self.hub, self.handlers)
        self.server.add_generic_rpc_handlers(
            (
                service_handler(self.sessions, "SessionService"),
                tables.handler(),
                FlightServicer(self.core).handler(),
                service_handler(objects, "ObjectService"),
            )
        )
        self.server.add_insecure_port(self.url)
        if self.config.port is not None:
            self.tcp_url, _ = self._add_tcp(self.server, self.config.port)
        if self.config.deephaven_port is not None:
            await self._start_deephaven(self.config.deephaven_port)
        await self.server.start()
        self._write_connection_file()
        self._tasks = [asyncio.create_task(self._reaper()), asyncio.create_task(self._janitor())]
        if self.config.idle_timeout_s is not None:
            self._tasks.append(asyncio.create_task(self._idle_exit(self.config.idle_timeout_s)))

    async def _start_deephaven(self, port: int) -> None:
        """The Deephaven-protocol front end: a server of its own on `port`, same store.

        Its receive limit is the per-object limit (up to 2 GiB): a pydeephaven client sends
        a table given as one record batch as one message. gRPC sets that limit for every
        method of a server, so the port's `Gate` checks each call's login or bearer before
        its request is read: only authenticated callers can send a large message.
        """
        from .._connection import is_loopback

        try:
            from ._dh_front import handlers
            from ._dh_sessions import DhSessions
        except ImportError as exc:
            raise InvalidInputError(
                f"--deephaven-port needs Deephaven's protocol stubs ({exc}): "
                "pip install 'ticketbooth[deephaven]'"
            ) from None

        cfg = self.config
        if cfg.deephaven_anonymous and not is_loopback(cfg.host):
            raise InvalidInputError(
                f"--deephaven-anonymous lets anyone who reaches the port in; it is refused "
                f"with --host {cfg.host} (loopback only)"
            )
        limits = self.store.limits
        dh = DhSessions(self.core, cfg.deephaven_session_ttl_s, cfg.deephaven_anonymous)
        self.dh_server = _grpc_server(min(limits.max_object_bytes + (1 << 20), 2**31 - 1))
        self.dh_server.add_generic_rpc_handlers(handlers(self.core, dh, self.hub, self.handlers))
        _, self.deephaven_port = self._add_tcp(self.dh_server, port)
        await self.dh_server.start()

    def _add_tcp(self, server: grpc.aio.Server, wanted_port: int) -> tuple[str, int]:
        """Listen on TCP; with TLS when either certificate file is configured (then both are).
        Returns the URL and the port bound.

        Raises:
            InvalidInputError: a port outside 0..65535, unusable TLS files, or an address
                that cannot be bound; the message says which and what to do.
        """
        from .. import _connection
        from .._errors import InvalidInputError

        cfg = self.config
        wanted = _connection.check_port(wanted_port)
        address = _connection.tcp_address(cfg.host, wanted)
        tls = bool(cfg.tls_cert or cfg.tls_key)
        try:
            if tls:
                pair = _connection.read_tls_pair(cfg.tls_cert, cfg.tls_key)
                port = server.add_secure_port(address, grpc.ssl_server_credentials([pair]))
            else:
                port = server.add_insecure_port(address)
        except RuntimeError:  # grpc says only "Failed to bind": find out why
            why = _connection.bind_problem(cfg.host, wanted)
            raise InvalidInputError(why or f"cannot listen on {address}") from None
        return ("grpcs://" if tls else "") + _connection.tcp_address(cfg.host, port), port

    def _write_connection_file(self) -> None:
        if not self.config.connection_file:
            return
        _discovery.write_connection_file(
            self.config.connection_file,
            {
                "url": self.url,
                "tcp_url": self.tcp_url,
                "deephaven_port": self.deephaven_port,
                "token": self.token,
                "pid": os.getpid(),
                "hostname": os.uname().nodename,
                "version": __version__,
            },
        )

    async def _reaper(self) -> None:
        """Close sessions that missed their heartbeats, unless the broker itself was the one
        not running (SIGSTOP, suspend, a stalled loop): then everyone gets a new TTL."""
        period = min(1.0, self.config.limits.heartbeat_interval_s / 2)
        pause = max(2.0, self.config.limits.heartbeat_interval_s)
        last = time.monotonic()
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            if now - last > period + pause:
                log.warning("the broker did not run for %.1fs; sessions get a new TTL", now - last)
                self.store.forgive(now)
            last = now
            for sid in self.store.expired(now):
                name = self.store.sessions[sid].name
                log.warning("session %s (%s) missed its heartbeats; closing it", sid[:8], name)
                self.store.close_session(sid, reason="expired")

    async def _janitor(self) -> None:
        interval = self.config.sweep_interval_s
        while True:
            await asyncio.sleep(interval)
            await asyncio.to_thread(self.sweep, interval)

    def sweep(self, grace_s: float) -> None:
        """Remove incoming segments whose writer died, and what dead brokers left."""
        sweep_incoming(self.shm.path, grace_s)
        sweep_dead_dirs(self.shm.base)
        sweep_dead_dirs(tempfile.gettempdir())

    async def _idle_exit(self, idle_s: float) -> None:
        idle_since = time.monotonic()
        while True:
            await asyncio.sleep(min(1.0, idle_s / 4))
            if self.store.sessions:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= idle_s:
                log.info("no sessions for %.0fs; exiting", idle_s)
                self._stopped.set()
                return

    def request_stop(self) -> None:
        self._stopped.set()

    async def wait(self) -> None:
        await self._stopped.wait()

    async def stop(self) -> None:
        """Stop serving and remove everything this broker made (safe after a failed start)."""
        for task in getattr(self, "_tasks", []):
            task.cancel()
        path = self.config.connection_file
        if path and (_discovery.read_connection_file(path) or {}).get("pid") == os.getpid():
            _discovery.remove_stale(path)
        if hasattr(self, "sessions"):
            self.sessions.shutdown()
        if hasattr(self, "dh_server"):
            await self.dh_server.stop(grace=1.0)
        if hasattr(self, "server"):
            await self.server.stop(grace=1.0)
        for sid in list(self.store.sessions):
            self.store.close_session(sid)
        self.shm.remove()
        shutil.rmtree(self._sock_dir, ignore_errors=True)
        self._sock_owner.release()
        if self._conn_owner is not None:
            self._conn_owner.release()


def _grpc_server(message_limit: int) -> grpc.aio.Server:
    return grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", message_limit),
            ("grpc.max_send_message_length", message_limit),
            ("grpc.so_reuseport", 0),
            # a peer that stops answering pings for this long is disconnected (its
            # sessions then expire after their TTL); a busy or briefly stopped one is not
            ("grpc.keepalive_time_ms", KEEPALIVE_S * 1000),
            ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_S * 1000),
            ("grpc.http2.max_pings_without_data", 0),  # an idle Attach stream is pinged too
        ]
    )


def _claim_connection_file(path: str | None) -> OwnerLock | None:
    """One broker per connection file (so per runtime dir): refuse when a live one owns it."""
    if not path:
        return None
    lock_path = f"{path}.lock"
    try:
        owner = OwnerLock(lock_path)
    except BlockingIOError:
        other = _discovery.read_connection_file(path) or {}
        who = f"pid {other.get('pid')} at {other.get('url')}" if other else holder(lock_path)
        raise BrokerInUseError(
            f"another ticketbooth broker ({who}) already serves {path}; sessions on this "
            "machine find it by themselves. Stop it first, or give this broker a connection "
            "file of its own (--connection-file PATH)"
        ) from None
    owner.write(f"pid {os.getpid()}")
    return owner


async def run(config: BrokerConfig, on_ready: object = None) -> None:
    """Run a broker until SIGINT/SIGTERM or the idle timeout."""
    broker = Broker(config)
    try:
        await broker.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await broker.stop()  # remove the shm and socket directories made so far
        raise
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, broker.request_stop)
    if callable(on_ready):
        on_ready(broker)
    try:
        await broker.wait()
    finally:
        await broker.stop()

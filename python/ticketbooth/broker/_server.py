"""Running the broker: sockets, TLS, the connection file, the reaper and the idle exit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field

import grpc

from .. import _discovery
from .._limits import Limits
from .._proto.v1 import broker_pb2_grpc as pb_grpc
from .._version import __version__
from ._events import EventHub
from ._object_servicer import ObjectServicer
from ._plugins import HandlerRegistry
from ._servicer import Core, SessionServicer
from ._shm import ShmDir
from ._store import Store, StoredObject
from ._table_servicer import TableServicer

log = logging.getLogger("ticketbooth.broker")


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


class Broker:
    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        self.token = config.token or secrets.token_urlsafe(32)
        self.shm = ShmDir(config.shm_base)
        limits = config.limits.resolved(self.shm.free_bytes())
        self.store = Store(limits, self._free)
        self.core = Core(self.store, self.shm, self.token)
        self.hub = EventHub()
        self.store.hooks.append(self.hub)
        self.handlers = HandlerRegistry()
        self.store.closed_hooks.append(self.handlers.drop_session)
        self._sock_dir = tempfile.mkdtemp(prefix="ticketbooth-sock-")
        self.url = f"unix://{self._sock_dir}/broker.sock"
        self.tcp_url: str | None = None
        self._stopped = asyncio.Event()

    def _free(self, obj: StoredObject) -> None:
        if obj.shm_name:
            self.shm.unlink(obj.shm_name)

    async def start(self) -> None:
        limit = self.config.limits.grpc_message_limit
        self.server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.max_send_message_length", limit),
                ("grpc.so_reuseport", 0),
            ]
        )
        pb_grpc.add_SessionServiceServicer_to_server(SessionServicer(self.core), self.server)
        self.server.add_generic_rpc_handlers((TableServicer(self.core).handler(),))
        objects = ObjectServicer(self.core, self.hub, self.handlers)
        pb_grpc.add_ObjectServiceServicer_to_server(objects, self.server)
        self.server.add_insecure_port(self.url)
        if self.config.port is not None:
            self._add_tcp()
        await self.server.start()
        self._write_connection_file()
        self._tasks = [asyncio.create_task(self._reaper())]
        if self.config.idle_timeout_s is not None:
            self._tasks.append(asyncio.create_task(self._idle_exit(self.config.idle_timeout_s)))

    def _add_tcp(self) -> None:
        cfg = self.config
        address = f"{cfg.host}:{cfg.port}"
        if cfg.tls_cert and cfg.tls_key:
            with open(cfg.tls_key, "rb") as k, open(cfg.tls_cert, "rb") as c:
                creds = grpc.ssl_server_credentials([(k.read(), c.read())])
            port = self.server.add_secure_port(address, creds)
            scheme = "grpcs://"
        else:
            port = self.server.add_insecure_port(address)
            scheme = ""
        host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
        self.tcp_url = f"{scheme}{host}:{port}"

    def _write_connection_file(self) -> None:
        if not self.config.connection_file:
            return
        _discovery.write_connection_file(
            self.config.connection_file,
            {
                "url": self.url,
                "tcp_url": self.tcp_url,
                "token": self.token,
                "pid": os.getpid(),
                "hostname": os.uname().nodename,
                "version": __version__,
            },
        )

    async def _reaper(self) -> None:
        period = min(1.0, self.config.limits.heartbeat_interval_s / 2)
        while True:
            await asyncio.sleep(period)
            for sid in self.store.expired():
                name = self.store.sessions[sid].name
                log.warning("session %s (%s) missed its heartbeats; closing it", sid[:8], name)
                self.store.close_session(sid, reason="expired")

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
        for task in getattr(self, "_tasks", []):
            task.cancel()
        path = self.config.connection_file
        if path and (_discovery.read_connection_file(path) or {}).get("pid") == os.getpid():
            _discovery.remove_stale(path)
        await self.server.stop(grace=1.0)
        for sid in list(self.store.sessions):
            self.store.close_session(sid)
        self.shm.remove()
        shutil.rmtree(self._sock_dir, ignore_errors=True)


async def run(config: BrokerConfig, on_ready: object = None) -> None:
    """Run a broker until SIGINT/SIGTERM or the idle timeout."""
    broker = Broker(config)
    await broker.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, broker.request_stop)
    if callable(on_ready):
        on_ready(broker)
    try:
        await broker.wait()
    finally:
        await broker.stop()

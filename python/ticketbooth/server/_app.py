"""`Ticketbooth`: the Jupyter server extension that runs (or attaches to) the broker."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float, Int, Unicode

from .. import _discovery
from .._errors import TicketboothError, TicketNotFoundError
from .._limits import GiB, Limits, MiB
from .._session import Session
from .._tickets import Ticket
from .._version import __version__
from ..broker import Broker, BrokerConfig
from ..broker._server import BrokerInUseError
from ._events import EventFeed
from ._handlers import handlers
from ._source import ObjectSource

FORCE_REMOTE = "TICKETBOOTH_FORCE_REMOTE"


class Ticketbooth(ExtensionApp):
    """Runs the ticketbooth broker with the Jupyter server and serves its objects over HTTP.

    Configure with ``c.Ticketbooth.<name>`` in jupyter_server_config.py or
    ``--Ticketbooth.<name>=...`` on the command line.
    """

    name = "ticketbooth"
    load_other_extensions = True

    broker_url = Unicode(
        "",
        config=True,
        help="Attach to this broker (unix://..., host:port, grpcs://host:port) instead of "
        "running one; $TICKETBOOTH_URL does the same. Empty: run the broker in this server, "
        "or attach to the one that already serves this runtime dir.",
    )
    token_file = Unicode(
        "",
        config=True,
        help="File holding the broker token (private to you): the attached broker's, or the "
        "token the broker in this server uses. Empty: $TICKETBOOTH_TOKEN, the connection "
        "file, or a new random token.",
    )
    port = Int(
        None,
        allow_none=True,
        config=True,
        help="Also listen on this TCP port (0: any free port), so other hosts can reach the "
        "broker; None: the unix socket only.",
    )
    host = Unicode("127.0.0.1", config=True, help="Address the TCP port listens on.")
    tls_cert = Unicode("", config=True, help="PEM certificate for the TCP port (with tls_key).")
    tls_key = Unicode("", config=True, help="PEM private key for the TCP port.")
    session_ttl = Float(10.0, config=True, help="Seconds a silent kernel keeps its tables.")
    heartbeat_interval = Float(2.0, config=True, help="Seconds between kernel heartbeats.")
    max_store_bytes = Int(
        None,
        allow_none=True,
        config=True,
        help="Bytes the broker holds in all; None: 90% of the free shared memory.",
    )
    max_object_bytes = Int(8 * GiB, config=True, help="Largest single table or figure.")
    max_message_bytes = Int(4 * MiB, config=True, help="Largest gRPC data message.")
    history_versions = Int(
        3, config=True, help="Earlier versions kept per ticket for fetch_table(..., version=n)."
    )
    shared_memory = Bool(
        True,
        config=True,
        help="Kernels on this machine hand tables over in shared memory; False makes them "
        "stream over gRPC ($TICKETBOOTH_FORCE_REMOTE=1 in their environment).",
    )
    cached_tables = Int(8, config=True, help="Table versions kept open for HTTP windows.")

    broker: Broker | None = None
    source: ObjectSource
    stopping = False

    # setup -----------------------------------------------------------------------------------
    def initialize_settings(self) -> None:
        self.feeds: set[EventFeed] = set()
        self._saved_env = {k: os.environ.get(k) for k in (*_ENV, FORCE_REMOTE)}
        self.endpoint = self._configured_endpoint()
        if self.endpoint is None:
            try:
                self.broker = Broker(self._broker_config())
            except BrokerInUseError:  # a broker already serves this runtime dir: share it
                self.endpoint = _discovery.from_env_or_file()
                self.log.info("ticketbooth: using the broker that serves the runtime dir")
            if self.endpoint is None and self.broker is None:
                raise TicketboothError("no ticketbooth broker: the runtime dir's broker vanished")
        self.settings["ticketbooth"] = self
        self.source = ObjectSource(self._connect, max_tables=self.cached_tables)

    def initialize_handlers(self) -> None:
        self.handlers.extend(handlers())

    def _configured_endpoint(self) -> _discovery.Endpoint | None:
        url = self.broker_url or os.environ.get(_discovery.ENV_URL, "")
        if not url:
            return None
        return _discovery.explicit(url, self._token())

    def _token(self) -> str | None:
        if self.token_file:
            return _discovery.read_token_file(self.token_file)
        return None

    def _broker_config(self) -> BrokerConfig:
        limits = Limits(
            max_message_bytes=self.max_message_bytes,
            max_store_bytes=self.max_store_bytes,
            max_object_bytes=self.max_object_bytes,
            history_versions=self.history_versions,
            heartbeat_interval_s=self.heartbeat_interval,
            session_ttl_s=self.session_ttl,
        )
        return BrokerConfig(
            port=self.port,
            host=self.host,
            token=self._token() or os.environ.get(_discovery.ENV_TOKEN) or None,
            tls_cert=self.tls_cert or None,
            tls_key=self.tls_key or None,
            limits=limits,
            connection_file=_discovery.connection_file_path(),
        )

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        if self.broker is not None:
            try:
                await self.broker.start()
            except BaseException:
                await self.broker.stop()
                self.broker = None
                raise
            url, token = self.broker.url, self.broker.token
            self.log.info("ticketbooth: broker running in this server at %s", url)
        else:
            assert self.endpoint is not None
            url, token = self.endpoint.url, self.endpoint.token
            self.log.info("ticketbooth: attached to the broker at %s", url)
        # kernels started from now on find the broker (and its token) in their environment
        os.environ[_discovery.ENV_URL] = url
        if token:
            os.environ[_discovery.ENV_TOKEN] = token
        if not self.shared_memory:
            os.environ[FORCE_REMOTE] = "1"
        self._url, self._token_value = url, token

    def _connect(self) -> Session:
        return Session(
            self._url, self._token_value or None, name="jupyter server", start_broker=False
        )

    # what the handlers ask -------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """What `GET status` answers (blocking: it may connect to an attached broker)."""
        user = self._user()
        return {
            "version": __version__,
            "broker": {
                "url": getattr(self, "_url", None),
                "tcp_url": self.broker.tcp_url if self.broker else None,
                "in_process": self.broker is not None,
            },
            "user": user,
            "can_release": self.broker is not None or bool(user),
            "broker_id": self._broker_id(),
        }

    def _broker_id(self) -> str:
        """The id of the broker this server's objects come from ("" when it cannot be
        reached): a widget asks this server for rows only when its kernel is on that broker."""
        try:
            return self.source.session.broker_id
        except TicketboothError:
            return ""

    def _user(self) -> str:
        """Whose per-user token this server uses on an attached broker ("" otherwise)."""
        if self.broker is not None:
            return ""
        try:
            return self.source.session.user
        except TicketboothError:
            return ""

    def release(self, ticket: Ticket) -> None:
        """Unpublish `ticket` (blocking). On the broker this server runs, any ticket: every
        publisher on it is this server's user. On an attached broker with per-user tokens,
        the tickets of this server's user; else none (only the publisher releases)."""
        if self.broker is not None:
            from ..broker import BrokerError

            try:
                self.broker.store.unpublish(ticket.bytes)
            except BrokerError as exc:
                raise TicketNotFoundError(exc.message) from None
            return
        session = self.source.session
        if not session.user:
            raise PermissionError(
                "this server attaches to a broker it does not run, with the broker's shared "
                "token: only the publishing session can release its tickets there (a broker "
                "with per-user tokens lets you release your own)"
            )
        session.release(ticket)

    # shutdown ----------------------------------------------------------------------------------
    async def stop_extension(self) -> None:
        self.stopping = True
        for feed in list(self.feeds):
            feed.close()
        await asyncio.get_running_loop().run_in_executor(None, self.source.close)
        if self.broker is not None:
            await self.broker.stop()
            self.broker = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_ENV = (_discovery.ENV_URL, _discovery.ENV_TOKEN)

"""`Session`: a connection to a broker (or a Deephaven server), and every call a notebook
makes on it. What differs between the two lives in a `Backend` (`_backend.py`)."""

from __future__ import annotations

import atexit
import os
from typing import Any

import pyarrow as pa

from . import _arrow, _discovery, _owner
from ._append import appended
from ._backend import Backend, Export, Features
from ._broker_backend import BrokerBackend
from ._connection import check_url, read_file
from ._errors import (
    BrokerUnavailableError,
    InvalidInputError,
    SessionClosedError,
    TicketNotFoundError,
)
from ._info import ObjectInfo
from ._session_objects import ObjectCalls
from ._table import Table
from ._tickets import ExportTicket, ScopeTicket, ServerObject, as_ticket, ticket_last

DEEPHAVEN_SCHEMES = ("deephaven://", "deephavens://")


def _version(version: int | None) -> int:
    """A version to ask for: None is the current one (0 on the wire)."""
    if version is None:
        return 0
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInputError(f"version must be a whole number from 1, not {version!r}")
    return version


class Session(ObjectCalls):
    """A session on a ticketbooth broker or a Deephaven server (the counterpart of
    ``pydeephaven.Session``); the same calls work on both.

    Args:
        url: Broker address: ``unix:///path/broker.sock``, ``host:port`` or
            ``grpcs://host:port``; or a Deephaven server: ``deephaven://host:port``
            (``deephavens://`` for TLS; see docs/deephaven.md). Without it:
            ``$TICKETBOOTH_URL``, then the connection file in the Jupyter runtime dir, then
            a new embedded broker that exits when idle.
        token: The broker's token, or a Deephaven server's pre-shared key (else
            ``$TICKETBOOTH_TOKEN`` or the connection file).
        host, port, auth_token: pydeephaven-style spelling of `url` and `token`;
            ``Session("localhost", 10000)`` (pydeephaven's positional host and port) works
            too.
        auth_type, use_tls: Deephaven only, as in pydeephaven (``"Anonymous"``, ``"PSK"`` or
            an authentication handler's class name; default: PSK with a token, else
            Anonymous).
        name: Shown as the publisher of what this session publishes.
        force_remote: Stream tables over gRPC even when shared memory is available.
        tls_root_certs: PEM bytes (or a path) of the CA that signed the server's certificate.
        start_broker: Start an embedded broker when none is found (default True).
        timeout: Seconds to wait for each call.
        never_timeout, session_type: accepted as in pydeephaven (a session always keeps
            itself alive while its process lives; ticketbooth runs no console, so only
            ``"python"``).

    Raises:
        AuthenticationError: wrong or missing token.
        BrokerUnavailableError: nothing answers at the address.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        auth_token: str | None = None,
        auth_type: str | None = None,
        use_tls: bool = False,
        name: str | None = None,
        force_remote: bool = False,
        tls_root_certs: bytes | str | None = None,
        start_broker: bool = True,
        timeout: float = 30.0,
        never_timeout: bool = True,
        session_type: str = "python",
    ) -> None:
        self._closed = True
        self._pins: dict[bytes, Any] = {}
        self._key = _owner.new_key(self)  # stamps this session's export tickets
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise InvalidInputError(f"timeout must be a positive number of seconds: {timeout!r}")
        if isinstance(token, int) and not isinstance(token, bool) and host is None and port is None:
            url, host, port, token = None, url, token, None  # pydeephaven's Session(host, port)
        if session_type != "python":
            raise InvalidInputError(
                f"session_type {session_type!r}: ticketbooth runs no console, only 'python' "
                "is accepted (publish and fetch need none)"
            )
        if host is not None or port is not None:
            if url is not None:
                raise InvalidInputError("give either url or host/port, not both")
            url = f"{host or '127.0.0.1'}:{port or 10000}"
        token = token or auth_token
        if isinstance(tls_root_certs, str):
            tls_root_certs = read_file("tls_root_certs", tls_root_certs)
        target = url if url is not None else os.environ.get(_discovery.ENV_URL)
        if target is not None and target.startswith(DEEPHAVEN_SCHEMES):
            self._backend = _deephaven(target, token, auth_type, use_tls, tls_root_certs, timeout)
        else:
            force_remote = force_remote or os.environ.get("TICKETBOOTH_FORCE_REMOTE") == "1"
            self._backend = _broker(
                url, token, name, tls_root_certs, timeout, force_remote, start_broker
            )
        self._closed = False
        # a clean exit releases at once; a killed process is reaped after the session TTL
        atexit.register(self.close)

    @property
    def host(self) -> str:
        """The server's host (pydeephaven's attribute); "" on a unix socket."""
        return _host_port(self.endpoint.url)[0]

    @property
    def port(self) -> int:
        """The server's TCP port (pydeephaven's attribute); 0 on a unix socket."""
        return _host_port(self.endpoint.url)[1]

    @property
    def endpoint(self) -> _discovery.Endpoint:
        """Where this session is connected (the token is left out of its repr)."""
        return getattr(
            self._backend, "endpoint", _discovery.Endpoint(self._backend.url, "", "argument")
        )

    @property
    def session_id(self) -> str:
        return str(getattr(self._backend, "session_id", ""))

    @property
    def broker_id(self) -> str:
        """The id of the broker this session is on (new at each broker start; a Deephaven
        server's is its address, `deephaven://host:port`). Two sessions with the same id see
        the same objects."""
        return str(getattr(self._backend, "broker_id", ""))

    @property
    def user(self) -> str:
        """Whose per-user token this session uses ("" on a broker with one token)."""
        return str(getattr(self._backend, "user", ""))

    @property
    def features(self) -> Features:
        """What this session's server can do beyond the common calls: ``history``
        (``version=``), ``live`` ("every" ticket or "scope" names only), ``plugins``
        (requests to a publisher), ``same_host`` (shared memory), ``per_session_scope``."""
        return self._backend.features

    @property
    def backend(self) -> str:
        """ "broker" or "deephaven": the kind of server this session talks to."""
        return "deephaven" if self._backend.url.startswith(DEEPHAVEN_SCHEMES) else "broker"

    def _check(self, what: str) -> None:
        if self._closed:
            raise SessionClosedError(f"cannot {what}: this session is closed")
        if self._backend.lost:
            raise SessionClosedError(f"cannot {what}: {self._backend.lost}")

    def _on_collect(self, ticket: ExportTicket) -> None:
        if not self._closed:
            self._backend.release_later(ticket.bytes)

    @property
    def is_alive(self) -> bool:
        """True until the session is closed or the server dropped it."""
        return not self._closed and self._backend.lost is None

    @property
    def same_host(self) -> bool:
        """True when tables travel through shared memory rather than gRPC streams."""
        return self._backend.features.same_host

    # tables --------------------------------------------------------------------------------
    def import_table(self, data: Any) -> Table:
        """Upload table data to the broker as a new export of this session.

        Args:
            data: a pyarrow Table/RecordBatch/RecordBatchReader, a pandas or polars
                DataFrame, a duckdb relation, a dict of columns, or anything with
                ``__arrow_c_stream__``.

        Returns:
            A `Table` whose ``ticket`` can be published.

        Raises:
            InvalidInputError: `data` is not a table.
            LimitExceededError: the table is larger than the broker accepts.
        """
        self._check("import a table")
        source = data if isinstance(data, pa.Table) else None
        return self._table(self._backend.import_table(_arrow.as_reader(data), source))

    def fetch_table(self, ticket: Any, *, version: int | None = None) -> Table:
        """Fetch a published table: a SharedTicket, ScopeTicket, a name, or its text form.

        version: an earlier version still kept by the broker (``info(ticket).kept_versions``;
        by default it keeps 3, within a quarter of its memory), or None for the current one.

        Returns:
            A `Table` with its own export ticket; its data stays valid after the publisher
            releases the ticket or goes away.

        Raises:
            TicketNotFoundError: nothing is published under the ticket (or it was released).
            InvalidInputError: malformed ticket, or the ticket holds something other than a table.
        """
        t = _owner.mine(ticket, self._key, "fetch table")
        v = _version(version)
        self._check("fetch table")
        export = self._backend.fetch(t.bytes, v, "fetch table")
        if export.load is None:
            self._backend.release(export.ticket)
            raise InvalidInputError(f"{t} holds a {export.info.type}, not a Table")
        table = self._table(export)
        table.to_arrow()
        return table

    def _table(self, export: Export) -> Table:
        info, load = export.info, export.load
        assert load is not None and info.schema is not None

        def checked() -> Any:
            if self._closed:
                raise SessionClosedError("cannot read the table: its session is closed")
            return load()

        ticket = _owner.stamp(export.ticket, self._key)
        return Table(ticket, info.schema, info.num_rows, checked, self._on_collect, info.version)

    def publish_table(self, table: Any, ticket: Any) -> None:
        """Publish a table to a ticket; ``publish_table(ticket, table)`` works as well.

        `table` may be a `Table` of this session or any table data (imported first; the
        import is kept by the session until the ticket is republished, released or closed;
        a `Table` of another session is table data too).
        A str ticket is a scope name (``"sales"``) or a shared ticket's text.

        On the same host, record batches of `table` that are the very memory of a table this
        session fetched and still holds are not written again: the broker keeps them (see
        the README on republishing a changed table).
        """
        table, ticket = ticket_last(table, ticket)
        result = as_ticket(ticket)  # a bad ticket fails before any data is sent
        if isinstance(table, Table) and _owner.owner_of(table) in (None, self):
            self.publish(table.ticket, result)
        else:  # another session's Table is published as data (on one host: mapped, no copy)
            data = table.to_arrow() if isinstance(table, Table) else table
            self._publish_pinned(self.import_table(data), result)

    def append_table(self, ticket: Any, rows: Any) -> int:
        """Publish the table behind `ticket` with `rows` added at the end (or `rows` alone
        when nothing is published there yet); returns the new row count.

        `rows` is any table data with the same columns (in any order; ints widen into a
        float column and the like). Views of the ticket follow: one showing the last row
        scrolls on to the new last row. On the same host only the new rows are written (the
        current rows are named as batches the broker holds); two sessions appending to one
        ticket at once can lose rows: append from one place.
        """
        result = as_ticket(ticket)
        self._check("append to a table")
        new = _arrow.as_reader(rows).read_all()
        try:
            current = self.fetch_table(result)
        except TicketNotFoundError:
            self.publish_table(new, result)
            return int(new.num_rows)
        try:
            table = appended(current.to_arrow(), new, str(result))
            self.publish_table(table, result)
        finally:
            self.release(current)
        return int(table.num_rows)

    def bind_table(self, name: str, table: Any) -> None:
        """Publish `table` under the scope name `name` (pydeephaven's name for it)."""
        self.publish_table(table, ScopeTicket.scope_ticket(name))

    def open_table(self, name: str) -> Table:
        """Fetch the table published under the scope name `name`."""
        return self.fetch_table(ScopeTicket.scope_ticket(name))

    @property
    def tables(self) -> list[str]:
        """Names of the tables in the broker's scope."""
        return [n for n, o in self.exportable_objects.items() if o.type == "Table"]

    # tickets -------------------------------------------------------------------------------
    def publish(self, source_ticket: Any, result_ticket: Any) -> None:
        """Make `result_ticket` (shared or scope) point at the object behind `source_ticket`.

        The result stays valid only while the source export is not released (explicit
        release, garbage collection of its Table, or close/death of this session). Publishing
        again to the same ticket replaces the object (its version increases).

        Raises:
            TicketNotFoundError: the source export does not exist in this session.
            InvalidInputError: the source is not an export, or the result is an export ticket.
        """
        src, dst = _owner.mine(source_ticket, self._key, "publish"), as_ticket(result_ticket)
        self._check("publish")
        self._backend.publish(src.bytes, dst.bytes)
        old = self._pins.pop(dst.bytes, None)  # what publish_table imported for dst before
        if old is not None and old.ticket != src:
            self.release(old)

    def fetch(self, ticket: Any) -> ExportTicket:
        """A new export ticket in this session for the object behind `ticket`.

        `ticket` may be a ticket, a scope name, a `ServerObject`, or anything with a
        ``ticket`` attribute. The export lives until released or the session closes.
        """
        t = _owner.mine(ticket, self._key, "fetch")
        self._check("fetch")
        return _owner.stamp(self._backend.fetch(t.bytes, 0).ticket, self._key)

    def info(self, ticket: Any, *, version: int | None = None) -> ObjectInfo:
        """What the broker knows about the object behind `ticket` (type, rows, version...);
        `version`: of an earlier version still kept."""
        t = _owner.mine(ticket, self._key, "get info")
        v = _version(version)
        self._check("get info")
        return self._backend.info(t.bytes, v)

    def release(self, ticket: Any) -> None:
        """Release an export (or `Table`), or unpublish a ticket this session published.

        Releasing a source export unpublishes every ticket published from it; subscribers
        keep what they already fetched.
        """
        t = _owner.mine(ticket, self._key, "release")
        if hasattr(ticket, "_detach"):
            ticket._detach()
        pinned = self._pins.pop(t.bytes, None)
        self._check("release")
        self._backend.release(t.bytes)
        if pinned is not None:
            self.release(pinned)

    @property
    def exportable_objects(self) -> dict[str, ServerObject]:
        """The server's named (scope) objects: name -> ServerObject(type, ticket)."""
        return {
            o.name: ServerObject(type=o.type, ticket=ScopeTicket.scope_ticket(o.name))
            for o in self.list_objects()
        }

    def list_objects(self, *, include_shared: bool = False) -> list[ObjectInfo]:
        """Details of every named object (used by ``ticketbooth ls``).

        include_shared: also the shared tickets published by your user's sessions (with the
        broker's one token that is every shared ticket; with per-user tokens, your own).
        """
        self._check("list objects")
        return self._backend.list_objects(include_shared)

    # lifetime ------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the session: its exports are released and what it published is unpublished."""
        if self._closed:
            return
        atexit.unregister(self.close)
        for table in self._pins.values():
            table._detach()
        self._pins.clear()
        try:
            self._backend.close()
        finally:
            self._closed = True

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self.is_alive else "closed"
        url = self._backend.url if hasattr(self, "_backend") else "-"
        return f"<ticketbooth.Session {state} {url}>"


def _host_port(url: str) -> tuple[str, int]:
    """("host", port) of a broker or Deephaven URL; ("", 0) for a unix socket."""
    scheme, _, rest = url.rpartition("://")
    host, _, port = rest.rpartition(":")
    if scheme == "unix" or not port.isdecimal():
        return "", 0
    return host, int(port)


def _broker(
    url: str | None,
    token: str | None,
    name: str | None,
    certs: bytes | None,
    timeout: float,
    force_remote: bool,
    start_broker: bool,
) -> Backend:
    """A session on the broker at `url`, or the one discovery finds (or starts)."""
    if url is not None:
        endpoint = _discovery.explicit(check_url(url), token)
    else:
        found = _discovery.from_env_or_file()
        if found is None and not start_broker:
            raise BrokerUnavailableError(
                "no ticketbooth broker is running: start one with `ticketbooth serve`"
            )
        endpoint = found or _discovery.start_embedded(timeout)
    try:
        return BrokerBackend(endpoint, name, certs, timeout, force_remote)
    except BrokerUnavailableError as exc:
        if endpoint.source != "connection file" or not start_broker:
            raise
        info = _discovery.read_connection_file(endpoint.connection_file or "")
        if exc.timed_out and info is not None and info.get("url") == endpoint.url:
            # its process lives: a busy or stopped broker keeps its file (and its objects)
            raise BrokerUnavailableError(
                f"the broker at {endpoint.url} (pid {info.get('pid', '?')}, named by "
                f"{endpoint.connection_file}) is running but did not answer in {timeout:g}s: "
                "it may be busy or stopped. Try again or raise Session(timeout=...)"
            ) from None
        endpoint = _discovery.start_embedded(timeout, failed=endpoint)
        return BrokerBackend(endpoint, name, None, timeout, force_remote)


def _deephaven(
    url: str,
    token: str | None,
    auth_type: str | None,
    use_tls: bool,
    certs: bytes | None,
    timeout: float,
) -> Backend:
    """A session on the Deephaven server at `url` (needs the ``deephaven`` extra)."""
    try:
        from ._deephaven import DeephavenBackend
    except ImportError as exc:
        raise InvalidInputError(
            f"{url} is a Deephaven server, which needs pydeephaven ({exc}): "
            "pip install 'ticketbooth[deephaven]'"
        ) from None
    token = token or os.environ.get(_discovery.ENV_TOKEN) or None
    return DeephavenBackend(url, token, auth_type, use_tls, certs, timeout)

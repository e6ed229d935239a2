"""`Session`: a connection to a broker, and every call a notebook makes on it."""

from __future__ import annotations

import atexit
import getpass
import os
from collections.abc import Iterator
from typing import Any

import grpc
import pyarrow as pa

from . import _arrow, _discovery, _segments
from ._append import appended
from ._connection import Connection, read_file
from ._deadline import Progress
from ._errors import (
    AuthenticationError,
    BrokerUnavailableError,
    IncompatibleBrokerError,
    InvalidInputError,
    SessionClosedError,
    TicketboothError,
    TicketNotFoundError,
)
from ._flight_client import FlightTransport
from ._info import ObjectInfo
from ._keepalive import FORGOTTEN, KeepAlive
from ._limits import chunk_budget
from ._proto.v1 import broker_pb2 as pb
from ._session_objects import ObjectCalls
from ._table import Table
from ._tickets import ExportTicket, ScopeTicket, ServerObject, as_ticket, ticket_last
from ._version import PROTOCOL, __version__
from .broker._janitor import lock_incoming

VALIDATION_BYTES_PER_S = 200e6  # a floor well below the measured rate (docs/performance.md)


def _client_name() -> str:
    try:
        user = getpass.getuser()
    except Exception:
        user = "?"
    return f"{user}@{os.uname().nodename} pid {os.getpid()}"


def _version(version: int | None) -> int:
    """A version to ask for: None is the current one (0 on the wire)."""
    if version is None:
        return 0
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInputError(f"version must be a whole number from 1, not {version!r}")
    return version


class Session(ObjectCalls):
    """A session on a ticketbooth broker (the counterpart of ``pydeephaven.Session``).

    Args:
        url: Broker address: ``unix:///path/broker.sock``, ``host:port`` or ``grpcs://host:port``.
            Without it: ``$TICKETBOOTH_URL``, then the connection file in the Jupyter runtime
            dir, then a new embedded broker that exits when idle.
        token: The broker's token (else ``$TICKETBOOTH_TOKEN`` or the connection file).
        host, port, auth_token: pydeephaven-style spelling of `url` and `token`.
        name: Shown as the publisher of what this session publishes.
        force_remote: Stream tables over gRPC even when shared memory is available.
        tls_root_certs: PEM bytes (or a path) of the CA that signed the broker's certificate.
        start_broker: Start an embedded broker when none is found (default True).
        timeout: Seconds to wait for each call.

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
        name: str | None = None,
        force_remote: bool = False,
        tls_root_certs: bytes | str | None = None,
        start_broker: bool = True,
        timeout: float = 30.0,
    ) -> None:
        self._closed = True
        self._timeout = timeout
        self._pins: dict[bytes, Table] = {}
        if host is not None or port is not None:
            if url is not None:
                raise InvalidInputError("give either url or host/port, not both")
            url = f"{host or '127.0.0.1'}:{port or 10000}"
        token = token or auth_token
        if isinstance(tls_root_certs, str):
            tls_root_certs = read_file("tls_root_certs", tls_root_certs)
        if url is not None:
            endpoint = _discovery.explicit(url, token)
        else:
            found = _discovery.from_env_or_file()
            if found is None and not start_broker:
                raise BrokerUnavailableError(
                    "no ticketbooth broker is running: start one with `ticketbooth serve`"
                )
            endpoint = found or _discovery.start_embedded(timeout)
        try:
            self._open(endpoint, name, tls_root_certs)
        except BrokerUnavailableError:
            if endpoint.source != "connection file" or not start_broker:
                raise
            self._open(_discovery.start_embedded(timeout, failed=endpoint), name, None)
        self._force_remote = force_remote or os.environ.get("TICKETBOOTH_FORCE_REMOTE") == "1"
        self._same_host = not self._force_remote and self._sees_shm()

    def _open(self, endpoint: _discovery.Endpoint, name: str | None, certs: bytes | None) -> None:
        conn = Connection(endpoint.url, endpoint.token, certs)
        req = pb.OpenSessionRequest(
            client_name=name or _client_name(), client_version=__version__, protocol=PROTOCOL
        )
        try:
            resp = conn.call("open session", conn.sessions.OpenSession, req, self._timeout)
            if resp.server.protocol != PROTOCOL:
                raise IncompatibleBrokerError(
                    f"the broker at {endpoint.url} runs ticketbooth {resp.server.version} "
                    f"(protocol {resp.server.protocol}); this client runs {__version__} "
                    f"(protocol {PROTOCOL}); install the same version on both sides"
                )
        except SessionClosedError as exc:  # the broker refused this client's protocol
            conn.close()
            raise IncompatibleBrokerError(str(exc)) from None
        except Exception:
            conn.close()
            raise
        conn.set_session(resp.session_id)
        self._conn = conn
        self._flight = FlightTransport(
            endpoint.url, endpoint.token, resp.session_id, certs, self._timeout
        )
        self.endpoint = endpoint
        self.session_id = resp.session_id
        #: whose per-user token this session uses ("" on a broker with one token)
        self.user: str = resp.user
        self._server = resp.server
        self._closed = False
        self._keepalive = KeepAlive(
            resp.server.heartbeat_interval_s,
            resp.server.session_ttl_s,
            self._heartbeat,
            self._release_bytes,
            lambda: conn.sessions.Attach(pb.AttachRequest(), metadata=conn.md),
            resp.server.broker_id,
            self._replaced,
        )
        # a clean exit releases at once; a killed process is reaped after the session TTL
        atexit.register(self.close)

    def _sees_shm(self) -> bool:
        try:
            with open(os.path.join(self._server.shm_dir, "nonce")) as f:
                return f.read() == self._server.host_nonce
        except OSError:
            return False

    def _replaced(self) -> str | None:
        """Why the broker this session was opened on is known to be gone, else None."""
        path = self.endpoint.connection_file
        info = _discovery.read_connection_file(path) if path else None
        if info is not None and info.get("url") != self.endpoint.url:
            return (
                f"the broker this session was opened on is gone and a new one serves "
                f"{info.get('url')}; what this session held is gone: open a new Session"
            )
        return None

    # plumbing ------------------------------------------------------------------------------
    def _call(self, what: str, method: Any, request: Any, extra_s: float = 0.0) -> Any:
        """A unary call with the session's timeout (plus `extra_s` for work that grows
        with the data, such as the broker validating a table)."""
        self._call_check(what)
        try:
            return self._conn.call(what, method, request, self._timeout + extra_s)
        except TicketboothError as exc:
            raise self._forgotten(exc, what) from None

    def _forgotten(self, exc: TicketboothError, what: str) -> TicketboothError:
        """`exc`, unless it means the broker forgot this session (it restarted, was
        replaced, or expired us: the token and session worked when opened); then the
        session is lost, said once, and is_alive turns False."""
        if isinstance(exc, (SessionClosedError, AuthenticationError)):
            self._keepalive.lose(FORGOTTEN)
            return SessionClosedError(f"cannot {what}: {FORGOTTEN}")
        return exc

    def _upload(self, what: str, method: Any, requests: Iterator[Any]) -> Any:
        """A client-streaming call with a progress deadline (see `_deadline`); Ctrl+C or a
        stall cancels it, and the broker stores nothing of a cut-short stream."""
        self._call_check(what)
        with Progress(what, self._timeout) as progress:
            future = progress.watch(
                method.future(progress.ticking(requests), metadata=self._conn.md)
            )
            try:
                return future.result()
            except (grpc.RpcError, grpc.FutureCancelledError) as err:
                raise self._forgotten(progress.error(err), what) from None
            finally:
                future.cancel()

    def _download(self, what: str, method: Any, request: Any) -> Iterator[Any]:
        """A server-streaming call with a progress deadline; yields its messages."""
        self._call_check(what)
        with Progress(what, self._timeout) as progress:
            call = progress.watch(method(request, metadata=self._conn.md))
            try:
                yield from progress.ticking(call)
            except grpc.RpcError as err:
                raise self._forgotten(progress.error(err), what) from None
            finally:
                call.cancel()

    def _call_check(self, what: str) -> None:
        if self._closed:
            raise SessionClosedError(f"cannot {what}: this session is closed")
        if self._keepalive.lost:
            raise SessionClosedError(f"cannot {what}: {self._keepalive.lost}")

    def _heartbeat(self) -> None:
        self._conn.call("heartbeat", self._conn.sessions.Heartbeat, pb.HeartbeatRequest(), 10)

    def _release_bytes(self, ticket: bytes) -> None:
        self._conn.call("release", self._conn.sessions.Release, pb.ReleaseRequest(ticket=ticket))

    def _on_collect(self, ticket: ExportTicket) -> None:
        if not self._closed:
            self._keepalive.queue_release(ticket.bytes)

    @property
    def is_alive(self) -> bool:
        """True until the session is closed or the broker dropped it."""
        return not self._closed and self._keepalive.lost is None

    @property
    def same_host(self) -> bool:
        """True when tables travel through shared memory rather than gRPC streams."""
        return self._same_host

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
        if self._closed:
            raise SessionClosedError("cannot import a table: this session is closed")
        reader = _arrow.as_reader(data)
        resp = self._import_shm(reader) if self._same_host else self._put_table(reader)
        return self._table(resp.export_ticket, resp.info)

    def _import_shm(self, reader: pa.RecordBatchReader) -> Any:
        """Write the table into the broker's shm dir and hand the file over. The file is
        locked until the broker has taken it, so if this process dies mid-way the broker
        knows the file is abandoned and removes it."""
        name = f"in-{os.urandom(16).hex()}.arrow"
        path = os.path.join(self._server.shm_dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            lock_incoming(fd)
            # in message-sized batches, so remote readers get the file's messages as they are
            chunk = chunk_budget(int(self._server.limits.max_message_bytes))
            _segments.write_segment(reader, path, exists=True, max_batch_bytes=chunk)
            req = pb.ImportShmRequest(shm_name=name)
            # the broker validates every byte (>= 1 GB/s measured): allow for it
            validation_s = os.fstat(fd).st_size / VALIDATION_BYTES_PER_S
            return self._call("import table", self._conn.tables.ImportShm, req, validation_s)
        except BaseException:
            _segments.unlink_quietly(path)
            raise
        finally:
            os.close(fd)

    def _put_table(self, reader: pa.RecordBatchReader) -> Any:
        """Send a table over Arrow Flight (the remote path)."""
        self._call_check("import table")
        try:
            raw = self._flight.put(reader, int(self._server.limits.max_message_bytes))
        except TicketboothError as exc:
            raise self._forgotten(exc, "import table") from None
        return pb.ImportResponse.FromString(raw)

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
        t = as_ticket(ticket)
        req = pb.FetchRequest(ticket=t.bytes, version=_version(version))
        resp = self._call("fetch table", self._conn.sessions.Fetch, req)
        if resp.info.type != "Table":
            self._release_bytes(resp.export_ticket)
            raise InvalidInputError(f"{t} holds a {resp.info.type}, not a Table")
        table = self._table(resp.export_ticket, resp.info)
        table.to_arrow()
        return table

    def _table(self, export: bytes, info: pb.ObjectInfo) -> Table:
        ticket = ExportTicket(export)
        schema = pa.ipc.read_schema(pa.py_buffer(info.schema))
        shm = os.path.join(self._server.shm_dir, info.shm_name)

        def load() -> pa.Table:
            if self._closed:
                raise SessionClosedError("cannot read the table: its session is closed")
            if self._same_host:
                return _segments.read_segment(shm)
            try:
                return self._flight.fetch(export, info.nbytes)
            except TicketboothError as exc:
                raise self._forgotten(exc, "fetch table data") from None

        return Table(ticket, schema, info.num_rows, load, self._on_collect, info.version)

    def publish_table(self, table: Any, ticket: Any) -> None:
        """Publish a table to a ticket; ``publish_table(ticket, table)`` works as well.

        `table` may be a `Table` of this session or any table data (imported first; the
        import is kept by the session until the ticket is republished, released or closed).
        A str ticket is a scope name (``"sales"``) or a shared ticket's text.
        """
        table, ticket = ticket_last(table, ticket)
        result = as_ticket(ticket)  # a bad ticket fails before any data is sent
        if isinstance(table, Table):
            self.publish(table.ticket, result)
        else:
            self._publish_pinned(self.import_table(table), result)

    def append_table(self, ticket: Any, rows: Any) -> int:
        """Publish the table behind `ticket` with `rows` added at the end (or `rows` alone
        when nothing is published there yet); returns the new row count.

        `rows` is any table data with the same columns (in any order; ints widen into a
        float column and the like). Views of the ticket follow: one showing the last row
        scrolls on to the new last row. Each append writes the whole table again, and two
        sessions appending to one ticket at once can lose rows: append from one place.
        """
        result = as_ticket(ticket)
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
        src, dst = as_ticket(source_ticket), as_ticket(result_ticket)
        req = pb.PublishRequest(source_ticket=src.bytes, result_ticket=dst.bytes)
        self._call("publish", self._conn.sessions.Publish, req)

    def fetch(self, ticket: Any) -> ExportTicket:
        """A new export ticket in this session for the object behind `ticket`.

        `ticket` may be a ticket, a scope name, a `ServerObject`, or anything with a
        ``ticket`` attribute. The export lives until released or the session closes.
        """
        t = as_ticket(ticket)
        resp = self._call("fetch", self._conn.sessions.Fetch, pb.FetchRequest(ticket=t.bytes))
        return ExportTicket(resp.export_ticket)

    def info(self, ticket: Any, *, version: int | None = None) -> ObjectInfo:
        """What the broker knows about the object behind `ticket` (type, rows, version...);
        `version`: of an earlier version still kept."""
        t = as_ticket(ticket)
        req = pb.GetInfoRequest(ticket=t.bytes, version=_version(version))
        msg = self._call("get info", self._conn.sessions.GetInfo, req)
        return ObjectInfo.from_message(msg)

    def release(self, ticket: Any) -> None:
        """Release an export (or `Table`), or unpublish a ticket this session published.

        Releasing a source export unpublishes every ticket published from it; subscribers
        keep what they already fetched.
        """
        if hasattr(ticket, "_detach"):
            ticket._detach()
        t = as_ticket(ticket)
        pinned = self._pins.pop(t.bytes, None)
        self._call("release", self._conn.sessions.Release, pb.ReleaseRequest(ticket=t.bytes))
        if pinned is not None:
            self.release(pinned)

    @property
    def exportable_objects(self) -> dict[str, ServerObject]:
        """The broker's named (scope) objects: name -> ServerObject(type, ticket)."""
        resp = self._call("list objects", self._conn.sessions.ListObjects, pb.ListObjectsRequest())
        return {
            o.name: ServerObject(type=o.type, ticket=ScopeTicket.scope_ticket(o.name))
            for o in resp.objects
        }

    def list_objects(self, *, include_shared: bool = False) -> list[ObjectInfo]:
        """Details of every named object (used by ``ticketbooth ls``).

        include_shared: also the shared tickets published by your user's sessions (with the
        broker's one token that is every shared ticket; with per-user tokens, your own).
        """
        req = pb.ListObjectsRequest(include_shared=include_shared)
        resp = self._call("list objects", self._conn.sessions.ListObjects, req)
        return [ObjectInfo.from_message(o) for o in resp.objects]

    # lifetime ------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the session: its exports are released and what it published is unpublished."""
        if self._closed:
            return
        atexit.unregister(self.close)
        lost = self._keepalive.lost
        self._keepalive.stop()
        for table in self._pins.values():
            table._detach()
        self._pins.clear()
        try:
            if lost is None:
                req = pb.CloseSessionRequest()
                self._conn.call("close", self._conn.sessions.CloseSession, req, 5)
        except TicketboothError:
            pass  # the broker is gone or has forgotten us: nothing is left to close
        finally:
            self._closed = True
            self._flight.close()
            self._conn.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "open" if self.is_alive else "closed"
        url = self.endpoint.url if hasattr(self, "endpoint") else "-"
        return f"<ticketbooth.Session {state} {url}>"

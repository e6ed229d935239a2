"""A Deephaven server as a `Backend` (``Session("deephaven://host:port")``).

pydeephaven opens the session, authenticates and keeps its token fresh; every call here is
made on its channel with a deadline (pydeephaven's own calls have none), tables are sent
re-chunked so no gRPC message passes the server's limit, and every failure becomes a
`TicketboothError` (`_deephaven_errors`). See docs/deephaven.md for what maps to what.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
from typing import Any
from urllib.parse import urlsplit

import grpc
import pyarrow as pa
import pyarrow.flight as fl
from deephaven_core.proto import (
    application_pb2,
    application_pb2_grpc,
    session_pb2,
    session_pb2_grpc,
    table_pb2_grpc,
    ticket_pb2,
)
from pydeephaven import Session as DHSession
from pydeephaven.dherror import DHError

from . import _arrow
from ._backend import Export, Features
from ._deephaven_errors import RESTARTED, from_flight, from_rpc
from ._deephaven_objects import (
    as_sent,
    bundle_table,
    bundle_type,
    bundle_wire,
    estimate,
    sent_schema,
    user_schema,
    user_table,
)
from ._deephaven_plugin import NO_REQUESTS, BundleClient
from ._deephaven_watch import Poll, ScopeFeed
from ._errors import (
    InvalidInputError,
    SessionClosedError,
    TicketboothError,
    TicketNotFoundError,
)
from ._info import ObjectInfo
from ._plugin import RequestHandler, RequestServer
from ._tickets import ExportTicket, ScopeTicket, as_ticket, ticket_from_bytes
from ._watch import Watch

log = logging.getLogger("ticketbooth")
PSK = "io.deephaven.authentication.psk.PskAuthenticationHandler"
AUTH_TYPES = {"psk": PSK, "anonymous": "Anonymous", "basic": "Basic"}
#: table data per gRPC message: well under the server's 100 MiB inbound limit
CHUNK_BYTES = 16 << 20
MAX_OBJECT_BYTES = 256 << 20
DATA_BYTES_PER_S = 20e6  # the slowest rate a big transfer is allowed before its deadline


def parse_url(url: str) -> tuple[str, int, bool]:
    """``deephaven://host:port`` (``deephavens://`` for TLS) -> host, port, tls."""
    parts = urlsplit(url)
    try:
        port = parts.port or 10000
    except ValueError:
        raise InvalidInputError(f"{url!r}: the port must be a number") from None
    if not parts.hostname or parts.path not in ("", "/"):
        raise InvalidInputError(f"{url!r} is not deephaven://host:port")
    return parts.hostname, port, parts.scheme == "deephavens"


class DeephavenBackend:
    """A pydeephaven session on the server at `url`.

    Raises:
        AuthenticationError: the server refused the token.
        BrokerUnavailableError: nothing answers at `url`.
    """

    def __init__(
        self,
        url: str,
        token: str | None,
        auth_type: str | None,
        use_tls: bool,
        certs: bytes | None,
        timeout: float,
    ) -> None:
        host, port, tls = parse_url(url)
        self.url = url
        # a Deephaven server has no id of its own: its address names the objects one sees
        self.broker_id = f"deephaven{'s' if tls else ''}://{host}:{port}"
        self._timeout = timeout
        self._opened = False
        self._lost: str | None = None
        kind = auth_type or ("PSK" if token else "Anonymous")
        try:
            self._dh = DHSession(
                host=host,
                port=port,
                auth_type=AUTH_TYPES.get(kind.lower(), kind),
                auth_token=token or "",
                use_tls=tls or use_tls or certs is not None,
                tls_root_certs=certs,
            )
        except DHError as exc:
            raise self._dh_failure("open session", exc) from None
        self._opened = True
        flight = self._dh._flight_client
        assert flight is not None  # set by a successful connect
        self._flight: fl.FlightClient = flight
        channel = self._dh.grpc_channel
        self._sessions = session_pb2_grpc.SessionServiceStub(channel)
        self._tables = table_pb2_grpc.TableServiceStub(channel)
        self._apps = application_pb2_grpc.ApplicationServiceStub(channel)
        #: shared ticket -> (the source it was published from, the export behind it)
        self._published: dict[bytes, tuple[bytes, bytes]] = {}
        self._feed = ScopeFeed(self._open_fields, lambda e, what: self._failed(what, e), timeout)
        self._releaser = concurrent.futures.ThreadPoolExecutor(1, "ticketbooth-dh-release")
        self.max_object_bytes = MAX_OBJECT_BYTES
        self.features = Features(
            history=False, live="scope", plugins=False, same_host=False, per_session_scope=False
        )

    # plumbing ------------------------------------------------------------------------------
    @property
    def lost(self) -> str | None:
        return self._lost

    def _dh_failure(self, what: str, exc: BaseException) -> TicketboothError:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, grpc.RpcError):
            return from_rpc(self.url, what, cause, self._opened)
        return TicketboothError(f"{what} failed on the Deephaven server: {exc}")

    def _failed(self, what: str, err: grpc.RpcError) -> TicketboothError:
        exc = from_rpc(self.url, what, err, self._opened)
        if RESTARTED in str(exc):
            self._lost = RESTARTED
        return exc

    def _call(self, what: str, method: Any, request: Any) -> Any:
        try:
            return method(request, metadata=self._dh.grpc_metadata, timeout=self._timeout)
        except grpc.RpcError as err:
            raise self._failed(what, err) from None
        except ValueError as exc:  # grpc: "Cannot invoke RPC on closed channel!"
            raise SessionClosedError(f"cannot {what}: this session is closed ({exc})") from None

    def _options(self, nbytes: int = 0) -> fl.FlightCallOptions:
        deadline = self._timeout + nbytes / DATA_BYTES_PER_S
        return fl.FlightCallOptions(headers=self._dh.grpc_metadata, timeout=deadline)

    def _new_export(self) -> ExportTicket:
        return ExportTicket.export_ticket(self._dh.next_export_ticket_number())

    # tables --------------------------------------------------------------------------------
    def import_table(self, reader: pa.RecordBatchReader, source: pa.Table | None = None) -> Export:
        """Gathered first (zero copy for a table), so the call's deadline can grow with the
        table's size; then sent in message-sized batches."""
        schema = sent_schema(reader.schema)
        table = reader.read_all()
        new = self._new_export()
        descriptor = fl.FlightDescriptor.for_path("export", str(new.id))
        export = new.bytes
        rows = 0
        try:
            options = self._options(table.nbytes)
            writer, result = self._flight.do_put(descriptor, schema, options)
            with writer:
                for batch in table.to_batches():
                    for piece in _arrow.message_sized(batch, CHUNK_BYTES):
                        writer.write_batch(as_sent(piece, schema))
                        rows += piece.num_rows
                writer.done_writing()
                result.read()
        except (pa.ArrowException, OSError) as exc:
            raise from_flight(self.url, "import table", exc) from None
        try:  # the server takes a table it cannot use and says so only when asked
            self._describe(export, "import table")
        except TicketboothError as exc:
            self.release_later(export)
            raise InvalidInputError(
                f"the Deephaven server could not make a table of this data: {exc}"
            ) from None
        info = ObjectInfo(
            "Table", "", ticket_from_bytes(export), 0, rows, len(schema), schema=user_schema(schema)
        )
        return Export(export, info, self._loader(export, table.nbytes))

    def _loader(self, export: bytes, nbytes: int) -> Any:
        """Reads the table behind `export`; `nbytes` (an estimate) sets the deadline."""

        def load() -> pa.Table:
            for attempt in (1, 2):
                try:
                    reader = self._flight.do_get(fl.Ticket(export), self._options(nbytes))
                    return user_table(reader.read_all())
                except fl.FlightInternalError as exc:
                    # a read is safe to repeat: once, for a stream the transport dropped
                    # (seen in the benchmark: "Stream removed (frame ... overflows local
                    # window of 0)")
                    if attempt == 2 or "Stream removed" not in str(exc):
                        raise from_flight(self.url, "fetch table data", exc) from None
                    log.info("ticketbooth: Deephaven fetch stream dropped, reading again: %s", exc)
                except (pa.ArrowException, OSError) as exc:
                    raise from_flight(self.url, "fetch table data", exc) from None
            raise AssertionError("unreachable")

        return load

    def _describe(self, ticket: bytes, what: str) -> tuple[pa.Schema, int]:
        """A table's schema (as the server holds it) and row count, without its data."""
        resp = self._call(
            what, self._tables.GetExportedTableCreationResponse, ticket_pb2.Ticket(ticket=ticket)
        )
        if not resp.success:
            raise InvalidInputError(
                f"{ticket_from_bytes(ticket)} does not hold a table Deephaven can describe: "
                f"{resp.error_info}"
            )
        return pa.ipc.read_schema(pa.py_buffer(resp.schema_header)), int(resp.size)

    def _object_info(self, ticket: bytes, export: bytes, what: str) -> ObjectInfo:
        schema, rows = self._describe(export, what)
        kind = bundle_type(schema)
        name = ticket[2:].decode() if ticket.startswith(b"s/") else ""
        # a shared ticket is published once here; a scope name counts its republishes
        version = self._feed.version(name) if name else 1
        t = ticket_from_bytes(ticket)
        if kind is not None:
            return ObjectInfo(kind, name, t, version)
        clean = user_schema(schema)
        return ObjectInfo("Table", name, t, version, rows, len(clean), schema=clean)

    # tickets -------------------------------------------------------------------------------
    def publish(self, source: bytes, result: bytes) -> None:
        """A scope name is published directly (Deephaven replaces it on a republish). A
        shared ticket is published from an export of its own, so that releasing the
        ticket (or its source) unpublishes it, as on the broker."""
        self._check_export(source)
        if result.startswith(b"s/"):
            self._publish(source, result)
            return
        own = self._export_of(source, "publish")
        try:
            self._publish(own, result)
        except BaseException:
            self.release_later(own)
            raise
        self._published[result] = (source, own)

    def _check_export(self, ticket: bytes) -> None:
        """An export this session never made is refused here: the server would wait for it
        to appear until the call's deadline."""
        t = ticket_from_bytes(ticket)
        if isinstance(t, ExportTicket) and not 0 < t.id <= self._dh._last_export_ticket_number:
            raise TicketNotFoundError(
                f"{t} is not an export of this session: "
                "publish a Table's .ticket, or fetch(ticket) first"
            )

    def _publish(self, source: bytes, result: bytes) -> None:
        req = session_pb2.PublishRequest(
            source_id=ticket_pb2.Ticket(ticket=source), result_id=ticket_pb2.Ticket(ticket=result)
        )
        self._call("publish", self._sessions.PublishFromTicket, req)

    def _export_of(self, ticket: bytes, what: str) -> bytes:
        """A new export of this session for the object behind `ticket`."""
        export = self._new_export().bytes
        req = session_pb2.ExportRequest(
            source_id=ticket_pb2.Ticket(ticket=ticket), result_id=ticket_pb2.Ticket(ticket=export)
        )
        self._call(what, self._sessions.ExportFromTicket, req)
        return export

    def fetch(self, ticket: bytes, version: int, what: str = "fetch") -> Export:
        _no_history(version)
        export = self._export_of(ticket, what)
        try:
            info = self._object_info(ticket, export, what)
        except BaseException:
            self.release_later(export)
            raise
        load = self._loader(export, estimate(info)) if info.type == "Table" else None
        return Export(export, info, load)

    def info(self, ticket: bytes, version: int) -> ObjectInfo:
        _no_history(version)
        return self._object_info(ticket, ticket, "get info")

    def release(self, ticket: bytes) -> None:
        if ticket.startswith(b"s/"):
            raise InvalidInputError(
                f"{ticket_from_bytes(ticket)}: a Deephaven server keeps scope names until a "
                "script deletes them; publish something else under the name instead"
            )
        published = self._published.pop(ticket, None)
        if published is not None:  # a shared ticket this session published
            self._release(published[1])
            return
        self._release(ticket)
        for result, (source, _) in list(self._published.items()):
            if source == ticket:  # what was published from it goes with it, as on the broker
                self.release(result)

    def _release(self, ticket: bytes) -> None:
        req = session_pb2.ReleaseRequest(id=ticket_pb2.Ticket(ticket=ticket))
        self._call("release", self._sessions.Release, req)

    def release_later(self, ticket: bytes) -> None:
        def release() -> None:
            with contextlib.suppress(TicketboothError):
                self.release(ticket)

        with contextlib.suppress(RuntimeError):  # the executor is shut down: closed
            self._releaser.submit(release)

    def list_objects(self, include_shared: bool) -> list[ObjectInfo]:
        """The scope names (a Deephaven server lists no shared tickets)."""
        out = []
        for name, (type_name, version) in sorted(self._feed.names().items()):
            ticket = ScopeTicket.scope_ticket(name).bytes
            if type_name == "Table":
                with contextlib.suppress(TicketNotFoundError):  # gone since it was listed
                    out.append(self._object_info(ticket, ticket, "list objects"))
                continue
            out.append(ObjectInfo(type_name, name, ticket_from_bytes(ticket), version))
        return out

    def _open_fields(self) -> Any:
        req = application_pb2.ListFieldsRequest()
        return self._apps.ListFields(req, metadata=self._dh.grpc_metadata)

    # rich objects, watches -----------------------------------------------------------------
    def import_object(self, type_name: str, wire: bytes) -> bytes:
        table = bundle_table(type_name, wire, 1 << 20)
        return self.import_table(table.to_reader()).ticket

    def get_object(self, export: bytes) -> bytes:
        return bundle_wire(self._loader(export, 0)())

    def watch(self, ticket: bytes) -> Watch:
        if ticket and not ticket.startswith(b"s/"):
            poll = Poll(ticket, lambda t: self.info(t, 0).type)
            return Watch(poll.events(), poll.cancel, ticket)
        events, cancel = self._feed.watch(ticket)
        return Watch(events, cancel, ticket)

    def plugin_client(self, obj: Any) -> BundleClient:
        """A stream of a figure's bundles (see `_deephaven_plugin`)."""
        t = as_ticket(obj)
        watch = self.watch(t.bytes)  # first, so no republish after the first payload is missed

        def load() -> tuple[str, bytes]:
            export = self.fetch(t.bytes, 0, "open a plugin stream")
            try:
                if export.info.type == "Table":
                    raise InvalidInputError(
                        f"{t} holds a Table; plugin streams carry figures: use fetch_table"
                    )
                return export.info.type, self.get_object(export.ticket)
            finally:
                self.release_later(export.ticket)

        try:
            type_name, first = load()
        except BaseException:
            watch.close()
            raise
        return BundleClient(t, type_name, first, watch, lambda: load()[1])

    def serve_requests(
        self, ticket: bytes, handler: RequestHandler, timeout: float
    ) -> RequestServer:
        raise InvalidInputError(NO_REQUESTS)

    def close(self) -> None:
        """CloseSession with a deadline (pydeephaven's own close has none: a stopped server
        would hold it forever), then pydeephaven's channels are closed."""
        self._feed.close()
        self._releaser.shutdown(wait=False, cancel_futures=True)
        req = session_pb2.HandshakeRequest(auth_protocol=0, payload=self._dh._auth_header_value)
        with contextlib.suppress(grpc.RpcError):  # a dead server has nothing left to close
            self._sessions.CloseSession(req, metadata=self._dh.grpc_metadata, timeout=5)
        self._dh.is_connected = False  # stops its keep-alive timer and its own close
        channel = self._dh.grpc_channel
        with contextlib.suppress(Exception):
            if channel is not None:
                channel.close()
        with contextlib.suppress(Exception):
            self._flight.close()


def _no_history(version: int) -> None:
    if version:
        raise InvalidInputError(
            "a Deephaven server keeps no earlier versions: fetch without version=, or use "
            "the ticketbooth broker (it keeps the last 3)"
        )

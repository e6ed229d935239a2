"""The Deephaven services pydeephaven calls, over the broker's store: configuration, sessions
and tickets, tables by ticket or name, binding names, and listing the names.

Semantics follow a Deephaven server where clients can tell: a shared ticket is published
once; a shared ticket lives while its publisher's export does; a missing name is
INVALID_ARGUMENT to FetchTable (pydeephaven's "no table by the name ..."). A scope name can be
bound again (a new version: ticketbooth's watchers and widgets see it change).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from deephaven_core.proto import application_pb2 as app_pb
from deephaven_core.proto import config_pb2 as config_pb
from deephaven_core.proto import console_pb2 as console_pb
from deephaven_core.proto import session_pb2 as session_pb
from deephaven_core.proto import table_pb2 as table_pb
from deephaven_core.proto import ticket_pb2 as ticket_pb

from .._segments import END_OF_STREAM
from .._tickets import ExportTicket, ScopeTicket, SharedTicket
from ._dh_sessions import DhSessions
from ._events import Event, EventHub
from ._refusals import BrokerError
from ._servicer import Ctx, refusals, stream_refusals
from ._store import Binding, StoredObject


def _export_id(raw: bytes, what: str) -> int:
    """The id of the export ticket a client chose for a result (ids <= 0 are the server's,
    as on a Deephaven server)."""
    try:
        export_id = ExportTicket(raw).id
    except ValueError:
        export_id = 0
    if export_id <= 0:
        raise BrokerError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"{what} must be an export ticket (b'e' + int32 little-endian id) with an id "
            f"above 0 (ids <= 0 are the server's); got {raw[:16]!r}",
        )
    return export_id


def _table(obj: StoredObject) -> StoredObject:
    if obj.type != "Table":
        raise BrokerError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"the ticket holds a {obj.type}, not a table; reach it with plugin_client",
        )
    return obj


def table_created(raw: bytes, obj: StoredObject) -> table_pb.ExportedTableCreationResponse:
    """Deephaven's description of a table: its ticket echoed, its schema as an IPC stream."""
    return table_pb.ExportedTableCreationResponse(
        result_id=table_pb.TableReference(ticket=ticket_pb.Ticket(ticket=raw)),
        success=True,
        schema_header=obj.schema + END_OF_STREAM,
        is_static=True,
        size=obj.num_rows,
    )


class DhServices:
    """ConfigService, SessionService, TableService, ConsoleService (the parts pydeephaven's
    Session uses); each method is registered on its service by name."""

    def __init__(self, sessions: DhSessions) -> None:
        self.sessions = sessions
        self.store = sessions.store

    # ConfigService ---------------------------------------------------------------------------
    @refusals
    async def GetConfigurationConstants(self, request: Any, context: Ctx) -> Any:
        """The first call of every pydeephaven Session (it logs in) and its keep-alive."""
        await self.sessions.enter(context)
        ms = config_pb.ConfigValue(string_value=str(int(self.sessions.ttl_s * 1000)))
        return config_pb.ConfigurationConstantsResponse(
            config_values={"http.session.durationMs": ms}
        )

    @refusals
    async def GetAuthenticationConstants(self, request: Any, context: Ctx) -> Any:
        return config_pb.AuthenticationConstantsResponse()

    # SessionService --------------------------------------------------------------------------
    @refusals
    async def CloseSession(self, request: Any, context: Ctx) -> Any:
        self.sessions.close(await self.sessions.enter(context))
        return session_pb.CloseSessionResponse()

    @refusals
    async def Release(self, request: session_pb.ReleaseRequest, context: Ctx) -> Any:
        raw = request.id.ticket
        sid = await self.sessions.enter(context, raw)
        if isinstance(ticket := self.store.parse(raw), ExportTicket):
            self.store.release(sid, raw)
            self.sessions.origins.pop((sid, ticket.id), None)
        # a shared or scope ticket is not this session's to release (pydeephaven releases
        # the tables fetch_table wraps around one): nothing to do, as on a Deephaven server
        return session_pb.ReleaseResponse()

    @refusals
    async def ExportFromTicket(self, request: session_pb.ExportRequest, context: Ctx) -> Any:
        sid = await self.sessions.enter(context, request.source_id.ticket)
        export_id = _export_id(request.result_id.ticket, "result_id")
        source = request.source_id.ticket
        self.store.fetch(sid, source, export_id=export_id)
        if not isinstance(self.store.parse(source), ExportTicket):
            self.sessions.origins[(sid, export_id)] = source
        return session_pb.ExportResponse()

    @refusals
    async def PublishFromTicket(self, request: session_pb.PublishRequest, context: Ctx) -> Any:
        sid = await self.sessions.enter(context, request.source_id.ticket)
        result = request.result_id.ticket
        if isinstance(self.store.parse(result), SharedTicket) and result in self.store.bindings:
            raise BrokerError(
                grpc.StatusCode.ALREADY_EXISTS,
                "this shared ticket is already published; a shared ticket is published once "
                "(as on a Deephaven server): publish to SharedTicket.random_ticket()",
            )
        self._publish(sid, request.source_id.ticket, result)
        return session_pb.PublishResponse()

    def _publish(self, sid: str, source: bytes, result: bytes) -> None:
        """Publish what `source` names. To a scope name: bound for good (`DhSessions.bind`).
        Else a shared or scope source is exported first (under a server-chosen id, held
        until the session ends), as the store publishes exports."""
        if isinstance(self.store.parse(result), ScopeTicket):
            self.sessions.bind(sid, self.store.resolve(sid, source)[0], result)
            return
        if not isinstance(self.store.parse(source), ExportTicket):
            export_id, _, _ = self.store.fetch(sid, source)
            source = ExportTicket.export_ticket(export_id).bytes
        self.store.publish(sid, source, result)

    # TableService ----------------------------------------------------------------------------
    @refusals
    async def GetExportedTableCreationResponse(self, request: Any, context: Ctx) -> Any:
        sid = await self.sessions.enter(context, request.ticket)
        obj, _ = self.store.resolve(sid, request.ticket)
        return table_created(request.ticket, _table(obj))

    @refusals
    async def FetchTable(self, request: table_pb.FetchTableRequest, context: Ctx) -> Any:
        sid = await self.sessions.enter(context, request.source_id.ticket.ticket)
        export_id = _export_id(request.result_id.ticket, "result_id")
        try:
            _table(self.store.resolve(sid, request.source_id.ticket.ticket)[0])
            _, obj, _ = self.store.fetch(sid, request.source_id.ticket.ticket, export_id=export_id)
        except BrokerError as exc:
            if exc.code == grpc.StatusCode.NOT_FOUND:  # what pydeephaven's open_table expects
                raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, exc.message) from None
            raise
        return table_created(request.result_id.ticket, obj)

    # ConsoleService --------------------------------------------------------------------------
    @refusals
    async def GetConsoleTypes(self, request: Any, context: Ctx) -> Any:
        await self.sessions.enter(context)
        return console_pb.GetConsoleTypesResponse(console_types=["python"])

    @refusals
    async def StartConsole(self, request: console_pb.StartConsoleRequest, context: Ctx) -> Any:
        """A console names the scope bind_table binds in; there is one scope, no script."""
        await self.sessions.enter(context)
        return console_pb.StartConsoleResponse(result_id=request.result_id)

    @refusals
    async def BindTableToVariable(
        self, request: console_pb.BindTableToVariableRequest, context: Ctx
    ) -> Any:
        sid = await self.sessions.enter(context, request.table_id.ticket)
        if not request.variable_name:
            raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, "bind_table needs a name")
        _table(self.store.resolve(sid, request.table_id.ticket)[0])
        name = ScopeTicket.scope_ticket(request.variable_name).bytes
        self._publish(sid, request.table_id.ticket, name)
        return console_pb.BindTableToVariableResponse()


def _field(binding: Binding) -> app_pb.FieldInfo:
    name = getattr(binding.ticket, "name", "")
    return app_pb.FieldInfo(
        typed_ticket=ticket_pb.TypedTicket(
            ticket=ticket_pb.Ticket(ticket=binding.ticket.bytes), type=binding.obj.type
        ),
        field_name=name,
        application_id="scope",
        application_name="ticketbooth",
    )


class DhApplications:
    """ApplicationService.ListFields: the scope names now, then every change to them."""

    def __init__(self, sessions: DhSessions, hub: EventHub) -> None:
        self.sessions = sessions
        self.hub = hub

    @stream_refusals
    async def ListFields(self, request: Any, context: Ctx) -> AsyncIterator[Any]:
        await self.sessions.enter(context)
        watcher = self.hub.add(b"")
        try:
            now = [_field(b) for b in self.sessions.store.scope_bindings()]
            yield app_pb.FieldsChangeUpdate(created=now)
            while True:
                event: Event = await watcher.queue.get()
                if event.kind == "overflow":
                    raise BrokerError(grpc.StatusCode.RESOURCE_EXHAUSTED, event.reason)
                change = {"published": "created", "updated": "updated", "released": "removed"}
                yield app_pb.FieldsChangeUpdate(**{change[event.kind]: [_field(event.binding)]})
        finally:
            self.hub.remove(watcher)

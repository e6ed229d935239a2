"""The Deephaven-protocol front end: unmodified pydeephaven clients on a port of their own,
over the broker's store, sessions and lifetime rules (one ticket space).

pydeephaven opens a gRPC channel and a pyarrow FlightClient to the same host:port, so this
port serves Deephaven's services and Arrow Flight (the broker's own FlightService, whose
callers are identified by their Deephaven bearer token). Methods it does not serve (scripts,
table operations) are UNIMPLEMENTED with a message saying what it does serve.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
from deephaven_core.proto import (
    application_pb2,
    config_pb2,
    console_pb2,
    object_pb2,
    session_pb2,
    table_pb2,
)
from google.protobuf.descriptor import MethodDescriptor

from .._proto.flight import flight_pb2 as fl
from ._auth import TOKEN_HEADER
from ._dh_objects import DhObjects
from ._dh_services import DhApplications, DhServices
from ._dh_sessions import DhSessions
from ._events import EventHub
from ._flight import FlightServicer
from ._flight_put import receive
from ._plugins import HandlerRegistry
from ._servicer import Core, Ctx, stream_refusals
from ._wire import service_handler

SEND_BYTES = 64 * 1024 * 1024  # the largest FlightData sent to a Deephaven client
SERVED = (
    "the ticketbooth broker holds tables and figures for pydeephaven: import_table, "
    "to_arrow, fetch_table, open_table, bind_table, tables, exportable_objects, "
    "publish/publish_table, fetch, release, plugin_client on figures. Run scripts and "
    "table operations on a Deephaven server"
)


def _unimplemented(method: MethodDescriptor) -> Any:
    message = f"{method.containing_service.name}.{method.name} is not served: {SERVED}"

    async def refuse(request: Any, context: Ctx) -> Any:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, message)

    async def refuse_stream(request: Any, context: Ctx) -> AsyncIterator[Any]:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, message)
        yield  # pragma: no cover

    return refuse_stream if method.server_streaming else refuse


class DhFlight(FlightServicer):
    """The broker's Flight service for Deephaven clients: the caller is the session of its
    bearer token (pydeephaven's FlightClient sends it on every call)."""

    def __init__(self, core: Core, sessions: DhSessions) -> None:
        super().__init__(core)
        self.sessions = sessions

    def _caller(self, context: Ctx) -> str | None:
        return self.sessions.flight_caller(context)

    def _authenticate(self, context: Ctx) -> None:
        self.sessions.flight_caller(context)  # a Deephaven bearer (or a login header)

    def send_limit(self) -> int:
        """pydeephaven's pyarrow client takes messages of any size, and sends its batches
        as they are (16 MiB from import_table): they go back whole, without re-chunking."""
        return max(SEND_BYTES, self.store.limits.max_message_bytes)

    async def _ready(self, sid: str | None, ticket: bytes) -> None:
        """An export pydeephaven is still uploading is read once its import ends."""
        if sid is not None:
            await self.sessions.ready(sid, ticket)

    @stream_refusals
    async def DoPut(self, request_iterator: AsyncIterator[bytes], context: Ctx) -> Any:
        """Import a table as pydeephaven sends it: the schema and each record batch are
        acknowledged with an empty PutResult as they arrive (pydeephaven waits for the
        first, then returns while its stream goes on; deephaven-server 42.7 acks batches
        only, so there a table without rows hangs its import); the export is pending until
        the stream ends."""
        sid, frame, it, target = await self._start_put(request_iterator, context)
        export_id = target.export_id
        if export_id is not None:
            self.sessions.begin_import(sid, export_id)
        yield fl.PutResult()  # the schema: a table without rows gets its ack too
        acks: asyncio.Queue[None] = asyncio.Queue()
        done = asyncio.ensure_future(
            receive(self.core, sid, frame, it, target, lambda: acks.put_nowait(None))
        )
        try:
            while not done.done() or not acks.empty():
                ack = asyncio.ensure_future(acks.get())
                await asyncio.wait({done, ack}, return_when=asyncio.FIRST_COMPLETED)
                if not ack.done():
                    ack.cancel()
                    continue
                yield fl.PutResult()
            done.result()
        except BaseException as exc:
            done.cancel()
            if export_id is not None:
                self.sessions.end_import(sid, export_id, str(exc) or type(exc).__name__)
            raise
        if export_id is not None:
            self.sessions.end_import(sid, export_id)


UNAUTHENTICATED_OK = "/io.deephaven.proto.backplane.grpc.ConfigService/GetAuthenticationConstants"


def _header(details: grpc.HandlerCallDetails) -> str:
    for key, value in getattr(details, "invocation_metadata", None) or ():
        if key == TOKEN_HEADER:
            return value if isinstance(value, str) else bytes(value).decode("utf-8", "replace")
    return ""


def _without_reading(code: grpc.StatusCode, message: str, reply: bytes | None = None) -> Any:
    """A handler that ends the call without reading its request (whatever its size)."""

    async def respond(requests: Any, context: Ctx) -> AsyncIterator[bytes]:
        if reply is None:
            await context.abort(code, message)
        yield reply or b""

    return grpc.stream_stream_rpc_method_handler(respond)


class Gate(grpc.GenericRpcHandler):  # type: ignore[type-arg]
    """This port receives messages up to the per-object limit (pydeephaven sends a table's
    record batch as one message), and gRPC's receive limit is per server, not per method;
    so the caller's authorization header is checked before a request is read: a caller
    without a valid login or bearer is refused at once, its body never received whole or
    parsed."""

    def __init__(self, sessions: DhSessions, inner: tuple[Any, ...]) -> None:
        self.sessions = sessions
        self.inner = inner

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> Any:
        method = getattr(handler_call_details, "method", "")
        if method == UNAUTHENTICATED_OK:  # as on a Deephaven server: no login needed
            empty = config_pb2.AuthenticationConstantsResponse().SerializeToString()
            return _without_reading(grpc.StatusCode.OK, "", empty)
        refusal = self.sessions.admission(_header(handler_call_details))
        if refusal is not None:
            return _without_reading(refusal.code, refusal.message)
        for handler in self.inner:
            found = handler.service(handler_call_details)
            if found is not None:
                return found
        return None


def handlers(
    core: Core, sessions: DhSessions, hub: EventHub, plugins: HandlerRegistry
) -> tuple[grpc.GenericRpcHandler[Any, Any], ...]:
    """The port's services, behind the `Gate`."""
    return (Gate(sessions, _services(core, sessions, hub, plugins)),)


def _services(
    core: Core, sessions: DhSessions, hub: EventHub, plugins: HandlerRegistry
) -> tuple[grpc.GenericRpcHandler[Any, Any], ...]:
    services = DhServices(sessions)
    served = (
        (services, "ConfigService", config_pb2),
        (services, "SessionService", session_pb2),
        (services, "TableService", table_pb2),
        (services, "ConsoleService", console_pb2),
        (DhApplications(sessions, hub), "ApplicationService", application_pb2),
        (DhObjects(sessions, hub, plugins), "ObjectService", object_pb2),
    )
    return (
        *(service_handler(s, name, m, missing=_unimplemented) for s, name, m in served),
        DhFlight(core, sessions).handler(),
    )

"""Arrow Flight on the broker's ports: any Flight client fetches a shared or named table;
ticketbooth's own Session uses it for every remote transfer.

DoGet streams a table's segment as it lies in shared memory: its IPC messages are already
at most `Limits.chunk_bytes`, so each FlightData is framed from zero-copy views of the
mapped file with one join (`_framing.encode`), in a worker thread while the previous one is
sent. DoPut feeds a `TableUpload` (validated, sized against the limits as it arrives).
Tickets are ticketbooth's (and Deephaven's) ticket bytes; every call carries the broker's
token; a session (the x-ticketbooth-session header) is needed for export tickets and DoPut.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc

from .. import _framing, _parts, _segments
from .._limits import chunk_budget
from .._proto.flight import flight_pb2 as fl
from .._tickets import ExportTicket, ScopeTicket
from ._auth import SESSION_HEADER, metadata_value
from ._flight_put import PutTarget, put_target, receive
from ._refusals import BrokerError
from ._servicer import Core, Ctx, refusals, stream_refusals
from ._store import Binding, StoredObject
from ._wire import service_handler

SERVICE = "FlightService"
CANCEL_WAIT_S = 5.0  # a failed send waits this long for gRPC to report the cancellation
UNIMPLEMENTED = (
    "{method} is not served by the ticketbooth broker: it serves DoGet (ticket = ticket "
    "bytes), DoPut, GetFlightInfo, GetSchema and ListFlights; authenticate with the metadata "
    "'authorization: Bearer <token>' on every call (no handshake)"
)


async def _write(context: Ctx, frame: bytes) -> None:
    """Send one message. A client that cancels mid-stream makes the send fail before gRPC
    has noticed the cancellation (which then cancels this handler quietly); the send's
    failure would be logged with a traceback, so the handler waits for the cancellation."""
    try:
        await context.write(frame)
    except Exception as exc:
        if type(exc).__name__ != "ExecuteBatchError":
            raise
        await asyncio.sleep(CANCEL_WAIT_S)  # the cancellation ends the wait
        raise


def _next_frame(messages: Iterator[tuple[memoryview, memoryview]]) -> bytes | None:
    parts = next(messages, None)
    return None if parts is None else _framing.encode(*parts)


class FlightServicer:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.store = core.store
        self.shm = core.shm
        # DoPut publishes: (sid, ticket) -> the export holding the import, and its object
        self._pins: dict[tuple[str, bytes], tuple[int, StoredObject]] = {}
        self.store.closed_hooks.append(self._session_closed)

    def handler(self) -> grpc.GenericRpcHandler[Any, Any]:
        return service_handler(
            self, SERVICE, module=fl, raw_in=frozenset({"DoPut"}), raw_out=frozenset({"DoGet"})
        )

    def send_limit(self) -> int:
        """The largest FlightData DoGet sends: the broker's message limit (what a stock gRPC
        client receives by default)."""
        return self.store.limits.max_message_bytes

    # lookups ---------------------------------------------------------------------------------
    def _caller(self, context: Ctx) -> str | None:
        """The caller's session when it sent one (export tickets need it), after the token."""
        user = self.core.authorize(context)
        sid = metadata_value(context, SESSION_HEADER)
        if sid:
            self.core.check_owner(user, sid)
            self.store.touch(sid)
        return sid or None

    def _table(self, sid: str | None, raw: bytes) -> tuple[StoredObject, Binding | None]:
        obj, binding = self.store.resolve(sid, raw) if sid else self.store.resolve_shared(raw)
        if obj.type != "Table":
            raise BrokerError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"the ticket holds a {obj.type}, not a table; Flight serves tables (fetch "
                "figures with ticketbooth's Session.fetch_object)",
            )
        return obj, binding

    def _descriptor_ticket(self, descriptor: fl.FlightDescriptor) -> bytes:
        if descriptor.type == fl.FlightDescriptor.PATH and len(descriptor.path) == 1:
            return ScopeTicket.scope_ticket(descriptor.path[0]).bytes
        if descriptor.type == fl.FlightDescriptor.CMD and descriptor.cmd:
            return bytes(descriptor.cmd)
        raise BrokerError(
            grpc.StatusCode.INVALID_ARGUMENT,
            "name a table by a descriptor PATH [name], or CMD = its ticket bytes",
        )

    def _info(self, obj: StoredObject, ticket: bytes, descriptor: fl.FlightDescriptor) -> Any:
        return fl.FlightInfo(
            schema=obj.schema,
            flight_descriptor=descriptor,
            endpoint=[fl.FlightEndpoint(ticket=fl.Ticket(ticket=ticket))],
            total_records=obj.num_rows,
            total_bytes=obj.nbytes,
        )

    # the served methods ------------------------------------------------------------------------
    async def _ready(self, sid: str | None, ticket: bytes) -> None:
        """Wait until what `ticket` names can be read (Deephaven clients' pending imports)."""

    @stream_refusals
    async def DoGet(self, request: fl.Ticket, context: Ctx) -> AsyncIterator[bytes]:
        sid = self._caller(context)
        await self._ready(sid, request.ticket)
        obj, _ = self._table(sid, request.ticket)
        # mapped now: the pages outlive a release of the table while it is sent
        mapped = {n: _segments.map_segment(self.shm.file(n)) for n in obj.segment_names()}
        limit = self.send_limit()
        if obj.parts:
            found = await asyncio.to_thread(
                _parts.parts_messages, mapped, obj.parts, chunk_budget(limit), limit
            )
        else:
            found = await asyncio.to_thread(
                _segments.segment_messages, mapped[obj.shm_name], chunk_budget(limit), limit
            )
        messages = iter(found)

        def ahead() -> asyncio.Future[bytes | None]:
            return asyncio.ensure_future(asyncio.to_thread(_next_frame, messages))

        pending = ahead()
        try:  # frame n+1 is made in a worker thread while frame n is sent
            while (frame := await pending) is not None:
                pending = ahead()
                await _write(context, frame)
        finally:
            pending.cancel()
        return
        yield  # pragma: no cover (the frames are written above)

    async def _start_put(
        self, request_iterator: AsyncIterator[bytes], context: Ctx
    ) -> tuple[str, _framing.Frame, AsyncIterator[bytes], PutTarget]:
        """A DoPut's session, first frame, the rest of its stream, and its target."""
        sid = self._caller(context)
        if sid is None:
            raise BrokerError(
                grpc.StatusCode.UNAUTHENTICATED,
                "DoPut stores a table in a session: send the metadata x-ticketbooth-session "
                "with the id of an open session (ticketbooth's Session.session_id, or "
                "SessionService.OpenSession)",
            )
        it = request_iterator.__aiter__()
        try:
            frame = _framing.decode(await it.__anext__())
        except StopAsyncIteration:
            raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, "empty DoPut stream") from None
        target = put_target(frame.descriptor)
        if target.export_id is not None and target.export_id in self.store.session(sid).exports:
            raise BrokerError(  # refused before its body is received; the export is kept
                grpc.StatusCode.ALREADY_EXISTS,
                f"export {target.export_id} already exists in this session; release it or "
                "pick another id (nothing was stored)",
            )
        return sid, frame, it, target

    @stream_refusals
    async def DoPut(self, request_iterator: AsyncIterator[bytes], context: Ctx) -> Any:
        sid, frame, it, target = await self._start_put(request_iterator, context)
        response = await receive(self.core, sid, frame, it, target)
        if target.publish is not None:
            self._publish(sid, response.export_ticket, target)
        yield fl.PutResult(app_metadata=response.SerializeToString())

    def _publish(self, sid: str, export: bytes, target: PutTarget) -> None:
        """Publish a DoPut's import to its target; the session keeps it until it publishes
        there again (the previous import is released), releases it, or closes."""
        assert target.publish is not None
        self.store.publish(sid, export, target.publish)
        key = (sid, target.publish)
        exports = self.store.session(sid).exports
        old = self._pins.get(key)
        export_id = ExportTicket(export).id
        self._pins[key] = (export_id, exports[export_id])
        # the previous import, unless the session released it already (its id may even
        # name another object by now)
        if old is not None and exports.get(old[0]) is old[1]:
            self.store.release(sid, ExportTicket.export_ticket(old[0]).bytes)

    def _session_closed(self, sid: str, reason: str) -> None:
        for key in [k for k in self._pins if k[0] == sid]:
            del self._pins[key]

    @refusals
    async def GetFlightInfo(self, request: fl.FlightDescriptor, context: Ctx) -> Any:
        ticket = self._descriptor_ticket(request)
        obj, _ = self._table(self._caller(context), ticket)
        return self._info(obj, ticket, request)

    @refusals
    async def GetSchema(self, request: fl.FlightDescriptor, context: Ctx) -> Any:
        obj, _ = self._table(self._caller(context), self._descriptor_ticket(request))
        return fl.SchemaResult(schema=obj.schema)

    @stream_refusals
    async def ListFlights(self, request: fl.Criteria, context: Ctx) -> AsyncIterator[Any]:
        self._caller(context)
        for binding in self.store.scope_bindings():
            if binding.obj.type == "Table":
                name = getattr(binding.ticket, "name", "")
                path = fl.FlightDescriptor(type=fl.FlightDescriptor.PATH, path=[name])
                yield self._info(binding.obj, binding.ticket.bytes, path)

    def _authenticate(self, context: Ctx) -> None:
        """Refuse a caller without the broker's (or a user's) token."""
        self.core.authorize(context)

    async def _unimplemented(self, request: Any, context: Ctx, method: str) -> Any:
        """UNAUTHENTICATED for a bad token, else UNIMPLEMENTED saying what is served."""
        try:
            self._authenticate(context)
        except BrokerError as exc:
            await context.abort(exc.code, exc.message)
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, UNIMPLEMENTED.format(method=method))

    async def Handshake(self, request: Any, context: Ctx) -> AsyncIterator[Any]:
        await self._unimplemented(request, context, "Handshake")
        yield  # pragma: no cover

    async def PollFlightInfo(self, request: Any, context: Ctx) -> Any:
        return await self._unimplemented(request, context, "PollFlightInfo")

    async def DoExchange(self, request: Any, context: Ctx) -> AsyncIterator[Any]:
        await self._unimplemented(request, context, "DoExchange")
        yield  # pragma: no cover

    async def DoAction(self, request: Any, context: Ctx) -> AsyncIterator[Any]:
        await self._unimplemented(request, context, "DoAction")
        yield  # pragma: no cover

    async def ListActions(self, request: Any, context: Ctx) -> AsyncIterator[Any]:
        await self._unimplemented(request, context, "ListActions")
        yield  # pragma: no cover

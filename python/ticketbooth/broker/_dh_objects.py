"""Deephaven's ObjectService over ticketbooth's objects: pydeephaven's plugin_client on a
figure (or any rich display object) a ticketbooth Session published.

The payload is the object's MIME bundle as UTF-8 JSON in Jupyter's display_data form,
``{"data": {mime: value}, "metadata": {...}}``: binary types (image/png, ...) are base64
text, JSON types (plotly, Vega-Lite) are JSON values, the others strings. Its type name is
the one ticketbooth stores ("Figure"). A republish of a published object sends its new
payload; requests written to the stream go to the handler the publisher registered
(``Session.serve_requests``), its replies come back as payloads (a failed request as
``{"error": "..."}``). A table reached this way comes as its schema (an Arrow IPC message)
with the table's export in ``exported_references``, as a Deephaven plugin sends tables.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
from deephaven_core.proto import object_pb2 as object_pb
from deephaven_core.proto import ticket_pb2 as ticket_pb

from .._objects import MimeBundle
from .._proto.v1 import broker_pb2 as pb
from .._tickets import ExportTicket
from ._dh_sessions import DhSessions
from ._events import EventHub
from ._plugin_stream import serve
from ._plugins import HandlerRegistry
from ._refusals import BrokerError
from ._servicer import Ctx, refusals, stream_refusals
from ._store import Binding, StoredObject


def bundle_json(wire: bytes) -> bytes:
    """A stored MIME bundle as Jupyter's display_data JSON (binary parts base64)."""
    bundle = MimeBundle.from_wire(wire)
    data = {
        mime: base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
        for mime, value in bundle.data.items()
    }
    return json.dumps({"data": data, "metadata": bundle.metadata}).encode()


def _not_table(obj: StoredObject) -> StoredObject:
    if obj.type == "Table":
        raise BrokerError(
            grpc.StatusCode.INVALID_ARGUMENT,
            "the ticket holds a table: fetch it with fetch_table or open_table",
        )
    return obj


async def _requests(it: AsyncIterator[object_pb.StreamRequest]) -> AsyncIterator[Any]:
    """A Deephaven client's messages as the broker's plugin requests."""
    async for request in it:
        if request.HasField("data"):
            refs = [ref.ticket.ticket for ref in request.data.references]
            yield pb.StreamRequest(payload=request.data.payload, references=refs)


def _response(message: pb.StreamResponse) -> object_pb.StreamResponse:
    refs = [
        ticket_pb.TypedTicket(ticket=ticket_pb.Ticket(ticket=r.ticket), type=r.type)
        for r in message.references
    ]
    if message.kind == "payload" and not refs:
        payload = bundle_json(message.payload)
    elif message.error:
        payload = json.dumps({"error": message.error}).encode()
    else:
        payload = message.payload
    return object_pb.StreamResponse(
        data=object_pb.ServerData(payload=payload, exported_references=refs)
    )


class DhObjects:
    def __init__(self, sessions: DhSessions, hub: EventHub, handlers: HandlerRegistry) -> None:
        self.sessions = sessions
        self.store = sessions.store
        self.hub = hub
        self.handlers = handlers

    @refusals
    async def FetchObject(self, request: object_pb.FetchObjectRequest, context: Ctx) -> Any:
        raw = request.source_id.ticket.ticket
        sid = await self.sessions.enter(context, raw)
        obj, _ = self.store.resolve(sid, raw)
        payload = bundle_json(_not_table(obj).payload)
        return object_pb.FetchObjectResponse(type=obj.type, data=payload)

    def _followed(
        self, sid: str, ticket: bytes, obj: StoredObject, binding: Binding | None
    ) -> tuple[bytes, StoredObject, Binding | None]:
        """An export fetched from a ticket that is still published stands for that ticket
        (pydeephaven's plugin_client fetches before it connects): the stream then sends its
        republishes and reaches its publisher's handler."""
        if binding is not None:  # a published ticket: followed already
            return ticket, obj, binding
        origin = self.sessions.origins.get((sid, ExportTicket(ticket).id))
        followed = self.store.bindings.get(origin) if origin else None
        if followed is None:
            return ticket, obj, binding
        return followed.ticket.bytes, followed.obj, followed

    @stream_refusals
    async def MessageStream(
        self, request_iterator: AsyncIterator[object_pb.StreamRequest], context: Ctx
    ) -> AsyncIterator[Any]:
        it = request_iterator.__aiter__()
        try:
            sid = await self.sessions.enter(context)
            first = await it.__anext__()
            if not first.HasField("connect"):
                raise BrokerError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "the first message of a MessageStream must be a ConnectRequest",
                )
            ticket = first.connect.source_id.ticket.ticket
            await self.sessions.ready(sid, ticket)
            obj, binding = self.store.resolve(sid, ticket)
            ticket, obj, binding = self._followed(sid, ticket, obj, binding)
        except StopAsyncIteration:
            return
        except BrokerError as err:
            await context.abort(err.code, err.message)
        requests = _requests(it)
        stream = serve(self.store, self.hub, self.handlers, sid, ticket, obj, binding, requests)
        async for message in stream:
            if message.kind in ("dropped", "released"):
                await context.abort(grpc.StatusCode.FAILED_PRECONDITION, message.error)
            yield _response(message)

"""gRPC handlers for figures and other objects, watches, and plugin message streams."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc

from .._objects import FIGURE_TYPE, InvalidBundleError, MimeBundle
from .._proto.v1 import broker_pb2 as pb
from .._proto.v1 import broker_pb2_grpc as pb_grpc
from ._events import Event, EventHub
from ._plugin_stream import serve
from ._plugins import HandlerRegistry
from ._refusals import BrokerError
from ._servicer import Core, Ctx, refusals, stream_refusals
from ._store import Binding, Budget, StoredObject

OBJECT_TYPES = (FIGURE_TYPE,)


def _object_type(kind: str) -> str:
    if kind not in OBJECT_TYPES:
        raise BrokerError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"unknown object type {kind!r}; this broker stores {', '.join(OBJECT_TYPES)} "
            "objects (tables go through TableService)",
        )
    return kind


def _announced(prefix: bytearray, budget: Budget) -> int | None:
    """The bundle's total size once its header is in, checked against the limits."""
    try:
        total = MimeBundle.wire_size(prefix)
    except InvalidBundleError as exc:
        raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from exc
    if total is not None:
        budget.grow(max(0, total - budget.nbytes))
    return total


def _event(core: Core, event: Event) -> pb.WatchEvent:
    b = event.binding
    return pb.WatchEvent(
        kind=event.kind,
        ticket=b.ticket.bytes,
        version=b.version,
        reason=event.reason,
        info=core.info(b.obj, b),
        sent_at=event.sent_at,
    )


class ObjectServicer(pb_grpc.ObjectServiceServicer):
    def __init__(self, core: Core, hub: EventHub, handlers: HandlerRegistry) -> None:
        self.core = core
        self.store = core.store
        self.hub = hub
        self.handlers = handlers

    @refusals
    async def PutObject(self, request_iterator: AsyncIterator[pb.ObjectChunk], ctx: Ctx) -> Any:
        """Receive a bundle; refused as soon as its type, announced size, or the bytes
        received so far break a rule or a limit, before it is buffered."""
        sid = self.core.session_id(ctx)
        kind, parts, size, announced = "", bytearray(), 0, None
        with self.store.budget() as budget:
            async for chunk in request_iterator:
                if not kind:
                    kind = _object_type(chunk.type)
                budget.grow(len(chunk.data))
                parts += chunk.data
                size += len(chunk.data)
                if announced is None:
                    announced = _announced(parts, budget)
                if announced is not None and size > announced:
                    raise BrokerError(
                        grpc.StatusCode.INVALID_ARGUMENT,
                        f"the object carries more than the {announced} bytes it announced",
                    )
            if not kind:
                raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, "empty object stream")
        payload = bytes(parts)
        try:
            MimeBundle.from_wire(payload)
        except InvalidBundleError as exc:
            raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from exc
        obj = StoredObject(0, kind, len(payload), payload=payload)
        return self.core.import_response(sid, obj)

    @stream_refusals
    async def GetObject(self, request: pb.GetObjectRequest, ctx: Ctx) -> AsyncIterator[Any]:
        sid = self.core.session_id(ctx)
        obj, _ = self.store.resolve(sid, request.ticket)
        if obj.type == "Table":
            raise BrokerError(
                grpc.StatusCode.INVALID_ARGUMENT, "the ticket holds a Table; use fetch_table"
            )
        step = self.store.limits.max_message_bytes
        data = obj.payload
        for start in range(0, max(1, len(data)), step):
            yield pb.ObjectChunk(
                type=obj.type if start == 0 else "", data=data[start : start + step]
            )

    @stream_refusals
    async def Watch(self, request: pb.WatchRequest, ctx: Ctx) -> AsyncIterator[Any]:
        self.core.session_id(ctx)
        if request.ticket:
            self.store.parse(request.ticket)
        watcher = self.hub.add(request.ticket)
        try:
            if request.ticket:
                current = [self.store.bindings.get(request.ticket)]
            else:
                current = list(self.store.scope_bindings())
            for binding in current:
                if binding is not None:
                    yield _event(self.core, Event("published", binding))
            while True:
                event = await watcher.queue.get()
                yield _event(self.core, event)
                if event.kind == "overflow" or (request.ticket and event.kind == "released"):
                    return
        finally:
            self.hub.remove(watcher)

    async def _open(
        self, it: AsyncIterator[Any], ctx: Ctx, publisher_only: bool = False
    ) -> tuple[str, Any, StoredObject, Binding | None] | None:
        """The start of a bidirectional stream: session, first message (naming the ticket),
        and the object behind it; None when the client sent nothing. Refusals abort."""
        try:
            sid = self.core.session_id(ctx)
            first = await it.__anext__()
            obj, binding = self.store.resolve(sid, first.ticket)
            owner = binding.session_id if binding is not None else obj.owner
            if publisher_only and owner != sid:
                raise BrokerError(
                    grpc.StatusCode.PERMISSION_DENIED,
                    "only the session that published an object can serve requests for it; "
                    "a fetched copy cannot answer for the publisher",
                )
        except StopAsyncIteration:
            return None
        except BrokerError as err:
            await ctx.abort(err.code, err.message)
        return sid, first, obj, binding

    @stream_refusals
    async def MessageStream(
        self, request_iterator: AsyncIterator[pb.StreamRequest], ctx: Ctx
    ) -> AsyncIterator[Any]:
        it = request_iterator.__aiter__()
        opened = await self._open(it, ctx)
        if opened is None:
            return
        sid, first, obj, binding = opened
        stream = serve(self.store, self.hub, self.handlers, sid, first.ticket, obj, binding, it)
        async for message in stream:
            yield message

    async def ServeObject(
        self, request_iterator: AsyncIterator[pb.HandlerReply], ctx: Ctx
    ) -> AsyncIterator[Any]:
        it = request_iterator.__aiter__()
        opened = await self._open(it, ctx, publisher_only=True)
        if opened is None:
            return
        sid, first, obj, binding = opened
        key = first.ticket if binding is not None else obj.oid
        handler = self.handlers.register(sid, key)

        async def read_replies() -> None:
            try:
                async for reply in it:
                    handler.reply(reply)
            finally:
                self.handlers.unregister(handler)

        reader = asyncio.create_task(read_replies())
        try:
            yield pb.HandlerRequest(request_id=0)  # "registered": the publisher may return
            while (request := await handler.outbox.get()) is not None:
                yield request
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            self.handlers.unregister(handler)

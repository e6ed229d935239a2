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
from .._tickets import ExportTicket
from ._events import Event, EventHub
from ._plugins import HandlerRegistry
from ._servicer import Core, Ctx, refusals
from ._store import Binding, BrokerError, StoredObject

OBJECT_TYPES = (FIGURE_TYPE,)
REQUEST_TIMEOUT_S = 30.0


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
        sid = self.core.session_id(ctx)
        kind, parts, size = "", [], 0
        limit = self.store.limits.max_object_bytes
        async for chunk in request_iterator:
            kind = kind or chunk.type
            size += len(chunk.data)
            if size > limit:
                raise BrokerError(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"object exceeds the broker's per-object limit of {limit} bytes",
                )
            parts.append(chunk.data)
        if kind not in OBJECT_TYPES:
            raise BrokerError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"unknown object type {kind!r}; this broker stores {', '.join(OBJECT_TYPES)} "
                "objects (tables go through TableService)",
            )
        payload = b"".join(parts)
        try:
            MimeBundle.from_wire(payload)
        except InvalidBundleError as exc:
            raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from exc
        obj = StoredObject(0, kind, len(payload), payload=payload)
        return self.core.import_response(sid, obj)

    async def GetObject(self, request: pb.GetObjectRequest, ctx: Ctx) -> AsyncIterator[Any]:
        try:
            sid = self.core.session_id(ctx)
            obj, _ = self.store.resolve(sid, request.ticket)
            if obj.type == "Table":
                raise BrokerError(
                    grpc.StatusCode.INVALID_ARGUMENT, "the ticket holds a Table; use fetch_table"
                )
        except BrokerError as err:
            await ctx.abort(err.code, err.message)
        step = self.store.limits.max_message_bytes
        data = obj.payload
        for start in range(0, max(1, len(data)), step):
            yield pb.ObjectChunk(
                type=obj.type if start == 0 else "", data=data[start : start + step]
            )

    async def Watch(self, request: pb.WatchRequest, ctx: Ctx) -> AsyncIterator[Any]:
        try:
            self.core.session_id(ctx)
            if request.ticket:
                self.store.parse(request.ticket)
        except BrokerError as err:
            await ctx.abort(err.code, err.message)
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
            if publisher_only and binding is not None and binding.session_id != sid:
                raise BrokerError(
                    grpc.StatusCode.PERMISSION_DENIED,
                    "only the session that published a ticket can serve requests for it",
                )
        except StopAsyncIteration:
            return None
        except BrokerError as err:
            await ctx.abort(err.code, err.message)
        return sid, first, obj, binding

    async def MessageStream(
        self, request_iterator: AsyncIterator[pb.StreamRequest], ctx: Ctx
    ) -> AsyncIterator[Any]:
        it = request_iterator.__aiter__()
        opened = await self._open(it, ctx)
        if opened is None:
            return
        sid, first, obj, binding = opened
        out: asyncio.Queue[pb.StreamResponse | None] = asyncio.Queue()
        state = {"obj": obj}
        out.put_nowait(self._payload(sid, obj, binding))
        tasks = [asyncio.create_task(self._requests(it, first.ticket, state, out))]
        watcher = self.hub.add(first.ticket) if binding is not None else None
        if watcher is not None:
            tasks.append(asyncio.create_task(self._updates(sid, watcher, state, out)))
        try:
            while (message := await out.get()) is not None:
                yield message
        finally:
            for task in tasks:
                task.cancel()
            if watcher is not None:
                self.hub.remove(watcher)

    def _payload(self, sid: str, obj: StoredObject, binding: Binding | None) -> pb.StreamResponse:
        version = binding.version if binding else 0
        if obj.type == "Table":  # the schema, and the table itself as a reference
            export = ExportTicket.export_ticket(self.store.export_object(sid, obj))
            ref = pb.TypedTicket(type="Table", ticket=export.bytes)
            return pb.StreamResponse(
                kind="payload", payload=obj.schema, references=[ref], version=version
            )
        return pb.StreamResponse(kind="payload", payload=obj.payload, version=version)

    async def _requests(
        self,
        it: AsyncIterator[pb.StreamRequest],
        ticket: bytes,
        state: dict[str, StoredObject],
        out: asyncio.Queue[pb.StreamResponse | None],
    ) -> None:
        try:
            async for req in it:
                out.put_nowait(await self._forward(ticket, state["obj"], req))
        except (asyncio.CancelledError, grpc.aio.AioRpcError):
            pass
        finally:
            out.put_nowait(None)

    async def _forward(
        self, ticket: bytes, obj: StoredObject, req: pb.StreamRequest
    ) -> pb.StreamResponse:
        handler = self.handlers.find(ticket, obj.oid)
        if handler is None:
            return pb.StreamResponse(
                kind="reply",
                error="no handler: the publisher has not registered one for this object "
                "(session.serve_requests(ticket, handler) in the publishing kernel)",
            )
        try:
            reply = await handler.request(req.payload, list(req.references), REQUEST_TIMEOUT_S)
        except LookupError as exc:
            return pb.StreamResponse(kind="reply", error=str(exc))
        except TimeoutError:
            return pb.StreamResponse(
                kind="reply", error=f"the publisher did not answer within {REQUEST_TIMEOUT_S}s"
            )
        return pb.StreamResponse(kind="reply", payload=reply.payload, error=reply.error)

    async def _updates(
        self,
        sid: str,
        watcher: Any,
        state: dict[str, StoredObject],
        out: asyncio.Queue[pb.StreamResponse | None],
    ) -> None:
        while True:
            event: Event = await watcher.queue.get()
            if event.kind in ("published", "updated"):
                state["obj"] = event.binding.obj
                out.put_nowait(self._payload(sid, event.binding.obj, event.binding))
            else:
                why = f"the object was released ({event.reason or event.kind})"
                out.put_nowait(pb.StreamResponse(kind="released", error=why))
                out.put_nowait(None)
                return

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

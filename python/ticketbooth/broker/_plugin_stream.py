"""One subscriber's plugin stream (ObjectService.MessageStream) on one object.

It sends the object's payload, then replies to the subscriber's requests and a new payload
on every republish. A table's payload references the table as an export of the subscriber's
session; that export is released when the next payload supersedes it and when the stream
ends (a subscriber keeps a version by fetching the reference). Everything waiting to be sent
sits in one byte-bounded queue: a subscriber that stops reading is dropped with a reason.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc

from .._proto.v1 import broker_pb2 as pb
from .._tickets import ExportTicket
from ._events import Event, EventHub, Watcher
from ._plugins import HandlerRegistry
from ._queues import ByteQueue, QueueFull, behind
from ._refusals import BrokerError
from ._store import Binding, Store, StoredObject

REQUEST_TIMEOUT_S = 30.0


class PluginStream:
    def __init__(
        self, store: Store, handlers: HandlerRegistry, sid: str, ticket: bytes, obj: StoredObject
    ) -> None:
        self.store = store
        self.handlers = handlers
        self.sid = sid
        self.ticket = ticket
        self.obj = obj
        self.out: ByteQueue[pb.StreamResponse | None] = ByteQueue(store.limits.max_queue_bytes)
        self._exports: list[int] = []
        self._dropped = False
        self.failure: BrokerError | None = None  # why the stream ended early, as its status

    # sending ---------------------------------------------------------------------------------
    def send(self, message: pb.StreamResponse) -> None:
        """Queue a message; a subscriber too far behind is dropped (it gets the reason)."""
        if self._dropped:
            return
        try:
            self.out.put(message, message.ByteSize())
        except QueueFull as full:
            self._dropped = True
            why = behind(full.queued, "plugin client")
            self.out.put_last(pb.StreamResponse(kind="dropped", error=why))
            self.out.put_last(None)

    def end(self) -> None:
        self.out.put_last(None)

    async def messages(self) -> AsyncIterator[pb.StreamResponse]:
        while (message := await self.out.get()) is not None:
            yield message

    # payloads --------------------------------------------------------------------------------
    def payload(self, obj: StoredObject, binding: Binding | None) -> None:
        """Send the object's current content; a table's previous reference is released."""
        self.obj = obj
        version = binding.version if binding else 0
        self.release_exports()
        if obj.type != "Table":
            self.send(pb.StreamResponse(kind="payload", payload=obj.payload, version=version))
            return
        export_id = self.store.export_object(self.sid, obj)
        self._exports.append(export_id)
        ref = pb.TypedTicket(type="Table", ticket=ExportTicket.export_ticket(export_id).bytes)
        self.send(
            pb.StreamResponse(kind="payload", payload=obj.schema, references=[ref], version=version)
        )

    def release_exports(self) -> None:
        """Release what this stream exported (the subscriber may have released it already)."""
        exports, self._exports = self._exports, []
        for export_id in exports:
            with contextlib.suppress(BrokerError):
                self.store.release(self.sid, ExportTicket.export_ticket(export_id).bytes)

    # the two producers -----------------------------------------------------------------------
    async def requests(self, it: AsyncIterator[pb.StreamRequest]) -> None:
        try:
            async for req in it:
                self.send(await self._forward(req))
        except (asyncio.CancelledError, grpc.aio.AioRpcError):
            pass
        finally:
            self.end()

    async def _forward(self, req: pb.StreamRequest) -> pb.StreamResponse:
        handler = self.handlers.find(self.ticket, self.obj.oid)
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

    async def updates(self, watcher: Watcher) -> None:
        while True:
            event: Event = await watcher.queue.get()
            if event.kind in ("published", "updated"):
                try:
                    self.payload(event.binding.obj, event.binding)
                except BrokerError as err:  # e.g. the session is at its export limit
                    self.failure = BrokerError(
                        err.code,
                        "the object was republished, but its new version cannot be sent on "
                        f"this stream: {err.message}; the stream ended",
                    )
                    self.end()
                    return
                continue
            if event.kind == "overflow":
                why = event.reason
            else:
                why = f"the object was released ({event.reason or event.kind})"
            self.send(pb.StreamResponse(kind="released", error=why))
            self.end()
            return


async def serve(
    store: Store,
    hub: EventHub,
    handlers: HandlerRegistry,
    sid: str,
    ticket: bytes,
    obj: StoredObject,
    binding: Binding | None,
    requests: AsyncIterator[pb.StreamRequest],
) -> AsyncIterator[pb.StreamResponse]:
    """A whole plugin stream: the payload, replies to `requests`, a payload on each
    republish of a published object; what it exported is released when it ends.

    Raises:
        BrokerError: the first payload cannot be sent (the session is at its export
            limit), or a republished one (the stream then ends with this status).
    """
    stream = PluginStream(store, handlers, sid, ticket, obj)
    watcher = hub.add(ticket) if binding is not None else None
    try:
        stream.payload(obj, binding)
        tasks = [asyncio.create_task(stream.requests(requests))]
        if watcher is not None:
            tasks.append(asyncio.create_task(stream.updates(watcher)))
        try:
            async for message in stream.messages():
                yield message
        finally:
            for task in tasks:
                task.cancel()
        if stream.failure is not None:
            raise stream.failure
    finally:
        if watcher is not None:
            hub.remove(watcher)
        stream.release_exports()

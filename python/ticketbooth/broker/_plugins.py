"""Request handlers registered by publishers, and the routing of subscriber requests to them."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Hashable

from .._proto.v1 import broker_pb2 as pb
from ._queues import ByteQueue, QueueFull

PUBLISHER_GONE = "the publisher of this object is gone (its session closed or its handler ended)"


class Handler:
    """One publisher's ServeObject stream for one object."""

    def __init__(self, sid: str, key: Hashable, queue_limit: int) -> None:
        self.sid = sid
        self.key = key
        self.outbox: ByteQueue[pb.HandlerRequest | None] = ByteQueue(queue_limit)
        self.pending: dict[int, asyncio.Future[pb.HandlerReply]] = {}
        self._ids = itertools.count(1)
        self.closed = False

    async def request(
        self, payload: bytes, references: list[bytes], timeout: float
    ) -> pb.HandlerReply:
        """Forward one request and wait for its reply; raise LookupError/TimeoutError."""
        if self.closed:
            raise LookupError(PUBLISHER_GONE)
        rid = next(self._ids)
        fut: asyncio.Future[pb.HandlerReply] = asyncio.get_running_loop().create_future()
        request = pb.HandlerRequest(request_id=rid, payload=payload, references=references)
        try:
            self.outbox.put(request, request.ByteSize())
        except QueueFull as full:
            raise LookupError(
                f"the publisher is not keeping up: {full.queued / 2**20:.1f} MiB of requests "
                "already wait for it; try again later"
            ) from None
        self.pending[rid] = fut
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.pending.pop(rid, None)

    def reply(self, message: pb.HandlerReply) -> None:
        fut = self.pending.get(message.request_id)
        if fut is not None and not fut.done():
            fut.set_result(message)

    def close(self) -> None:
        self.closed = True
        self.outbox.put_last(None)
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(LookupError(PUBLISHER_GONE))


class HandlerRegistry:
    """Handlers keyed by a published ticket's bytes (they follow republishes) or by object id
    (when the publisher serves an export directly)."""

    def __init__(self, queue_limit: int) -> None:
        self.queue_limit = queue_limit
        self.handlers: dict[Hashable, Handler] = {}

    def register(self, sid: str, key: Hashable) -> Handler:
        old = self.handlers.get(key)
        if old is not None:
            old.close()
        handler = self.handlers[key] = Handler(sid, key, self.queue_limit)
        return handler

    def find(self, ticket: bytes, oid: int) -> Handler | None:
        return self.handlers.get(ticket) or self.handlers.get(oid)

    def unregister(self, handler: Handler) -> None:
        handler.close()
        if self.handlers.get(handler.key) is handler:
            del self.handlers[handler.key]

    def drop_session(self, sid: str, reason: str = "closed") -> None:
        for handler in [h for h in self.handlers.values() if h.sid == sid]:
            self.unregister(handler)

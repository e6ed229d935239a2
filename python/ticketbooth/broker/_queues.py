"""Per-stream queues bounded in bytes: a reader that falls behind is dropped, with a reason,
and the writer (a publisher, the broker) never waits for it."""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class QueueFull(Exception):
    """Putting the item would exceed the queue's byte limit."""

    def __init__(self, queued: int, limit: int) -> None:
        super().__init__(f"{queued} bytes queued, limit {limit}")
        self.queued = queued
        self.limit = limit


class ByteQueue(Generic[T]):
    """An asyncio queue that holds at most `limit` bytes (one item of any size always fits,
    so a single large payload is never refused by an empty queue)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.nbytes = 0
        self._queue: asyncio.Queue[tuple[T, int]] = asyncio.Queue()

    def put(self, item: T, nbytes: int) -> None:
        """Queue `item`; raise QueueFull (queueing nothing) when it would not fit."""
        if self.nbytes and self.nbytes + nbytes > self.limit:
            raise QueueFull(self.nbytes + nbytes, self.limit)
        self.nbytes += nbytes
        self._queue.put_nowait((item, nbytes))

    def put_last(self, item: T) -> None:
        """Queue a small final item (an end marker, an error) even when full."""
        self._queue.put_nowait((item, 0))

    async def get(self) -> T:
        item, nbytes = await self._queue.get()
        self.nbytes -= nbytes
        return item

    def qsize(self) -> int:
        return self._queue.qsize()


def behind(queued: int, what: str) -> str:
    """The reason given to a reader dropped for falling behind."""
    return (
        f"this {what} fell {queued / 2**20:.1f} MiB behind and was disconnected, so the "
        "broker does not hold data for it without bound; read it promptly (or open a new one)"
    )

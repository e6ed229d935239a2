"""Change notifications: every publish, republish and release, fanned out to watchers.

Publishers never wait for watchers: each watcher has a queue bounded in bytes, filled
without blocking; a watcher that falls that far behind gets an "overflow" event (its reason
says so) and is dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .._tickets import ScopeTicket
from ._queues import ByteQueue, QueueFull, behind
from ._store import Binding

EVENT_OVERHEAD = 256  # bytes of an event besides the schema it carries


@dataclass(frozen=True)
class Event:
    kind: str  # "published" | "updated" | "released" | "overflow"
    binding: Binding
    reason: str = ""
    sent_at: float = field(default_factory=time.time)


class Watcher:
    def __init__(self, ticket: bytes, limit: int) -> None:
        self.ticket = ticket  # b"" = every scope ticket
        self.queue: ByteQueue[Event] = ByteQueue(limit)
        self.overflowed = False

    def offer(self, event: Event) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put(event, EVENT_OVERHEAD + len(event.binding.obj.schema))
        except QueueFull as full:
            self.overflowed = True
            why = behind(full.queued, "watch")
            self.queue.put_last(Event("overflow", event.binding, why))


class EventHub:
    """A store hook that forwards events to the watchers of each ticket."""

    def __init__(self, queue_limit: int) -> None:
        self.queue_limit = queue_limit
        self._watchers: dict[bytes, set[Watcher]] = {}
        self.listeners: list[Callable[[Event], None]] = []

    def __call__(self, kind: str, binding: Binding, reason: str) -> None:
        event = Event(kind, binding, reason)
        key = binding.ticket.bytes
        for watcher in self._watchers.get(key, ()):
            watcher.offer(event)
        if isinstance(binding.ticket, ScopeTicket):
            for watcher in self._watchers.get(b"", ()):
                watcher.offer(event)
        for listener in list(self.listeners):
            listener(event)

    def add(self, ticket: bytes) -> Watcher:
        watcher = Watcher(ticket, self.queue_limit)
        self._watchers.setdefault(ticket, set()).add(watcher)
        return watcher

    def remove(self, watcher: Watcher) -> None:
        group = self._watchers.get(watcher.ticket)
        if group is not None:
            group.discard(watcher)
            if not group:
                del self._watchers[watcher.ticket]

    @property
    def count(self) -> int:
        return sum(len(g) for g in self._watchers.values())

"""Change notifications: every publish, republish and release, fanned out to watchers.

Publishers never wait for watchers: each watcher has a bounded queue filled without
blocking; a watcher that falls that far behind gets an "overflow" event and is dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .._tickets import ScopeTicket
from ._store import Binding

QUEUE_LIMIT = 10_000


@dataclass(frozen=True)
class Event:
    kind: str  # "published" | "updated" | "released" | "overflow"
    binding: Binding
    reason: str = ""
    sent_at: float = field(default_factory=time.time)


class Watcher:
    def __init__(self, ticket: bytes) -> None:
        self.ticket = ticket  # b"" = every scope ticket
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.overflowed = False

    def offer(self, event: Event) -> None:
        if self.overflowed:
            return
        if self.queue.qsize() >= QUEUE_LIMIT:
            self.overflowed = True
            self.queue.put_nowait(Event("overflow", event.binding, "watcher too slow"))
            return
        self.queue.put_nowait(event)


class EventHub:
    """A store hook that forwards events to the watchers of each ticket."""

    def __init__(self) -> None:
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
        watcher = Watcher(ticket)
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

"""`Session.watch`: published / updated / released events for a ticket, sync or async."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc

from ._errors import from_rpc_error
from ._info import ObjectInfo
from ._tickets import Ticket, ticket_from_bytes


@dataclass(frozen=True)
class WatchEvent:
    """One change of a published ticket.

    kind: "published", "updated" (republished), "released" or "overflow" (the watcher fell
    too far behind and was dropped). reason (for "released"): "released" by its publisher,
    "closed" (the publishing session closed) or "expired" (the publisher stopped answering:
    killed or disconnected). version increases on every publish to the ticket.
    """

    kind: str
    ticket: Ticket
    version: int
    type: str
    reason: str
    sent_at: float
    received_at: float
    info: ObjectInfo | None

    @property
    def publisher_gone(self) -> bool:
        return self.kind == "released" and self.reason in ("closed", "expired")


def broker_events(call: Any) -> Iterator[WatchEvent]:
    """The broker's Watch stream as WatchEvents; a cancelled stream just ends."""
    try:
        for msg in call:
            yield WatchEvent(
                kind=msg.kind,
                ticket=ticket_from_bytes(msg.ticket),
                version=msg.version,
                type=msg.info.type,
                reason=msg.reason,
                sent_at=msg.sent_at,
                received_at=time.time(),
                info=ObjectInfo.from_message(msg.info) if msg.info.ticket else None,
            )
    except grpc.RpcError as err:
        if isinstance(err, grpc.Call) and err.code() == grpc.StatusCode.CANCELLED:
            return
        raise from_rpc_error(err, "watch") from None


class Watch:
    """An iterator (and async iterator) of WatchEvents; ends after a release of its ticket.

    Use ``for event in session.watch("sales")`` or ``async for event in ...``; `close()`
    (or leaving a ``with`` block) stops it early.
    """

    def __init__(
        self, events: Iterator[WatchEvent], cancel: Callable[[], Any], ticket: bytes
    ) -> None:
        self._events = events
        self._cancel = cancel
        self._ticket = ticket
        self._done = False

    def __iter__(self) -> Watch:
        return self

    def __next__(self) -> WatchEvent:
        if self._done:
            raise StopIteration
        try:
            return next(self._events)
        except BaseException:
            self._done = True
            raise

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> WatchEvent:
        event = await asyncio.to_thread(self._next_or_none)
        if event is None:
            raise StopAsyncIteration
        return event

    def _next_or_none(self) -> WatchEvent | None:
        # StopIteration cannot cross into a Future, so the thread returns None instead
        try:
            return self.__next__()
        except StopIteration:
            return None

    def close(self) -> None:
        self._done = True
        self._cancel()

    def __repr__(self) -> str:
        what = str(ticket_from_bytes(self._ticket)) if self._ticket else "every named ticket"
        return f"<ticketbooth.Watch {what} {'ended' if self._done else 'open'}>"

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

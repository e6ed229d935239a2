"""Watch events as JSON for the server-sent-events endpoint.

Each SSE connection runs one `Session.watch` in a worker thread and hands its events to the
event loop; closing the connection closes the watch and ends the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from .._errors import TicketboothError
from .._session import Session
from .._tickets import Ticket
from .._watch import Watch, WatchEvent
from ._source import ticket_text


def event_json(event: WatchEvent) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "ticket": ticket_text(event.ticket) if event.ticket is not None else "",
        "name": event.info.name if event.info is not None else "",
        "type": event.type,
        "version": event.version,
        "reason": event.reason,
    }


class EventFeed:
    """Events of one ticket (or of every scope ticket when `ticket` is None), re-watched
    after a release or an overflow, delivered to `queue` on `loop` until `close()`."""

    def __init__(
        self,
        session: Session,
        ticket: Ticket | None,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[dict[str, Any]],
    ) -> None:
        self._session, self._ticket, self._loop, self._queue = session, ticket, loop, queue
        self._closed = threading.Event()
        self._watch: Watch | None = None
        self._thread = threading.Thread(target=self._run, name="ticketbooth-sse", daemon=True)
        self._thread.start()

    def _put(self, item: dict[str, Any]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                self._watch = self._session.watch(self._ticket)
                if self._closed.is_set():
                    break
                for event in self._watch:
                    self._put(event_json(event))
                self._closed.wait(0.2)  # released or overflowed: watch again
            except TicketboothError as exc:
                if not self._closed.is_set():
                    self._put({"kind": "error", "error": str(exc)})
                    self._closed.wait(2.0)  # the broker restarts or comes back; try again
        if self._watch is not None:
            self._watch.close()

    def close(self) -> None:
        self._closed.set()
        if self._watch is not None:
            self._watch.close()

"""A session's background thread: heartbeats, and releases queued by garbage collection."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from ._errors import SessionClosedError, TicketboothError

log = logging.getLogger("ticketbooth")


class KeepAlive:
    def __init__(
        self, interval: float, heartbeat: Callable[[], None], release: Callable[[bytes], None]
    ) -> None:
        self._interval = interval
        self._heartbeat = heartbeat
        self._release = release
        self._releases: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self.lost: str | None = None
        self._thread = threading.Thread(target=self._run, name="ticketbooth-keepalive", daemon=True)
        self._thread.start()

    def queue_release(self, ticket: bytes) -> None:
        """Called from finalizers: never blocks, never raises."""
        if not self._stop.is_set():
            self._releases.put(ticket)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ticket = self._releases.get(timeout=self._interval)
            except queue.Empty:
                ticket = None
            try:
                if ticket is None:
                    self._heartbeat()
                else:
                    self._release(ticket)
            except SessionClosedError as exc:
                self.lost = str(exc)
                log.warning("ticketbooth session lost: %s", exc)
                return
            except TicketboothError as exc:
                log.debug("ticketbooth keepalive: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        self._releases.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

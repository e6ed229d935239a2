"""A session's background threads: the Attach stream, heartbeats, and queued releases.

Liveness does not depend on Python getting the GIL: while the Attach stream is open (the
gRPC core keeps the connection without Python), the broker never expires the session, so a
kernel busy in C code for minutes, or stopped with SIGSTOP, keeps what it published. The
stream is re-opened after a network blip to the same broker. The session is *lost*, once and
with a message saying why, when the broker closes it, restarts or is replaced, or stays
unreachable for longer than the session TTL (the broker has then expired it).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc

from ._errors import AuthenticationError, SessionClosedError, TicketboothError

log = logging.getLogger("ticketbooth")

FORGOTTEN = (
    "the broker no longer knows this session: it restarted or was replaced, or expired the "
    "session; what this session published or fetched is gone. Open a new Session"
)
_FORGOTTEN_CODES = (
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.NOT_FOUND,
)


class KeepAlive:
    """Args:
    interval: seconds between heartbeats (and between re-attach attempts).
    ttl: how long the broker keeps a detached session.
    heartbeat, release: unary calls (raise TicketboothError).
    attach: opens the Attach stream (an iterator of AttachEvent that is also a grpc.Call).
    broker_id: the id of the broker the session was opened on.
    replaced: says why the broker is known to be another one now (else None).
    """

    def __init__(
        self,
        interval: float,
        ttl: float,
        heartbeat: Callable[[], None],
        release: Callable[[bytes], None],
        attach: Callable[[], Any],
        broker_id: str,
        replaced: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._interval = interval
        self._ttl = ttl
        self._heartbeat = heartbeat
        self._release = release
        self._attach = attach
        self._broker_id = broker_id
        self._replaced = replaced
        self._releases: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._stream: Any = None
        self.lost: str | None = None
        self._threads = [
            threading.Thread(target=self._beat, name="ticketbooth-keepalive", daemon=True),
            threading.Thread(target=self._attached, name="ticketbooth-attach", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def lose(self, why: str) -> None:
        """Mark the session lost (first reason wins); calls then fail with `why`.
        Nothing is lost once `stop()` began: the session is being closed on purpose."""
        if self._stop.is_set() and self.lost is None:
            return
        if self.lost is None:
            self.lost = why
            log.warning("ticketbooth session lost: %s", why)
        self._stop.set()
        self._releases.put(None)
        stream = self._stream
        if stream is not None:
            stream.cancel()

    def queue_release(self, ticket: bytes) -> None:
        """Called from finalizers: never blocks, never raises."""
        if not self._stop.is_set():
            self._releases.put(ticket)

    def _beat(self) -> None:
        while not self._stop.is_set():
            try:
                ticket = self._releases.get(timeout=self._interval)
            except queue.Empty:
                ticket = None
            if self._stop.is_set():
                return
            try:
                if ticket is None:
                    self._heartbeat()
                else:
                    self._release(ticket)
            except (SessionClosedError, AuthenticationError):
                self.lose(FORGOTTEN)
                return
            except TicketboothError as exc:
                log.debug("ticketbooth keepalive: %s", exc)

    def _attached(self) -> None:
        unreachable_since: float | None = None
        while not self._stop.is_set():
            why = self._follow()
            if why is not None:
                self.lose(why)
                return
            if self._stop.is_set():
                return
            # the stream broke (broker gone, network): try again until the TTL runs out
            now = time.monotonic()
            if self._stream_ok or unreachable_since is None:
                unreachable_since = now  # it was attached until just now
            why = self._replaced()
            if why is None and now - unreachable_since > self._ttl:
                why = (
                    f"the broker did not answer for {now - unreachable_since:.0f}s (longer "
                    "than the session TTL), so it has closed this session; open a new Session"
                )
            if why is not None:
                self.lose(why)
                return
            self._stop.wait(min(self._interval, 1.0))

    _stream_ok = False

    def _follow(self) -> str | None:
        """Hold one Attach stream open; a reason when the session is gone for good."""
        self._stream_ok = False
        try:
            self._stream = self._attach()
            if self._stop.is_set():  # stop() ran while the stream was being opened
                self._stream.cancel()
                return None
            for event in self._stream:
                if event.broker_id and event.broker_id != self._broker_id:
                    return "the broker was replaced by another one; " + FORGOTTEN
                if event.kind == "closing":
                    return event.reason or "the broker closed this session"
                self._stream_ok = True
        except grpc.RpcError as err:
            code = err.code() if isinstance(err, grpc.Call) else None
            if code in _FORGOTTEN_CODES:
                return FORGOTTEN
        finally:
            self._stream = None
        return None

    def stop(self) -> None:
        self._stop.set()
        self._releases.put(None)
        stream = self._stream
        if stream is not None:
            stream.cancel()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

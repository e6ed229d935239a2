"""Live changes on a Deephaven server. Scope names follow the server's field-change stream
(ApplicationService.ListFields): one stream per session (`ScopeFeed`) numbers each name's
versions and feeds every watch, so a watch's versions and `info(...).version` agree. A shared
ticket is published once on Deephaven, so it has one version; its watch polls, and sees its
release.

Deephaven keeps no versions itself: a session counts them from the first it saw (1).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from ._errors import (
    BrokerUnavailableError,
    InvalidInputError,
    TicketboothError,
    TicketNotFoundError,
)
from ._tickets import ScopeTicket, ticket_from_bytes
from ._watch import WatchEvent

log = logging.getLogger("ticketbooth")

POLL_S = 1.0
_KINDS = (("published", "created"), ("updated", "updated"), ("released", "removed"))
_END = None


def _event(kind: str, ticket: bytes, version: int, type_name: str) -> WatchEvent:
    now = time.time()
    reason = "released" if kind == "released" else ""
    return WatchEvent(kind, ticket_from_bytes(ticket), version, type_name, reason, now, now, None)


class ScopeFeed:
    """The session's ListFields stream, started on first use and again after it failed.

    Args:
        open_call: opens the stream (an iterator of FieldsChangeUpdate that can be cancelled).
        error: the TicketboothError for the failed stream, as the failure of a call `what`.
        timeout: seconds to wait for the server's first answer.
    """

    def __init__(
        self,
        open_call: Callable[[], Any],
        error: Callable[[grpc.RpcError, str], TicketboothError],
        timeout: float,
    ) -> None:
        self._open_call = open_call
        self._error = error
        self._timeout = timeout
        self._cond = threading.Condition()
        self._versions: dict[str, int] = {}
        self._types: dict[str, str] = {}
        self._watchers: list[tuple[bytes, queue.SimpleQueue[Any]]] = []
        self._call: Any = None
        self._ready = False
        self._failed: Exception | None = None
        self._ended = False

    def _ensure(self, what: str) -> None:
        with self._cond:
            if self._call is None:
                self._ready, self._failed, self._ended = False, None, False
                self._call = self._open_call()
                threading.Thread(
                    target=self._run, args=(self._call,), name="ticketbooth-dh-fields", daemon=True
                ).start()
            ok = self._cond.wait_for(
                lambda: self._ready or self._failed or self._ended, self._timeout
            )
            if self._failed is not None:
                raise self._as_error(self._failed, what)
            if not ok or self._ended:
                raise BrokerUnavailableError(
                    f"the Deephaven server did not list its scope names for {what} in time"
                )

    def _as_error(self, failed: Exception, what: str) -> TicketboothError:
        if isinstance(failed, grpc.RpcError):
            return self._error(failed, what)
        return TicketboothError(f"{what}: the Deephaven scope listing stopped: {failed!r}")

    def version(self, name: str) -> int:
        """The version of `name` this session has seen (1 when its change is in flight)."""
        self._ensure("get info")
        with self._cond:
            return max(1, self._versions.get(name, 0))

    def names(self) -> dict[str, tuple[str, int]]:
        """Every scope name: its type and version."""
        self._ensure("list objects")
        with self._cond:
            return {n: (self._types.get(n, ""), v) for n, v in self._versions.items()}

    def watch(self, want: bytes) -> tuple[Iterator[WatchEvent], Callable[[], None]]:
        """Events of `want` (b"": every scope name), its current state first."""
        self._ensure("watch")
        q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        entry = (want, q)
        with self._cond:
            for name, version in sorted(self._versions.items()):
                ticket = ScopeTicket.scope_ticket(name).bytes
                if not want or ticket == want:
                    q.put(_event("published", ticket, version, self._types.get(name, "")))
            self._watchers.append(entry)

        def cancel() -> None:
            with self._cond:
                if entry in self._watchers:
                    self._watchers.remove(entry)
            q.put(_END)

        def events() -> Iterator[WatchEvent]:
            try:
                while (item := q.get()) is not _END:
                    if isinstance(item, TicketboothError):
                        raise item
                    yield item
                    if want and item.kind == "released":
                        return
            finally:
                cancel()

        return events(), cancel

    def _run(self, call: Any) -> None:
        try:
            for update in call:
                with self._cond:
                    self._apply(update)
                    self._ready = True
                    self._cond.notify_all()
        except grpc.RpcError as err:
            cancelled = isinstance(err, grpc.Call) and err.code() == grpc.StatusCode.CANCELLED
            failed: Exception | None = None if cancelled else err
        except Exception as exc:  # never a dead thread that leaves every caller waiting
            log.warning("ticketbooth: the Deephaven scope listing stopped: %r", exc)
            failed = exc
        else:
            failed = None
        with self._cond:
            self._failed, self._ended, self._call = failed, True, None
            self._cond.notify_all()
            for _, q in self._watchers:
                q.put(_END if failed is None else self._as_error(failed, "watch"))
            self._watchers.clear()

    def _apply(self, update: Any) -> None:
        for kind, attr in _KINDS:
            for info in getattr(update, attr):
                name, type_name = info.field_name, info.typed_ticket.type
                try:
                    ticket = ScopeTicket.scope_ticket(name).bytes
                except InvalidInputError:  # a name no ticketbooth ticket can hold: not listed
                    continue
                if kind == "released":
                    version = self._versions.pop(name, 0)
                    self._types.pop(name, None)
                else:
                    version = self._versions.get(name, 0) + 1
                    self._versions[name], self._types[name] = version, type_name
                event = _event(kind, ticket, version, type_name)
                for want, q in self._watchers:
                    if not want or want == ticket:
                        q.put(event)

    def close(self) -> None:
        with self._cond:
            call, self._call = self._call, None
        if call is not None:
            call.cancel()


class Poll:
    """Events of one shared ticket found by asking whether it is still there. Its current
    state is asked for at once (in the caller's thread), so a release right after the
    watch began is not missed."""

    def __init__(self, ticket: bytes, type_of: Callable[[bytes], str]) -> None:
        self._ticket = ticket
        self._type_of = type_of
        self._stop = threading.Event()
        self._first = self._state()

    def _state(self) -> str | None:
        """The ticket's type, or None when nothing is there."""
        try:
            return self._type_of(self._ticket)
        except TicketNotFoundError:
            return None

    def events(self) -> Iterator[WatchEvent]:
        seen = self._first is not None
        if seen:
            yield _event("published", self._ticket, 1, self._first or "")
        while not self._stop.wait(POLL_S):
            type_name = self._state()
            if type_name is None and seen:
                yield _event("released", self._ticket, 1, "")
                return
            if type_name is not None and not seen:
                seen = True
                yield _event("published", self._ticket, 1, type_name)

    def cancel(self) -> None:
        self._stop.set()

"""`watch` on a Deephaven server: scope names follow the server's field-change stream
(ApplicationService.ListFields); a shared ticket is polled, so only its release is seen.

Deephaven keeps no versions: a watch numbers the changes it sees, from 1.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from ._errors import TicketboothError, TicketNotFoundError
from ._tickets import ScopeTicket, ticket_from_bytes
from ._watch import WatchEvent

POLL_S = 1.0
_KINDS = (("published", "created"), ("updated", "updated"), ("released", "removed"))


def _event(kind: str, ticket: bytes, version: int, type_name: str) -> WatchEvent:
    now = time.time()
    reason = "released" if kind == "released" else ""
    return WatchEvent(kind, ticket_from_bytes(ticket), version, type_name, reason, now, now, None)


def field_events(
    call: Any, want: bytes, error: Callable[[grpc.RpcError], TicketboothError]
) -> Iterator[WatchEvent]:
    """Events of the scope names in a ListFields stream (`want`: one ticket, b"": all)."""
    versions: dict[str, int] = {}
    try:
        for update in call:
            for kind, attr in _KINDS:
                for info in getattr(update, attr):
                    ticket = ScopeTicket.scope_ticket(info.field_name).bytes
                    if want and ticket != want:
                        continue
                    if kind != "released":
                        versions[info.field_name] = versions.get(info.field_name, 0) + 1
                    version = versions.get(info.field_name, 0)
                    yield _event(kind, ticket, version, info.typed_ticket.type)
                    if want and kind == "released":
                        call.cancel()
                        return
    except grpc.RpcError as err:
        if isinstance(err, grpc.Call) and err.code() == grpc.StatusCode.CANCELLED:
            return
        raise error(err) from None


class Poll:
    """Events of one shared ticket found by asking whether it is still there."""

    def __init__(self, ticket: bytes, type_of: Callable[[bytes], str]) -> None:
        self._ticket = ticket
        self._type_of = type_of
        self._stop = threading.Event()

    def events(self) -> Iterator[WatchEvent]:
        seen = False
        while not self._stop.is_set():
            try:
                type_name = self._type_of(self._ticket)
            except TicketNotFoundError:
                if seen:
                    yield _event("released", self._ticket, 1, "")
                    return
            else:
                if not seen:
                    seen = True
                    yield _event("published", self._ticket, 1, type_name)
            self._stop.wait(POLL_S)

    def cancel(self) -> None:
        self._stop.set()

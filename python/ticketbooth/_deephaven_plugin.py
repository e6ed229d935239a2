"""``plugin_client`` on a Deephaven server, for the figures ticketbooth publishes there: the
same shape as the broker's `PluginClient` (the seed's example runs unchanged). The first item
of ``resp_stream`` is the figure's MIME bundle, then a new one on each republish of its scope
name; requests to the publisher (``req_stream.write``) need the broker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._errors import TicketNotFoundError
from ._plugin import PluginError
from ._tickets import ServerObject, Ticket
from ._watch import Watch

NO_REQUESTS = (
    "requests to a publisher (serve_requests) need the ticketbooth broker; on a Deephaven "
    "server a plugin stream only delivers the figure and its republishes"
)


class _NoRequests:
    def __init__(self) -> None:
        self.closed = False

    def write(self, payload: bytes = b"", references: list[Any] | None = None) -> None:
        raise PluginError(NO_REQUESTS)

    def end(self) -> None:
        self.closed = True


class _Payloads:
    """``(payload, references)``: the current bundle, then one per republish."""

    def __init__(self, first: bytes, watch: Watch, load: Callable[[], bytes]) -> None:
        self._first: bytes | None = first
        self._watch = watch
        self._load = load
        self.version = 1

    def __iter__(self) -> _Payloads:
        return self

    def __next__(self) -> tuple[bytes, list[ServerObject]]:
        if self._first is not None:
            first, self._first = self._first, None
            return first, []
        for event in self._watch:
            if event.kind == "updated":
                self.version = event.version
                return self._load(), []
            if event.kind == "released":
                raise TicketNotFoundError(f"{event.ticket} was released by its publisher")
        raise StopIteration


class BundleClient:
    """A plugin stream to a figure held by a Deephaven server (see the module doc)."""

    def __init__(
        self, ticket: Ticket, type_name: str, first: bytes, watch: Watch, load: Callable[[], bytes]
    ) -> None:
        self.ticket = ticket
        self.type = type_name
        self.req_stream = _NoRequests()
        self.resp_stream = _Payloads(first, watch, load)
        self._watch = watch

    def close(self) -> None:
        """End the stream (idempotent)."""
        self.req_stream.end()
        self._watch.close()

    def __enter__(self) -> BundleClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.req_stream.closed else "open"
        return f"<ticketbooth.PluginClient {self.type} {self.ticket} {state} (Deephaven)>"

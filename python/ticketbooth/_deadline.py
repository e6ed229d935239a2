"""Progress deadlines for streaming calls.

A unary call gets a deadline for the whole call. A stream moving a 10 GB table cannot: any
fixed deadline is either too short for big tables or useless for a stalled broker. So a
stream gets a deadline per step instead: if no message moves for `timeout` seconds (the
broker is stopped, hung or unreachable) the call is cancelled and the caller gets a
BrokerUnavailableError that says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import grpc

from ._errors import BrokerUnavailableError, TicketboothError, from_rpc_error

T = TypeVar("T")


class Progress:
    """Watches one call; `tick()` on every message. Use as a context manager."""

    def __init__(self, what: str, timeout: float) -> None:
        self.what = what
        self.timeout = timeout
        self.stalled = False
        self._last = time.monotonic()
        self._done = threading.Event()
        self._cancel: Callable[[], Any] | None = None

    def tick(self) -> None:
        self._last = time.monotonic()

    def watch(self, call: Any) -> Any:
        """Start watching `call` (anything with ``cancel()``); returns it."""
        self._cancel = call.cancel
        self.tick()
        threading.Thread(target=self._run, name="ticketbooth-deadline", daemon=True).start()
        return call

    def ticking(self, items: Iterable[T]) -> Iterator[T]:
        """`items`, ticking as each one moves (for request and response streams)."""
        for item in items:
            self.tick()
            yield item
        self.tick()

    def _run(self) -> None:
        step = min(1.0, self.timeout / 4)
        while not self._done.wait(step):
            if time.monotonic() - self._last > self.timeout:
                self.stalled = True
                if self._cancel is not None:
                    self._cancel()
                return

    def error(self, err: Exception) -> TicketboothError:
        """The error to raise for a failed or cancelled call (a stall says so)."""
        if self.stalled:
            return BrokerUnavailableError(
                f"the broker made no progress for {self.timeout:g}s during {self.what} (it may "
                "be stopped, overloaded or unreachable); the call was cancelled, and nothing "
                "half-sent was stored. Raise Session(timeout=...) for a slow link"
            )
        if isinstance(err, grpc.RpcError):
            return from_rpc_error(err, self.what)
        return BrokerUnavailableError(f"{self.what} was cancelled: {err!r}")

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()

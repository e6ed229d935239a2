"""`Handle`: what Table and SharedObject share — an export ticket released on collection."""

from __future__ import annotations

import weakref
from collections.abc import Callable

from ._owner import owner_of
from ._tickets import ExportTicket


class Handle:
    """A session's reference to an object the broker holds.

    The export is released by `Session.release(handle)`, by closing the session, or when
    this object is garbage collected.
    """

    def __init__(
        self, ticket: ExportTicket, version: int, on_collect: Callable[[ExportTicket], None]
    ) -> None:
        self._ticket = ticket
        self._version = version
        self._released = False
        self._finalizer = weakref.finalize(self, on_collect, ticket)
        self._finalizer.atexit = False  # at exit the session's close releases everything

    @property
    def ticket(self) -> ExportTicket:
        """This session's export ticket of the object (publishable, releasable)."""
        return self._ticket

    @property
    def version(self) -> int:
        """The version of the published ticket this was fetched from (0 if none)."""
        return self._version

    @property
    def is_closed(self) -> bool:
        """True once the export is released or its session closed (pydeephaven's name)."""
        session = owner_of(self)
        return self._released or session is None or not session.is_alive

    def close(self) -> None:
        """Release the export (pydeephaven's ``Table.close()``); data already read stays."""
        session = owner_of(self)
        if not self._released and session is not None and session.is_alive:
            session.release(self)

    def _detach(self) -> None:
        """Forget the collection hook (the export was released explicitly)."""
        self._finalizer.detach()
        self._released = True

"""Which session an export belongs to.

Export ids are numbered per session (each starts at 1), so export 1 of one session is not
export 1 of another. Every `ExportTicket` a `Session` hands out is stamped with that
session's key; another session refuses it (`InvalidInputError`) instead of silently acting
on its own export with the same id. An `ExportTicket` built by hand carries no key and means
"this session's export N", as in pydeephaven.
"""

from __future__ import annotations

import secrets
import weakref
from typing import Any

from ._errors import InvalidInputError
from ._tickets import ExportTicket, Ticket, as_ticket

_SESSIONS: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()


def new_key(session: Any) -> str:
    """A key for `session`'s exports (the session is found again by it while it lives)."""
    key = secrets.token_hex(8)
    _SESSIONS[key] = session
    return key


def stamp(raw: bytes, key: str) -> ExportTicket:
    """The export ticket `raw` of the session with `key`."""
    ticket = ExportTicket(raw)
    ticket._owner = key
    return ticket


def _key_of(ticket: object) -> str | None:
    """The key stamped on an export ticket (None: not one, or made by hand)."""
    return ticket._owner if isinstance(ticket, ExportTicket) else None


def owner_of(obj: Any) -> Any:
    """The live session whose export `obj` (a Table, SharedObject or ExportTicket) is, or
    None (not an export, a hand-made ticket, or its session is gone)."""
    key = _key_of(getattr(obj, "ticket", obj))
    return None if key is None else _SESSIONS.get(key)


def mine(obj: Any, key: str, what: str) -> Ticket:
    """`obj` as a ticket, refused when it is an export of another session."""
    ticket = as_ticket(obj)
    owner = _key_of(ticket)
    if owner is not None and owner != key:
        raise InvalidInputError(
            f"cannot {what}: {ticket!r} is an export of another session (export ids are "
            "numbered per session); use the session that imported or fetched it, or publish "
            "its data from this one with publish_table(table, ticket)"
        )
    return ticket

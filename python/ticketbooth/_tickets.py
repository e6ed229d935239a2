"""Tickets: the byte strings that name objects held by the broker.

The bytes are exactly pydeephaven's, so a ticket crosses between ticketbooth and Deephaven
unchanged: ``b"e" + int32 LE`` (export, valid in one session), ``b"h" + 16 random bytes``
(shared, a capability), ``b"s/" + name`` (scope, a listed name).
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ._errors import InvalidInputError
from ._limits import check_name

SHARED_PREFIX = "shared:"
_SHARED_LEN = 17


class Ticket:
    """Base class of all tickets; equal when their bytes are equal."""

    __slots__ = ("_bytes",)

    def __init__(self, ticket_bytes: bytes) -> None:
        if not isinstance(ticket_bytes, (bytes, bytearray)):
            raise InvalidInputError(
                f"ticket bytes must be bytes, not {type(ticket_bytes).__name__}"
            )
        self._bytes = bytes(ticket_bytes)

    @property
    def bytes(self) -> bytes:
        """The ticket as sent on the wire."""
        return self._bytes

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ticket) and other._bytes == self._bytes

    def __hash__(self) -> int:
        return hash(self._bytes)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._bytes!r})"


class ExportTicket(Ticket):
    """A session-owned reference to an object (``b"e"`` + int32 little-endian id)."""

    __slots__ = ("_owner",)

    def __init__(self, ticket_bytes: bytes) -> None:
        super().__init__(ticket_bytes)
        self._owner: str | None = None  # the key of the session that made it (_owner.py)
        if len(self._bytes) != 5 or self._bytes[:1] != b"e":
            raise InvalidInputError(
                f"not an export ticket: {self._bytes!r} (expected b'e' + 4 bytes)"
            )

    @classmethod
    def export_ticket(cls, ticket_no: int) -> ExportTicket:
        """The export ticket with id `ticket_no`."""
        return cls(b"e" + struct.pack("<i", ticket_no))

    @property
    def id(self) -> int:
        """The export id inside its session."""
        return int(struct.unpack("<i", self._bytes[1:])[0])

    def __repr__(self) -> str:
        return f"ExportTicket(id={self.id})"


class SharedTicket(Ticket):
    """An unlisted, unguessable ticket usable from any session that knows it."""

    __slots__ = ()

    def __init__(self, ticket_bytes: bytes) -> None:
        super().__init__(ticket_bytes)
        if len(self._bytes) != _SHARED_LEN or self._bytes[:1] != b"h":
            raise InvalidInputError(
                f"not a shared ticket: {self._bytes!r} (expected b'h' + 16 bytes)"
            )

    @classmethod
    def random_ticket(cls) -> SharedTicket:
        """A new shared ticket of 16 random bytes."""
        return cls(b"h" + secrets.token_bytes(16))

    @classmethod
    def from_str(cls, text: str) -> SharedTicket:
        """Parse the text form printed by ``str(ticket)`` (``shared:`` + 32 hex digits)."""
        if not isinstance(text, str):
            raise InvalidInputError(f"expected the ticket's text, not {type(text).__name__}")
        body = text.strip()
        body = body.removeprefix(SHARED_PREFIX)
        try:
            raw = bytes.fromhex(body)
        except ValueError:
            raw = b""
        if len(raw) != 16:
            raise InvalidInputError(
                f"malformed shared ticket text {text!r}: expected '{SHARED_PREFIX}' followed by "
                "32 hex digits, as printed by str(SharedTicket)"
            )
        return cls(b"h" + raw)

    def __str__(self) -> str:
        return SHARED_PREFIX + self._bytes[1:].hex()

    def __repr__(self) -> str:
        return f"SharedTicket.from_str({str(self)!r})"


class ScopeTicket(Ticket):
    """A named object in the broker's scope (``b"s/"`` + name)."""

    __slots__ = ()

    def __init__(self, ticket_bytes: bytes) -> None:
        super().__init__(ticket_bytes)
        if self._bytes[:2] != b"s/":
            raise InvalidInputError(f"not a scope ticket: {self._bytes!r} (expected b's/' + name)")
        try:
            name = self._bytes[2:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(f"scope ticket name is not UTF-8: {self._bytes!r}") from exc
        check_name(name)

    @classmethod
    def scope_ticket(cls, name: str) -> ScopeTicket:
        """The scope ticket of `name`."""
        return cls(b"s/" + check_name(name).encode("utf-8"))

    @property
    def name(self) -> str:
        return self._bytes[2:].decode("utf-8")

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"ScopeTicket.scope_ticket({self.name!r})"


@dataclass(frozen=True)
class ServerObject:
    """An object on the broker: its type ("Table", "Figure", ...) and a ticket to it."""

    type: str
    ticket: Ticket


@runtime_checkable
class HasTicket(Protocol):
    """Anything that carries a ticket (Table, ServerObject, plugin clients)."""

    @property
    def ticket(self) -> Ticket: ...


TicketLike = Ticket | str | HasTicket


def ticket_from_bytes(raw: bytes) -> Ticket:
    """Parse wire bytes into the right Ticket subclass, or raise InvalidInputError."""
    if raw[:1] == b"e":
        return ExportTicket(raw)
    if raw[:1] == b"h":
        return SharedTicket(raw)
    if raw[:2] == b"s/":
        return ScopeTicket(raw)
    raise InvalidInputError(
        f"malformed ticket bytes {raw[:24]!r}: expected b'e'+4 bytes, b'h'+16 bytes or b's/'+name"
    )


def ticket_last(obj: Any, ticket: Any) -> tuple[Any, Any]:
    """Accept (obj, ticket) and pydeephaven's (ticket, obj): a ticket or str is never data."""
    if isinstance(obj, (Ticket, str)) and not isinstance(ticket, (Ticket, str)):
        return ticket, obj
    return obj, ticket


def as_ticket(obj: object) -> Ticket:
    """Accept a Ticket, a ticket-carrying object, text (a scope name or a shared ticket),
    or one of pydeephaven's tickets (SharedTicket, ScopeTicket, ExportTicket)."""
    if isinstance(obj, Ticket):
        return obj
    if isinstance(obj, str):
        text = obj.strip()
        if text.startswith(SHARED_PREFIX):
            return SharedTicket.from_str(text)
        if text.startswith("s/"):
            text = text[2:]
        return ScopeTicket.scope_ticket(text)
    if isinstance(obj, (bytes, bytearray)):
        return ticket_from_bytes(bytes(obj))
    ticket = getattr(obj, "ticket", None)
    if isinstance(ticket, Ticket):
        return ticket
    if type(obj).__module__ == "pydeephaven.ticket" and isinstance(
        raw := getattr(obj, "bytes", None), bytes
    ):  # pydeephaven's tickets carry the same bytes
        return ticket_from_bytes(raw)
    raise InvalidInputError(
        f"expected a ticket, a scope name or a shared ticket's text, not {type(obj).__name__}"
    )

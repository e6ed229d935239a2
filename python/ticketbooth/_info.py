"""`ObjectInfo`: what the broker knows of a published object, as a plain dataclass."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ._tickets import Ticket, ticket_from_bytes


@dataclass(frozen=True)
class ObjectInfo:
    """One object held by the broker (``Session.info``, ``Session.list_objects``, and
    ``WatchEvent.info``).

    type: "Table", "Figure" or another object type. name: the scope name ("" for a shared
    ticket). version: increases on every publish to the ticket. num_rows / num_columns /
    schema: tables only (0, 0 and None otherwise). nbytes: the object's size. publisher: who
    published it ("user: client" on a broker with per-user tokens). published_at: seconds
    since the epoch. kept_versions: earlier versions still held, oldest first
    (``fetch_table(ticket, version=n)``).
    """

    type: str
    name: str
    ticket: Ticket
    version: int
    num_rows: int = 0
    num_columns: int = 0
    nbytes: int = 0
    publisher: str = ""
    published_at: float = 0.0
    schema: pa.Schema | None = field(default=None, repr=False)
    kept_versions: tuple[int, ...] = ()

    @classmethod
    def from_message(cls, msg: Any, ticket: bytes = b"") -> ObjectInfo:
        """From the broker's ``ObjectInfo`` protobuf message (`ticket` when it has none,
        as for an import that is not published yet)."""
        schema = pa.ipc.read_schema(pa.py_buffer(msg.schema)) if msg.schema else None
        return cls(
            type=msg.type,
            name=msg.name,
            ticket=ticket_from_bytes(msg.ticket or ticket),
            version=msg.version,
            num_rows=msg.num_rows,
            num_columns=msg.num_columns,
            nbytes=msg.nbytes,
            publisher=msg.publisher,
            published_at=msg.published_at,
            schema=schema,
            kept_versions=tuple(msg.kept_versions),
        )

    @property
    def is_table(self) -> bool:
        return self.type == "Table"

    @property
    def published(self) -> datetime.datetime:
        """`published_at` as an aware UTC datetime."""
        return datetime.datetime.fromtimestamp(self.published_at, datetime.timezone.utc)

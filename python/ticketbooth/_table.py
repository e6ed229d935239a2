"""`Table`: a session's handle on a table held by the broker."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ._errors import TicketNotFoundError
from ._handle import Handle
from ._tickets import ExportTicket

if TYPE_CHECKING:
    import pandas


class Table(Handle):
    """A table held by the broker, referenced by an export ticket of one session.

    The export is released by `Session.release(table)`, by closing the session, or when this
    object is garbage collected; data already obtained with `to_arrow()` stays valid.
    """

    def __init__(
        self,
        ticket: ExportTicket,
        schema: pa.Schema,
        num_rows: int,
        load: Callable[[], pa.Table],
        on_collect: Callable[[ExportTicket], None],
        version: int = 0,
    ) -> None:
        super().__init__(ticket, version, on_collect)
        self._schema = schema
        self._num_rows = num_rows
        self._load = load
        self._data: pa.Table | None = None

    @property
    def schema(self) -> pa.Schema:
        return self._schema

    @property
    def num_rows(self) -> int:
        return self._num_rows

    @property
    def size(self) -> int:
        """The row count (pydeephaven's name)."""
        return self._num_rows

    @property
    def columns(self) -> list[str]:
        return list(self._schema.names)

    def to_arrow(self) -> pa.Table:
        """The data as a pyarrow Table (memory-mapped, zero copy, on the same host)."""
        if self._data is None:
            if self._released:
                raise TicketNotFoundError(
                    f"{self._ticket!r} was released before its data was read; fetch it again"
                )
            self._data = self._load()
        return self._data

    def to_pandas(self, **kwargs: Any) -> pandas.DataFrame:
        """The data as a pandas DataFrame (needs pandas)."""
        frame: pandas.DataFrame = self.to_arrow().to_pandas(**kwargs)
        return frame

    def __repr__(self) -> str:
        cols = ", ".join(f"{f.name}: {f.type}" for f in self._schema)
        version = f" v{self._version}" if self._version else ""
        return (
            f"<ticketbooth.Table{version} {self._num_rows:,} rows [{cols}] "
            f"export={self._ticket.id}>"
        )

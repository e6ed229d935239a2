"""What the HTTP endpoints read: the broker's objects through one client `Session`.

Tables are fetched once per version (memory-mapped when the broker shares memory with this
process) and cut into windows; the sort index is cached per object version and order. Every
method blocks (gRPC calls, sorting): the handlers run them in worker threads.
"""

from __future__ import annotations

import contextlib
import copy
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._errors import InvalidInputError, TicketboothError
from .._info import ObjectInfo
from .._session import Session
from .._shared_object import SharedObject
from .._table import Table
from .._tickets import ExportTicket, Ticket, as_ticket
from .._windows import MAX_WINDOW_ROWS, TableWindows, column_specs


class StaleVersionError(TicketboothError):
    """The table was republished since the version the caller asked for."""

    def __init__(self, asked: int, current: int) -> None:
        super().__init__(f"version {asked} was replaced by version {current}; ask again")
        self.current = current


def ticket_text(ticket: Ticket) -> str:
    return str(ticket)


def parse_ticket(text: str | None) -> Ticket:
    """A scope name or a shared ticket's text; export tickets belong to their kernel."""
    if not text:
        raise InvalidInputError("say which object: ?ticket=<scope name or shared:...>")
    ticket = as_ticket(text)
    if isinstance(ticket, ExportTicket):
        raise InvalidInputError(
            "export tickets belong to one session; ask by shared or scope ticket"
        )
    return ticket


MAX_SORT_CHARS = 8192


def parse_sort(text: str | None) -> list[dict[str, Any]]:
    """The widget's sort keys, `[{"column": "a", "descending": true}, ...]`, as JSON."""
    if not text:
        return []
    if len(text) > MAX_SORT_CHARS:
        raise InvalidInputError(
            f"sort is {len(text)} characters; at most {MAX_SORT_CHARS} are accepted "
            '(a JSON list like [{"column": "a", "descending": true}])'
        )
    try:
        keys = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        raise InvalidInputError(
            'sort must be JSON like [{"column": "a", "descending": true}]'
        ) from None
    if not isinstance(keys, list) or not all(
        isinstance(k, dict) and isinstance(k.get("column"), str) for k in keys
    ):
        raise InvalidInputError('sort must be a list of {"column": name, "descending": bool}')
    return [{"column": k["column"], "descending": bool(k.get("descending"))} for k in keys]


def describe(info: ObjectInfo) -> dict[str, Any]:
    """The JSON form of an ObjectInfo (see docs/server.md, `Obj`)."""
    return {
        "ticket": ticket_text(info.ticket),
        "name": info.name,
        "type": info.type,
        "num_rows": info.num_rows,
        "num_columns": info.num_columns,
        "nbytes": info.nbytes,
        "publisher": info.publisher,
        "published_at": info.published_at,
        "version": info.version,
    }


@dataclass
class _Cached:
    table: Table
    base: TableWindows
    orders: OrderedDict[str, TableWindows] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Window:
    data: bytes
    version: int
    num_rows: int
    row_start: int
    row_end: int


def _cut(windows: TableWindows, version: int, start: int, end: int) -> Window:
    num_rows = windows.num_rows
    row_start = max(0, min(start, num_rows))
    row_end = max(row_start, min(end, num_rows, row_start + MAX_WINDOW_ROWS))
    return Window(windows.window(start, end), version, num_rows, row_start, row_end)


class ObjectSource:
    """Objects, windows and figure bundles for the HTTP endpoints.

    Args:
        connect: makes the client Session (called again when the broker was replaced).
        max_tables: table versions kept mapped for windows (least recently used go first).
        max_orders: sort orders cached per table version.
    """

    def __init__(
        self, connect: Callable[[], Session], max_tables: int = 8, max_orders: int = 4
    ) -> None:
        self._connect = connect
        self._session: Session | None = None
        self._tables: OrderedDict[tuple[bytes, int], _Cached] = OrderedDict()
        self._lock = threading.Lock()
        self.max_tables, self.max_orders = max_tables, max_orders

    @property
    def session(self) -> Session:
        with self._lock:
            if self._session is None or not self._session.is_alive:
                self._forget()
                self._session = self._connect()
            return self._session

    def objects(self) -> list[dict[str, Any]]:
        return [describe(i) for i in self.session.list_objects()]

    def object(self, ticket: Ticket) -> dict[str, Any]:
        """`Obj` plus the columns of a table or the bundle of a figure."""
        info = self.session.info(ticket)
        if info.type == "Table":
            cached = self._table(ticket, None)
            return {
                **describe(info),
                "version": cached.table.version,
                "num_rows": cached.table.num_rows,
                "columns": column_specs(cached.table.schema),
            }
        handle = self.session.fetch_object(ticket)
        try:
            assert isinstance(handle, SharedObject)
            return {**describe(info), "version": handle.version, "mimebundle": handle.mimebundle}
        finally:
            self.session.release(handle)

    def window(
        self, ticket: Ticket, start: int, end: int, sort: list[dict[str, Any]], version: int | None
    ) -> Window:
        cached = self._table(ticket, version)
        return _cut(self._ordered(cached, sort), cached.table.version, start, end)

    def held_window(
        self, ticket: Ticket, start: int, end: int, sort: list[dict[str, Any]], version: int | None
    ) -> Window | None:
        """The unsorted window when `version` of the table is held here: a slice, no broker
        call, so it is cut on the event loop (a scrolling view asks for the version it
        shows). None: ask `window()`, which checks the version with the broker (a version
        no longer held there answers StaleVersionError) and sorts off the loop."""
        if version is None or sort:
            return None
        cached = self._held((ticket.bytes, version))
        return None if cached is None else _cut(cached.base, version, start, end)

    def close(self) -> None:
        with self._lock:
            self._forget()
            if self._session is not None:
                self._session.close()
                self._session = None

    # tables ----------------------------------------------------------------------------------
    def _table(self, ticket: Ticket, version: int | None) -> _Cached:
        """The table's current version (fetched once), or StaleVersionError if `version`
        is given and was replaced."""
        current = self.session.info(ticket)
        if current.type != "Table":
            raise InvalidInputError(f"{ticket} is a {current.type}, not a table")
        if version is not None and version != current.version:
            raise StaleVersionError(version, current.version)
        cached = self._held((ticket.bytes, current.version))
        if cached is not None:
            return cached
        table = self.session.fetch_table(ticket)
        if version is not None and table.version != version:  # republished in between
            self.session.release(table)
            raise StaleVersionError(version, table.version)
        cached = _Cached(table, TableWindows(table.to_arrow()))
        with self._lock:
            key = (ticket.bytes, table.version)
            other = self._tables.get(key)
            if other is not None:  # another request fetched it meanwhile
                self._tables.move_to_end(key)
                dropped_now = cached
                cached = other
            else:
                dropped_now = None
            self._tables[key] = cached
            self._tables.move_to_end(key)
            dropped = [
                self._tables.popitem(last=False)[1]
                for _ in range(max(0, len(self._tables) - self.max_tables))
            ]
            # older versions of this ticket are no longer asked for
            for old in [k for k in self._tables if k[0] == ticket.bytes and k[1] < table.version]:
                dropped.append(self._tables.pop(old))
        for old_table in [*dropped, *([dropped_now] if dropped_now else [])]:
            self._drop(old_table)
        return cached

    def _held(self, key: tuple[bytes, int]) -> _Cached | None:
        """The table version held under `key` (marked recently used), if any."""
        with self._lock:
            cached = self._tables.get(key)
            if cached is not None:
                self._tables.move_to_end(key)
            return cached

    def _ordered(self, cached: _Cached, sort: list[dict[str, Any]]) -> TableWindows:
        if not sort:
            return cached.base
        key = json.dumps(sort, sort_keys=True)
        with cached.lock:  # one sort per order, even when windows are asked for in parallel
            windows = cached.orders.get(key)
            if windows is None:
                windows = copy.copy(cached.base)
                windows.sort(sort)
                cached.orders[key] = windows
                while len(cached.orders) > self.max_orders:
                    cached.orders.popitem(last=False)
            cached.orders.move_to_end(key)
            return windows

    def _drop(self, cached: _Cached) -> None:
        session = self._session
        if session is not None and session.is_alive:
            with contextlib.suppress(TicketboothError):
                session.release(cached.table)

    def _forget(self) -> None:
        """Drop every cached table (the session they belong to is gone or closing)."""
        for cached in self._tables.values():
            self._drop(cached)
        self._tables.clear()

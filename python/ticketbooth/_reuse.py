"""Which record batches of a table to be published already lie in the broker's segments.

A table fetched on the same host is memory-mapped from the broker's segments, and a table
built from it (rows appended by `append_table`, a few rows changed, batches dropped or
reordered) shares that memory. Before writing, the session looks in the new table for
whole record batches of the tables it has fetched and still holds, at any row position, by
the addresses of their buffers. The mappings are read-only and held while the export is,
so the same addresses (same type, offset and length) are the same bytes. Those batches are
named to the broker as runs of their segments; only the rest is written.

Only flat columns take part (no dictionary, nested or extension types), so a batch is
wholly described by its buffers' addresses.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from ._arrow import fitted
from ._parts import Part, coalesced

Placed = tuple[str, int, pa.RecordBatch]
"""(segment file name, batch index in it, the mapped batch)."""


def _flat(schema: pa.Schema) -> bool:
    return all(
        not (
            pa.types.is_nested(f.type)
            or pa.types.is_dictionary(f.type)
            or isinstance(f.type, pa.ExtensionType)
        )
        for f in schema
    )


def _key(arr: pa.Array) -> tuple[object, ...]:
    buffers = tuple(0 if b is None else b.address for b in arr.buffers())
    return (str(arr.type), arr.offset, len(arr), buffers)


class HeldBatches:
    """The mapped batches of the tables a session fetched, by export, until released."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_export: dict[bytes, list[Placed]] = {}

    def add(self, export: bytes, placed: list[Placed]) -> None:
        with self._lock:
            self._by_export[export] = placed

    def drop(self, export: bytes) -> None:
        with self._lock:
            self._by_export.pop(export, None)

    def clear(self) -> None:
        with self._lock:
            self._by_export.clear()

    def index(self, schema: pa.Schema) -> dict[tuple[object, ...], Placed]:
        """Held batches of tables with `schema`, by their first column's key."""
        with self._lock:
            lists = list(self._by_export.values())
        out: dict[tuple[object, ...], Placed] = {}
        for placed in lists:
            for name, i, batch in placed:
                if batch.num_rows and batch.schema.equals(schema):
                    out.setdefault(_key(batch.column(0)), (name, i, batch))
        return out


@dataclass(frozen=True)
class Plan:
    """A table as runs: ``(None, start, stop)`` rows to write, ``(name, index, 1)`` a held
    batch."""

    table: pa.Table
    runs: list[tuple[str | None, int, int]]
    kept_rows: int

    def new_batches(self, max_batch_bytes: int) -> Iterator[tuple[int, pa.RecordBatch]]:
        """(run index, batch) for every batch to write, in order."""
        for k, (name, start, stop) in enumerate(self.runs):
            if name is None:
                for batch in self.table.slice(start, stop - start).to_batches():
                    yield from ((k, piece) for piece in fitted(batch, max_batch_bytes))

    def parts(self, incoming: str, written: list[int]) -> list[Part]:
        """The runs as parts, given how many batches each run wrote (`written[k]`)."""
        out: list[Part] = []
        first = 0
        for k, (name, index, _) in enumerate(self.runs):
            if name is None:
                out.append((incoming, first, written[k]))
                first += written[k]
            else:
                out.append((name, index, 1))
        return coalesced(out)


def plan(table: pa.Table, held: HeldBatches) -> Plan | None:
    """How much of `table` is held batches; None when none is (write it whole)."""
    if not table.num_rows or not table.num_columns or not _flat(table.schema):
        return None
    index = held.index(table.schema)
    if not index:
        return None
    runs: list[tuple[str | None, int, int]] = []
    pos = start = kept = 0
    for chunk in table.column(0).chunks:
        n = len(chunk)
        hit = index.get(_key(chunk)) if n else None
        if hit is not None and _same_rows(table, start, hit[2]):
            if pos < start:
                runs.append((None, pos, start))
            runs.append((hit[0], hit[1], hit[1] + 1))
            pos = start + n
            kept += n
        start += n
    if not runs:
        return None
    if pos < table.num_rows:
        runs.append((None, pos, table.num_rows))
    return Plan(table, runs, kept)


def _same_rows(table: pa.Table, start: int, batch: pa.RecordBatch) -> bool:
    """Whether every column of `table` at rows [start, start + batch rows) is `batch`'s."""
    for j in range(1, table.num_columns):
        chunks = [c for c in table.column(j).slice(start, batch.num_rows).chunks if len(c)]
        if len(chunks) != 1 or _key(chunks[0]) != _key(batch.column(j)):
            return False
    return True

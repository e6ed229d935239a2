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


Key = tuple[object, ...]


def _key(arr: pa.Array) -> Key:
    buffers = tuple(0 if b is None else b.address for b in arr.buffers())
    return (arr.type, arr.offset, len(arr), buffers)


@dataclass(frozen=True)
class Held:
    """A held batch, where it lies, and its columns' keys."""

    name: str
    index: int
    batch: pa.RecordBatch
    keys: tuple[Key, ...]


class HeldBatches:
    """The mapped batches of the tables a session fetched, by export, until released."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_export: dict[bytes, list[Placed]] = {}
        self._keyed: dict[bytes, list[Held]] = {}  # filled by the first `index` that needs it

    def add(self, export: bytes, placed: list[Placed]) -> None:
        with self._lock:
            self._by_export[export] = placed
            self._keyed.pop(export, None)

    def drop(self, export: bytes) -> None:
        with self._lock:
            self._by_export.pop(export, None)
            self._keyed.pop(export, None)

    def clear(self) -> None:
        with self._lock:
            self._by_export.clear()
            self._keyed.clear()

    def index(self, schema: pa.Schema) -> dict[Key, Held]:
        """Held batches of tables with `schema`, by their first column's key."""
        out: dict[Key, Held] = {}
        with self._lock:
            for export, placed in self._by_export.items():
                if not placed or not placed[0][2].schema.equals(schema):
                    continue
                keyed = self._keyed.get(export)
                if keyed is None:
                    keyed = self._keyed[export] = [
                        Held(name, i, b, tuple(_key(c) for c in b.columns))
                        for name, i, b in placed
                        if b.num_rows
                    ]
                for held in keyed:
                    out.setdefault(held.keys[0], held)
        return out


@dataclass(frozen=True)
class Plan:
    """A table as runs, in row order: ``(None, start, stop)`` rows to write, and
    ``(segment, index, index + 1)`` a held batch; `kept_rows` the rows of the held ones."""

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
    others = [_by_start(table.column(j)) for j in range(1, table.num_columns)]
    runs: list[tuple[str | None, int, int]] = []
    pos = start = kept = 0
    for chunk in table.column(0).chunks:
        n = len(chunk)
        hit = index.get(_key(chunk)) if n else None
        if hit is not None and _same_rows(others, start, hit):
            if pos < start:
                runs.append((None, pos, start))
            runs.append((hit.name, hit.index, hit.index + 1))
            pos = start + n
            kept += n
        start += n
    if not runs:
        return None
    if pos < table.num_rows:
        runs.append((None, pos, table.num_rows))
    return Plan(table, runs, kept)


def _by_start(column: pa.ChunkedArray) -> dict[int, pa.Array]:
    """A column's non-empty chunks by the row they start at."""
    out: dict[int, pa.Array] = {}
    pos = 0
    for chunk in column.chunks:
        if len(chunk):
            out[pos] = chunk
            pos += len(chunk)
    return out


def _same_rows(others: list[dict[int, pa.Array]], start: int, held: Held) -> bool:
    """Whether the other columns (`_by_start` of columns 1...) each have a chunk at row
    `start` that is the held batch's column: the same rows, the same memory."""
    for j, chunks in enumerate(others, 1):
        chunk = chunks.get(start)
        if chunk is None or len(chunk) != held.batch.num_rows or _key(chunk) != held.keys[j]:
            return False
    return True

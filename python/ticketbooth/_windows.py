"""Table windows for the viewer: sorted on the kernel side, sent as small Arrow IPC streams."""

from __future__ import annotations

import bisect
import itertools
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ._errors import InvalidInputError

MAX_WINDOW_ROWS = 5_000


def _browser_type(t: pa.DataType) -> pa.DataType:
    """A type the browser's Arrow reader decodes (view and large types become plain ones)."""
    if pa.types.is_string_view(t) or pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_binary_view(t) or pa.types.is_large_binary(t):
        return pa.binary()
    return t


def _sortable(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """`column` as pyarrow can sort it: a dictionary column (a pandas categorical) by its
    values (pyarrow sorts no dictionary type)."""
    if pa.types.is_dictionary(column.type):
        return column.cast(column.type.value_type)
    return column


def _sort_options(spec: list[tuple[str, str, str]]) -> pc.SortOptions:
    """Null placement per key (pyarrow >= 25), else one placement for all keys."""
    try:
        return pc.SortOptions(sort_keys=spec)
    except (TypeError, ValueError):  # older pyarrow: (name, order) pairs only
        pairs = [(column, order) for column, order, _ in spec]
        return pc.SortOptions(sort_keys=pairs, null_placement="at_end")


def _detail(kind: pa.DataType, err: Exception) -> str:
    """pyarrow's message, unless it only repeats the type."""
    return "" if str(kind) in str(err) else f" ({err})"


def column_specs(schema: pa.Schema) -> list[dict[str, str]]:
    return [{"name": f.name, "type": str(f.type)} for f in schema]


class TableWindows:
    """A table and an optional sort order; cuts windows of rows as Arrow IPC bytes."""

    def __init__(self, table: pa.Table) -> None:
        fields = [pa.field(f.name, _browser_type(f.type), f.nullable) for f in table.schema]
        target = pa.schema(fields, metadata=table.schema.metadata)
        # view and large types (e.g. from polars) are cast once: take() and the browser's
        # reader do not handle them; other tables stay memory-mapped, uncopied
        self.table = table if table.schema == target else table.cast(target)
        self.order: pa.Array | None = None
        self.sort_keys: list[dict[str, Any]] = []
        self._batches: list[pa.RecordBatch] | None = None
        self._starts: list[int] = []

    def _take(self, rows: list[int]) -> pa.Table:
        """`table.take(rows)` chunk by chunk: pyarrow's take on a table of many chunks costs
        time in proportion to the whole table (~100 ms at 10M rows), this to the rows."""
        if self._batches is None:
            self._batches = self.table.to_batches()
            self._starts = list(
                itertools.accumulate((b.num_rows for b in self._batches), initial=0)
            )
        groups: dict[int, tuple[list[int], list[int]]] = {}
        for position, row in enumerate(rows):
            c = bisect.bisect_right(self._starts, row) - 1
            places, local = groups.setdefault(c, ([], []))
            places.append(position)
            local.append(row - self._starts[c])
        parts = [
            self._batches[c].take(pa.array(local, pa.int64())) for c, (_, local) in groups.items()
        ]
        grouped = pa.Table.from_batches(parts, schema=self.table.schema)
        back = [0] * len(rows)  # back[position] = the grouped row holding it
        for g, position in enumerate(p for places, _ in groups.values() for p in places):
            back[position] = g
        return grouped.take(pa.array(back, pa.int64()))

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    def sort(self, keys: list[dict[str, Any]]) -> None:
        """Sort by [{column, descending}] (nulls last); [] restores the published order.

        Raises InvalidInputError naming the column when the table cannot be shown in that
        order; the order shown (`order`, `sort_keys`) is then unchanged.
        """
        names = set(self.table.schema.names)
        spec = []
        for key in keys:
            column = key.get("column")
            if column not in names:
                raise InvalidInputError(f"cannot sort by {column!r}: no such column")
            order = "descending" if key.get("descending") else "ascending"
            spec.append((str(column), order, "at_end"))
        order_indices = None
        if spec:
            try:
                by = pa.table({c: _sortable(self.table.column(c)) for c, _, _ in spec})
                order_indices = pc.sort_indices(by, options=_sort_options(spec))
                self.table.take(order_indices.slice(0, 0))  # can every column be reordered?
            except pa.ArrowException as exc:
                raise InvalidInputError(self._why(spec, exc)) from exc
        self.order, self.sort_keys = order_indices, list(keys)

    def _why(self, spec: list[tuple[str, str, str]], exc: Exception) -> str:
        """Which column stopped the sort, and why (probed on empty slices: cheap)."""
        for column, order, placement in spec:
            part = pa.table({column: _sortable(self.table.column(column).slice(0, 0))})
            try:
                pc.sort_indices(part, options=_sort_options([(column, order, placement)]))
            except pa.ArrowException as err:
                kind = self.table.schema.field(column).type
                why = f"pyarrow cannot sort its type, {kind}{_detail(kind, err)}"
                return f"cannot sort by {column!r}: {why}"
        for field in self.table.schema:
            try:
                self.table.column(field.name).slice(0, 0).take(pa.array([], pa.uint64()))
            except pa.ArrowException as err:
                return (
                    f"cannot sort by {spec[0][0]!r}: pyarrow cannot reorder column "
                    f"{field.name!r} of type {field.type}{_detail(field.type, err)}"
                )
        return f"cannot sort by {', '.join(repr(c) for c, _, _ in spec)}: {exc}"

    def window(self, start: int, end: int) -> bytes:
        """Rows [start, end) of the (sorted) table as an Arrow IPC stream."""
        start = max(0, min(int(start), self.num_rows))
        end = max(start, min(int(end), self.num_rows, start + MAX_WINDOW_ROWS))
        if self.order is None:
            part = self.table.slice(start, end - start)
        else:
            part = self._take(self.order.slice(start, end - start).to_pylist())
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, part.schema) as writer:
            writer.write_table(part)
        return bytes(sink.getvalue())

"""The shape of each record or dictionary batch a DoPut carries, checked against its schema.

Arrow's reader takes the buffers and field nodes a schema needs from the front of a batch's
metadata and ignores any more: a batch of strings sent after an int64 schema would read as
int64 values made of its offsets. So every batch message must list exactly as many field
nodes and buffers as the schema (for a dictionary batch: its dictionary's value type) has;
the counts of an empty batch written by Arrow itself are the reference.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pyarrow as pa

from .. import _framing
from .._errors import InvalidInputError

SCHEMA, DICTIONARY_BATCH, RECORD_BATCH = 1, 2, 3
MAX_DEPTH = 64  # nested fields followed in a schema


class _Table:
    """A flatbuffer table in `buf` at `pos`; every read is bounds-checked by struct."""

    def __init__(self, buf: memoryview, pos: int) -> None:
        self.buf, self.pos = buf, pos
        self.vtable = pos - struct.unpack_from("<i", buf, pos)[0]
        self.vsize = struct.unpack_from("<H", buf, self.vtable)[0]

    def _field(self, slot: int) -> int:
        at = 4 + 2 * slot
        if at + 2 > self.vsize:
            return 0
        return int(struct.unpack_from("<H", self.buf, self.vtable + at)[0])

    def scalar(self, slot: int, fmt: str, default: int = 0) -> int:
        off = self._field(slot)
        return int(struct.unpack_from(fmt, self.buf, self.pos + off)[0]) if off else default

    def _target(self, slot: int) -> int | None:
        off = self._field(slot)
        if not off:
            return None
        at = self.pos + off
        return at + int(struct.unpack_from("<I", self.buf, at)[0])

    def table(self, slot: int) -> _Table | None:
        at = self._target(slot)
        return None if at is None else _Table(self.buf, at)

    def vector(self, slot: int) -> tuple[int, int]:
        """(length, position of the first element) of a vector field; (0, 0) when absent."""
        at = self._target(slot)
        if at is None:
            return 0, 0
        return int(struct.unpack_from("<I", self.buf, at)[0]), at + 4

    def tables(self, slot: int) -> Iterator[_Table]:
        length, first = self.vector(slot)
        for i in range(length):
            at = first + 4 * i
            yield _Table(self.buf, at + int(struct.unpack_from("<I", self.buf, at)[0]))

    def longs(self, slot: int) -> list[int]:
        length, first = self.vector(slot)
        if length * 8 > len(self.buf):
            raise IndexError("vector runs past the message")
        return [int(v) for v in struct.unpack_from(f"<{length}q", self.buf, first)]


def _message(header: memoryview) -> tuple[int, _Table | None]:
    """(header type, header table) of an IPC message's flatbuffer."""
    root = _Table(header, int(struct.unpack_from("<I", header, 0)[0]))
    return root.scalar(1, "<B"), root.table(2)


def _shape(batch: _Table) -> tuple[int, int, list[int]]:
    """(field nodes, buffers, variadic buffer counts) a RecordBatch table lists."""
    return batch.vector(1)[0], batch.vector(2)[0], batch.longs(4)


def _reference(types: list[pa.DataType]) -> tuple[int, int, int]:
    """(field nodes, buffers, view columns) of an empty batch of `types`, as Arrow writes it."""
    arrays = [pa.nulls(0, type=t) for t in types]
    names = [f"f{i}" for i in range(len(arrays))]
    message = pa.RecordBatch.from_arrays(arrays, names=names).serialize()
    kind, batch = _message(_framing.ipc_parts(message)[0])
    assert kind == RECORD_BATCH and batch is not None
    nodes, buffers, variadic = _shape(batch)
    return nodes, buffers, len(variadic)


def _dictionary_ids(fields: Iterator[_Table], depth: int = 0) -> Iterator[int]:
    """The dictionary ids of a schema's fields, depth first (Field.dictionary.id)."""
    if depth > MAX_DEPTH:
        raise InvalidInputError("the schema nests fields too deeply")
    for field in fields:
        encoding = field.table(4)
        if encoding is not None:
            yield encoding.scalar(0, "<q")
        yield from _dictionary_ids(field.tables(5), depth + 1)


def _dictionary_values(t: pa.DataType) -> Iterator[pa.DataType]:
    """The value types of the dictionaries in `t`, in the order of `_dictionary_ids`."""
    if isinstance(t, pa.DictionaryType):
        yield t.value_type
        t = t.value_type
    if isinstance(t, pa.BaseExtensionType):
        t = t.storage_type
    if isinstance(t, pa.MapType):
        yield from _dictionary_values(t.key_type)
        yield from _dictionary_values(t.item_type)
        return
    for i in range(t.num_fields):
        yield from _dictionary_values(t.field(i).type)


class BatchChecker:
    """Checks each batch message of an upload against the schema of its first message."""

    def __init__(self, schema: pa.Schema, schema_header: memoryview) -> None:
        self.batches = 0
        try:
            self.expected: tuple[int, int, int] | None = _reference(list(schema.types))
        except pa.ArrowException:  # a type Arrow cannot write here: its own reader decides
            self.expected = None
        values = [v for t in schema.types for v in _dictionary_values(t)]
        try:
            _, table = _message(schema_header)
            ids = list(_dictionary_ids(table.tables(1))) if table is not None else []
        except (struct.error, IndexError, RecursionError):
            ids = []  # pyarrow read this schema: it cannot be malformed
        self.dictionaries = dict(zip(ids, values, strict=True)) if len(ids) == len(values) else None
        self._refs: dict[int, tuple[int, int, int] | None] = {}

    def _dictionary_reference(
        self, dict_id: int, value_type: pa.DataType
    ) -> tuple[int, int, int] | None:
        if dict_id not in self._refs:
            try:
                self._refs[dict_id] = _reference([value_type])
            except pa.ArrowException:
                self._refs[dict_id] = None
        return self._refs[dict_id]

    def check(self, header: memoryview) -> None:
        """Refuse a batch that lists more or fewer field nodes or buffers than it must.

        Raises:
            InvalidInputError: which batch, and what it lists against what the schema needs.
        """
        self.batches += 1
        what = f"batch {self.batches} of the table stream"
        try:
            kind, table = _message(header)
            batch, expected = table, self.expected
            if kind == DICTIONARY_BATCH and table is not None:
                dict_id, batch = table.scalar(0, "<q"), table.table(1)
                if self.dictionaries is None:
                    return  # the schema's dictionary ids could not be told apart
                value_type = self.dictionaries.get(dict_id)
                if value_type is None:
                    raise ValueError(f"dictionary id {dict_id} is not used by the schema")
                what = f"{what} (the dictionary of id {dict_id})"
                expected = self._dictionary_reference(dict_id, value_type)
            if batch is None or kind not in (DICTIONARY_BATCH, RECORD_BATCH):
                raise ValueError(f"message type {kind} is not a record or dictionary batch")
            nodes, buffers, variadic = _shape(batch)
        except (struct.error, IndexError, ValueError, OverflowError) as exc:
            raise InvalidInputError(
                f"malformed Arrow record batch or message in the table stream: {what}: {exc}; "
                "nothing was stored"
            ) from exc
        if expected is None:
            return
        want_nodes, want_buffers, views = expected
        if len(variadic) != views or nodes != want_nodes or buffers != want_buffers + sum(variadic):
            views_said = f", {len(variadic)} variadic buffer counts for {views} view columns"
            raise InvalidInputError(
                f"{what} does not match the stream's schema: it lists {nodes} field nodes and "
                f"{buffers} buffers where the schema needs {want_nodes} and "
                f"{want_buffers + sum(variadic)}{views_said if variadic or views else ''}; "
                "nothing was stored. Send record batches of the schema the stream began with"
            )

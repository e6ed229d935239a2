"""Tables in parts: runs of record batches from several segments, read as one table.

A republish that keeps most of an earlier version's rows (`append_table`, a fetched table
with a few rows changed) writes only the new batches; the version is then the runs of its
own and the older segments' batches, in row order. See `_reuse` for how a client finds
the runs, and `broker._segrefs` for how the broker keeps the older files alive.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence

import pyarrow as pa

from ._arrow import message_sized
from ._segments import FILE_MAGIC, map_segment

Part = tuple[str, int, int]
"""(segment file name, first batch, number of batches)."""


def has_dictionaries(schema: pa.Schema) -> bool:
    """True when a column (or a nested field) is dictionary-encoded: such tables are never
    kept in parts, since each segment's batches need its own dictionaries."""

    def walk(t: pa.DataType) -> bool:
        if pa.types.is_dictionary(t):
            return True
        return any(walk(t.field(i).type) for i in range(t.num_fields))

    return any(walk(f.type) for f in schema)


def segment_batches(data: pa.Buffer) -> tuple[pa.Schema, list[pa.RecordBatch]]:
    """The schema and every record batch of a mapped segment (zero copy), in file order."""
    if bytes(data.slice(0, 6)) == FILE_MAGIC:
        with pa.ipc.open_file(data) as f:
            return f.schema, [f.get_batch(i) for i in range(f.num_record_batches)]
    with pa.ipc.open_stream(data) as reader:
        return reader.schema, list(reader)


def read_table(
    directory: str, shm_name: str, parts: Sequence[Part]
) -> tuple[pa.Table, list[tuple[str, int, pa.RecordBatch]]]:
    """The table in segment `shm_name`, or in `parts` when there are any (`read_parts`)."""
    if parts:
        return read_parts(directory, parts)
    schema, batches = segment_batches(map_segment(os.path.join(directory, shm_name)))
    table = pa.Table.from_batches(batches, schema=schema)
    return table, [(shm_name, i, b) for i, b in enumerate(batches)]


def read_parts(
    directory: str, parts: Sequence[Part]
) -> tuple[pa.Table, list[tuple[str, int, pa.RecordBatch]]]:
    """Memory-map the parts' segments and join their runs; also every batch with where it
    lies, (segment, index, batch), for `_reuse`."""
    mapped: dict[str, tuple[pa.Schema, list[pa.RecordBatch]]] = {}
    placed: list[tuple[str, int, pa.RecordBatch]] = []
    for name, first, count in parts:
        if name not in mapped:
            mapped[name] = segment_batches(map_segment(os.path.join(directory, name)))
        batches = mapped[name][1]
        if first < 0 or count < 0 or first + count > len(batches):
            raise ValueError(f"part {name}[{first}:{first + count}] is past its {len(batches)}")
        placed.extend((name, i, batches[i]) for i in range(first, first + count))
    schema = mapped[parts[0][0]][0]
    return pa.Table.from_batches([b for _, _, b in placed], schema=schema), placed


def parts_messages(
    segments: dict[str, pa.Buffer], parts: Sequence[Part], max_bytes: int, limit: int = 0
) -> list[tuple[memoryview, memoryview]]:
    """`_messages` as (flatbuffer, body) views, ready to frame (as `segment_messages`)."""
    empty = memoryview(b"")
    return [
        (memoryview(m.metadata), memoryview(m.body) if m.body is not None else empty)
        for m in _messages(segments, parts, max_bytes, limit)
    ]


def _messages(
    segments: dict[str, pa.Buffer], parts: Sequence[Part], max_bytes: int, limit: int
) -> Iterator[pa.ipc.Message]:
    """The IPC messages of a table in parts: the first segment's schema message, then each
    run's record batch messages as they lie in their segments (no dictionaries: see
    `has_dictionaries`). A batch over `max_bytes` is re-chunked, as in `segment_messages`."""
    found: dict[str, list[pa.ipc.Message]] = {}
    for name in dict.fromkeys(n for n, _, _ in parts):
        data = segments[name]
        body = data.slice(8) if bytes(data.slice(0, 6)) == FILE_MAGIC else data
        found[name] = list(pa.ipc.MessageReader.open_stream(pa.BufferReader(body)))
    yield found[parts[0][0]][0]
    runs = [found[name][1 + first : 1 + first + count] for name, first, count in parts]
    if all(_fits(m, max_bytes) for run in runs for m in run):
        for run in runs:
            yield from run
        return
    schema = pa.ipc.read_schema(found[parts[0][0]][0])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        for run in runs:
            for message in run:
                batch = pa.ipc.read_record_batch(message, schema)
                for piece in message_sized(batch, max_bytes, limit):
                    writer.write_batch(piece)
    yield from list(pa.ipc.MessageReader.open_stream(pa.BufferReader(sink.getvalue())))[1:]


def _fits(message: pa.ipc.Message, max_bytes: int) -> bool:
    size: int = message.metadata.size + (message.body.size if message.body else 0)
    return size <= max_bytes


def coalesced(runs: Iterable[Part]) -> list[Part]:
    """Adjacent runs of one segment that continue each other, joined."""
    out: list[Part] = []
    for name, first, count in runs:
        if count == 0:
            continue
        if out and out[-1][0] == name and out[-1][1] + out[-1][2] == first:
            out[-1] = (name, out[-1][1], out[-1][2] + count)
        else:
            out.append((name, first, count))
    return out

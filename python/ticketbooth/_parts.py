"""Tables in parts: runs of record batches from several segments, read as one table.

A republish that keeps most of an earlier version's rows (`append_table`, a fetched table
with a few rows changed) writes only the new batches; the version is then the runs of its
own and the older segments' batches, in row order. See `_reuse` for how a client finds
the runs, and `broker._segrefs` for how the broker keeps the older files alive.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

import pyarrow as pa

from ._proto.v1 import broker_pb2 as pb
from ._segments import (
    fits,
    map_segment,
    message_views,
    rechunked,
    segment_batches,
    stream_messages,
)

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
    """The IPC messages of a table in parts as (flatbuffer, body) views, ready to frame (as
    `segment_messages`; `segments` maps every file the parts name): the first segment's
    schema message, then each run's record batch messages as they lie in their segments
    (no dictionaries: see `has_dictionaries`). A batch over `max_bytes` has them all
    re-chunked, as in `segment_messages`."""
    found = {name: stream_messages(data) for name, data in segments.items()}
    head = found[parts[0][0]][0]
    runs = [m for name, first, count in parts for m in found[name][1 + first : 1 + first + count]]
    if all(fits(m, max_bytes) for m in runs):
        return message_views([head, *runs])
    schema = pa.ipc.read_schema(head)
    batches = (pa.ipc.read_record_batch(m, schema) for m in runs)
    return message_views(rechunked(schema, batches, max_bytes, limit))


def to_pb(parts: Iterable[Part]) -> list[pb.SegmentPart]:
    """Parts as the broker's `SegmentPart` messages."""
    return [pb.SegmentPart(shm_name=n, first_batch=f, num_batches=c) for n, f, c in parts]


def from_pb(parts: Iterable[pb.SegmentPart]) -> list[Part]:
    """Parts from the broker's `SegmentPart` messages."""
    return [(p.shm_name, p.first_batch, p.num_batches) for p in parts]


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

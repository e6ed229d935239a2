"""An import in parts: a new segment plus runs of segments the broker already holds.

The client wrote only the batches that are new (`_reuse`); the rest are named as runs of
the segments behind tables its session holds. Each run is checked against what the broker
knows of the segment (held by this session, same schema, batches in range) before the
table is stored; nothing is copied.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc
import pyarrow as pa

from .. import _parts, _segments
from .._proto.v1 import broker_pb2 as pb
from ._refusals import BrokerError
from ._segrefs import Part, Segment
from ._shm import ShmDir
from ._store import Store

WHOLE = "publish the whole table instead (a table fetched again from the broker can be reused)"


def refuse(why: str) -> BrokerError:
    return BrokerError(grpc.StatusCode.ABORTED, f"{why}; {WHOLE}")


def _layout(path: str) -> tuple[list[int], list[int]]:
    _, batches = _segments.segment_batches(_segments.map_segment(path))
    return [b.num_rows for b in batches], [b.nbytes for b in batches]


async def layout(shm: ShmDir, seg: Segment) -> Segment:
    """`seg` with its batches' rows and bytes (read from its file once)."""
    if not seg.batch_rows:
        seg.batch_rows, seg.batch_bytes = await asyncio.to_thread(_layout, shm.file(seg.name))
    return seg


def held_by_session(store: Store, sid: str) -> set[str]:
    """Segments behind the tables session `sid` holds exports of."""
    names: set[str] = set()
    for obj in store.session(sid).exports.values():
        names |= obj.segment_names()
    return names


async def checked_parts(
    store: Store,
    shm: ShmDir,
    sid: str,
    own: Segment,
    requested: Sequence[pb.SegmentPart],
    incoming: str,
) -> tuple[tuple[Part, ...], int, int]:
    """The runs of an import in parts, checked; (parts, rows, logical bytes).

    `own` is the new segment (already validated and laid out); a run naming `incoming`
    (the client's name for it) is a run of it.

    Raises:
        BrokerError: dictionary columns, a segment this session holds no table of, another
            schema, or batches out of range.
    """
    schema = pa.ipc.read_schema(pa.py_buffer(own.schema))
    if _parts.has_dictionaries(schema):
        raise BrokerError(
            grpc.StatusCode.INVALID_ARGUMENT,
            "a table with dictionary columns cannot be stored in parts; send it whole",
        )
    held = held_by_session(store, sid)
    parts: list[Part] = []
    rows = nbytes = 0
    for part in requested:
        name = own.name if part.shm_name == incoming else part.shm_name
        seg = own if name == own.name else store.segments.get(name)
        if seg is None or (seg is not own and name not in held):
            raise refuse(f"segment {part.shm_name!r} is not behind a table this session holds")
        if seg is not own and not pa.ipc.read_schema(pa.py_buffer(seg.schema)).equals(schema):
            raise refuse(f"segment {part.shm_name!r} holds a table of another schema")
        seg = await layout(shm, seg)
        first, count = part.first_batch, part.num_batches
        if first < 0 or count < 1 or first + count > len(seg.batch_rows):
            raise refuse(
                f"batches {first}..{first + count - 1} of segment {part.shm_name!r} are out "
                f"of range (it has {len(seg.batch_rows)})"
            )
        parts.append((name, first, count))
        rows += sum(seg.batch_rows[first : first + count])
        nbytes += sum(seg.batch_bytes[first : first + count])
    if not parts:
        raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, "an import in parts names no part")
    gone = {name for name, _, _ in parts if name != own.name} - held_by_session(store, sid)
    if gone:  # released while the layouts were read
        raise refuse(f"segment {sorted(gone)[0]!r} was released meanwhile")
    return tuple(_parts.coalesced(parts)), rows, nbytes

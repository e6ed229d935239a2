"""Arrow helpers shared by both data paths: validation of untrusted batches, and slicing
batches to message size. Segments (the stored form) are in `_segments`."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa

from ._errors import InvalidInputError, LimitExceededError
from ._inputs import as_reader as as_reader  # re-exported for callers


def validate(batch: pa.RecordBatch) -> None:
    """Full validation (offsets, lengths, UTF-8, dictionary indices) of untrusted data.

    Raises:
        InvalidInputError: naming what is malformed.
    """
    try:
        batch.validate(full=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowIndexError) as exc:
        raise InvalidInputError(f"malformed record batch refused: {exc}") from exc


def message_sized(
    batch: pa.RecordBatch, max_bytes: int, limit: int = 0
) -> Iterator[pa.RecordBatch]:
    """`fitted` slices for the wire: a single row that cannot fit one message is refused.
    `limit` is the message limit named in the error (default `max_bytes`).

    Raises:
        LimitExceededError: a row needs more than `max_bytes`.
    """
    for piece in fitted(batch, max_bytes):
        if piece.num_rows <= 1 and piece.nbytes > max_bytes:
            raise LimitExceededError(
                f"a single row of this table needs {piece.nbytes} bytes, more than the "
                f"{limit or max_bytes}-byte message limit; split large cells, fetch it on "
                "the same host, or raise the broker's --max-message-bytes"
            )
        yield piece


def fitted(batch: pa.RecordBatch, max_bytes: int) -> Iterator[pa.RecordBatch]:
    """Slice `batch` (zero copy) so each slice serializes to at most `max_bytes`; a single
    row larger than that is one slice of its own."""
    if batch.num_rows == 0:
        yield batch
        return
    per_row = max(1.0, batch.nbytes / batch.num_rows)
    step = max(1, int(max_bytes * 0.9 / per_row))
    start = 0
    while start < batch.num_rows:
        piece = batch.slice(start, step)
        if piece.nbytes > max_bytes and step > 1:
            step = max(1, step // 2)
            continue
        yield piece
        start += piece.num_rows

"""Arrow conversion and the two data paths: IPC files (same host) and IPC messages (remote)."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from ._errors import InvalidInputError, LimitExceededError
from ._inputs import as_reader as as_reader  # re-exported for callers


def create_private_file(path: str) -> pa.NativeFile:
    """Create `path` readable and writable by this user only; fail if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    return pa.OSFile(path, "wb")


def write_ipc_file(
    reader: pa.RecordBatchReader, path: str, *, exists: bool = False, max_batch_bytes: int = 0
) -> tuple[pa.Schema, int]:
    """Stream `reader` into a new private Arrow IPC file; return (schema, num_rows).

    `exists`: the caller already created `path` (0600, empty) and holds it.
    `max_batch_bytes`: batches are sliced (zero copy) to at most this many bytes, so a remote
    reader can be sent the file's messages as they are (0: batches as they come).
    An IPC file holds one dictionary per field, so a table with dictionary columns (at any
    depth) is collected and its dictionaries unified first; other tables stream through.

    Raises:
        LimitExceededError: the filesystem is full (the partial file is removed).
    """

    def batches(source: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in source:
            yield from fitted(batch, max_batch_bytes) if max_batch_bytes else (batch,)

    try:
        sink = pa.OSFile(path, "wb") if exists else create_private_file(path)
        if has_dictionaries(reader.schema):
            table = pa.Table.from_batches(list(batches(reader)), reader.schema)
            return _write_unified(table, sink)
        rows = 0
        with sink, pa.ipc.new_file(sink, reader.schema) as writer:
            for batch in batches(reader):
                writer.write_batch(batch)
                rows += batch.num_rows
    except BaseException as exc:
        unlink_quietly(path)
        if is_disk_full(exc):
            raise disk_full_error(path) from None
        raise
    return reader.schema, rows


def _write_unified(table: pa.Table, sink: pa.NativeFile) -> tuple[pa.Schema, int]:
    options = pa.ipc.IpcWriteOptions(unify_dictionaries=True)
    with sink, pa.ipc.new_file(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return table.schema, table.num_rows


def is_disk_full(exc: BaseException) -> bool:
    """True for a write that failed because the filesystem is full (ENOSPC)."""
    return isinstance(exc, OSError) and (
        exc.errno == errno.ENOSPC or "No space left on device" in str(exc)
    )


def disk_full_error(path: str) -> LimitExceededError:
    where = os.path.dirname(path) or "."
    return LimitExceededError(
        f"no space left in {where} (the broker's shared memory) to store this table; "
        "release tables you no longer need, publish a smaller slice, or give the broker "
        "a larger filesystem (ticketbooth serve --shm-dir)"
    )


def read_ipc_file(path: str) -> pa.Table:
    """Memory-map an Arrow IPC file as a Table (zero copy; the pages outlive an unlink)."""
    with pa.memory_map(path, "r") as source:
        return pa.ipc.open_file(source).read_all()


def ipc_file_info(path: str) -> tuple[pa.Schema, int]:
    """Schema and row count of an Arrow IPC file after a full validation of every batch.

    Raises:
        InvalidInputError: the file is not Arrow IPC, or a batch is malformed (offsets past
            their buffers, bad dictionary indices...); nothing in it may reach a reader.
    """
    try:
        with pa.memory_map(path, "r") as source:
            reader = pa.ipc.open_file(source)
            rows = 0
            for i in range(reader.num_record_batches):
                batch = reader.get_batch(i)
                validate(batch)
                rows += batch.num_rows
            return reader.schema, rows
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, EOFError) as exc:
        raise InvalidInputError(
            f"segment is not an Arrow IPC file, or a malformed one: {exc}"
        ) from exc


def validate(batch: pa.RecordBatch) -> None:
    """Full validation (offsets, lengths, UTF-8, dictionary indices) of untrusted data.

    Raises:
        InvalidInputError: naming what is malformed.
    """
    try:
        batch.validate(full=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowIndexError) as exc:
        raise InvalidInputError(f"malformed record batch refused: {exc}") from exc


def unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def has_dictionaries(schema: pa.Schema) -> bool:
    """True when any field, at any depth (list, struct, map...), is dictionary-encoded."""
    return any(_has_dictionary(field.type) for field in schema)


def _has_dictionary(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        return True
    return any(_has_dictionary(t.field(i).type) for i in range(t.num_fields))


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


def map_segment(path: str) -> pa.Buffer:
    """The whole file, memory-mapped (its pages stay readable after the file is unlinked)."""
    with pa.memory_map(path, "r") as source:
        return source.read_buffer()


def segment_messages(
    data: pa.Buffer, max_bytes: int, limit: int = 0
) -> list[tuple[memoryview, memoryview]]:
    """The encapsulated IPC messages of a mapped Arrow IPC file as (flatbuffer, body) views,
    ready to frame as FlightData without another copy.

    Segments are written in batches of at most `max_bytes` (`write_ipc_file`), so messages
    come straight from the file; a file with a larger batch (written by someone else) is
    re-chunked through one in-memory IPC stream instead.
    """
    messages = list(pa.ipc.MessageReader.open_stream(pa.BufferReader(data.slice(8))))
    if any(m.metadata.size + (m.body.size if m.body else 0) > max_bytes for m in messages):
        messages = list(_rechunked(data, max_bytes, limit))
    empty = memoryview(b"")
    return [
        (memoryview(m.metadata), memoryview(m.body) if m.body is not None else empty)
        for m in messages
    ]


def _rechunked(data: pa.Buffer, max_bytes: int, limit: int) -> Iterator[pa.ipc.Message]:
    table = pa.ipc.open_file(pa.BufferReader(data)).read_all()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches():
            for piece in message_sized(batch, max_bytes, limit):
                writer.write_batch(piece)
    yield from pa.ipc.MessageReader.open_stream(pa.BufferReader(sink.getvalue()))


class MessageReader:
    """Decode the remote wire form incrementally (for the broker writing to a file)."""

    def __init__(self, first: Any) -> None:
        try:
            self.schema = pa.ipc.read_schema(pa.py_buffer(first))
        except (pa.ArrowInvalid, OSError, EOFError) as exc:
            raise InvalidInputError(f"first table message is not an Arrow schema: {exc}") from exc
        self.streamed = has_dictionaries(self.schema)

    def batch(self, message: Any) -> pa.RecordBatch:
        try:
            return pa.ipc.read_record_batch(pa.py_buffer(message), self.schema)
        except (pa.ArrowInvalid, OSError, EOFError) as exc:
            raise InvalidInputError(f"malformed Arrow record batch message: {exc}") from exc

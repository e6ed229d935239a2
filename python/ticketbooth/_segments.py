"""Segments: the files in the broker's shared-memory directory that hold tables.

A segment is an Arrow IPC *stream* (schema, dictionary and record batch messages, end of
stream) of batches of at most one message each (`Limits.chunk_bytes`), so:
- a same-host reader memory-maps it and reads it without a copy;
- a remote reader is sent its messages as they lie in the mapping (`segment_messages`);
- a remote upload is written to it as received, message by message, with no re-encoding;
- a dictionary may change from batch to batch (the stream format allows replacement).
Files in the IPC *file* format are read too.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterable, Iterator

import pyarrow as pa

from ._arrow import fitted, message_sized, validate
from ._errors import InvalidInputError, LimitExceededError

FILE_MAGIC = b"ARROW1"
END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"


def create_private_file(path: str) -> pa.NativeFile:
    """Create `path` readable and writable by this user only; fail if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    return pa.OSFile(path, "wb")


def write_segment(
    reader: pa.RecordBatchReader, path: str, *, exists: bool = False, max_batch_bytes: int = 0
) -> tuple[pa.Schema, int]:
    """Stream `reader` into a new private segment; return (schema, num_rows).

    `exists`: the caller already created `path` (0600, empty) and holds it.
    `max_batch_bytes`: batches are sliced (zero copy) to at most this many bytes, so a remote
    reader can be sent the segment's messages as they are (0: batches as they come).

    Raises:
        LimitExceededError: the filesystem is full (the partial file is removed).
    """

    def batches(source: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in source:
            yield from fitted(batch, max_batch_bytes) if max_batch_bytes else (batch,)

    rows = 0
    try:
        sink = pa.OSFile(path, "wb") if exists else create_private_file(path)
        with sink, pa.ipc.new_stream(sink, reader.schema) as writer:
            for batch in batches(reader):
                writer.write_batch(batch)
                rows += batch.num_rows
    except BaseException as exc:
        unlink_quietly(path)
        if is_disk_full(exc):
            raise disk_full_error(path) from None
        raise
    return reader.schema, rows


def _is_file_format(data: pa.Buffer) -> bool:
    """Whether a mapped segment is in the IPC file format (else the stream format; a file
    shorter than the magic is neither, and its reader says so)."""
    return bytes(data[: len(FILE_MAGIC)]) == FILE_MAGIC


def segment_batches(data: pa.Buffer) -> tuple[pa.Schema, list[pa.RecordBatch]]:
    """The schema and every record batch of a mapped segment (zero copy), in file order."""
    if _is_file_format(data):
        with pa.ipc.open_file(data) as f:
            return f.schema, [f.get_batch(i) for i in range(f.num_record_batches)]
    with pa.ipc.open_stream(data) as reader:
        return reader.schema, list(reader)


def read_segment(path: str) -> pa.Table:
    """Memory-map a segment as a Table (zero copy; the pages outlive an unlink)."""
    schema, batches = segment_batches(map_segment(path))
    return pa.Table.from_batches(batches, schema=schema)


def segment_info(path: str) -> tuple[pa.Schema, int]:
    """Schema and row count of a segment, after a full validation of every batch.

    Raises:
        InvalidInputError: it is not Arrow IPC, or a batch is malformed (offsets past their
            buffers, bad dictionary indices...); nothing in it may reach a reader.
    """
    try:
        table = read_segment(path)
        for batch in table.to_batches():
            validate(batch)
        return table.schema, table.num_rows
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, EOFError) as exc:
        raise InvalidInputError(
            f"segment is not an Arrow IPC file, or a malformed one: {exc}"
        ) from exc


def map_segment(path: str) -> pa.Buffer:
    """The whole file, memory-mapped (its pages stay readable after the file is unlinked)."""
    with pa.memory_map(path, "r") as source:
        return source.read_buffer()


def segment_messages(
    data: pa.Buffer, max_bytes: int, limit: int = 0
) -> list[tuple[memoryview, memoryview]]:
    """The encapsulated IPC messages of a mapped segment as (flatbuffer, body) views, ready
    to frame as FlightData without another copy.

    A segment holding a batch larger than `max_bytes` (a stock client's upload, or an IPC
    file written elsewhere) is re-chunked through one in-memory IPC stream instead.

    Raises:
        LimitExceededError: a single row is larger than `max_bytes` (`limit` is named).
    """
    messages = stream_messages(data)
    if not all(fits(m, max_bytes) for m in messages):
        messages = rechunked(*segment_batches(data), max_bytes, limit)
    return message_views(messages)


def stream_messages(data: pa.Buffer) -> list[pa.ipc.Message]:
    """A mapped segment's encapsulated IPC messages, the schema first (as they lie)."""
    body = data.slice(8) if _is_file_format(data) else data
    return list(pa.ipc.MessageReader.open_stream(pa.BufferReader(body)))


def fits(message: pa.ipc.Message, max_bytes: int) -> bool:
    """Whether `message` (flatbuffer and body) is at most `max_bytes`."""
    size: int = message.metadata.size + (message.body.size if message.body else 0)
    return size <= max_bytes


def message_views(messages: Iterable[pa.ipc.Message]) -> list[tuple[memoryview, memoryview]]:
    """(flatbuffer, body) views of `messages`, ready to frame as FlightData."""
    empty = memoryview(b"")
    return [
        (memoryview(m.metadata), memoryview(m.body) if m.body is not None else empty)
        for m in messages
    ]


def rechunked(
    schema: pa.Schema, batches: Iterable[pa.RecordBatch], max_bytes: int, limit: int
) -> list[pa.ipc.Message]:
    """`batches` re-chunked to messages of at most `max_bytes`, through one in-memory IPC
    stream; its messages, the schema first."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            for piece in message_sized(batch, max_bytes, limit):
                writer.write_batch(piece)
    return list(pa.ipc.MessageReader.open_stream(pa.BufferReader(sink.getvalue())))


def unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


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

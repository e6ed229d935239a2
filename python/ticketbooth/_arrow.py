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
    reader: pa.RecordBatchReader, path: str, *, exists: bool = False
) -> tuple[pa.Schema, int]:
    """Stream `reader` into a new private Arrow IPC file; return (schema, num_rows).

    `exists`: the caller already created `path` (0600, empty) and holds it.

    An IPC file holds one dictionary per field, so a table with dictionary columns (at any
    depth) is collected and its dictionaries unified first; other tables stream through.

    Raises:
        LimitExceededError: the filesystem is full (the partial file is removed).
    """
    try:
        if has_dictionaries(reader.schema):
            return _write_unified(reader.read_all(), path, exists)
        rows = 0
        sink = pa.OSFile(path, "wb") if exists else create_private_file(path)
        with sink, pa.ipc.new_file(sink, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
    except BaseException as exc:
        unlink_quietly(path)
        if is_disk_full(exc):
            raise disk_full_error(path) from None
        raise
    return reader.schema, rows


def _write_unified(table: pa.Table, path: str, exists: bool) -> tuple[pa.Schema, int]:
    options = pa.ipc.IpcWriteOptions(unify_dictionaries=True)
    sink = pa.OSFile(path, "wb") if exists else create_private_file(path)
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


def _fitted(batch: pa.RecordBatch, max_bytes: int) -> Iterator[pa.RecordBatch]:
    """Slice `batch` so each slice serializes to at most `max_bytes`."""
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


def encode_messages(reader: pa.RecordBatchReader, max_bytes: int) -> Iterator[pa.Buffer]:
    """The remote wire form: the schema message, then one message per record batch slice.

    Every message is at most `max_bytes`. Schemas with dictionary columns are sent as the
    chunks of one IPC stream instead (dictionary batches must travel with their state).
    """
    schema = reader.schema
    yield schema.serialize()
    if has_dictionaries(schema):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
        stream = sink.getvalue()
        for start in range(0, stream.size, max_bytes):
            yield stream.slice(start, min(max_bytes, stream.size - start))
        return
    for batch in reader:
        for piece in _fitted(batch, max_bytes):
            message = piece.serialize()
            if message.size > max_bytes:
                raise LimitExceededError(
                    f"a single row of this table needs {message.size} bytes, more than the "
                    f"{max_bytes}-byte message limit; split large cells or raise the limit"
                )
            yield message


def decode_messages(messages: Iterable[Any]) -> pa.Table:
    """Inverse of `encode_messages`: batches reference the received bytes (no extra copy)."""
    it = iter(messages)
    try:
        first = next(it)
    except StopIteration:
        raise InvalidInputError("empty table stream: the schema message is missing") from None
    try:
        schema = pa.ipc.read_schema(pa.py_buffer(first))
        if has_dictionaries(schema):
            stream = pa.py_buffer(b"".join(it))
            return pa.ipc.open_stream(stream).read_all()
        batches = [pa.ipc.read_record_batch(pa.py_buffer(m), schema) for m in it]
    except (pa.ArrowInvalid, OSError, EOFError) as exc:
        raise InvalidInputError(f"malformed Arrow IPC message in table stream: {exc}") from exc
    return pa.Table.from_batches(batches, schema)


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

"""One remote table upload (a Flight DoPut): decoded, validated and written to its segment,
off the event loop. Batches are written in slices of at most `max_batch_bytes`, so DoGet can
send the segment's messages as they are.

Every method but `__init__` is meant to run in a worker thread (``asyncio.to_thread``), so a
large upload never stalls other sessions. Nothing reaches the store unless every batch passed
a full validation; a failed or abandoned upload leaves no file behind. A cancelled call can
leave its worker thread running, so the steps hold a lock and do nothing once aborted.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pyarrow as pa

from .. import _arrow
from .._errors import InvalidInputError


class TableUpload:
    def __init__(self, path: str, first_message: Any, max_batch_bytes: int) -> None:
        """`first_message`: the encapsulated IPC schema message.

        Raises:
            InvalidInputError: it is not one.
        """
        self.path = path
        self.max_batch_bytes = max_batch_bytes
        self._reader = _arrow.MessageReader(first_message)  # InvalidInputError if not a schema
        self.schema: pa.Schema = self._reader.schema
        self.rows = 0
        # a dictionary schema is read as one IPC stream: the schema message starts it
        self._parts: list[bytes] = [bytes(first_message)] if self.streamed else []
        self._sink: pa.NativeFile | None = None
        self._writer: pa.ipc.RecordBatchFileWriter | None = None
        self._lock = threading.Lock()
        self._aborted = False

    @property
    def streamed(self) -> bool:
        """Dictionary schemas arrive as the chunks of one IPC stream (dictionary state)."""
        return bool(self._reader.streamed)

    def add(self, message: Any) -> None:
        """Take one message after the schema."""
        with self._lock:
            if not self._aborted:
                self._add(message)

    def _add(self, message: Any) -> None:
        if self.streamed:
            self._parts.append(bytes(message))
            return
        batch = self._reader.batch(message)
        _arrow.validate(batch)
        for piece in _arrow.fitted(batch, self.max_batch_bytes):
            self._write(piece)
        self.rows += batch.num_rows

    def _write(self, batch: pa.RecordBatch) -> None:
        try:
            if self._writer is None:
                self._sink = _arrow.create_private_file(self.path)
                self._writer = pa.ipc.new_file(self._sink, self.schema)
            self._writer.write_batch(batch)
        except OSError as exc:
            if _arrow.is_disk_full(exc):
                raise _arrow.disk_full_error(self.path) from None
            raise

    def finish(self) -> tuple[pa.Schema, int]:
        """Close the segment (or decode the dictionary stream and write it); (schema, rows)."""
        with self._lock:
            if self._aborted:
                raise InvalidInputError("the upload was abandoned")
            return self._finish()

    def _finish(self) -> tuple[pa.Schema, int]:
        if self.streamed:
            return self._finish_stream()
        if self._writer is None:  # no batches: still a valid, empty table
            self._sink = _arrow.create_private_file(self.path)
            self._writer = pa.ipc.new_file(self._sink, self.schema)
        self._close()
        return self.schema, self.rows

    def _finish_stream(self) -> tuple[pa.Schema, int]:
        try:
            table = pa.ipc.open_stream(pa.py_buffer(b"".join(self._parts))).read_all()
        except (pa.ArrowInvalid, OSError, EOFError) as exc:
            raise InvalidInputError(f"malformed Arrow IPC stream: {exc}") from exc
        finally:
            self._parts.clear()
        if not table.schema.equals(self.schema):
            raise InvalidInputError("the table stream's schema differs from its first message")
        for batch in table.to_batches():
            _arrow.validate(batch)
        self.rows = table.num_rows
        return _arrow.write_ipc_file(
            _arrow.as_reader(table), self.path, max_batch_bytes=self.max_batch_bytes
        )

    def _close(self) -> None:
        writer, sink, self._writer, self._sink = self._writer, self._sink, None, None
        try:
            if writer is not None:
                writer.close()
        finally:
            if sink is not None:
                sink.close()

    def abort(self) -> None:
        """Drop everything received; remove the partial segment."""
        with self._lock:
            self._aborted = True
            self._parts.clear()
            with contextlib.suppress(OSError):
                self._close()
            _arrow.unlink_quietly(self.path)

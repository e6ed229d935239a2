"""One remote table upload (a Flight DoPut), written to its segment as it arrives.

Each message is written as received (an IPC stream is the segment format, `_segments`):
its prefix, flatbuffer header and body go to the file with one ``writev``, with no
re-encoding and no join. When the stream is complete, the whole segment is read back from
its mapping and validated in full before anything can reach a reader; a failed or
abandoned upload leaves no file behind.

Every method but `__init__` is meant to run in a worker thread (``asyncio.to_thread``). A
cancelled call can leave its worker thread running, so the steps hold a lock and do nothing
once aborted.
"""

from __future__ import annotations

import contextlib
import os
import threading

import pyarrow as pa

from .. import _framing, _segments
from .._errors import InvalidInputError


class TableUpload:
    def __init__(self, path: str, schema_header: memoryview) -> None:
        """Create the segment and write the schema message (its flatbuffer header).

        Raises:
            InvalidInputError: the header is not an Arrow schema.
        """
        try:
            message = _framing.ipc_message(schema_header, memoryview(b""))
            self.schema: pa.Schema = pa.ipc.read_schema(pa.py_buffer(message))
        except (pa.ArrowInvalid, OSError, EOFError) as exc:
            raise InvalidInputError(f"first table message is not an Arrow schema: {exc}") from exc
        self.path = path
        self._lock = threading.Lock()
        self._aborted = False
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._write(message)

    def add(self, header: memoryview, body: memoryview) -> None:
        """Append one message (a record or dictionary batch) as received."""
        with self._lock:
            if not self._aborted:
                prefix, pad = _framing.ipc_prefix(len(header))
                self._write(prefix, header, pad, body)

    def _write(self, *parts: bytes | memoryview) -> None:
        assert self._fd is not None
        views = [memoryview(p).cast("B") for p in parts if len(p)]
        try:
            while views:
                done = os.writev(self._fd, views)
                while views and done >= len(views[0]):  # a short write: carry on after it
                    done -= len(views.pop(0))
                if views:
                    views[0] = views[0][done:]
        except OSError as exc:
            if _segments.is_disk_full(exc):
                raise _segments.disk_full_error(self.path) from None
            raise

    def finish(self) -> tuple[pa.Schema, int]:
        """End the stream, then validate the whole segment; (schema, rows).

        Raises:
            InvalidInputError: a malformed message or batch, or a schema that changed.
        """
        with self._lock:
            if self._aborted:
                raise InvalidInputError("the upload was abandoned")
            self._write(_segments.END_OF_STREAM)
            self._close()
        try:
            schema, rows = _segments.segment_info(self.path)
        except InvalidInputError as exc:
            if str(exc).startswith("malformed record batch refused"):  # failed validation
                raise
            raise InvalidInputError(  # could not be parsed
                f"malformed Arrow record batch or message in the table stream: {exc.__cause__}"
            ) from exc
        if not schema.equals(self.schema):
            raise InvalidInputError("the table stream's schema differs from its first message")
        return schema, rows

    def _close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def abort(self) -> None:
        """Drop everything received; remove the partial segment."""
        with self._lock:
            self._aborted = True
            with contextlib.suppress(OSError):
                self._close()
            _segments.unlink_quietly(self.path)

"""A Session's remote table transfers, over Arrow Flight (pyarrow's C++ FlightClient).

The broker serves Flight on the same address as its gRPC control services; grpcio keeps the
control calls, Flight moves the bytes. Every transfer has a progress deadline (no message
moving for `timeout` seconds cancels it), a progress bar past one second, and Ctrl+C: a
cancelled upload is never stored, because the broker keeps only a stream that ends with
the end marker. Uploads write from a worker thread: a write blocked by a stalled broker
cannot be cancelled by pyarrow, so the session abandons it instead of waiting.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.flight as fl

from . import _arrow
from ._deadline import Progress
from ._errors import (
    AuthenticationError,
    BrokerUnavailableError,
    InvalidInputError,
    LimitExceededError,
    PermissionDeniedError,
    SessionClosedError,
    TicketboothError,
    TicketNotFoundError,
)
from ._limits import chunk_budget
from ._progress import progress_bar

IMPORT_COMMAND = b"ticketbooth:import"
END_MARKER = b"ticketbooth:end:"
_MESSAGE = re.compile(r"with message: (.*?)(?:\. gRPC client debug context|\. Detail:|$)", re.S)


def flight_location(url: str) -> str:
    """The Flight location of a ticketbooth URL (unix socket, host:port, grpcs://...)."""
    if url.startswith("unix:"):
        return "grpc+unix://" + url.removeprefix("unix:").removeprefix("//")
    if url.startswith("grpcs://"):
        return "grpc+tls://" + url.removeprefix("grpcs://")
    return "grpc+tcp://" + url.removeprefix("grpc://")


def flight_error(exc: BaseException, what: str) -> TicketboothError:
    """The TicketboothError for a failed Flight call, with the broker's own message."""
    text = str(exc)
    match = _MESSAGE.search(text)
    detail = match.group(1).strip() if match else text
    if isinstance(exc, fl.FlightUnauthenticatedError):
        return AuthenticationError(detail)
    if isinstance(exc, fl.FlightUnauthorizedError):
        return PermissionDeniedError(detail)
    if isinstance(exc, (fl.FlightUnavailableError, fl.FlightTimedOutError)):
        return BrokerUnavailableError(f"broker unavailable during {what}: {detail}")
    if isinstance(exc, fl.FlightCancelledError):
        return BrokerUnavailableError(f"{what} was cancelled: {detail}")
    if isinstance(exc, KeyError):  # gRPC NOT_FOUND
        return TicketNotFoundError(detail)
    if isinstance(exc, pa.ArrowInvalid):
        if "resource exhausted" in text:
            return LimitExceededError(detail)
        if "precondition failed" in text:
            return SessionClosedError(detail)
        return InvalidInputError(detail)
    return TicketboothError(f"{what} failed: {detail}")


class _Upload:
    """What a worker thread's DoPut shares with the thread waiting for it."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.abandoned = False
        self.sent = 0
        self.result: bytes | None = None
        self.error: BaseException | None = None

    def cancel(self) -> None:  # called by the progress deadline
        self.abandoned = True
        self.done.set()


class FlightTransport:
    """Flight calls for one session: its token and session id ride on every call."""

    def __init__(
        self, url: str, token: str, session_id: str, root_certs: bytes | None, timeout: float
    ) -> None:
        self.location = flight_location(url)
        self._root_certs = root_certs
        self._timeout = timeout
        self._options = fl.FlightCallOptions(
            headers=[
                (b"authorization", f"Bearer {token}".encode()),
                (b"x-ticketbooth-session", session_id.encode()),
            ]
        )
        self._client: fl.FlightClient | None = None

    def _flight(self) -> fl.FlightClient:
        if self._client is None:
            certs = {"tls_root_certs": self._root_certs} if self._root_certs else {}
            self._client = fl.FlightClient(self.location, **certs)
        return self._client

    def fetch(self, ticket: bytes, nbytes: int, what: str = "fetch table data") -> pa.Table:
        """DoGet the table behind `ticket`; Ctrl+C or a stall cancels it."""
        progress = Progress(what, self._timeout)
        try:
            reader = self._flight().do_get(fl.Ticket(ticket), self._options)
            batches = []
            with progress, progress_bar(nbytes, what) as bar:
                progress.watch(reader)
                for chunk in _chunks(reader, progress):
                    batches.append(chunk)
                    bar(chunk.nbytes)
            return pa.Table.from_batches(batches, reader.schema)
        except pa.ArrowException as exc:
            if progress.stalled:
                raise progress.error(exc) from None
            raise flight_error(exc, what) from None

    def put(self, reader: pa.RecordBatchReader, limit: int, nbytes: int = 0) -> bytes:
        """DoPut `reader` as a new export of the session; returns the ImportResponse bytes.
        Messages stay under the broker's message `limit` with room for their framing."""
        what = "import table"
        upload = _Upload()
        worker = threading.Thread(
            target=self._put_worker, args=(reader, limit, upload), daemon=True
        )
        with Progress(what, self._timeout) as progress, progress_bar(nbytes, what) as bar:
            progress.watch(upload)
            worker.start()
            shown = 0
            try:
                while not upload.done.wait(0.1):
                    sent = upload.sent
                    if sent != shown:
                        progress.tick()
                        bar(sent - shown)
                        shown = sent
            except BaseException:  # Ctrl+C: the worker stops without the end marker
                upload.abandoned = True
                raise
        if progress.stalled:
            self._client = None  # its blocked call is left to finish on its own
            raise progress.error(TimeoutError())
        if upload.error is not None:
            if isinstance(upload.error, pa.ArrowException):
                raise flight_error(upload.error, what) from None
            raise upload.error
        assert upload.result is not None
        return upload.result

    def _put_worker(self, reader: pa.RecordBatchReader, limit: int, upload: _Upload) -> None:
        chunk_bytes = chunk_budget(limit)
        writer: Any = None
        try:
            descriptor = fl.FlightDescriptor.for_command(IMPORT_COMMAND)
            writer, results = self._flight().do_put(descriptor, reader.schema, self._options)
            rows = 0
            for batch in reader:
                for piece in _arrow.message_sized(batch, chunk_bytes, limit):
                    if upload.abandoned:
                        return  # no end marker: the broker stores nothing
                    writer.write_batch(piece)
                    upload.sent += piece.nbytes
                    rows += piece.num_rows
            writer.write_metadata(pa.py_buffer(END_MARKER + str(rows).encode()))
            writer.done_writing()
            result = results.read()
            if result is None:  # the broker refused the stream: its status says why
                writer, closing = None, writer
                closing.close()
                raise TicketboothError("the broker ended the upload without a result")
            upload.result = result.to_pybytes()
        except BaseException as exc:
            upload.error = exc
        finally:
            if writer is not None:  # ends the call; the broker's refusal of a stream cut
                with contextlib.suppress(pa.ArrowException):  # short adds nothing new
                    writer.close()
            upload.done.set()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _chunks(reader: Any, progress: Progress) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            chunk = reader.read_chunk()
        except StopIteration:
            return
        except KeyboardInterrupt:
            reader.cancel()
            raise
        progress.tick()
        yield chunk.data

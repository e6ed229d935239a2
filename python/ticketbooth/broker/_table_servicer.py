"""gRPC handlers for tables: same-host segment import, and the remote bulk streams.

The bulk streams (PutTable, GetTable) are registered with raw-bytes (de)serializers and
hand-framed chunks (see `_framing`): one copy per message on the way out, none on the way
in. Encoding the next chunk runs in a worker thread while the current one is sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pyarrow as pa

from .. import _arrow, _framing
from .._errors import InvalidInputError, LimitExceededError
from .._proto.v1 import broker_pb2 as pb
from ._servicer import Core, Ctx, refusals
from ._store import BrokerError

log = logging.getLogger("ticketbooth.broker")
SERVICE = "ticketbooth.v1.TableService"


@dataclass(frozen=True)
class Chunk:
    ipc_message: memoryview
    end: bool
    num_rows: int


async def _decoded(raw: AsyncIterator[bytes]) -> AsyncIterator[Chunk]:
    async for message in raw:
        try:
            yield Chunk(*_framing.decode_chunk(message))
        except InvalidInputError as exc:
            raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from exc


def _next_framed(messages: Iterator[pa.Buffer]) -> bytes | None:
    message = next(messages, None)
    return None if message is None else _framing.encode_chunk(message)


class TableServicer:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.store = core.store
        self.shm = core.shm

    def handler(self) -> grpc.GenericRpcHandler[Any, Any]:
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "ImportShm": grpc.unary_unary_rpc_method_handler(
                    self.ImportShm,
                    request_deserializer=pb.ImportShmRequest.FromString,
                    response_serializer=pb.ImportResponse.SerializeToString,
                ),
                "PutTable": grpc.stream_unary_rpc_method_handler(
                    self.PutTable,
                    request_deserializer=None,
                    response_serializer=pb.ImportResponse.SerializeToString,
                ),
                "GetTable": grpc.unary_stream_rpc_method_handler(
                    self.GetTable,
                    request_deserializer=pb.GetTableRequest.FromString,
                    response_serializer=None,
                ),
            },
        )

    @refusals
    async def ImportShm(self, request: pb.ImportShmRequest, context: Ctx) -> Any:
        sid = self.core.session_id(context)
        try:
            name = self.shm.claim_incoming(request.shm_name)
        except ValueError as exc:
            raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from exc
        try:
            self.store.reserve(self.shm.size(name))
            schema, rows = await asyncio.to_thread(_arrow.ipc_file_info, self.shm.file(name))
        except (pa.ArrowInvalid, OSError) as exc:
            self.shm.unlink(name)
            raise BrokerError(
                grpc.StatusCode.INVALID_ARGUMENT, f"segment is not an Arrow IPC file: {exc}"
            ) from exc
        except BrokerError:
            self.shm.unlink(name)
            raise
        return self.core.import_response(sid, self.core.table_object(name, schema, rows))

    @refusals
    async def PutTable(self, request_iterator: AsyncIterator[bytes], context: Ctx) -> Any:
        sid = self.core.session_id(context)
        name = self.shm.new_name("obj")
        try:
            schema, rows = await self._receive(_decoded(request_iterator), self.shm.file(name))
        except BaseException:
            self.shm.unlink(name)
            raise
        return self.core.import_response(sid, self.core.table_object(name, schema, rows))

    async def _receive(self, chunks: AsyncIterator[Chunk], path: str) -> tuple[pa.Schema, int]:
        it = chunks.__aiter__()
        try:
            first = await it.__anext__()
            reader = _arrow.MessageReader(first.ipc_message)
        except StopAsyncIteration:
            raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, "empty table stream") from None
        except ValueError as exc:
            raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from exc
        limit = self.store.limits.max_object_bytes
        ends: list[Chunk] = []

        async def body() -> AsyncIterator[memoryview]:
            """The messages after the schema, up to the end marker, within the size limit."""
            received = 0
            async for chunk in it:
                if chunk.end:
                    ends.append(chunk)
                    return
                received += len(chunk.ipc_message)
                self._check_size(received, limit)
                yield chunk.ipc_message

        if reader.streamed:
            parts = [message async for message in body()]
            self._check_end(ends, None)
            try:
                table = pa.ipc.open_stream(pa.py_buffer(b"".join(parts))).read_all()
            except pa.ArrowInvalid as exc:
                raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from exc
            return _arrow.write_ipc_file(_arrow.as_reader(table), path)
        rows = 0
        sink = _arrow.create_private_file(path)
        with sink, pa.ipc.new_file(sink, reader.schema) as writer:
            async for message in body():
                try:
                    batch = reader.batch(message)
                except ValueError as exc:
                    raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from exc
                writer.write_batch(batch)
                rows += batch.num_rows
        self._check_end(ends, rows)
        return reader.schema, rows

    def _check_end(self, ends: list[Chunk], rows: int | None) -> None:
        """Refuse a stream that stopped early: only a complete table is stored."""
        if not ends:
            raise BrokerError(
                grpc.StatusCode.INVALID_ARGUMENT,
                "the table stream ended without its end marker (cancelled or cut short); "
                "nothing was stored",
            )
        if rows is not None and ends[0].num_rows != rows:
            raise BrokerError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"the table stream announced {ends[0].num_rows} rows but carried {rows}",
            )

    def _check_size(self, received: int, limit: int) -> None:
        if received > limit:
            raise BrokerError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"table exceeds the broker's per-object limit of {limit} bytes",
            )

    async def GetTable(self, request: pb.GetTableRequest, context: Ctx) -> AsyncIterator[Any]:
        try:
            sid = self.core.session_id(context)
            obj, _ = self.store.resolve(sid, request.ticket)
            if obj.type != "Table":
                raise BrokerError(
                    grpc.StatusCode.INVALID_ARGUMENT, f"the ticket holds a {obj.type}, not a Table"
                )
            table = _arrow.read_ipc_file(self.shm.file(obj.shm_name))
        except BrokerError as err:
            await context.abort(err.code, err.message)
        limit = self.store.limits.max_message_bytes
        started = time.monotonic()
        messages = _arrow.encode_messages(_arrow.as_reader(table), limit)

        def ahead() -> asyncio.Task[bytes | None]:
            return asyncio.ensure_future(asyncio.to_thread(_next_framed, messages))

        pending = ahead()
        try:
            # chunk n+1 is encoded in a worker thread while chunk n is being sent
            while (framed := await pending) is not None:
                pending = ahead()
                yield framed
        except LimitExceededError as exc:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
        finally:
            pending.cancel()
        log.debug("sent %d rows in %.3fs", table.num_rows, time.monotonic() - started)

"""gRPC handlers for tables: same-host segment import, and the remote bulk streams.

The bulk streams (PutTable, GetTable) are registered with raw-bytes (de)serializers and
hand-framed chunks (see `_framing`): one copy per message on the way out, none on the way
in. Encoding the next chunk runs in a worker thread while the current one is sent.
"""

from __future__ import annotations

import asyncio
import logging
import os
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
from ._upload import TableUpload
from ._wire import service_handler

log = logging.getLogger("ticketbooth.broker")


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
        """The bulk streams carry hand-framed bytes; ImportShm is a plain message."""
        return service_handler(
            self, "TableService", raw_in=frozenset({"PutTable"}), raw_out=frozenset({"GetTable"})
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
        except BaseException:
            self.shm.unlink(name)
            raise
        return self.core.import_response(sid, self.core.table_object(name, schema, rows))

    @refusals
    async def PutTable(self, request_iterator: AsyncIterator[bytes], context: Ctx) -> Any:
        sid = self.core.session_id(context)
        it = _decoded(request_iterator).__aiter__()
        try:
            first = await it.__anext__()
        except StopAsyncIteration:
            raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, "empty table stream") from None
        upload = TableUpload(self.shm.file(self.shm.new_name("obj")), first.ipc_message)
        try:
            with self.store.budget() as budget:
                end = await self._receive(it, upload, budget)
                schema, rows = await asyncio.to_thread(upload.finish)
            if end.num_rows != rows:
                raise BrokerError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"the table stream announced {end.num_rows} rows but carried {rows}",
                )
        except BaseException:
            await asyncio.shield(asyncio.to_thread(upload.abort))
            raise
        name = os.path.basename(upload.path)
        return self.core.import_response(sid, self.core.table_object(name, schema, rows))

    async def _receive(self, it: AsyncIterator[Chunk], upload: TableUpload, budget: Any) -> Chunk:
        """Feed the messages up to the end marker to `upload`; sizes are checked against the
        limits as they arrive, before anything is written."""
        async for chunk in it:
            if chunk.end:
                return chunk
            budget.grow(len(chunk.ipc_message))
            await asyncio.to_thread(upload.add, chunk.ipc_message)
        raise BrokerError(
            grpc.StatusCode.INVALID_ARGUMENT,
            "the table stream ended without its end marker (cancelled or cut short); "
            "nothing was stored",
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

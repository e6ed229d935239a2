"""gRPC handler for same-host tables: a segment the client wrote into the shm directory.

Remote tables travel over Arrow Flight (`_flight`); this service keeps what only the same
host can do: hand over a file, validated in full before it is stored.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from .. import _segments
from .._proto.v1 import broker_pb2 as pb
from ._refusals import BrokerError
from ._servicer import Core, Ctx, refusals
from ._wire import service_handler


class TableServicer:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.store = core.store
        self.shm = core.shm

    def handler(self) -> grpc.GenericRpcHandler[Any, Any]:
        return service_handler(self, "TableService")

    @refusals
    async def ImportShm(self, request: pb.ImportShmRequest, context: Ctx) -> Any:
        sid = self.core.session_id(context)
        try:
            name = self.shm.claim_incoming(request.shm_name)
        except ValueError as exc:
            raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from exc
        try:
            self.store.reserve(self.shm.size(name))
            schema, rows = await asyncio.to_thread(_segments.segment_info, self.shm.file(name))
        except BaseException:
            self.shm.unlink(name)
            raise
        return self.core.import_response(sid, self.core.table_object(name, schema, rows))

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
from ._import_parts import checked_parts
from ._refusals import BrokerError
from ._segrefs import Segment
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
            size = self.shm.size(name)
            self.store.reserve(size)
            schema, rows = await asyncio.to_thread(_segments.segment_info, self.shm.file(name))
            obj = self.core.table_object(name, schema, rows)
            if request.parts:
                own = Segment(name, size, obj.schema)
                obj.parts, obj.num_rows, obj.nbytes = await checked_parts(
                    self.store, self.shm, sid, own, request.parts, request.shm_name
                )
                self.store.check_object_size(obj.nbytes)  # the whole, not just what is new
        except BaseException:
            self.shm.unlink(name)
            raise
        return self.core.import_response(sid, obj)

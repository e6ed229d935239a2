"""Flight DoPut: where an upload goes (its descriptor), and receiving it.

Descriptors: CMD ``ticketbooth:import`` (a new export of the caller's session; the stream
must end with the ``ticketbooth:end:<rows>`` marker, so a stream cut short is never stored),
PATH ``["export", N]`` (export N, the id chosen by the client, as pydeephaven does), PATH
``[name]`` or CMD = ticket bytes (published there). Other clients' streams are complete when
they end without error (a cancelled call is never stored either).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import grpc

from .. import _framing
from .._errors import InvalidInputError
from .._proto.flight import flight_pb2 as fl
from .._proto.v1 import broker_pb2 as pb
from .._tickets import ExportTicket, ScopeTicket, ticket_from_bytes
from ._ipc_check import BatchChecker
from ._refusals import BrokerError
from ._servicer import Core
from ._upload import TableUpload

IMPORT_COMMAND = b"ticketbooth:import"
END_MARKER = b"ticketbooth:end:"


@dataclass(frozen=True)
class PutTarget:
    export_id: int | None = None  # chosen by the client
    publish: bytes | None = None  # ticket to publish the import to
    marked: bool = False  # the stream must end with END_MARKER


def _refused(message: str) -> BrokerError:
    return BrokerError(grpc.StatusCode.INVALID_ARGUMENT, message)


def put_target(raw: memoryview | None) -> PutTarget:
    """The target named by the first FlightData's descriptor.

    Raises:
        BrokerError: no descriptor, or one that names nothing this broker stores.
    """
    if raw is None:
        raise _refused("the first FlightData of a DoPut must carry a FlightDescriptor")
    try:
        descriptor = fl.FlightDescriptor.FromString(bytes(raw))
    except Exception as exc:
        raise _refused(f"malformed FlightDescriptor: {exc}") from exc
    path, cmd = list(descriptor.path), bytes(descriptor.cmd)
    if descriptor.type == fl.FlightDescriptor.CMD and cmd == IMPORT_COMMAND:
        return PutTarget(marked=True)
    if descriptor.type == fl.FlightDescriptor.PATH and len(path) == 2 and path[0] == "export":
        export_id = _ascii_number(path[1], 10)
        if export_id is None or not 0 < export_id < 2**31:
            raise _refused(f"export id {_cut(path[1])!r} is not a number from 1 to 2**31-1")
        return PutTarget(export_id=export_id)
    try:
        if descriptor.type == fl.FlightDescriptor.PATH and len(path) == 1:
            return PutTarget(publish=ScopeTicket.scope_ticket(path[0]).bytes)
        if descriptor.type == fl.FlightDescriptor.CMD and cmd:
            ticket = ticket_from_bytes(cmd)
            if not isinstance(ticket, ExportTicket):
                return PutTarget(publish=ticket.bytes)
    except InvalidInputError as exc:
        raise _refused(str(exc)) from exc
    raise _refused(
        "a DoPut descriptor names its target: PATH [name] or CMD = a shared or scope "
        "ticket's bytes (publish there), PATH ['export', N], or CMD 'ticketbooth:import'"
    )


def _ascii_number(text: str | bytes, max_digits: int) -> int | None:
    """A number written in at most `max_digits` ASCII digits; None for anything else
    (str.isdigit alone takes other scripts' digits, superscripts, and any length)."""
    if not 0 < len(text) <= max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def _cut(text: str, keep: int = 40) -> str:
    return text if len(text) <= keep else f"{text[:keep]}... ({len(text)} characters)"


def _end_rows(app_metadata: memoryview) -> int | None:
    data = bytes(app_metadata)
    if not data.startswith(END_MARKER):
        return None
    rows = _ascii_number(data[len(END_MARKER) :], 19)
    if rows is None:
        raise _refused(
            f"malformed end marker {data[:40]!r}: it is {END_MARKER!r} followed by the "
            "table's row count in ASCII digits"
        )
    return rows


async def receive(
    core: Core,
    sid: str,
    first: _framing.Frame,
    rest: AsyncIterator[bytes],
    target: PutTarget,
    on_batch: Callable[[], None] | None = None,
) -> pb.ImportResponse:
    """Store the table a DoPut carries as an export of `sid` (validated, within limits);
    `on_batch` is called as each batch arrives (a Deephaven client waits for an ack)."""
    if not first.header:
        raise _refused("the first FlightData of a DoPut must carry the schema")
    path = core.shm.file(core.shm.new_name("obj"))
    upload = TableUpload(path, first.header)
    end: int | None = None
    adding: asyncio.Future[None] | None = None  # batch n is written while n+1 arrives
    try:
        checker = BatchChecker(upload.schema, first.header)
        with core.store.budget() as budget:
            async for raw in rest:
                frame = _framing.decode(raw)
                end = _end_rows(frame.app_metadata) if end is None else end
                if not frame.header:
                    continue
                if end is not None:
                    raise _refused("the stream carried data after its end marker")
                checker.check(frame.header)
                budget.grow(len(frame.header) + len(frame.body))
                if adding is not None:
                    await adding
                adding = asyncio.ensure_future(
                    asyncio.to_thread(upload.add, frame.header, frame.body)
                )
                if on_batch is not None:
                    on_batch()
            if adding is not None:
                await adding
            if target.marked and end is None:
                raise _refused(
                    "the table stream ended without its end marker (cancelled or cut "
                    "short); nothing was stored"
                )
            schema, rows = await asyncio.to_thread(upload.finish)
        if end is not None and end != rows:
            raise _refused(f"the table stream announced {end} rows but carried {rows}")
    except BaseException:
        await asyncio.shield(asyncio.to_thread(upload.abort))
        raise
    obj = core.table_object(os.path.basename(path), schema, rows)
    return core.import_response(sid, obj, export_id=target.export_id)

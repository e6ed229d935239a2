"""Plugin message streams: a subscriber's `PluginClient`, and a publisher's `RequestServer`.

Shaped like pydeephaven's plugin client: the first item of ``resp_stream`` is the object's
payload and references; later items are replies to what was written to ``req_stream`` and
new payloads when the publisher republishes.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from ._errors import LimitExceededError, TicketboothError, TicketNotFoundError, from_rpc_error
from ._proto.v1 import broker_pb2 as pb
from ._tickets import ServerObject, Ticket, as_ticket, ticket_from_bytes

log = logging.getLogger("ticketbooth")
Reply = bytes | tuple[bytes, list[Any]]
RequestHandler = Callable[[bytes, list[Ticket]], Reply]


class PluginError(TicketboothError):
    """A request on a plugin stream failed: no handler, publisher gone, or timeout."""


class _Requests:
    """The request side: ``write(payload, references)`` queues a message."""

    def __init__(self, first: pb.StreamRequest) -> None:
        self._queue: queue.SimpleQueue[pb.StreamRequest | None] = queue.SimpleQueue()
        self._queue.put(first)
        self.closed = False

    def write(self, payload: bytes = b"", references: list[Any] | None = None) -> None:
        if self.closed:
            raise PluginError("this plugin client is closed")
        refs = [as_ticket(r).bytes for r in references or []]
        self._queue.put(pb.StreamRequest(payload=bytes(payload), references=refs))

    def end(self) -> None:
        self.closed = True
        self._queue.put(None)

    def __iter__(self) -> Iterator[pb.StreamRequest]:
        while (item := self._queue.get()) is not None:
            yield item


class _Responses:
    """The response side: iterate for ``(payload, references)``; errors raise PluginError."""

    def __init__(self, call: Any) -> None:
        self._call = call
        self.version = 0

    def __iter__(self) -> _Responses:
        return self

    def __next__(self) -> tuple[bytes, list[ServerObject]]:
        try:
            msg = next(self._call)
        except grpc.RpcError as err:
            if isinstance(err, grpc.Call) and err.code() == grpc.StatusCode.CANCELLED:
                raise StopIteration from None
            raise from_rpc_error(err, "plugin stream") from None
        if msg.kind == "released":
            raise TicketNotFoundError(msg.error)
        if msg.kind == "dropped":  # this client read too slowly; the broker let it go
            raise LimitExceededError(msg.error)
        if msg.error:
            raise PluginError(msg.error)
        if msg.kind == "payload":
            self.version = msg.version
        refs = [ServerObject(r.type, ticket_from_bytes(r.ticket)) for r in msg.references]
        return msg.payload, refs


class PluginClient:
    """A bidirectional message stream to one object (``session.plugin_client(obj)``)."""

    def __init__(self, stub: Any, metadata: tuple[tuple[str, str], ...], obj: Any) -> None:
        self.ticket = as_ticket(obj)
        self.type = getattr(obj, "type", None)
        self.req_stream = _Requests(pb.StreamRequest(ticket=self.ticket.bytes))
        self._call = stub.MessageStream(iter(self.req_stream), metadata=metadata)
        self.resp_stream = _Responses(self._call)

    def close(self) -> None:
        """End the stream (idempotent)."""
        if not self.req_stream.closed:
            self.req_stream.end()
        self._call.cancel()

    def __enter__(self) -> PluginClient:
        return self

    def __repr__(self) -> str:
        state = "closed" if self.req_stream.closed else "open"
        kind = f" {self.type}" if self.type else ""
        return f"<ticketbooth.PluginClient{kind} {self.ticket} {state}>"

    def __exit__(self, *exc: object) -> None:
        self.close()


class RequestServer:
    """Answers subscribers' plugin requests for one published object in a background thread.

    `handler(payload, references)` returns reply bytes (or ``(bytes, refs)``); an exception
    becomes an error reply naming it. Subscribers get a clear error once this is closed.
    """

    def __init__(
        self,
        stub: Any,
        metadata: tuple[tuple[str, str], ...],
        ticket: Ticket,
        handler: RequestHandler,
        timeout: float = 30.0,
    ) -> None:
        self.ticket = ticket
        self._handler = handler
        self._replies: queue.SimpleQueue[pb.HandlerReply | None] = queue.SimpleQueue()
        self._replies.put(pb.HandlerReply(ticket=ticket.bytes))
        self._call = stub.ServeObject(self._reply_iter(), metadata=metadata)
        self.error: TicketboothError | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ticketbooth-serve", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self.error is not None:
            self.close()
            raise self.error or PluginError("the broker did not register the request handler")

    def _reply_iter(self) -> Iterator[pb.HandlerReply]:
        while (item := self._replies.get()) is not None:
            yield item

    def _answer(self, req: pb.HandlerRequest) -> pb.HandlerReply:
        try:
            refs = [ticket_from_bytes(r) for r in req.references]
            result = self._handler(req.payload, refs)
            payload = result[0] if isinstance(result, tuple) else result
            return pb.HandlerReply(request_id=req.request_id, payload=bytes(payload))
        except Exception as exc:
            log.warning("plugin request handler failed: %r", exc)
            error = f"the publisher's handler failed: {type(exc).__name__}: {exc}"
            return pb.HandlerReply(request_id=req.request_id, error=error)

    def _run(self) -> None:
        try:
            for req in self._call:
                if req.request_id == 0:
                    self._ready.set()
                    continue
                self._replies.put(self._answer(req))
        except grpc.RpcError as err:
            if not (isinstance(err, grpc.Call) and err.code() == grpc.StatusCode.CANCELLED):
                self.error = from_rpc_error(err, "serve requests")
                log.warning("ticketbooth: %s", self.error)
        finally:
            self._ready.set()

    def close(self) -> None:
        self._replies.put(None)
        self._call.cancel()
        self._thread.join(timeout=5)

    def __enter__(self) -> RequestServer:
        return self

    def __repr__(self) -> str:
        state = "failed" if self.error else "serving" if self._thread.is_alive() else "closed"
        return f"<ticketbooth.RequestServer {state} {self.ticket}>"

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Registering the services: every request is parsed by the broker itself, so bytes that are
not the expected message get INVALID_ARGUMENT with a message, never UNKNOWN and a traceback
in the log. Built from the proto's service descriptors: one place for every method.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message_factory import GetMessageClass

from .._proto.v1 import broker_pb2 as pb
from ._servicer import Ctx


class Malformed:
    """Stands in for a request that did not parse; the handler wrapper refuses it."""

    def __init__(self, type_name: str, exc: Exception) -> None:
        hint = (
            "use pydeephaven, or stubs generated from Deephaven's protos"
            if type_name.startswith("io.deephaven.")
            else "use the ticketbooth client, or stubs generated from "
            "proto/ticketbooth/v1/broker.proto"
        )
        self.message = f"malformed request: the bytes are not a {type_name} message ({exc}); {hint}"


def _parser(cls: Any) -> Callable[[bytes], Any]:
    name = cls.DESCRIPTOR.full_name

    def parse(raw: bytes) -> Any:
        try:
            return cls.FromString(raw)
        except Exception as exc:  # DecodeError, or anything a hostile message provokes
            return Malformed(name, exc)

    return parse


async def _refuse_malformed(request: Any, context: Ctx) -> None:
    if isinstance(request, Malformed):
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.message)


async def _checked(requests: AsyncIterator[Any], context: Ctx) -> AsyncIterator[Any]:
    async for request in requests:
        await _refuse_malformed(request, context)
        yield request


def _wrap(method: MethodDescriptor, fn: Callable[..., Any]) -> Callable[..., Any]:
    if method.client_streaming and method.server_streaming:

        async def stream_stream(requests: AsyncIterator[Any], context: Ctx) -> AsyncIterator[Any]:
            async for response in fn(_checked(requests, context), context):
                yield response

        return stream_stream
    if method.client_streaming:

        async def stream_unary(requests: AsyncIterator[Any], context: Ctx) -> Any:
            return await fn(_checked(requests, context), context)

        return stream_unary
    if method.server_streaming:

        async def unary_stream(request: Any, context: Ctx) -> AsyncIterator[Any]:
            await _refuse_malformed(request, context)
            async for response in fn(request, context):
                yield response

        return unary_stream

    async def unary_unary(request: Any, context: Ctx) -> Any:
        await _refuse_malformed(request, context)
        return await fn(request, context)

    return unary_unary


_KINDS = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def service_handler(
    servicer: Any,
    service: str,
    module: Any = pb,
    raw_in: frozenset[str] = frozenset(),
    raw_out: frozenset[str] = frozenset(),
    missing: Callable[[MethodDescriptor], Callable[..., Any]] | None = None,
) -> grpc.GenericRpcHandler[Any, Any]:
    """Handlers for every method of `service` (e.g. "SessionService") found on `servicer`;
    `module` holds the service's generated messages (ticketbooth's, Flight's subset, or
    Deephaven's).

    Methods named in `raw_in`/`raw_out` take/return bytes framed by hand (see `_framing`);
    their handlers parse (and refuse) what they receive themselves. A method the servicer
    lacks is served by `missing(method)` (which refuses it with a message); without
    `missing`, every method must be there.
    """
    descriptor = module.DESCRIPTOR.services_by_name[service]
    handlers = {}
    for method in descriptor.methods:
        make = _KINDS[(method.client_streaming, method.server_streaming)]
        raw = method.name in raw_in
        fn = getattr(servicer, method.name, None)
        if fn is None and missing is not None:
            fn = missing(method)
        if fn is None:
            raise AttributeError(f"{type(servicer).__name__} lacks {service}.{method.name}")
        handlers[method.name] = make(
            fn if raw else _wrap(method, fn),
            request_deserializer=None if raw else _parser(GetMessageClass(method.input_type)),
            response_serializer=None if method.name in raw_out else _serialize,
        )
    return grpc.method_handlers_generic_handler(descriptor.full_name, handlers)


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())

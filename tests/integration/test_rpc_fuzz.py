"""A fuzz of every RPC of every service with random and mutated messages: each gets a status
with a message (never UNKNOWN or INTERNAL), the log holds no traceback, the broker stays up,
and what was published before is intact."""

from __future__ import annotations

import random
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor

from tests.integration.conftest import Published, RawClient, assert_intact
from ticketbooth._proto.v1 import broker_pb2 as pb

METHODS: list[MethodDescriptor] = [
    m for service in pb.DESCRIPTOR.services_by_name.values() for m in service.methods
]
SEEDS = 25
FORBIDDEN = (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNIMPLEMENTED)


def samples(method: MethodDescriptor, rng: random.Random) -> Iterator[bytes]:
    """Random bytes, and valid messages of the method's input type with bytes mutated."""
    cls = getattr(pb, method.input_type.name)
    valid = cls()
    for field in cls.DESCRIPTOR.fields:
        if field.is_repeated:
            continue
        if field.type == field.TYPE_BYTES:
            setattr(
                valid,
                field.name,
                rng.choice([b"h" + rng.randbytes(16), b"s/sales", b"e\x01\0\0\0"]),
            )
        elif field.type == field.TYPE_STRING:
            setattr(
                valid, field.name, "Figure" if field.name == "type" else "x" * rng.randint(0, 9)
            )
        elif field.type in (field.TYPE_INT32, field.TYPE_INT64, field.TYPE_BOOL):
            setattr(valid, field.name, rng.randint(0, 1))
    base = valid.SerializeToString() or b"\x0a\x00"
    for _ in range(SEEDS):
        yield rng.randbytes(rng.randint(1, 64))
        mutated = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        yield bytes(mutated)


def call(raw: RawClient, method: MethodDescriptor, message: bytes) -> grpc.StatusCode:
    path = f"/{method.containing_service.full_name}/{method.name}"
    kinds = {
        (False, False): raw.channel.unary_unary,
        (False, True): raw.channel.unary_stream,
        (True, False): raw.channel.stream_unary,
        (True, True): raw.channel.stream_stream,
    }
    stub = kinds[(method.client_streaming, method.server_streaming)](
        path, request_serializer=None, response_deserializer=None
    )
    request = iter([message, message]) if method.client_streaming else message
    try:
        result = stub(request, metadata=raw.metadata, timeout=3)
        if method.server_streaming:
            for _ in result:
                pass
    except grpc.RpcError as err:
        if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED:  # a stream left open by design
            return err.code()
        assert err.code() not in FORBIDDEN, f"{path}: {err.code()} {err.details()}"
        assert err.details(), f"{path}: {err.code()} without a message"
        return err.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name)
def test_random_and_mutated_messages(
    published: Published, raw: RawClient, method: MethodDescriptor
) -> None:
    rng = random.Random(f"ticketbooth-{method.full_name}")
    codes = [call(raw, method, message) for message in samples(method, rng)]
    assert len(codes) == 2 * SEEDS
    print(method.name, {c.name: codes.count(c) for c in set(codes)})
    log = (published.broker.runtime_dir / "ticketbooth-broker.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    assert_intact(published)

"""The hand-framed messages are byte-for-byte arrow.flight.protocol.FlightData messages."""

import pyarrow as pa
import pytest

from ticketbooth import InvalidInputError
from ticketbooth._framing import decode, encode, ipc_message, ipc_parts
from ticketbooth._proto.flight import flight_pb2 as fl

BATCH = pa.record_batch({"a": pa.array(range(1000)), "s": [str(i) for i in range(1000)]})


@pytest.mark.parametrize(
    ("header", "body", "app_metadata"),
    [(b"h" * 10, b"b" * 300, b""), (b"h", b"", b""), (b"", b"", b"end"), (b"x" * 200, b"y", b"m")],
)
def test_encode_is_the_generated_message(header: bytes, body: bytes, app_metadata: bytes) -> None:
    framed = encode(header, body, app_metadata)
    generated = fl.FlightData(data_header=header, data_body=body, app_metadata=app_metadata)
    assert framed == generated.SerializeToString()
    frame = decode(generated.SerializeToString())
    assert (bytes(frame.header), bytes(frame.body), bytes(frame.app_metadata)) == (
        header,
        body,
        app_metadata,
    )


def test_decode_keeps_the_descriptor_and_copies_nothing() -> None:
    descriptor = fl.FlightDescriptor(type=fl.FlightDescriptor.PATH, path=["sales"])
    raw = fl.FlightData(flight_descriptor=descriptor, data_body=b"z" * 1000).SerializeToString()
    frame = decode(raw)
    assert frame.descriptor is not None
    assert fl.FlightDescriptor.FromString(bytes(frame.descriptor)).path == ["sales"]
    assert frame.body.obj is raw  # a view of the received bytes


def test_ipc_message_round_trip() -> None:
    message = BATCH.serialize()
    header, body = ipc_parts(message)
    rebuilt = ipc_message(header, body)
    assert pa.ipc.read_record_batch(pa.py_buffer(rebuilt), BATCH.schema).equals(BATCH)
    odd_header = bytes(header)[:-3]  # a header whose length is not a multiple of 8 is padded
    assert len(ipc_message(memoryview(odd_header), body)) % 8 == len(body) % 8


@pytest.mark.parametrize(
    "raw", [b"\x12\x05ab", b"\x12", b"\x0f", b"\xc2\x3e\xff\xff\xff\xff\x0f"], ids=repr
)
def test_malformed_frames_are_refused(raw: bytes) -> None:
    with pytest.raises(InvalidInputError, match="malformed FlightData"):
        decode(raw)


def test_not_an_ipc_message() -> None:
    with pytest.raises(InvalidInputError):
        ipc_parts(b"garbage!")

"""The hand-framed chunks are byte-for-byte ticketbooth.v1.TableChunk messages."""

import pyarrow as pa
import pytest

from ticketbooth import InvalidInputError
from ticketbooth._framing import decode_chunk, encode_chunk, encode_end
from ticketbooth._proto.v1 import broker_pb2 as pb


@pytest.mark.parametrize("size", [0, 1, 127, 128, 300, 70_000, 4 << 20])
def test_chunks_match_protobuf(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    framed = encode_chunk(pa.py_buffer(payload))
    assert pb.TableChunk.FromString(framed).ipc_message == payload
    assert framed == pb.TableChunk(ipc_message=payload).SerializeToString() or size == 0
    message, end, rows = decode_chunk(pb.TableChunk(ipc_message=payload).SerializeToString())
    assert bytes(message) == payload and (end, rows) == (False, 0)


@pytest.mark.parametrize("rows", [0, 1, 300, 10_000_000, 2**40])
def test_end_marker_matches_protobuf(rows: int) -> None:
    framed = encode_end(rows)
    msg = pb.TableChunk.FromString(framed)
    assert (msg.end, msg.num_rows, msg.ipc_message) == (True, rows, b"")
    assert decode_chunk(pb.TableChunk(end=True, num_rows=rows).SerializeToString())[1:] == (
        True,
        rows,
    )


def test_decoding_does_not_copy() -> None:
    raw = encode_chunk(b"abcdef")
    message, _, _ = decode_chunk(raw)
    assert message.obj is raw


BAD = [b"\x0a\x05ab", b"\x0a", b"\x0a" + b"\xff" * 10, b"\x0b"]


@pytest.mark.parametrize("raw", BAD)
def test_malformed(raw: bytes) -> None:
    with pytest.raises(InvalidInputError, match="malformed table chunk"):
        decode_chunk(raw)

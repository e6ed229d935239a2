"""Hand framing of `TableChunk` messages for the bulk table streams.

GetTable and PutTable carry megabytes per message. Going through protobuf objects costs
three copies per message on the sender and one on the receiver; framing the bytes by hand
costs one copy (a single ``b"".join``) and none on the receiver, where record batches
reference the received bytes. The bytes on the wire are exactly those of
``ticketbooth.v1.TableChunk`` (tests check both ways), so other clients can use the proto.
"""

from __future__ import annotations

from typing import Any

from ._errors import InvalidInputError

_IPC_MESSAGE = 0x0A  # field 1, length-delimited
_END = 0x10  # field 2, varint
_NUM_ROWS = 0x18  # field 3, varint


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(data: memoryview, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise InvalidInputError("malformed table chunk: truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def encode_chunk(payload: Any) -> bytes:
    """A TableChunk holding `payload` (any bytes-like object), built with one copy."""
    size = memoryview(payload).nbytes
    return b"".join((bytes((_IPC_MESSAGE,)), _varint(size), payload))


def encode_end(num_rows: int) -> bytes:
    """The end marker of a PutTable stream: ``TableChunk(end=True, num_rows=...)``."""
    return bytes((_END, 1, _NUM_ROWS)) + _varint(num_rows)


def decode_chunk(raw: bytes) -> tuple[memoryview, bool, int]:
    """(ipc_message, end, num_rows) of a serialized TableChunk, without copying the message."""
    data = memoryview(raw)
    pos, message, end, rows = 0, data[:0], False, 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
            if field == 2:
                end = bool(value)
            elif field == 3:
                rows = value
        elif wire == 2:
            length, pos = _read_varint(data, pos)
            if pos + length > len(data):
                raise InvalidInputError("malformed table chunk: truncated message")
            if field == 1:
                message = data[pos : pos + length]
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise InvalidInputError(f"malformed table chunk: wire type {wire}")
    return message, end, rows

"""Hand framing of Arrow Flight's `FlightData` for the broker's bulk streams.

DoGet and DoPut carry megabytes per message. Building protobuf objects costs copies of every
body; framing by hand costs one (a single ``b"".join`` of zero-copy parts) on the way out and
none on the way in, where the fields are memoryview slices of the received bytes. The bytes
are exactly those of ``arrow.flight.protocol.FlightData`` (proto/arrow/flight/protocol/
flight.proto; tests check both ways), so any Flight client reads and writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._errors import InvalidInputError

_DESCRIPTOR = 0x0A  # field 1, length-delimited
_HEADER = 0x12  # field 2
_APP_METADATA = 0x1A  # field 3
_BODY = b"\xc2\x3e"  # field 1000, length-delimited
_CONTINUATION = b"\xff\xff\xff\xff"


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
            raise InvalidInputError("malformed FlightData: truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def encode(header: Any = b"", body: Any = b"", app_metadata: bytes = b"") -> bytes:
    """A FlightData holding an IPC message's `header` (flatbuffer) and `body`, one copy."""
    parts: list[Any] = []
    for tag, value in ((bytes((_HEADER,)), header), (bytes((_APP_METADATA,)), app_metadata)):
        size = memoryview(value).nbytes
        if size:
            parts += [tag, _varint(size), value]
    size = memoryview(body).nbytes
    if size:
        parts += [_BODY, _varint(size), body]
    return b"".join(parts)


@dataclass(frozen=True)
class Frame:
    """The fields of one FlightData (memoryviews of the received bytes, not copies)."""

    descriptor: memoryview | None
    header: memoryview
    app_metadata: memoryview
    body: memoryview


def decode(raw: bytes) -> Frame:
    """The fields of a serialized FlightData, without copying any of them.

    Raises:
        InvalidInputError: the bytes are not a FlightData message.
    """
    data = memoryview(raw)
    fields: dict[int, memoryview] = {}
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = _read_varint(data, pos)
        elif wire == 2:
            length, pos = _read_varint(data, pos)
            if pos + length > len(data):
                raise InvalidInputError("malformed FlightData: a field runs past the message")
            fields[field] = data[pos : pos + length]
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise InvalidInputError(f"malformed FlightData: wire type {wire}")
    if pos != len(data):
        raise InvalidInputError("malformed FlightData: truncated field")
    empty = data[:0]
    return Frame(fields.get(1), fields.get(2, empty), fields.get(3, empty), fields.get(1000, empty))


def ipc_parts(message: Any) -> tuple[memoryview, memoryview]:
    """Split an encapsulated IPC message (continuation, length, flatbuffer, body) into the
    flatbuffer and the body, as zero-copy views."""
    data = memoryview(message).cast("B")
    if bytes(data[:4]) != _CONTINUATION or len(data) < 8:
        raise InvalidInputError("not an encapsulated Arrow IPC message")
    size = int.from_bytes(data[4:8], "little")
    if 8 + size > len(data):
        raise InvalidInputError("Arrow IPC message shorter than its metadata length")
    return data[8 : 8 + size], data[8 + size :]


def ipc_prefix(header_size: int) -> tuple[bytes, bytes]:
    """What goes before and after a flatbuffer header of this size in an encapsulated IPC
    message: the continuation and length, and the padding to 8 bytes."""
    pad = -header_size % 8
    return _CONTINUATION + (header_size + pad).to_bytes(4, "little"), b"\0" * pad


def ipc_message(header: memoryview, body: memoryview) -> bytes:
    """The encapsulated IPC message of a FlightData's header and body (one copy)."""
    prefix, pad = ipc_prefix(len(header))
    return b"".join((prefix, header, pad, body))

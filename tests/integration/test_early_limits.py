"""Limits before buffering: uploads are refused as their bytes arrive, not after the broker
has held (or written) all of them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import grpc
import pyarrow as pa
import pytest

from tests.conftest import BrokerProcess, start_broker
from tests.integration.conftest import (
    RawClient,
    assert_intact,
    flight_frames,
    publish_reference,
    rpc_error,
)
from ticketbooth._objects import MimeBundle
from ticketbooth._proto.v1 import broker_pb2 as pb

MiB = 1 << 20
CHUNKS = 56


class Counted:
    """A request stream that counts how many of its messages the broker pulled."""

    def __init__(self, messages: Iterator[object]) -> None:
        self.sent = 0
        self._messages = messages

    def __iter__(self) -> Iterator[object]:
        for message in self._messages:
            self.sent += 1
            yield message


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[BrokerProcess]:
    b = start_broker(tmp_path / "rt", "--max-store-bytes", "8MiB", "--max-object-bytes", "6MiB")
    yield b
    b.stop()


def test_garbage_object_refused_at_its_first_chunk(broker: BrokerProcess, raw: RawClient) -> None:
    """56 MB that is not a bundle: refused after the first chunk (it took the broker from
    115 to 230 MB before)."""
    chunks = Counted(pb.ObjectChunk(type="Figure", data=os.urandom(MiB)) for _ in range(CHUNKS))
    err = rpc_error(lambda: raw.objects.PutObject(iter(chunks), metadata=raw.metadata, timeout=30))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "bad magic" in err.details()
    assert chunks.sent < 10, f"the broker read {chunks.sent} of {CHUNKS} chunks first"


def test_object_announcing_too_much_refused_at_once(limited: BrokerProcess) -> None:
    raw = RawClient(limited)
    wire = MimeBundle({"text/plain": "x" * (7 * MiB)}, {}).to_wire()
    pieces = [wire[i : i + MiB] for i in range(0, len(wire), MiB)]
    chunks = Counted(
        pb.ObjectChunk(type="Figure" if i == 0 else "", data=p) for i, p in enumerate(pieces)
    )
    err = rpc_error(lambda: raw.objects.PutObject(iter(chunks), metadata=raw.metadata, timeout=30))
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "per-object limit" in err.details()
    assert chunks.sent < len(pieces)
    raw.close()


def test_table_over_the_store_limit_refused_as_it_arrives(limited: BrokerProcess) -> None:
    """Nothing beyond the limit is written to shared memory, and what was published stays."""
    pub = publish_reference(limited)
    raw = RawClient(limited)
    schema = pa.schema([("x", pa.int64())])
    batch = pa.record_batch([pa.array(range(MiB // 8), pa.int64())], schema=schema)
    message = batch.serialize().to_pybytes()
    chunks = Counted(iter(flight_frames(schema, [message] * CHUNKS, CHUNKS * batch.num_rows)))
    err = rpc_error(raw.do_put, chunks)
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "limit" in err.details()
    assert chunks.sent < 20, f"the broker read {chunks.sent} of {CHUNKS + 2} messages first"
    shm = Path(raw.server.shm_dir)
    assert len(list(shm.glob("obj-*.arrow"))) == 2, "a partial upload was left in shm"
    assert_intact(pub)
    raw.close()
    pub.session.close()

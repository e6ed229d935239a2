"""Bad data never reaches a subscriber: every table the broker accepts (Flight DoPut and
same-host ImportShm) passes a full validation; dictionaries at any depth and differing
dictionaries per batch travel both paths."""

from __future__ import annotations

import os
import random
import secrets
import struct
from pathlib import Path

import grpc
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess, run_child
from tests.integration.conftest import (
    Published,
    RawClient,
    assert_intact,
    flight_frames,
    rpc_error,
    shm_files,
)
from ticketbooth._framing import ipc_message, ipc_parts
from ticketbooth._proto.v1 import broker_pb2 as pb


def bad_offsets_batch() -> tuple[pa.Schema, bytes]:
    """A string batch whose last offset points far past its data buffer (parses fine;
    reading the values would read out of bounds)."""
    batch = pa.record_batch([pa.array(["aa", "bb", "cc"])], names=["s"])
    message = batch.serialize().to_pybytes()
    good = struct.pack("<4i", 0, 2, 4, 6)
    assert message.count(good) == 1
    return batch.schema, message.replace(good, struct.pack("<4i", 0, 2, 4, 100_000))


def put_table(
    raw: RawClient, schema: pa.Schema, messages: list[bytes], rows: int
) -> pb.ImportResponse:
    return raw.do_put(flight_frames(schema, messages, rows))


def test_remote_batch_with_offsets_past_its_buffer_is_refused(
    published: Published, raw: RawClient
) -> None:
    schema, message = bad_offsets_batch()
    before = shm_files(published.session)
    err = rpc_error(put_table, raw, schema, [message], 3)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed record batch refused" in err.details()
    assert "offset" in err.details().lower()
    assert shm_files(published.session) == before
    assert_intact(published)


def test_same_host_segment_with_offsets_past_its_buffer_is_refused(
    published: Published, raw: RawClient
) -> None:
    schema, message = bad_offsets_batch()
    shm_dir = Path(raw.server.shm_dir)
    name = f"in-{secrets.token_hex(16)}.arrow"
    with pa.OSFile(str(shm_dir / name), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        writer.write_batch(pa.ipc.read_record_batch(pa.py_buffer(message), schema))
    os.chmod(shm_dir / name, 0o600)
    err = rpc_error(raw.call, raw.tables.ImportShm, pb.ImportShmRequest(shm_name=name))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed record batch refused" in err.details()
    assert name not in os.listdir(shm_dir), "the refused segment was kept"
    assert_intact(published)


FUZZ_CASES = 300


def test_mutated_batches_never_crash_a_subscriber(
    broker: BrokerProcess, published: Published, raw: RawClient
) -> None:
    """300 batches with random bytes flipped: whatever the broker accepts, a subscriber in
    another process reads every value of, on both paths, without crashing."""
    rng = random.Random(20261201)
    table = pa.table(
        {
            "i": pa.array(range(64), pa.int64()),
            "s": [f"row-{i}" * (i % 4) for i in range(64)],
            "l": [[i, i + 1][: i % 3] for i in range(64)],
            "f": [i / 7 for i in range(64)],
            "b": [i % 2 == 0 for i in range(64)],
        }
    )
    header, body = (bytes(p) for p in ipc_parts(table.to_batches()[0].serialize()))
    accepted: list[str] = []
    refused = 0
    for _ in range(FUZZ_CASES):
        mutated = bytearray(header + body)  # what a FlightData carries: header and body
        for _ in range(rng.randint(1, 8)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        parts = (bytes(mutated[: len(header)]), bytes(mutated[len(header) :]))
        try:
            message = pa.py_buffer(ipc_message(*map(memoryview, parts)))
            rows = pa.ipc.read_record_batch(message, table.schema).num_rows
        except (pa.ArrowInvalid, OSError):
            rows = 64
        try:
            resp = raw.do_put(flight_frames(table.schema, [parts], rows))
        except grpc.RpcError as err:
            assert err.code() in (grpc.StatusCode.INVALID_ARGUMENT,), err.details()
            refused += 1
            continue
        shared = tb.SharedTicket.random_ticket()
        raw.call(
            raw.sessions.Publish,
            pb.PublishRequest(source_ticket=resp.export_ticket, result_ticket=shared.bytes),
        )
        accepted.append(str(shared))
    assert refused > 0 and accepted, (refused, len(accepted))
    print(f"mutated batches: {refused} refused, {len(accepted)} accepted and read back")
    out = run_child(
        f"""
        import ticketbooth as tb
        for remote in (False, True):
            with tb.Session(force_remote=remote) as s:
                for text in {accepted!r}:
                    s.fetch_table(text).to_arrow().to_pylist()
        print("read", {len(accepted)})
        """,
        broker.env,
        timeout=120,
    )
    assert f"read {len(accepted)}" in out
    assert_intact(published)


def dictionary_tables(tmp_path: Path) -> dict[str, pa.Table]:
    strings = pa.dictionary(pa.int32(), pa.string())
    path = tmp_path / "rowgroups.parquet"
    plain = pa.table({"k": [f"v{i % 7}" for i in range(1000)], "x": range(1000)})
    pq.write_table(plain, path, row_group_size=100)
    differing = pq.read_table(path, read_dictionary=["k"])
    d0, d1 = differing.column("k").chunk(0).dictionary, differing.column("k").chunk(1).dictionary
    assert d0 != d1, "the parquet row groups should carry different dictionaries"
    return {
        "list<dictionary<string>>": pa.table(
            {"tags": pa.array([["a", "b"], [], ["c", "a"], None], pa.list_(strings))}
        ),
        "struct<dictionary>": pa.table(
            {"p": pa.array([{"k": "x"}, {"k": "y"}, None], pa.struct([("k", strings)]))}
        ),
        "batches with different dictionaries": differing,
    }


@pytest.mark.parametrize("remote", [False, True], ids=["same-host", "remote"])
def test_dictionaries_nested_and_differing_per_batch(
    broker: BrokerProcess, tmp_path: Path, remote: bool
) -> None:
    with tb.Session(force_remote=remote) as pub, tb.Session(force_remote=remote) as sub:
        for name, table in dictionary_tables(tmp_path).items():
            ticket = tb.SharedTicket.random_ticket()
            pub.publish_table(table, ticket)
            got = sub.fetch_table(ticket).to_arrow()
            assert got.schema == table.schema, name
            assert got.to_pylist() == table.to_pylist(), name

"""Every Arrow type of the type matrix crosses every path exactly: same host (shared memory),
a Session's remote path (Arrow Flight), and a stock pyarrow FlightClient fetching it."""

from __future__ import annotations

import datetime
import decimal
import math
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as flight
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess, start_broker


def cases() -> Iterator[tuple[str, pa.Array]]:
    n = [1, None, 3]
    yield "null", pa.array([None, None, None], pa.null())
    ints = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
    for t in ints:
        yield t, pa.array(n, getattr(pa, t)())
    yield "float16", pa.array([1.5, None, -2.0], pa.float16())
    yield "float32", pa.array([1.5, None, float("nan")], pa.float32())
    yield "float64", pa.array([1.5, None, float("inf")], pa.float64())
    yield "bool", pa.array([True, None, False])
    yield "string", pa.array(["a", None, "ü€"])
    yield "large_string", pa.array(["a", None, "b"], pa.large_string())
    yield "string_view", pa.array(["a", None, "a longer string than twelve"], pa.string_view())
    yield "binary", pa.array([b"\x00", None, b"xy"])
    yield "large_binary", pa.array([b"\x00", None, b"xy"], pa.large_binary())
    yield "binary_view", pa.array([b"\x00", None, b"xy" * 20], pa.binary_view())
    yield "fixed_size_binary", pa.array([b"ab", None, b"cd"], pa.binary(2))
    dec = [decimal.Decimal("1.23"), None, decimal.Decimal("-4.56")]
    yield "decimal128", pa.array(dec, pa.decimal128(5, 2))
    yield "decimal256", pa.array(dec, pa.decimal256(40, 2))
    days = [datetime.date(2026, 12, 1), None, datetime.date(1970, 1, 1)]
    yield "date32", pa.array(days, pa.date32())
    yield "date64", pa.array(days, pa.date64())
    yield "time32[s]", pa.array(n, pa.time32("s"))
    yield "time64[ns]", pa.array(n, pa.time64("ns"))
    yield "timestamp[us, UTC]", pa.array(n, pa.timestamp("us", tz="UTC"))
    yield "timestamp[ns]", pa.array(n, pa.timestamp("ns"))
    yield "duration[ms]", pa.array(n, pa.duration("ms"))
    yield "interval", pa.array([(1, 2, 3), None, (0, 0, 0)], pa.month_day_nano_interval())
    yield "list<int64>", pa.array([[1, 2], None, []])
    yield "large_list", pa.array([[1, 2], None, []], pa.large_list(pa.int64()))
    yield "fixed_size_list", pa.array([[1, 2], None, [3, 4]], pa.list_(pa.int64(), 2))
    yield "list_view", pa.array([[1, 2], None, []], pa.list_view(pa.int64()))
    yield "struct", pa.array([{"x": 1, "y": "a"}, None, {"x": None, "y": "c"}])
    yield "map", pa.array([[("a", 1)], None, []], pa.map_(pa.string(), pa.int64()))
    codes = pa.array([0, 1, 0], pa.int8())
    offsets = pa.array([0, 0, 1], pa.int32())
    yield (
        "dense_union",
        pa.UnionArray.from_dense(codes, offsets, [pa.array([1, 2]), pa.array(["x"])]),
    )
    yield (
        "sparse_union",
        pa.UnionArray.from_sparse(codes, [pa.array([1, 2, 3]), pa.array(["x", "y", "z"])]),
    )
    yield "dictionary", pa.array(["a", None, "a"]).dictionary_encode()
    strings = pa.dictionary(pa.int32(), pa.string())
    yield "list<dictionary>", pa.array([["a"], None, ["b", "a"]], pa.list_(strings))
    yield "run_end_encoded", pa.RunEndEncodedArray.from_arrays([2, 3], pa.array([7, 8]))
    ids = pa.array([uuid.UUID(int=1).bytes, None, uuid.UUID(int=2).bytes], pa.binary(16))
    yield "uuid (extension)", pa.ExtensionArray.from_storage(pa.uuid(), ids)
    yield "struct<list<struct>>", pa.array([{"l": [{"v": 1}]}, None, {"l": []}])


CASES = dict(cases())


@pytest.fixture(scope="module")
def shared_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    b = start_broker(Path(tmp_path_factory.mktemp("types")) / "rt", "--port", "0")
    yield b
    b.stop()


def same(a: pa.Table, b: pa.Table) -> bool:
    """Table equality in which NaN equals NaN (Table.equals says it does not)."""

    def normal(value: object) -> object:
        return "NaN" if isinstance(value, float) and math.isnan(value) else value

    rows = [[normal(v) for v in row.values()] for row in a.to_pylist()]
    return a.schema == b.schema and rows == [[normal(v) for v in r.values()] for r in b.to_pylist()]


def table_of(array: pa.Array) -> pa.Table:
    return pa.table({"id": pa.array(range(len(array)), pa.int32()), "c": array})


@pytest.mark.parametrize("name", list(CASES))
def test_every_type_crosses_every_path(shared_broker: BrokerProcess, name: str) -> None:
    b = shared_broker
    table = table_of(CASES[name])
    assert b.tcp_url is not None
    client = flight.FlightClient(f"grpc+tcp://{b.tcp_url}")
    auth = flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {b.token}".encode())])
    for publisher_remote in (False, True):
        with tb.Session(b.url, token=b.token, force_remote=publisher_remote) as pub:
            ticket = tb.SharedTicket.random_ticket()
            pub.publish_table(table, ticket)
            for remote in (False, True):
                with tb.Session(b.url, token=b.token, force_remote=remote) as sub:
                    got = sub.fetch_table(ticket).to_arrow()
                    assert same(got, table), (name, publisher_remote, remote, got)
            stock = client.do_get(flight.Ticket(ticket.bytes), auth).read_all()
            assert same(stock, table), (name, publisher_remote, "pyarrow FlightClient")
    client.close()

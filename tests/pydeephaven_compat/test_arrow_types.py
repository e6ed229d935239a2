"""import_table -> to_arrow keeps every Arrow type pydeephaven sends (pydeephaven/_arrow.py's
map_arrow_type), with nulls, as pydeephaven's own tests/test_arrow_types.py checks on a
Deephaven server."""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from pydeephaven import _arrow as dh_arrow
from pydeephaven.ticket import SharedTicket

import ticketbooth as tb
from tests.conftest import BrokerProcess, run_child
from tests.pydeephaven_compat.conftest import PSK, Clients, same

MASK = np.array([False, True, False])  # the middle row is null


def _float16() -> pa.Array:
    return pa.array(np.array([1.5, 0.0, -2.5], dtype=np.float16), pa.float16(), mask=MASK)


def _dense_union() -> pa.Array:
    return pa.UnionArray.from_dense(
        pa.array([0, 1, 0, 1], pa.int8()),
        pa.array([0, 0, 1, 1], pa.int32()),
        [pa.array(["x", None]), pa.array([10, None], pa.int64())],
        field_names=["str", "int"],
        type_codes=[0, 1],
    )


def _sparse_union() -> pa.Array:
    return pa.UnionArray.from_sparse(
        pa.array([1, 0, 1], pa.int8()),
        [pa.array(["m", "n", None]), pa.array([7, None, 9], pa.int64())],
        field_names=["str", "int"],
        type_codes=[0, 1],
    )


def _plain(values: list[object], type_: pa.DataType) -> Callable[[], pa.Array]:
    return lambda: pa.array(values, type_)


DAY_MS = 86_400_000

#: the types map_arrow_type gives a Deephaven type, each with data and a null
MAPPED: dict[str, tuple[pa.DataType, Callable[[], pa.Array]]] = {
    "null": (pa.null(), _plain([None, None, None], pa.null())),
    "bool": (pa.bool_(), _plain([True, None, False], pa.bool_())),
    "int8": (pa.int8(), _plain([-128, None, 127], pa.int8())),
    "int16": (pa.int16(), _plain([-(2**15), None, 2**15 - 1], pa.int16())),
    "int32": (pa.int32(), _plain([-(2**31), None, 2**31 - 1], pa.int32())),
    "int64": (pa.int64(), _plain([-(2**63), None, 2**63 - 1], pa.int64())),
    "uint8": (pa.uint8(), _plain([0, None, 2**8 - 1], pa.uint8())),
    "uint16": (pa.uint16(), _plain([0, None, 2**16 - 1], pa.uint16())),
    "uint32": (pa.uint32(), _plain([0, None, 2**32 - 1], pa.uint32())),
    "uint64": (pa.uint64(), _plain([0, None, 2**64 - 1], pa.uint64())),
    "float16": (pa.float16(), _float16),
    "float32": (pa.float32(), _plain([1.5, None, -2.25], pa.float32())),
    "float64": (pa.float64(), _plain([1.111, None, -1e300], pa.float64())),
    "time32[s]": (pa.time32("s"), _plain([0, None, 86_399], pa.time32("s"))),
    "time32[ms]": (pa.time32("ms"), _plain([0, None, DAY_MS - 1], pa.time32("ms"))),
    "time64[us]": (pa.time64("us"), _plain([0, None, DAY_MS * 1000 - 1], pa.time64("us"))),
    "time64[ns]": (pa.time64("ns"), _plain([1, None, DAY_MS * 10**6 - 1], pa.time64("ns"))),
    "timestamp[s]": (pa.timestamp("s"), _plain([0, None, 1_700_000_000], pa.timestamp("s"))),
    "timestamp[ms]": (
        pa.timestamp("ms"),
        _plain([-1, None, 1_700_000_000_123], pa.timestamp("ms")),
    ),
    "timestamp[us]": (
        pa.timestamp("us"),
        _plain([0, None, 1_700_000_000_123_456], pa.timestamp("us")),
    ),
    "timestamp[ns]": (
        pa.timestamp("ns"),
        _plain([0, None, 1_700_000_000_123_456_789], pa.timestamp("ns")),
    ),
    "date32": (pa.date32(), _plain([1245, None, 123_456], pa.date32())),
    "date64": (pa.date64(), _plain([0, None, 19_000 * DAY_MS], pa.date64())),
    "duration[s]": (pa.duration("s"), _plain([30, None, -60], pa.duration("s"))),
    "duration[ms]": (pa.duration("ms"), _plain([1000, None, -2000], pa.duration("ms"))),
    "duration[us]": (pa.duration("us"), _plain([100_000, None, 200_000], pa.duration("us"))),
    "duration[ns]": (pa.duration("ns"), _plain([10**9, None, -(2**62)], pa.duration("ns"))),
    "month_day_nano_interval": (
        pa.month_day_nano_interval(),
        _plain([(1, 15, 100), None, (-2, 0, 5)], pa.month_day_nano_interval()),
    ),
    "binary": (pa.binary(), _plain([b"\x00\x01", None, b""], pa.binary())),
    "string": (pa.string(), _plain(["text1", None, "ünïcødé ✓"], pa.string())),
}

#: types map_arrow_type leaves to the server (its _SUPPORTED_ARROW_PARAMETERIZABLE_TYPES)
PARAMETERIZED: dict[str, tuple[type, Callable[[], pa.Array]]] = {
    "timestamp[ns, tz=UTC]": (
        pa.TimestampType,
        _plain([0, None, 1_700_000_000_000_000_000], pa.timestamp("ns", tz="UTC")),
    ),
    "timestamp[ms, tz=Europe/Paris]": (
        pa.TimestampType,
        _plain([0, None, 1_700_000_000_000], pa.timestamp("ms", tz="Europe/Paris")),
    ),
    "fixed_size_binary[3]": (
        pa.FixedSizeBinaryType,
        _plain([b"abc", None, b"\x00\x00\x00"], pa.binary(3)),
    ),
    "decimal128(10, 2)": (
        pa.Decimal128Type,
        _plain([Decimal("123.45"), None, Decimal("-67.89")], pa.decimal128(10, 2)),
    ),
    "decimal256(40, 5)": (
        pa.Decimal256Type,
        _plain(
            [Decimal("12345678901234567890.12345"), None, Decimal("-98765.43210")],
            pa.decimal256(40, 5),
        ),
    ),
    "list<int32>": (
        pa.ListType,
        _plain([[1, 2], None, [], [3, None]], pa.list_(pa.int32())),
    ),
    "list<string>": (
        pa.ListType,
        _plain([["a", None], None, []], pa.list_(pa.string())),
    ),
    "list_view<int32>": (
        pa.ListViewType,
        _plain([[5, 6], None, [7, None]], pa.list_view(pa.int32())),
    ),
    "fixed_size_list<int32, 3>": (
        pa.FixedSizeListType,
        _plain([[1, 2, 3], None, [4, None, 6]], pa.list_(pa.int32(), 3)),
    ),
    "map<string, int32>": (
        pa.MapType,
        _plain([[("a", 1), ("b", None)], None, []], pa.map_(pa.string(), pa.int32())),
    ),
    "dense_union<string, int64>": (pa.DenseUnionType, _dense_union),
    "sparse_union<string, int64>": (pa.SparseUnionType, _sparse_union),
}


def test_the_cases_cover_every_type_pydeephaven_sends() -> None:
    """Guards the lists above against a pydeephaven that accepts more types."""
    accepted = {t for t, dh_type in dh_arrow._ARROW_DH_DATA_TYPE_MAPPING.items() if dh_type}
    assert accepted == {t for t, _ in MAPPED.values()}
    assert set(dh_arrow._SUPPORTED_ARROW_PARAMETERIZABLE_TYPES) == {
        k for k, _ in PARAMETERIZED.values()
    }
    for name, (_, make) in PARAMETERIZED.items():
        assert dh_arrow.map_arrow_type(make().type) == {}, name


def _one_column(array: pa.Array) -> pa.Table:
    return pa.Table.from_batches([pa.RecordBatch.from_arrays([array], names=["f1"])])


@pytest.mark.parametrize("name", list(MAPPED))
def test_mapped_type_round_trips(clients: Clients, name: str) -> None:
    type_, make = MAPPED[name]
    array = make()
    assert array.type == type_ and array.null_count >= 1
    _round_trip(clients, _one_column(array))


@pytest.mark.parametrize("name", list(PARAMETERIZED))
def test_parameterized_type_round_trips(clients: Clients, name: str) -> None:
    kind, make = PARAMETERIZED[name]
    array = make()
    assert type(array.type) is kind
    _round_trip(clients, _one_column(array))


def _round_trip(clients: Clients, data: pa.Table) -> None:
    s = clients.pdh()
    t = s.import_table(data)
    assert t.size == data.num_rows
    same(t.to_arrow(), data)
    # the schema the server describes the export with (GetExportedTableCreationResponse)
    fetched = s.fetch_table(s.fetch(t.ticket))
    clients.keep(fetched)
    assert fetched.size == data.num_rows
    assert fetched.schema.equals(data.schema, check_metadata=False), fetched.schema
    same(fetched.to_arrow(), data)


def test_every_type_in_one_table(clients: Clients) -> None:
    makers = [make for _, make in MAPPED.values()] + [make for _, make in PARAMETERIZED.values()]
    data = pa.table({f"c{i}": make().slice(0, 3) for i, make in enumerate(makers)})
    assert all(c.null_count >= 1 or isinstance(c.type, pa.UnionType) for c in data.columns)
    _round_trip(clients, data)


def test_no_rows(clients: Clients) -> None:
    """A table without rows (published by ticketbooth: pydeephaven's import_table of one
    sends no record batch, and waits for an acknowledgement that a Deephaven server sends
    per batch, so it would wait for ever on either server)."""
    makers = [make for _, make in MAPPED.values()] + [make for _, make in PARAMETERIZED.values()]
    data = pa.table({f"c{i}": make().slice(0, 0) for i, make in enumerate(makers)})
    shared = tb.SharedTicket.random_ticket()
    clients.tbs().publish_table(data, shared)
    s = clients.pdh()
    fetched = s.fetch_table(SharedTicket(shared.bytes))
    clients.keep(fetched)
    assert fetched.size == 0
    assert fetched.schema.equals(data.schema, check_metadata=False), fetched.schema
    same(fetched.to_arrow(), data)


def test_import_without_rows(dh_broker: BrokerProcess) -> None:
    """pydeephaven's import_table of a table without rows sends only the schema and waits
    for an acknowledgement (which a Deephaven server never sends): the broker acks the
    schema. In a child process, as a hang there would be in C code, past pytest's reach."""
    out = run_child(
        f"""
        import pyarrow as pa
        from pydeephaven import Session
        s = Session(host="127.0.0.1", port={dh_broker.deephaven_port},
                    auth_type={PSK!r}, auth_token={dh_broker.token!r})
        data = pa.table({{"x": pa.array([], pa.int64()), "s": pa.array([], pa.string())}})
        got = s.import_table(data).to_arrow()
        print(got.num_rows, got.schema.equals(data.schema))
        s.close()
        """,
        dict(os.environ),
        timeout=60,
    )
    assert out.split() == ["0", "True"]


def test_hundreds_of_mb_in_one_batch(clients: Clients) -> None:
    """320 MB in a single record batch (one Flight message: a Deephaven server refuses
    messages over 100 MiB) imports and comes back equal."""
    n = 10_000_000
    data = pa.table(
        {
            "a": np.arange(n),
            "b": np.arange(n) * 0.5,
            "c": np.arange(n)[::-1].copy(),
            "d": np.ones(n),
        }
    )
    assert len(data.to_batches()) == 1 and data.nbytes == 320_000_000
    s = clients.pdh()
    t = s.import_table(data)
    clients.keep(t)
    same(t.to_arrow(), data)


def test_large_single_batch(clients: Clients) -> None:
    """A pandas-made table is one record batch: 32 MB in one Flight message (a Deephaven
    server takes messages up to 100 MiB)."""
    n = 2_000_000
    data = pa.table({"i": pa.array(np.arange(n)), "x": pa.array(np.arange(n) * 0.5)})
    assert len(data.to_batches()) == 1
    s = clients.pdh()
    t = s.import_table(data)
    got = t.to_arrow()
    same(got, data)

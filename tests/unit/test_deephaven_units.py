"""Deephaven backend pieces that need no server: URLs, column rules, figure tables, the
schema sent, and the one retry of a dropped read."""

from __future__ import annotations

from typing import Any

import grpc
import pyarrow as pa
import pyarrow.flight as fl
import pytest

import ticketbooth as tb

dh = pytest.importorskip("ticketbooth._deephaven")  # the deephaven extra
objects = pytest.importorskip("ticketbooth._deephaven_objects")


def test_urls() -> None:
    assert dh.parse_url("deephaven://dh-host:10001") == ("dh-host", 10001, False)
    assert dh.parse_url("deephavens://dh-host") == ("dh-host", 10000, True)
    with pytest.raises(tb.InvalidInputError, match="port must be a number"):
        dh.parse_url("deephaven://h:port")
    with pytest.raises(tb.InvalidInputError, match="not deephaven://host:port"):
        dh.parse_url("deephaven:///just/a/path")


@pytest.mark.parametrize(
    ("name", "problem"),
    [("price", None), ("_x$1", None), ("i", "reserves"), ("class", "reserves"),
     ("in", "reserves"), ("my col", "Java identifier"), ("1st", "Java identifier"),
     ("été", "Java identifier")],
)  # fmt: skip
def test_column_rules(name: str, problem: str | None) -> None:
    got = objects.column_problem(name)
    assert (got is None) if problem is None else (problem in got)


def test_figure_bundles_round_trip_as_marked_tables() -> None:
    wire = bytes(range(256)) * 10_000
    table = objects.bundle_table("Figure", wire, 1 << 20)
    assert table.num_rows == 3 and objects.bundle_type(table.schema) == "Figure"
    assert objects.bundle_wire(table) == wire
    assert objects.bundle_type(pa.schema([("ticketbooth_bundle", pa.binary())])) is None
    assert objects.bundle_type(pa.schema([("x", pa.int64())])) is None


def test_schema_sent_and_user_schema() -> None:
    schema = pa.schema([("s", pa.large_string()), ("n", pa.int64()), ("v", pa.string_view())])
    sent = objects.sent_schema(schema)
    assert [f.type for f in sent] == [pa.string(), pa.int64(), pa.string()]
    assert sent.field("n").metadata == {b"deephaven:type": b"long"}
    assert objects.user_schema(sent) == pa.schema(
        [("s", pa.string()), ("n", pa.int64()), ("v", pa.string())]
    )
    with pytest.raises(tb.InvalidInputError, match=r"column 'd' has type dictionary.*, string\)"):
        objects.sent_schema(pa.schema([("d", pa.dictionary(pa.int8(), pa.string()))]))
    # a Deephaven 42.7 server takes a map column and then fails every read of it
    with pytest.raises(tb.InvalidInputError, match="column 'm' has type map<string, int64>"):
        objects.sent_schema(pa.schema([("m", pa.map_(pa.string(), pa.int64()))]))
    with pytest.raises(tb.InvalidInputError, match=r"cast it first \(to list<int64>\)"):
        objects.sent_schema(pa.schema([("l", pa.large_list(pa.int64()))]))


class _Flaky:
    """do_get that fails like the transport did in the benchmark, `failures` times."""

    def __init__(self, failures: int, table: pa.Table) -> None:
        self.failures, self.table, self.calls = failures, table, 0

    def do_get(self, ticket: Any, options: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise fl.FlightInternalError(
                "Flight returned internal error, with message: Stream removed (frame of size "
                "20667 overflows local window of 0)"
            )
        return pa.RecordBatchReader.from_batches(self.table.schema, self.table.to_batches())


def _backend(flight: _Flaky) -> Any:
    backend = object.__new__(dh.DeephavenBackend)
    backend.url = "deephaven://h:1"
    backend._flight = flight
    backend._options = lambda nbytes=0: None
    return backend


def test_a_dropped_read_is_read_again_once() -> None:
    table = pa.table({"a": [1, 2]})
    flaky = _Flaky(1, table)
    assert _backend(flaky)._loader(b"e\x01\x00\x00\x00", 0)().equals(table)
    assert flaky.calls == 2
    twice = _Flaky(2, table)
    with pytest.raises(tb.TicketboothError, match="Stream removed"):
        _backend(twice)._loader(b"e\x01\x00\x00\x00", 0)()
    assert twice.calls == 2


def test_a_server_side_object_is_named_as_such() -> None:
    """A figure a Deephaven script made is listed like any object; using it says what it is."""
    from ticketbooth._deephaven_errors import dh_error

    err = dh_error(
        "deephaven://h:1",
        "fetch object",
        grpc.StatusCode.INVALID_ARGUMENT,
        "Ticket is not a table",
        True,
    )
    assert isinstance(err, tb.InvalidInputError)
    assert "Deephaven server-side object" in str(err) and "plugin_client" in str(err)

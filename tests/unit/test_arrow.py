from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from ticketbooth import InvalidInputError, LimitExceededError
from ticketbooth._arrow import as_reader, message_sized
from ticketbooth._framing import ipc_message
from ticketbooth._segments import map_segment, segment_messages, write_segment

TABLE = pa.table({"i": list(range(1000)), "s": [f"row {i}" for i in range(1000)]})


class CStream:
    """A foreign producer that only speaks the Arrow PyCapsule stream protocol."""

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return TABLE.__arrow_c_stream__(requested_schema)


@pytest.mark.parametrize(
    "data",
    [
        TABLE,
        TABLE.to_batches()[0],
        TABLE.to_reader(),
        TABLE.to_pandas(),
        pl.from_arrow(TABLE),
        CStream(),
    ],
    ids=["table", "batch", "reader", "pandas", "polars", "c_stream"],
)
def test_every_source_gives_the_same_rows(data: object) -> None:
    got = as_reader(data).read_all()
    assert got.column("i").to_pylist() == TABLE.column("i").to_pylist()
    assert got.column("s").to_pylist() == TABLE.column("s").to_pylist()


def test_duckdb_relation() -> None:
    rel = duckdb.sql("select range as i from range(5)")
    assert as_reader(rel).read_all().column("i").to_pylist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("data", [42, "text", b"raw", None, object(), [{"a": 1}]])
def test_not_a_table(data: object) -> None:
    with pytest.raises(InvalidInputError, match="is not a table: pass a pyarrow"):
        as_reader(data)


def segment(tmp_path: Path, table: pa.Table, max_batch_bytes: int) -> pa.Buffer:
    path = str(tmp_path / "segment.arrow")
    write_segment(as_reader(table), path, max_batch_bytes=max_batch_bytes)
    return map_segment(path)


def stream_of(messages: list[tuple[memoryview, memoryview]]) -> pa.Table:
    return pa.ipc.open_stream(b"".join(ipc_message(h, b) for h, b in messages)).read_all()


def test_segments_are_written_in_message_sized_batches(tmp_path: Path) -> None:
    big = pa.table({"x": pa.array(range(200_000), pa.int64()), "y": [1.5] * 200_000})
    limit = 64 * 1024
    messages = segment_messages(segment(tmp_path, big, limit), limit)
    assert len(messages) > 40
    assert all(len(h) + len(b) <= limit for h, b in messages)
    assert stream_of(messages).equals(big)


def test_a_segment_with_big_batches_is_rechunked(tmp_path: Path) -> None:
    big = pa.table({"x": pa.array(range(200_000), pa.int64())})
    messages = segment_messages(segment(tmp_path, big, 0), 64 * 1024)  # written as one batch
    assert len(messages) > 20
    assert stream_of(messages).equals(big)


def test_dictionary_columns_round_trip(tmp_path: Path) -> None:
    cat = pd.DataFrame({"c": pd.Categorical(["a", "b", "a"] * 1000)})
    table = pa.Table.from_pandas(cat)
    messages = segment_messages(segment(tmp_path, table, 4096), 4096)
    assert all(len(h) + len(b) <= 4096 for h, b in messages)
    assert stream_of(messages).equals(table)


def test_cell_larger_than_limit(tmp_path: Path) -> None:
    table = pa.table({"blob": ["x" * 100_000]})
    with pytest.raises(LimitExceededError, match="single row"):
        list(message_sized(table.to_batches()[0], 65536))
    with pytest.raises(LimitExceededError, match="single row"):
        segment_messages(segment(tmp_path, table, 0), 65536)

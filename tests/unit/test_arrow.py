import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from ticketbooth import InvalidInputError, LimitExceededError
from ticketbooth._arrow import as_reader, decode_messages, encode_messages

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


@pytest.mark.parametrize("data", [42, "text", b"raw", None, object(), {"a": object()}])
def test_not_a_table(data: object) -> None:
    with pytest.raises(InvalidInputError, match="is not a table: pass a pyarrow"):
        as_reader(data)


def test_messages_respect_the_limit_and_round_trip() -> None:
    big = pa.table({"x": pa.array(range(200_000), pa.int64()), "y": [1.5] * 200_000})
    limit = 64 * 1024
    messages = list(encode_messages(as_reader(big), limit))
    assert len(messages) > 40
    assert all(len(m) <= limit for m in messages)
    assert decode_messages(messages).equals(big)


def test_dictionary_columns_round_trip() -> None:
    cat = pd.DataFrame({"c": pd.Categorical(["a", "b", "a"] * 1000)})
    table = pa.Table.from_pandas(cat)
    messages = list(encode_messages(as_reader(table), 4096))
    assert all(len(m) <= 4096 for m in messages)
    assert decode_messages(messages).equals(table)


def test_cell_larger_than_limit() -> None:
    table = pa.table({"blob": ["x" * 100_000]})
    with pytest.raises(LimitExceededError, match="single row"):
        list(encode_messages(as_reader(table), 65536))


def test_garbage_messages() -> None:
    with pytest.raises(InvalidInputError):
        decode_messages([b"not arrow"])
    with pytest.raises(InvalidInputError, match="schema message is missing"):
        decode_messages([])

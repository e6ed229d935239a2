"""Table inputs that cannot be used: each is an InvalidInputError naming the problem and a fix.

Never a raw pyarrow (pandas, polars, duckdb) exception, even when the data fails only while
it is read.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from ticketbooth import InvalidInputError
from ticketbooth._inputs import as_reader


def invalid(data: object) -> InvalidInputError:
    """The error `as_reader(data)`, read to the end, raises; it must be exactly ours."""
    with pytest.raises(InvalidInputError) as info:
        as_reader(data).read_all()
    assert type(info.value) is InvalidInputError, type(info.value)
    return info.value


# pandas columns pyarrow cannot convert --------------------------------------------------------
@pytest.mark.parametrize(
    "values",
    [[1, "a", 2.5], ["a", 1, "b"], [object(), object(), object()]],
    ids=["int-then-str", "str-then-int", "plain-objects"],
)
def test_pandas_object_column_that_cannot_be_converted(values: list[object]) -> None:
    df = pd.DataFrame({"fine": [1, 2, 3], "mixed": values})
    message = str(invalid(df))
    assert "column 'mixed'" in message
    assert "'fine'" not in message
    assert "df['mixed'] = df['mixed'].astype(str)" in message
    assert "one consistent type" in message


def test_mixed_column_names_the_types_it_mixes() -> None:
    message = str(invalid(pd.DataFrame({"m": [1, "a", 2.5]})))
    assert "mixes float, int, str values" in message


def test_mixed_column_with_a_non_string_name() -> None:
    message = str(invalid(pd.DataFrame({7: [1, "a"]})))
    assert "column '7'" in message
    assert "df[7] = df[7].astype(str)" in message


# duplicate column names ------------------------------------------------------------------------
def test_pandas_duplicate_column_names() -> None:
    df = pd.DataFrame([[1, 2, 3, 4]], columns=["a", "b", "a", "c"])
    message = str(invalid(df))
    assert "duplicate column names 'a'" in message
    assert "'b'" not in message
    assert "rename" in message


@pytest.mark.parametrize("kind", ["table", "batch", "reader"])
def test_pyarrow_duplicate_column_names(kind: str) -> None:
    table = pa.table([pa.array([1]), pa.array(["x"]), pa.array([2])], names=["x", "y", "x"])
    data = {"table": table, "batch": table.to_batches()[0], "reader": table.to_reader()}[kind]
    message = str(invalid(data))
    assert "duplicate column names 'x'" in message
    assert "rename_columns" in message


# one column is not a table ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "kind", "instead"),
    [
        (pd.Series([1, 2, 3], name="n"), "pandas Series", "series.to_frame()"),
        (pl.Series("n", [1, 2, 3]), "polars Series", "series.to_frame()"),
        (pa.chunked_array([[1, 2], [3]]), "pyarrow ChunkedArray", "pa.table({"),
        (pa.array([1, 2, 3]), "pyarrow Int64Array", "pa.table({"),
        (np.arange(3), "numpy ndarray", "pa.table({"),
    ],
    ids=["pandas", "polars", "chunked-array", "array", "numpy"],
)
def test_a_single_column_says_how_to_make_a_table(data: object, kind: str, instead: str) -> None:
    message = str(invalid(data))
    assert f"a {kind} is a single column, not a table" in message
    assert instead in message


# failures while the data is read ---------------------------------------------------------------
def test_reader_that_fails_half_way() -> None:
    schema = pa.schema([("a", pa.int64())])

    def batches() -> Iterator[pa.RecordBatch]:
        yield pa.record_batch([pa.array([1, 2])], schema=schema)
        raise OSError("the disk went away")

    reader = as_reader(pa.RecordBatchReader.from_batches(schema, batches()))
    assert reader.read_next_batch().num_rows == 2
    with pytest.raises(InvalidInputError, match="reading the table data failed: the disk went"):
        reader.read_next_batch()


def test_lazy_duckdb_query_that_fails() -> None:
    rel = duckdb.sql(
        "select case when range < 2500000 then range::varchar else 'x' end ::int as x "
        "from range(3000000)"
    )
    message = str(invalid(rel))
    assert "Could not convert string 'x'" in message


class BrokenStream:
    """A producer whose Arrow stream cannot be exported."""

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        raise RuntimeError("no stream today")


def test_c_stream_producer_that_fails() -> None:
    assert "no stream today" in str(invalid(BrokenStream()))


def test_good_inputs_are_unchanged() -> None:
    df = pd.DataFrame({"i": [1, 2, 3], "s": ["a", "b", "c"]})
    table = pa.table({"i": [1, 2, 3], "s": ["a", "b", "c"]})
    for data in (df, table, table.to_reader(), pl.from_arrow(table)):
        got = as_reader(data).read_all()
        assert got.select(["i", "s"]).to_pylist() == table.to_pylist(), type(data)


# a dict of columns -----------------------------------------------------------------------------
def test_dict_of_columns_is_a_table() -> None:
    data = {
        "a": [1, 2, 3],
        "b": np.array([0.5, 1.5, 2.5]),
        "c": pa.array(["x", "y", "z"]),
        "d": pd.Series([True, False, None]),
    }
    table = as_reader(data).read_all()
    assert table.column_names == ["a", "b", "c", "d"]
    assert table.column("a").to_pylist() == [1, 2, 3]
    assert table.column("c").to_pylist() == ["x", "y", "z"]
    assert table.column("d").to_pylist() == [True, False, None]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({}, "an empty dict is not a table"),
        ({1: [1, 2]}, "column names must be strings, not int"),
        ({"a": 5}, "column 'a' is a single int, not a list of values: write {'a': [5]}"),
        ({"a": "abc"}, "column 'a' is a single str"),
        ({"a": [1, 2], "b": [1]}, "different lengths ('a': 2, 'b': 1)"),
        ({"a": [1, "x"]}, "column 'a' cannot be converted to Arrow"),
        ({"a": object()}, "column 'a' is not a list of values (got object)"),
        ({"a": {"x": 1}}, "column 'a' is a dict, not a list of values"),  # was silently ["x"]
        ({"a": {3, 1, 2}}, "column 'a' is a set, not a list of values"),
    ],
    ids=["empty", "int-key", "scalar", "string", "ragged", "mixed", "no-len", "dict", "set"],
)
def test_bad_dicts(data: dict[object, object], expected: str) -> None:
    assert expected in str(invalid(data))

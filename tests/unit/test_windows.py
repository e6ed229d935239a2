"""Sorted windows of a table in many chunks (as tables read from shared memory are): the
chunk-by-chunk take gives exactly pyarrow's `table.take`, at any place and window size."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from ticketbooth._windows import TableWindows


def chunked(rows: int, chunk: int) -> pa.Table:
    rng = random.Random(7)
    table = pa.table(
        {
            "i": list(range(rows)),
            "x": [rng.random() if k % 9 else None for k in range(rows)],
            "s": [f"row {k}" for k in range(rows)],
        }
    )
    batches = table.to_batches(max_chunksize=chunk)
    assert len(batches) == -(-rows // chunk)
    return pa.Table.from_batches(batches)


def read(ipc: bytes) -> pa.Table:
    return pa.ipc.open_stream(ipc).read_all()


@pytest.mark.parametrize("chunk", [1, 7, 100, 5000])
def test_sorted_windows_equal_take(chunk: int) -> None:
    table = chunked(5000, chunk)
    windows = TableWindows(table)
    windows.sort([{"column": "x", "descending": True}, {"column": "i", "descending": False}])
    assert windows.order is not None
    for start, end in [(0, 200), (4900, 5000), (1234, 1235), (4990, 6000), (0, 5000), (17, 17)]:
        want = table.take(windows.order.slice(start, max(0, min(end, 5000) - start)))
        assert read(windows.window(start, end)).equals(want), (chunk, start, end)


def test_unsorted_window_is_a_slice() -> None:
    table = chunked(1000, 64)
    assert read(TableWindows(table).window(100, 300)).equals(table.slice(100, 200))


def test_categoricals_sort_by_their_values() -> None:
    """A dictionary column (what a pandas categorical becomes), with a different dictionary
    in each chunk, sorts by its values; the window keeps the column's own type."""
    first = pa.array(["pear", "apple", None]).dictionary_encode()
    second = pa.array(["fig", "pear"]).dictionary_encode()
    table = pa.table({"fruit": pa.chunked_array([first, second]), "n": [0, 1, 2, 3, 4]})
    windows = TableWindows(table)
    windows.sort([{"column": "fruit", "descending": False}])
    got = read(windows.window(0, 5))
    assert got.column("fruit").to_pylist() == ["apple", "fig", "pear", "pear", None]
    assert got.column("n").to_pylist() == [1, 3, 0, 4, 2]
    assert pa.types.is_dictionary(got.schema.field("fruit").type)
    windows.sort([{"column": "fruit", "descending": True}, {"column": "n", "descending": True}])
    assert read(windows.window(0, 5)).column("n").to_pylist() == [4, 0, 3, 1, 2]

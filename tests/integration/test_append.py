"""Session.append_table against a broker process: rows added, versions kept, bad rows refused
without touching what is published."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess


@pytest.mark.parametrize("remote", [False, True], ids=["shm", "remote"])
def test_append_grows_the_table(broker: BrokerProcess, remote: bool) -> None:
    with tb.Session(force_remote=remote) as pub, tb.Session() as sub:
        # nothing published yet: the first rows publish it
        assert pub.append_table("log", {"i": [0, 1], "x": [0.0, 0.5]}) == 2
        assert pub.append_table("log", pa.table({"x": [1.0], "i": [2]})) == 3  # any order
        assert pub.append_table("log", pd.DataFrame({"i": [3], "x": [2]})) == 4  # int -> float
        t = sub.fetch_table("log")
        assert t.version == 3
        assert t.to_arrow().to_pydict() == {"i": [0, 1, 2, 3], "x": [0.0, 0.5, 1.0, 2.0]}
        assert t.schema == pa.schema([("i", pa.int64()), ("x", pa.float64())])
        # the versions before each append are kept
        assert sub.fetch_table("log", version=1).num_rows == 2
        with sub.watch("log") as events:
            assert next(events).version == 3
            pub.append_table("log", {"i": [4], "x": [3.0]})
            event = next(events)
        assert (event.kind, event.version, event.info and event.info.num_rows) == ("updated", 4, 5)


def test_bad_rows_are_refused_and_the_table_is_kept(broker: BrokerProcess) -> None:
    with tb.Session() as pub:
        pub.publish_table(pa.table({"i": [1, 2], "s": ["a", "b"]}), "t")
        cases = [
            ({"i": [3]}, r"do not fit t: missing \['s'\]; give the columns \['i', 's'\]"),
            ({"i": [3], "s": ["c"], "z": [1]}, r"unknown \['z'\]"),
            ({"i": [1.5], "s": ["c"]}, "column 'i' of the rows is double, and t holds int64"),
            ({"i": ["x"], "s": ["c"]}, "column 'i' of the rows is string"),
            ({"i": [3], "s": [1]}, None),  # int -> string converts
            ([1, 2], "is not a table"),
        ]
        for rows, message in cases:
            if message is None:
                pub.append_table("t", rows)
                continue
            with pytest.raises(tb.InvalidInputError, match=message):
                pub.append_table("t", rows)
        assert pub.fetch_table("t").to_arrow().to_pydict() == {"i": [1, 2, 3], "s": ["a", "b", "1"]}
        pub.publish_figure(_figure(), "fig")
        with pytest.raises(tb.InvalidInputError, match="holds a Figure, not a Table"):
            pub.append_table("fig", {"i": [1]})


def _figure() -> object:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2])
    return fig

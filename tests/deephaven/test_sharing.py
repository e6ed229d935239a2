"""The same Session calls on a real Deephaven server: two processes sharing, and tables
crossing between ticketbooth and plain pydeephaven in both directions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pyarrow as pa
import pydeephaven
import pytest

import ticketbooth as tb
from tests.deephaven_server import PSK, DeephavenServer


def sales(n: int = 1000) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "region": pa.array([f"r{i % 7}" for i in range(n)]),
            "amount": pa.array([i * 0.5 if i % 9 else None for i in range(n)]),
            "when": pa.array(range(n), pa.timestamp("ns")),
        }
    )


def session(dh: DeephavenServer, **kw: object) -> tb.Session:
    return tb.Session(dh.url, token=dh.psk, **kw)  # type: ignore[arg-type]


def test_two_processes_share_tables_and_figures(dh: DeephavenServer) -> None:
    """A publisher in its own process (the notebook code is the broker's, unchanged)."""
    publisher = textwrap.dedent(
        f"""
        import json, sys
        import matplotlib; matplotlib.use("agg"); import matplotlib.pyplot as plt
        import pyarrow as pa, ticketbooth as tb
        s = tb.Session("{dh.url}", token="{dh.psk}")
        t = s.import_table(pa.table({{"x": list(range(100)), "y": [i * 2.0 for i in range(100)]}}))
        shared = tb.SharedTicket.random_ticket()
        s.publish(t.ticket, shared)
        s.publish_table(pa.table({{"q": [1, 2, 3]}}), "dh_sales")
        fig, ax = plt.subplots(); ax.plot([1, 3, 2])
        s.publish_figure(fig, "dh_chart")
        print(json.dumps({{"shared": str(shared)}}), flush=True)
        sys.stdin.read()  # keeps the session (and its shared ticket) until told to go
        s.close()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", publisher], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        line = proc.stdout.readline()
        assert line, "the publisher died"
        shared = json.loads(line)["shared"]
        with session(dh) as s:
            got = s.fetch_table(shared).to_arrow()
            assert got.column("x").to_pylist() == list(range(100))
            assert got.column("y").to_pylist() == [i * 2.0 for i in range(100)]
            assert s.fetch_table("dh_sales").to_arrow().column("q").to_pylist() == [1, 2, 3]
            objects = s.exportable_objects
            assert objects["dh_sales"].type == "Table" and objects["dh_chart"].type == "Figure"
            assert "dh_sales" in s.tables and "dh_chart" not in s.tables
            chart = s.fetch_object("dh_chart")
            assert isinstance(chart, tb.SharedObject) and chart.type == "Figure"
            assert chart.mimebundle["image/png"]  # the publisher's PNG, unchanged
            proc.stdin.close()
            assert proc.wait(60) == 0
            with pytest.raises(tb.TicketNotFoundError, match="released by its publisher"):
                s.fetch_table(shared)  # the publisher closed: its shared ticket went with it
    finally:
        proc.kill()


def test_ticketbooth_table_read_by_plain_pydeephaven(dh: DeephavenServer) -> None:
    data = sales()
    with session(dh) as s:
        shared = tb.SharedTicket.random_ticket()
        s.publish_table(data, shared)
        print(shared)  # the text form a notebook would show
        plain = pydeephaven.Session(
            host="127.0.0.1", port=dh.port, auth_type=PSK, auth_token=dh.psk
        )
        try:
            their_ticket = pydeephaven.ticket.SharedTicket(shared.bytes)
            got = plain.fetch_table(their_ticket).to_arrow()
            assert got.select(data.column_names).cast(data.schema).equals(data)
            scoped = tb.ScopeTicket.scope_ticket("tb_for_pydeephaven")
            s.publish_table(data, scoped)
            assert plain.open_table("tb_for_pydeephaven").size == data.num_rows
        finally:
            plain.close()


def test_plain_pydeephaven_table_read_by_ticketbooth(dh: DeephavenServer) -> None:
    data = sales(500)
    plain = pydeephaven.Session(host="127.0.0.1", port=dh.port, auth_type=PSK, auth_token=dh.psk)
    try:
        table = plain.import_table(data)
        their_shared = pydeephaven.ticket.SharedTicket.random_ticket()
        plain.publish(table, their_shared)
        plain.bind_table("from_pydeephaven", table)
        with session(dh) as s:
            ours = tb.SharedTicket(their_shared.bytes)
            assert s.fetch_table(ours).to_arrow().cast(data.schema).equals(data)
            assert s.fetch_table("from_pydeephaven").num_rows == 500
            assert s.info("from_pydeephaven").num_columns == 4
    finally:
        plain.close()


def test_lifetime_release_and_close(dh: DeephavenServer) -> None:
    data = sales(100)
    with session(dh) as sub:
        pub = session(dh)
        shared = tb.SharedTicket.random_ticket()
        pub.publish_table(data, shared)
        fetched = sub.fetch_table(shared)
        pub.release(shared)  # the publisher unpublishes
        with pytest.raises(tb.TicketNotFoundError, match="released by its publisher"):
            sub.fetch_table(shared)
        assert fetched.to_arrow().equals(data)  # what was fetched stays readable
        again = tb.SharedTicket.random_ticket()
        pub.publish_table(data, again)
        kept = sub.fetch_table(again)
        pub.close()
        with pytest.raises(tb.TicketNotFoundError):
            sub.fetch_table(again)
        assert kept.num_rows == 100 and kept.to_arrow().equals(data)
        with pytest.raises(tb.SessionClosedError):
            pub.fetch_table("anything")


def test_env_url_picks_deephaven(dh: DeephavenServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETBOOTH_URL", dh.url)
    monkeypatch.setenv("TICKETBOOTH_TOKEN", dh.psk or "")
    with tb.Session() as s:
        assert s.backend == "deephaven"
        assert (s.features.history, s.features.live, s.features.same_host) == (
            False,
            "scope",
            False,
        )
        s.publish_table({"a": [1, 2]}, "from_env")
        assert s.fetch_table("from_env").to_arrow().column("a").to_pylist() == [1, 2]


def test_dataframes_of_every_kind(dh: DeephavenServer) -> None:
    """pandas, polars (large/view strings) and duckdb go in as with the broker."""
    import duckdb
    import pandas as pd
    import polars as pl

    with session(dh) as s:
        s.publish_table(pl.DataFrame({"name": ["a", "b"], "v": [1, 2]}), "from_polars")
        got = s.fetch_table("from_polars").to_arrow()
        assert (
            got.column("name").to_pylist() == ["a", "b"]
            and got.schema.field("name").type == pa.string()
        )
        s.publish_table(pd.DataFrame({"name": ["x"], "v": [1.5]}), "from_pandas")
        assert s.fetch_table("from_pandas").to_pandas()["v"].tolist() == [1.5]
        s.publish_table(duckdb.sql("select 42 as answer"), "from_duckdb")
        assert s.fetch_table("from_duckdb").to_arrow().column("answer").to_pylist() == [42]


def test_cli_lists_what_the_server_holds(dh: DeephavenServer) -> None:
    env = {**os.environ, "TICKETBOOTH_URL": dh.url, "TICKETBOOTH_TOKEN": dh.psk or ""}
    with session(dh) as s:
        s.publish_table({"a": [1, 2]}, "cli_listed")
        out = subprocess.run(
            [sys.executable, "-m", "ticketbooth", "ls"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert out.returncode == 0, out.stderr
    row = next(line.split() for line in out.stdout.splitlines() if line.startswith("cli_listed"))
    assert row == ["cli_listed", "Table", "2", "1", "-", "1", "-"]  # no size, publisher or age


def test_magics_in_two_kernels(dh: DeephavenServer) -> None:
    """%publish / %fetch with TICKETBOOTH_URL naming the Deephaven server."""
    from tests.kernels import Kernel

    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBOOTH_")}
    env |= {"TICKETBOOTH_URL": dh.url, "TICKETBOOTH_TOKEN": dh.psk or ""}
    a, b = Kernel(env), Kernel(env)
    try:
        out = a.run(
            "%load_ext ticketbooth\nimport pandas as pd\n"
            'df = pd.DataFrame({"city": ["Oslo", "Lima"], "sales": [3.5, 7.25]})\n'
            "%publish df as magic_sales"
        )
        assert "published 'magic_sales' (v1, 2 rows" in out, out
        out = b.run(
            "%load_ext ticketbooth\n%fetch magic_sales as frame --pandas\n"
            "print(frame['city'].tolist(), frame['sales'].sum())"
        )
        assert "['Oslo', 'Lima'] 10.75" in out, out
    finally:
        a.shutdown()
        b.shutdown()


def test_scope_names_a_script_makes(dh: DeephavenServer) -> None:
    """A Python script's `_x` is a name like any other; a name no ticket can hold (over 128
    characters) is left out of the listing, and the other names keep working (the listing's
    thread had died on it: every name lookup then waited for its timeout and failed)."""
    long_name = "v" + "x" * 200
    plain = pydeephaven.Session(host="127.0.0.1", port=dh.port, auth_type=PSK, auth_token=dh.psk)
    try:
        plain.run_script(
            f"from deephaven import empty_table\n_x = empty_table(3)\n{long_name} = empty_table(1)"
        )
        with session(dh, timeout=10) as s:
            s.publish_table({"v": [1]}, "plain_name")
            assert "_x" in s.tables and "plain_name" in s.tables
            assert not any(name.startswith("vxxx") for name in s.tables)
            assert s.fetch_table("_x").num_rows == 3
            assert s.info("plain_name").num_rows == 1
    finally:
        plain.run_script(f"del _x\ndel {long_name}")
        plain.close()

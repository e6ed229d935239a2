"""Tables handed between separate processes through a real broker process."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess, run_child, spawn_child

PUBLISHER = """
import sys, pyarrow as pa, pandas as pd, ticketbooth as tb
s = tb.Session(force_remote={remote})
df = pd.DataFrame({{"k": range({rows}), "v": [i * 0.5 for i in range({rows})],
                    "name": [f"n{{i}}" for i in range({rows})]}})
t = s.import_table(df)
shared = tb.SharedTicket.random_ticket()
s.publish(t.ticket, shared)
s.publish_table(df, tb.ScopeTicket.scope_ticket("sales"))
print(shared, flush=True)
sys.stdin.readline()   # stay alive until told
s.close()
"""

SUBSCRIBER = """
import json, sys, ticketbooth as tb
s2 = tb.Session(force_remote={remote})
tbl = s2.fetch_table(tb.SharedTicket.from_str(sys.argv[-1] if len(sys.argv) > 1 else {text!r}))
by_name = s2.fetch_table("sales")
df = tbl.to_pandas()
print(json.dumps({{
    "same_host": s2.same_host,
    "rows": tbl.num_rows, "names": tbl.schema.names,
    "sum": float(df["v"].sum()), "last": df["name"].iloc[-1],
    "equal": tbl.to_arrow().equals(by_name.to_arrow()),
    "objects": {{k: v.type for k, v in s2.exportable_objects.items()}},
    "tables": s2.tables,
}}))
s2.close()
"""


@pytest.mark.parametrize("remote", [False, True], ids=["shm", "remote"])
def test_table_crosses_processes(broker: BrokerProcess, remote: bool) -> None:
    rows = 50_000
    pub = spawn_child(PUBLISHER.format(remote=remote, rows=rows), broker.env)
    try:
        text = pub.stdout.readline().strip()  # type: ignore[union-attr]
        assert text.startswith("shared:"), pub.stderr.read()  # type: ignore[union-attr]
        out = json.loads(run_child(SUBSCRIBER.format(remote=remote, text=text), broker.env))
    finally:
        pub.communicate("\n", timeout=30)
    assert out["same_host"] is (not remote)
    assert out["rows"] == rows
    assert out["names"] == ["k", "v", "name"]
    assert out["sum"] == sum(i * 0.5 for i in range(rows))
    assert out["last"] == f"n{rows - 1}"
    assert out["equal"] is True
    assert out["objects"] == {"sales": "Table"}
    assert out["tables"] == ["sales"]
    assert pub.returncode == 0


def test_publish_table_argument_orders_and_names(broker: BrokerProcess) -> None:
    table = pa.table({"x": [1, 2, 3]})
    with tb.Session() as s, tb.Session() as s2:
        shared = tb.SharedTicket.random_ticket()
        s.publish_table(shared, table)  # pydeephaven's order
        s.publish_table(table, "plain-name")  # a str is a scope name
        s.bind_table("bound", table)
        assert s2.fetch_table(shared).to_arrow().equals(table)
        assert s2.fetch_table(str(shared)).to_arrow().equals(table)
        assert s2.open_table("plain-name").to_arrow().equals(table)
        assert sorted(s2.tables) == ["bound", "plain-name"]
        info = s2.info("plain-name")
        assert (info.type, info.num_rows, info.num_columns, info.version) == ("Table", 3, 1, 1)


def test_republish_replaces_for_subscribers(broker: BrokerProcess) -> None:
    with tb.Session() as s, tb.Session() as s2:
        s.publish_table(pa.table({"v": [1]}), "live")
        first = s2.fetch_table("live")
        s.publish_table(pa.table({"v": [2, 2]}), "live")
        assert s2.fetch_table("live").to_arrow().column("v").to_pylist() == [2, 2]
        assert s2.info("live").version == 2
        # what the subscriber fetched before stays as it was
        assert first.to_arrow().column("v").to_pylist() == [1]


def test_seed_generic_publish_example(broker: BrokerProcess) -> None:
    """The seed's second example, with run_script replaced by publish_table."""
    from ticketbooth import ScopeTicket, Session, SharedTicket

    session = Session()
    session.publish_table(pa.table({"X": list(range(20))}), "source")

    export_ticket = session.fetch(ScopeTicket.scope_ticket("source"))
    shared_ticket = SharedTicket.random_ticket()
    session.publish(export_ticket, shared_ticket)

    sub_session = Session()
    table = sub_session.fetch_table(shared_ticket)
    assert table.to_arrow().column("X").to_pylist() == list(range(20))

    sub_session.close()
    session.close()

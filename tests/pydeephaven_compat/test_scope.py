"""Scope names from both sides: pydeephaven's bind_table / open_table / tables /
exportable_objects and ticketbooth's ScopeTicket names are one namespace."""

from __future__ import annotations

import os

import pytest
from pydeephaven import DHError
from pydeephaven.ticket import ScopeTicket

import ticketbooth as tb
from tests.conftest import BrokerProcess, run_child
from tests.pydeephaven_compat.conftest import PSK, Clients, same, sample_table, unique


def test_bind_table_is_seen_by_both_clients(clients: Clients) -> None:
    data = sample_table(300)
    pdh = clients.pdh()
    name = unique("bound")
    t = pdh.import_table(data)
    pdh.bind_table(name, t)

    assert name in pdh.tables
    obj = pdh.exportable_objects[name]
    assert obj.type == "Table" and obj.ticket.bytes == f"s/{name}".encode()

    other = clients.pdh()
    assert name in other.tables
    opened = other.open_table(name)
    clients.keep(opened)
    assert opened.size == data.num_rows
    assert opened.schema.equals(data.schema, check_metadata=False)
    same(opened.to_arrow(), data)

    s = clients.tbs()
    assert name in s.tables
    assert s.exportable_objects[name].type == "Table"
    same(s.fetch_table(tb.ScopeTicket.scope_ticket(name)).to_arrow(), data)
    same(s.open_table(name).to_arrow(), data)


def test_ticketbooth_names_are_pydeephaven_tables(clients: Clients) -> None:
    data = sample_table(40, seed=1)
    s = clients.tbs()
    name = unique("tb_named")
    s.publish_table(data, name)

    pdh = clients.pdh()
    assert name in pdh.tables
    obj = pdh.exportable_objects[name]
    assert obj.type == "Table" and obj.ticket.bytes == f"s/{name}".encode()
    opened = pdh.open_table(name)
    clients.keep(opened)
    same(opened.to_arrow(), data)
    same(clients.read(pdh, ScopeTicket.scope_ticket(name)), data)


def test_republished_name_gives_the_new_table(clients: Clients) -> None:
    first, second = sample_table(10, seed=2), sample_table(25, seed=3)
    pdh = clients.pdh()
    name = unique("again")
    t1 = pdh.import_table(first)
    pdh.bind_table(name, t1)
    same(clients.read(clients.pdh(), ScopeTicket.scope_ticket(name)), first)
    t2 = pdh.import_table(second)
    pdh.bind_table(name, t2)
    opened = clients.pdh().open_table(name)
    clients.keep(opened)
    same(opened.to_arrow(), second)
    same(clients.tbs().open_table(name).to_arrow(), second)


def test_open_table_of_a_missing_name(clients: Clients) -> None:
    name = unique("nosuch")
    pdh = clients.pdh()
    with pytest.raises(DHError, match=f"no table by the name {name}"):
        pdh.open_table(name)
    assert name not in pdh.tables
    assert name not in pdh.exportable_objects
    # the session goes on
    data = sample_table(5, seed=4)
    same(pdh.import_table(data).to_arrow(), data)


def test_names_are_listed_once_each(clients: Clients) -> None:
    a, b = unique("pair_a"), unique("pair_b")
    pdh, s = clients.pdh(), clients.tbs()
    t = pdh.import_table(sample_table(3, seed=5))
    pdh.bind_table(a, t)
    s.publish_table(sample_table(4, seed=6), b)
    tables = pdh.tables
    assert tables.count(a) == 1 and tables.count(b) == 1
    assert len(tables) == len(set(tables))


def test_a_bound_name_outlives_the_script(dh_broker: BrokerProcess, clients: Clients) -> None:
    """As a variable on a Deephaven server: a script binds a table, drops it and exits; the
    name stays (for both clients) until it is bound again, from either side."""
    name = unique("from_script")
    run_child(
        f"""
        import pyarrow as pa
        from pydeephaven import Session
        s = Session(host="127.0.0.1", port={dh_broker.deephaven_port},
                    auth_type={PSK!r}, auth_token={dh_broker.token!r})
        s.bind_table({name!r}, s.import_table(pa.table({{"v": [1, 2, 3]}})))  # dropped at once
        s.close()
        """,
        dict(os.environ),
        timeout=60,
    )
    s = clients.tbs()
    assert s.fetch_table(name).to_arrow().column("v").to_pylist() == [1, 2, 3]
    pdh = clients.pdh()
    assert name in pdh.tables
    second = sample_table(7)
    pdh.bind_table(name, pdh.import_table(second))  # bound again by another session
    same(clients.read(clients.pdh(), ScopeTicket.scope_ticket(name)), second)
    third = sample_table(9, seed=3)
    s.publish_table(third, name)  # and by ticketbooth
    same(clients.read(clients.pdh(), ScopeTicket.scope_ticket(name)), third)
    versions = {o.name: o.version for o in s.list_objects()}
    assert versions[name] == 3

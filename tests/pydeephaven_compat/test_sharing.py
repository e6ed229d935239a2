"""Tables shared through tickets between pydeephaven sessions and ticketbooth Sessions, in
both directions (pydeephaven's test_session.py::test_publish_table, with the broker's own
client on the other end)."""

from __future__ import annotations

import pyarrow as pa
from pydeephaven.ticket import ExportTicket, ScopeTicket, SharedTicket

import ticketbooth as tb
from tests.pydeephaven_compat.conftest import Clients, same, sample_table, unique
from tests.pydeephaven_compat.test_arrow_types import MAPPED, PARAMETERIZED


def every_type() -> pa.Table:
    makers = [make for _, make in MAPPED.values()] + [make for _, make in PARAMETERIZED.values()]
    return pa.table({f"c{i}": make().slice(0, 3) for i, make in enumerate(makers)})


def test_pydeephaven_publishes_pydeephaven_and_ticketbooth_fetch(clients: Clients) -> None:
    data = sample_table(5000)
    pub, sub = clients.pdh(), clients.pdh()
    t = pub.import_table(data)
    shared = SharedTicket.random_ticket()
    pub.publish_table(shared, t)

    fetched = sub.fetch_table(shared)
    clients.keep(fetched)
    assert fetched.size == data.num_rows
    assert not fetched.is_refreshing
    assert fetched.schema.equals(data.schema, check_metadata=False)
    same(fetched.to_arrow(), data)

    s = clients.tbs()
    same(s.fetch_table(tb.SharedTicket(shared.bytes)).to_arrow(), data)
    info = s.info(tb.SharedTicket(shared.bytes))
    assert (info.type, info.num_rows) == ("Table", data.num_rows)


def test_every_type_crosses_in_both_directions(clients: Clients) -> None:
    data = every_type()
    pdh, s = clients.pdh(), clients.tbs()
    theirs = SharedTicket.random_ticket()
    t = pdh.import_table(data)
    pdh.publish_table(theirs, t)
    same(s.fetch_table(tb.SharedTicket(theirs.bytes)).to_arrow(), data)

    ours = tb.SharedTicket.random_ticket()
    s.publish_table(data, ours)
    same(clients.read(clients.pdh(), SharedTicket(ours.bytes)), data)


def test_ticketbooth_publishes_pydeephaven_fetches(clients: Clients) -> None:
    data, by_name = sample_table(3000, seed=1), sample_table(10, seed=2)
    s = clients.tbs()
    shared = tb.SharedTicket.random_ticket()
    name = unique("tb_sales")
    s.publish_table(data, shared)
    s.publish_table(by_name, name)

    pdh = clients.pdh()
    same(clients.read(pdh, SharedTicket(shared.bytes)), data)
    same(clients.read(pdh, ScopeTicket.scope_ticket(name)), by_name)
    opened = pdh.open_table(name)
    clients.keep(opened)
    assert opened.size == by_name.num_rows
    same(opened.to_arrow(), by_name)


def test_fetch_gives_an_export_that_can_be_published_again(clients: Clients) -> None:
    """fetch(shared) -> an ExportTicket of the subscriber's own, which it can publish to
    another shared ticket (the way pydeephaven shares objects it did not make)."""
    data = sample_table(100, seed=3)
    pub, relay = clients.pdh(), clients.pdh()
    t = pub.import_table(data)
    first = SharedTicket.random_ticket()
    pub.publish_table(first, t)

    export = relay.fetch(first)
    assert isinstance(export, ExportTicket)
    assert export.bytes[:1] == b"e" and len(export.bytes) == 5
    second = SharedTicket.random_ticket()
    relay.publish(export, second)

    same(clients.tbs().fetch_table(tb.SharedTicket(second.bytes)).to_arrow(), data)
    same(clients.read(clients.pdh(), second), data)
    # the relay's own Table over its export reads the same data
    same(relay.fetch_table(export).to_arrow(), data)


def test_ticketbooth_fetches_by_shared_ticket_text(clients: Clients) -> None:
    """The bytes are one ticket space: pydeephaven's ticket is ticketbooth's ticket."""
    data = sample_table(50, seed=4)
    pdh = clients.pdh()
    t = pdh.import_table(data)
    shared = SharedTicket.random_ticket()
    pdh.publish_table(shared, t)
    text = str(tb.SharedTicket(shared.bytes))
    same(clients.tbs().fetch_table(text).to_arrow(), data)
    assert tb.SharedTicket.from_str(text).bytes == shared.bytes

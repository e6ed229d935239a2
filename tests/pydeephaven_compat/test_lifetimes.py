"""How long a shared ticket lives, as on a Deephaven server: past its subscribers, not past
its publisher or the table it was published from; and it is published once."""

from __future__ import annotations

import pytest
from pydeephaven import DHError, Session
from pydeephaven.ticket import SharedTicket

import ticketbooth as tb
from tests.pydeephaven_compat.conftest import Clients, same, sample_table


def test_valid_after_the_subscriber_closes(clients: Clients) -> None:
    data = sample_table(200)
    pub = clients.pdh()
    t = pub.import_table(data)
    shared = SharedTicket.random_ticket()
    pub.publish_table(shared, t)

    first = clients.pdh()
    same(clients.read(first, shared), data)
    first.close()

    same(clients.read(clients.pdh(), shared), data)
    same(clients.tbs().fetch_table(tb.SharedTicket(shared.bytes)).to_arrow(), data)


def _close_table(pub: Session, table: object, shared: SharedTicket) -> None:
    table.close()  # type: ignore[attr-defined]


def _release_table(pub: Session, table: object, shared: SharedTicket) -> None:
    pub.release(table.ticket)  # type: ignore[attr-defined]


def _close_session(pub: Session, table: object, shared: SharedTicket) -> None:
    pub.close()


@pytest.mark.parametrize(
    "end", [_close_table, _release_table, _close_session], ids=["table.close", "release", "close"]
)
def test_invalid_once_the_publisher_lets_go(clients: Clients, end: object) -> None:
    data = sample_table(100, seed=1)
    pub, sub = clients.pdh(), clients.pdh()
    t = pub.import_table(data)
    other = pub.import_table(sample_table(5, seed=2))  # published elsewhere, kept
    shared, control = SharedTicket.random_ticket(), SharedTicket.random_ticket()
    pub.publish_table(shared, t)
    pub.publish_table(control, other)
    same(clients.read(sub, shared), data)

    end(pub, t, shared)  # type: ignore[operator]

    with pytest.raises(DHError):
        sub.fetch_table(shared)
    s = clients.tbs()
    with pytest.raises(tb.TicketNotFoundError):
        s.fetch_table(tb.SharedTicket(shared.bytes))
    if end is _close_session:
        with pytest.raises(DHError):
            sub.fetch_table(control)
    else:  # only that table's ticket went
        same(clients.read(sub, control), sample_table(5, seed=2))


def test_the_subscribers_copy_outlives_the_publisher(clients: Clients) -> None:
    """What a subscriber fetched as an export of its own stays readable."""
    data = sample_table(100, seed=3)
    pub, sub = clients.pdh(), clients.pdh()
    t = pub.import_table(data)
    shared = SharedTicket.random_ticket()
    pub.publish_table(shared, t)
    export = sub.fetch(shared)
    pub.close()
    table = sub.fetch_table(export)
    clients.keep(table)
    same(table.to_arrow(), data)


def test_publishing_to_a_published_shared_ticket_fails(clients: Clients) -> None:
    data, other = sample_table(10, seed=4), sample_table(20, seed=5)
    pub, rival = clients.pdh(), clients.pdh()
    t, t2 = pub.import_table(data), pub.import_table(other)
    r = rival.import_table(other)
    shared = SharedTicket.random_ticket()
    pub.publish_table(shared, t)

    with pytest.raises(DHError):
        pub.publish_table(shared, t2)  # the same session, another table
    with pytest.raises(DHError):
        pub.publish_table(shared, t)  # the same table again
    with pytest.raises(DHError):
        rival.publish_table(shared, r)  # another session

    same(clients.read(clients.pdh(), shared), data)  # still the first table

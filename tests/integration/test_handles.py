"""Handles (Table, SharedObject, their export tickets) used the way people use them: with
another session, after a release, republished over, closed pydeephaven-style."""

from __future__ import annotations

import pickle

import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess


def who(s: tb.Session, name: str) -> list[object]:
    return list(s.fetch_table(name).to_arrow().column("who").to_pylist())


def test_another_sessions_table_is_published_as_data(broker: BrokerProcess) -> None:
    """Export ids start at 1 in every session: s1's export 1 is not s2's. A Table of s2
    given to s1 is published as its data, never as s1's own export with the same id."""
    with tb.Session() as s1, tb.Session() as s2, tb.Session() as p:
        a = s1.import_table({"who": ["A"]})
        s1.publish_table(a, "a_name")
        p.publish_table({"who": ["B"]}, "b_name")
        b = s2.fetch_table("b_name")
        assert a.ticket.id == b.ticket.id  # the collision the check is for
        s1.publish_table(b, "x")
        s1.publish_table("y", b)  # pydeephaven's argument order
        assert who(s1, "x") == who(s1, "y") == ["B"]
        assert who(p, "a_name") == ["A"]


@pytest.mark.parametrize("call", ["release", "publish", "info", "fetch", "fetch_object"])
def test_another_sessions_export_is_refused(broker: BrokerProcess, call: str) -> None:
    with tb.Session() as s1, tb.Session() as s2:
        s1.publish_table({"who": ["A"]}, "a_name")
        mine = s1.import_table({"who": ["mine"]})
        s1.publish(mine.ticket, "mine")
        s2.import_table({"who": ["first"]})
        theirs = s2.import_table({"who": ["theirs"]})
        assert mine.ticket.id == theirs.ticket.id == 2
        args = {"publish": (theirs, "z"), "release": (theirs,)}.get(call, (theirs.ticket,))
        with pytest.raises(tb.InvalidInputError, match="export of another session"):
            getattr(s1, call)(*args)
        assert who(s1, "mine") == ["mine"] and who(s1, "a_name") == ["A"]  # nothing touched
        assert "z" not in s1.tables
        s2.release(theirs)  # its own session still can


def test_another_sessions_figure_is_published_as_its_bundle(broker: BrokerProcess) -> None:
    class Fig:
        def _repr_html_(self) -> str:
            return "<b>fig</b>"

    with tb.Session() as s1, tb.Session() as s2:
        s1.import_figure(Fig())  # export 1 of s1: what a wrong publish would pick up
        s2.publish_figure(Fig(), "f")
        theirs = s2.fetch_object("f")
        s1.publish_figure(theirs, "g")
        assert s1.fetch_object("g").bundle.data["text/html"] == "<b>fig</b>"


def test_hand_made_and_unpickled_export_tickets(broker: BrokerProcess) -> None:
    """A hand-made ExportTicket means this session's export (as in pydeephaven); a pickled
    one keeps its session's mark, so another session refuses it."""
    with tb.Session() as s1, tb.Session() as s2:
        t = s1.import_table({"who": ["A"]})
        s1.publish(tb.ExportTicket.export_ticket(t.ticket.id), "by_id")
        assert who(s1, "by_id") == ["A"]
        copy = pickle.loads(pickle.dumps(t.ticket))
        assert copy == t.ticket
        s1.publish(copy, "by_copy")
        with pytest.raises(tb.InvalidInputError, match="another session"):
            s2.publish(copy, "nope")


def test_info_and_fetch_object_of_an_export(broker: BrokerProcess) -> None:
    with tb.Session() as s:
        t = s.import_table({"z": [1, 2, 3]})
        info = s.info(t.ticket)
        assert (info.type, info.num_rows, info.ticket) == ("Table", 3, t.ticket)
        assert s.info(t).num_rows == 3
        got = s.fetch_object(t.ticket)
        assert isinstance(got, tb.Table) and got.to_arrow().equals(t.to_arrow())


def test_reading_a_released_table(broker: BrokerProcess) -> None:
    with tb.Session() as s:
        t = s.import_table({"a": [1, 2]})
        s.release(t)
        with pytest.raises(tb.TicketNotFoundError, match="released before its data was read"):
            t.to_arrow()
        read = s.import_table({"a": [3]})
        data = read.to_arrow()
        read.close()  # pydeephaven's Table.close()
        assert read.is_closed and data.column("a").to_pylist() == [3]
        read.close()  # twice is fine
        kept = s.import_table({"a": [4]})
        assert not kept.is_closed
    assert kept.is_closed  # its session closed


def test_publish_over_a_pinned_import_releases_it(broker: BrokerProcess) -> None:
    """publish_table keeps its import until the ticket is republished: by publish() too."""
    with tb.Session() as s:
        s.publish_table({"a": list(range(1000))}, "p")
        pinned = s._pins[tb.ScopeTicket.scope_ticket("p").bytes]
        t = s.import_table({"a": [7]})
        s.publish(t.ticket, "p")
        assert not s._pins and pinned.is_closed
        with pytest.raises(tb.TicketNotFoundError):
            s.info(pinned.ticket)  # the broker released it
        assert s.fetch_table("p").to_arrow().column("a").to_pylist() == [7]
        s.publish_table(pa.table({"a": [8]}), "p")  # and the other way round
        assert s.fetch_table("p").to_arrow().column("a").to_pylist() == [8]

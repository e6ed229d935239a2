"""The seed's lifetime rules, end to end: release, GC, close, and a killed publisher."""

from __future__ import annotations

import gc
import os
import signal
import time

import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess, spawn_child

DATA = pa.table({"a": list(range(1000)), "b": [str(i) for i in range(1000)]})


def wait_gone(session: tb.Session, ticket: object, timeout: float = 10.0) -> float:
    """Seconds until fetching `ticket` fails with TicketNotFoundError."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            session.fetch_table(ticket)
        except tb.TicketNotFoundError:
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"{ticket} still published after {timeout}s")


def segment_files(session: tb.Session) -> set[str]:
    shm = session._backend.server.shm_dir
    return {f for f in os.listdir(shm) if f.endswith(".arrow")}


def test_explicit_release(broker: BrokerProcess) -> None:
    with tb.Session() as pub, tb.Session() as sub:
        t = pub.import_table(DATA)
        shared = tb.SharedTicket.random_ticket()
        pub.publish(t.ticket, shared)
        kept = sub.fetch_table(shared)
        pub.release(t.ticket)
        with pytest.raises(tb.TicketNotFoundError, match="not published"):
            sub.fetch_table(shared)
        assert kept.to_arrow().equals(DATA)  # fetched data stays valid
        with pytest.raises(tb.TicketNotFoundError, match="does not exist in this session"):
            pub.publish(t.ticket, tb.SharedTicket.random_ticket())


def test_segment_unlinked_when_last_reference_goes(broker: BrokerProcess) -> None:
    with tb.Session() as pub, tb.Session() as sub:
        before = segment_files(pub)
        t = pub.import_table(DATA)
        pub.publish(t.ticket, "seg")
        fetched = sub.fetch_table("seg")
        created = segment_files(pub) - before
        assert len(created) == 1
        pub.release(t)
        assert segment_files(pub) - before == created  # the subscriber still holds it
        data = fetched.to_arrow()
        sub.release(fetched)
        assert segment_files(pub) - before == set()  # unlinked ...
        assert data.equals(DATA)  # ... and the mapped pages stay readable


def test_garbage_collected_table_releases(broker: BrokerProcess) -> None:
    with tb.Session() as pub, tb.Session() as sub:
        t = pub.import_table(DATA)
        shared = tb.SharedTicket.random_ticket()
        pub.publish(t.ticket, shared)
        assert sub.fetch_table(shared).num_rows == 1000
        del t
        gc.collect()
        wait_gone(sub, shared)


def test_publish_table_keeps_its_import_alive(broker: BrokerProcess) -> None:
    with tb.Session() as pub, tb.Session() as sub:
        pub.publish_table(DATA, "kept")
        gc.collect()
        time.sleep(0.3)
        assert sub.fetch_table("kept").num_rows == 1000
        pub.release("kept")
        with pytest.raises(tb.TicketNotFoundError):
            sub.fetch_table("kept")


def test_close_unpublishes(broker: BrokerProcess) -> None:
    sub = tb.Session()
    with tb.Session() as pub:
        pub.publish_table(DATA, "closing")
        kept = sub.fetch_table("closing")
    with pytest.raises(tb.TicketNotFoundError, match="nothing is published"):
        sub.fetch_table("closing")
    assert kept.to_arrow().equals(DATA)
    with pytest.raises(tb.SessionClosedError):
        pub.fetch_table("closing")
    # each call on a closed session names itself
    for call, args, said in [
        (pub.append_table, ("closing", {"a": [1]}), "cannot append to a table"),
        (pub.fetch_object, ("closing",), "cannot fetch object"),
    ]:
        with pytest.raises(tb.SessionClosedError, match=f"{said}: this session is closed"):
            call(*args)
    sub.close()


def test_killed_publisher_is_reaped(broker: BrokerProcess) -> None:
    code = """
    import sys, pyarrow as pa, ticketbooth as tb
    s = tb.Session()
    s.publish_table(pa.table({"a": [1, 2, 3]}), "doomed")
    print("ready", flush=True)
    sys.stdin.readline()
    """
    pub = spawn_child(code, broker.env)
    assert pub.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
    with tb.Session() as sub:
        kept = sub.fetch_table("doomed")
        os.kill(pub.pid, signal.SIGKILL)
        pub.wait()
        wait_gone(sub, "doomed", timeout=30)  # the broker's TTL is 3 s
        assert kept.to_arrow().column("a").to_pylist() == [1, 2, 3]
        assert "doomed" not in sub.exportable_objects


def test_normal_exit_closes_the_session(broker: BrokerProcess) -> None:
    """A publisher that exits without close() is closed at exit, not left to expire."""
    from tests.conftest import run_child

    with tb.Session() as sub:
        watch = sub.watch("bye")
        run_child(
            "import pyarrow as pa, ticketbooth as tb\n"
            "s = tb.Session()\n"
            "s.publish_table(pa.table({'a': [1]}), 'bye')\n",
            broker.env,
        )
        kinds = [(e.kind, e.reason) for e in watch]
    assert kinds == [("published", ""), ("released", "closed")]

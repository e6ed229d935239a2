"""Bad input and faults on a real Deephaven server: each is a clear TicketboothError, and
nothing hangs (every call has a deadline)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.deephaven_server import DeephavenServer


def test_ten_million_rows_as_one_record_batch(dh: DeephavenServer) -> None:
    """pydeephaven sends one 320 MB batch as one message: the server takes it and the
    next fetch hangs for minutes. ticketbooth re-chunks, so it round-trips."""
    n = 10_000_000
    data = pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "x": pa.array(range(n), pa.float64()),
            "y": pa.array(range(n, 0, -1), pa.int64()),
            "z": pa.array(range(n), pa.float64()),
        }
    ).combine_chunks()
    assert data.column(0).num_chunks == 1  # ONE record batch of 320 MB
    with (
        tb.Session(dh.url, token=dh.psk, timeout=60) as pub,
        tb.Session(dh.url, token=dh.psk) as sub,
    ):
        shared = tb.SharedTicket.random_ticket()
        pub.publish_table(data, shared)
        got = sub.fetch_table(shared)
        assert got.num_rows == n
        assert got.to_arrow().equals(data)
        pub.release(shared)


def test_wrong_and_missing_token(dh: DeephavenServer) -> None:
    with pytest.raises(tb.AuthenticationError, match=r"refused the credentials.*pre-shared key"):
        tb.Session(dh.url, token="not-the-key")
    with pytest.raises(tb.AuthenticationError, match="refused the credentials"):
        tb.Session(dh.url)  # anonymous, on a PSK server


def test_nothing_listening() -> None:
    from tests.deephaven_server import free_port

    t0 = time.monotonic()
    with pytest.raises(tb.BrokerUnavailableError, match=r"unreachable.*is it running"):
        tb.Session(f"deephaven://127.0.0.1:{free_port()}", timeout=5)
    assert time.monotonic() - t0 < 30


def test_bad_urls_and_tickets(dh: DeephavenServer) -> None:
    with pytest.raises(tb.InvalidInputError, match="port must be a number"):
        tb.Session("deephaven://127.0.0.1:notaport")
    with pytest.raises(tb.InvalidInputError, match="is not deephaven://host:port"):
        tb.Session("deephaven://127.0.0.1:10000/some/path")
    tls_to_plain = dh.url.replace("deephaven://", "deephavens://")
    with pytest.raises(tb.BrokerUnavailableError, match=r"does not answer TLS.*use deephaven://"):
        tb.Session(tls_to_plain, token=dh.psk, timeout=10)
    with tb.Session(dh.url, token=dh.psk) as s:
        with pytest.raises(tb.TicketNotFoundError, match="released by its publisher"):
            s.fetch_table(tb.SharedTicket.random_ticket())
        with pytest.raises(tb.TicketNotFoundError):
            s.fetch_table("no_such_name_here")
        with pytest.raises(tb.InvalidInputError, match="invalid scope name"):
            s.fetch_table("bad name!")
        with pytest.raises(tb.InvalidInputError, match="keeps no earlier versions"):
            s.fetch_table("anything", version=2)
        with pytest.raises(tb.InvalidInputError, match="need the ticketbooth broker"):
            s.serve_requests("anything", lambda payload, refs: b"")


def test_types_deephaven_cannot_hold_are_refused_before_sending(dh: DeephavenServer) -> None:
    with tb.Session(dh.url, token=dh.psk) as s:
        s.publish_table({"ok": [1]}, "kept_name")
        bad = pa.table({"ok": [1], "d": pa.array(["x"]).dictionary_encode()})
        with pytest.raises(tb.InvalidInputError, match=r"column 'd' has type dictionary.*cast it"):
            s.publish_table(bad, "kept_name")
        assert s.fetch_table("kept_name").to_arrow().column("ok").to_pylist() == [1]
        with pytest.raises(tb.InvalidInputError, match="not a table"):
            s.import_table(42)
        for name in ("i", "class", "my col"):  # the server takes these, then fails on use
            with pytest.raises(tb.InvalidInputError, match=f"column '{name}' .*rename it"):
                s.publish_table({name: [1]}, "kept_name")
        assert s.fetch_table("kept_name").to_arrow().column("ok").to_pylist() == [1]


def test_publishing_what_is_not_an_export_fails_at_once(dh: DeephavenServer) -> None:
    """The server would wait for an export that never comes until the call's deadline."""
    from ticketbooth._tickets import ExportTicket

    with tb.Session(dh.url, token=dh.psk, timeout=20) as s:
        released = s.import_table({"a": [1]})
        s.release(released)
        for source in (ExportTicket(b"e\xe7\x03\x00\x00"), released.ticket):
            for result in ("never_there", tb.SharedTicket.random_ticket()):
                t0 = time.monotonic()
                with pytest.raises(tb.TicketNotFoundError):
                    s.publish(source, result)
                assert time.monotonic() - t0 < 5


def test_republishing_a_shared_ticket_says_what_to_do(dh: DeephavenServer) -> None:
    with tb.Session(dh.url, token=dh.psk) as s:
        shared = tb.SharedTicket.random_ticket()
        s.publish_table({"a": [1]}, shared)
        with pytest.raises(tb.InvalidInputError, match=r"published once.*scope name"):
            s.publish_table({"a": [2]}, shared)
        assert s.fetch_table(shared).to_arrow().column("a").to_pylist() == [1]
        s.publish_table({"a": [2]}, "republished")
        s.publish_table({"a": [3]}, "republished")  # a scope name republishes
        assert s.fetch_table("republished").to_arrow().column("a").to_pylist() == [3]
        with pytest.raises(tb.InvalidInputError, match="keeps scope names"):
            s.release("republished")


def test_server_killed_mid_session() -> None:
    server = DeephavenServer()
    try:
        s = tb.Session(server.url, timeout=10)
        s.publish_table({"a": [1, 2]}, "doomed")
        kept = s.fetch_table("doomed")
        server.kill()
        calls = {
            "fetch table": lambda: s.fetch_table("doomed"),
            "import table": lambda: s.import_table({"a": [1]}),
            "publish": lambda: s.publish(kept.ticket, tb.SharedTicket.random_ticket()),
            "list objects": lambda: s.tables,
        }
        for what, call in calls.items():
            t0 = time.monotonic()
            with pytest.raises(tb.BrokerUnavailableError, match="unreachable") as info:
                call()
            assert what in str(info.value)
            assert time.monotonic() - t0 < 15, f"{what} took {time.monotonic() - t0:.1f} s"
        assert kept.to_arrow().column("a").to_pylist() == [1, 2]  # fetched data stays
        t0 = time.monotonic()
        s.close()  # quiet, and quick
        assert time.monotonic() - t0 < 15
        assert not s.is_alive
    finally:
        server.stop()


def test_server_restarted_under_a_session() -> None:
    """A new server on the same port does not know the session: said once, clearly."""
    server = DeephavenServer(psk="restart-key")
    try:
        s = tb.Session(server.url, token="restart-key", timeout=10)
        s.publish_table({"a": [1]}, "before_restart")
        port = server.port
        server.kill()
        server.stop()
        server = DeephavenServer(psk="restart-key", port=port)
        with pytest.raises(tb.SessionClosedError, match="no longer knows this session"):
            s.fetch_table("before_restart")
        assert not s.is_alive
        with pytest.raises(tb.SessionClosedError, match="no longer knows this session"):
            _ = s.tables
        s.close()
        with tb.Session(server.url, token="restart-key") as fresh:  # a new session works
            assert "before_restart" not in fresh.tables
    finally:
        server.stop()


def test_server_stopped_mid_session_times_out_clearly() -> None:
    """A server that stops answering (SIGSTOP: a hung JVM) costs one deadline per call,
    with a message that says so, and close() still returns."""
    server = DeephavenServer()
    try:
        s = tb.Session(server.url, timeout=3)
        s.publish_table({"a": [1]}, "frozen")
        os.killpg(server.proc.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        with pytest.raises(tb.BrokerUnavailableError, match="did not answer fetch table in time"):
            s.fetch_table("frozen")
        assert time.monotonic() - t0 < 15
        t0 = time.monotonic()
        s.close()
        assert time.monotonic() - t0 < 15
    finally:
        os.killpg(server.proc.pid, signal.SIGCONT)
        server.stop()


def test_tls_with_the_servers_certificate(tmp_path: Path) -> None:
    """deephavens:// with the CA to trust; without it, the error names the certificate."""
    server = DeephavenServer(psk="tls-key", tls=True)
    try:
        assert server.url.startswith("deephavens://") and server.cert is not None
        with tb.Session(server.url, token="tls-key", tls_root_certs=str(server.cert)) as s:
            s.publish_table({"a": [1, 2]}, "over_tls")
            assert s.fetch_table("over_tls").to_arrow().column("a").to_pylist() == [1, 2]
        with pytest.raises(tb.BrokerUnavailableError, match=r"does not trust.*tls_root_certs"):
            tb.Session(server.url, token="tls-key", timeout=10)  # the system's CAs: untrusted
        plain = server.url.replace("deephavens://", "deephaven://")
        with pytest.raises(tb.BrokerUnavailableError, match="use deephavens://"):
            tb.Session(plain, token="tls-key", timeout=10)
    finally:
        server.stop()

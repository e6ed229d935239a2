"""Streams hold bounded memory: a plugin stream releases the table versions it exported once
they are superseded; a reader that stops reading is dropped with a reason, never the
publisher slowed; only the publisher may answer requests for its object."""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess, start_broker
from tests.integration.test_liveness import wait_for

MiB = 1 << 20


def segments(session: tb.Session) -> set[str]:
    return {f for f in os.listdir(session._backend.server.shm_dir) if f.startswith("obj-")}


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_plugin_stream_on_a_table_keeps_only_the_current_version(broker: BrokerProcess) -> None:
    """30 republishes while a subscriber follows the table's plugin stream: superseded
    versions beyond the kept history are freed, and closing the stream frees what it held."""
    with tb.Session() as pub, tb.Session() as sub:
        before = segments(pub)
        pub.publish_table(pa.table({"v": [0] * 1000}), "moving")
        client = sub.plugin_client(sub.exportable_objects["moving"])
        payload, refs = next(client.resp_stream)
        assert pa.ipc.read_schema(pa.py_buffer(payload)).names == ["v"]
        assert refs and refs[0].type == "Table"
        for version in range(1, 31):
            pub.publish_table(pa.table({"v": [version] * 1000}), "moving")
            _, refs = next(client.resp_stream)
            assert client.resp_stream.version == version + 1
            # a reference stays usable until the next payload; fetching it keeps it
            assert sub.fetch_table(refs[0]).to_arrow().column("v")[0].as_py() == version
        # the broker keeps the last 3 earlier versions for fetches by version: no more
        kept = len(pub.info("moving").kept_versions)
        assert kept == 3
        held = segments(pub) - before
        assert len(held) <= 2 + kept, f"{len(held)} table versions still held"
        client.close()
        gc.collect()  # the fetched copies above are released when collected
        wait_for(
            lambda: len(segments(pub) - before) == 1 + kept, "closing the stream frees its versions"
        )


class Big:
    """A 2 MB display object."""

    def __init__(self, i: int) -> None:
        self.i = i

    def _repr_html_(self) -> str:
        return f"<p>{self.i}</p>" + "x" * (2 * MiB)


def broker_with(tmp_path: Path, *options: str) -> Iterator[BrokerProcess]:
    b = start_broker(tmp_path / "rt", *options)
    yield b
    b.stop()


@pytest.fixture
def small_queue_broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    yield from broker_with(tmp_path, "--max-queue-bytes", "8MiB")


def test_readers_that_stop_reading_are_dropped_not_buffered(
    small_queue_broker: BrokerProcess,
) -> None:
    """4 plugin clients that never read + 100 republishes of a 2 MB figure (800 MB if the
    broker buffered it all): the publisher is never held up, the broker's memory stays
    bounded, and each slow client learns why it was dropped."""
    b = small_queue_broker
    with tb.Session(b.url, token=b.token) as pub, tb.Session(b.url, token=b.token) as sub:
        pub.publish_figure(Big(0), "big")
        clients = [sub.plugin_client("big") for _ in range(4)]
        watch = sub.watch("big")  # a watcher that never reads, too
        base = rss_bytes(b.proc.pid)
        for i in range(1, 101):
            pub.publish_figure(Big(i), "big")
        grown = rss_bytes(b.proc.pid) - base
        assert grown < 300 * MiB, f"the broker grew by {grown / MiB:.0f} MiB"
        for client in clients:
            with pytest.raises(tb.LimitExceededError, match=r"fell .* behind"):
                for _ in client.resp_stream:
                    pass
            client.close()
        watch.close()
        assert pub.fetch_object("big").bundle.data["text/html"].startswith("<p>100</p>")


def test_a_publisher_that_does_not_read_requests_is_not_buffered_without_bound(
    small_queue_broker: BrokerProcess,
) -> None:
    """A handler that is stuck while 40 MiB of requests arrive (the queue holds 8 MiB):
    the requests beyond the queue fail at once with a reason instead of piling up in the
    broker; the others are answered once the handler moves again."""
    b = small_queue_broker
    with tb.Session(b.url, token=b.token) as pub, tb.Session(b.url, token=b.token) as sub:
        pub.publish_figure(Big(0), "busy")
        stuck = threading.Event()

        def handler(payload: bytes, refs: list[tb.Ticket]) -> bytes:
            stuck.wait(60)
            return b"answered"

        server = pub.serve_requests("busy", handler)
        clients = [sub.plugin_client("busy") for _ in range(40)]
        for client in clients:
            next(client.resp_stream)
            client.req_stream.write(b"r" * MiB)
        time.sleep(2)  # let every request reach the broker while the handler is stuck
        stuck.set()
        outcomes = []
        for client in clients:
            try:
                outcomes.append(next(client.resp_stream)[0].decode())
            except tb.TicketboothError as exc:
                outcomes.append(str(exc))
            client.close()
        server.close()
    refused = [o for o in outcomes if "not keeping up" in o]
    assert refused and "answered" in outcomes, outcomes
    assert set(outcomes) == {"answered", refused[0]}, outcomes


def test_only_the_publisher_may_answer_requests(broker: BrokerProcess) -> None:
    with tb.Session() as pub, tb.Session() as other:
        pub.publish_figure(Big(1), "mine")
        copy = other.fetch_object("mine")
        with pytest.raises(tb.PermissionDeniedError, match="only the session that published"):
            other.serve_requests(copy.ticket, lambda p, r: b"forged")
        with pytest.raises(tb.PermissionDeniedError, match="only the session that published"):
            other.serve_requests("mine", lambda p, r: b"forged")


@pytest.fixture
def three_exports(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A broker whose sessions may hold 3 exports each."""
    yield from broker_with(tmp_path, "--max-exports-per-session", "3")


def test_plugin_streams_at_the_export_limit_end_with_the_reason(
    three_exports: BrokerProcess,
) -> None:
    """A plugin stream on a table exports it to the subscriber's session: at the session's
    export limit the stream is refused (RESOURCE_EXHAUSTED and the reason), both when it
    opens and (below) when a republish finds the session full; it never hangs."""
    b = three_exports
    with tb.Session(b.url, token=b.token) as pub, tb.Session(b.url, token=b.token) as full:
        pub.publish_table(pa.table({"a": [1, 2, 3]}), "t")
        held = [full.fetch_table("t") for _ in range(3)]
        with pytest.raises(tb.LimitExceededError, match="3 exports"):
            next(full.plugin_client("t").resp_stream)
        assert len(held) == 3
    log = (b.runtime_dir / "ticketbooth-broker.log").read_text()
    assert "Traceback" not in log, log[-2000:]


def test_plugin_stream_ends_when_a_republish_finds_the_session_full(
    three_exports: BrokerProcess,
) -> None:
    b = three_exports
    with tb.Session(b.url, token=b.token) as pub, tb.Session(b.url, token=b.token) as sub:
        pub.publish_table(pa.table({"a": [1, 2, 3]}), "t")
        client = sub.plugin_client("t")
        _, refs = next(client.resp_stream)
        sub.release(refs[0].ticket)  # the subscriber lets go of the stream's reference
        held = [sub.fetch_table("t") for _ in range(3)]  # and fills its session
        pub.publish_table(pa.table({"a": [4, 5]}), "t")
        got: list[object] = []

        def read() -> None:
            try:
                got.extend(client.resp_stream)
            except Exception as exc:
                got.append(exc)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(10)
        assert not reader.is_alive(), "the stream hangs after a republish it cannot send"
        assert len(got) == 1 and isinstance(got[0], tb.LimitExceededError), got
        assert "republished" in str(got[0]) and "3 exports" in str(got[0])
        assert pub.fetch_table("t").to_arrow().to_pydict() == {"a": [4, 5]}
        assert len(held) == 3
    log = (b.runtime_dir / "ticketbooth-broker.log").read_text()
    assert "Traceback" not in log, log[-2000:]

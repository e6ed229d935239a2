"""Remote transfers over Flight: Ctrl+C mid-stream, released tickets, DoPut from a stock
client, progress bars (terminal and notebook), and the methods the broker does not serve."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess, spawn_child, start_broker
from tests.integration.conftest import segment_name
from tests.integration.test_liveness import wait_for
from tests.kernels import Kernel

DATA = pa.table({"x": np.arange(100_000, dtype=np.int64)})


def segments(session: tb.Session) -> set[str]:
    return {f for f in os.listdir(session._backend.server.shm_dir) if f.startswith("obj-")}


def stock_client(b: BrokerProcess, session: tb.Session | None = None) -> tuple[Any, Any]:
    assert b.tcp_url is not None
    headers = [(b"authorization", f"Bearer {b.token}".encode())]
    if session is not None:
        headers.append((b"x-ticketbooth-session", session.session_id.encode()))
    client = flight.FlightClient(f"grpc+tcp://{b.tcp_url}")
    return client, flight.FlightCallOptions(headers=headers)


def read_line(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    return child.stdout.readline().strip()


SLOW_UPLOAD = """
import time, numpy as np, pyarrow as pa, ticketbooth as tb
s = tb.Session(force_remote=True)
schema = pa.schema([("x", pa.int64())])
def batches():
    for i in range(1000):
        yield pa.record_batch([pa.array(np.arange(100_000))], schema=schema)
        if i == 2:
            print("uploading", flush=True)
        time.sleep(0.01)
try:
    s.publish_table(pa.RecordBatchReader.from_batches(schema, batches()), "interrupted")
    print("completed", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
s.publish_table(pa.table({"a": [1, 2, 3]}), "after")   # the session still works
print("tables", sorted(s.tables), flush=True)
input()
"""


def test_ctrl_c_mid_upload_stores_nothing(broker: BrokerProcess) -> None:
    with tb.Session() as observer:
        before = segments(observer)
        child = spawn_child(SLOW_UPLOAD, broker.env)
        try:
            assert read_line(child) == "uploading"
            child.send_signal(signal.SIGINT)
            assert read_line(child) == "interrupted"
            assert read_line(child) == "tables ['after']"
            wait_for(lambda: len(segments(observer) - before) == 1, "only 'after' stored")
        finally:
            child.kill()
            child.wait()


SLOW_FETCH = """
import ticketbooth as tb
s = tb.Session(force_remote=True)
print("fetching", flush=True)
try:
    s.fetch_table("big").to_arrow()
    print("completed", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
print("rows", s.fetch_table("small").num_rows, flush=True)
"""


@pytest.fixture
def small_message_broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    """Tiny messages: a fetch of 200 MB is thousands of messages, long enough to interrupt."""
    b = start_broker(tmp_path / "rt", "--max-message-bytes", "64KiB", "--port", "0")
    yield b
    b.stop()


def test_ctrl_c_mid_fetch(small_message_broker: BrokerProcess) -> None:
    b = small_message_broker
    with tb.Session(b.url, token=b.token) as pub:
        pub.publish_table(pa.table({"x": np.arange(25_000_000, dtype=np.int64)}), "big")
        pub.publish_table(pa.table({"a": [1, 2]}), "small")
        child = spawn_child(SLOW_FETCH, b.env)
        try:
            assert read_line(child) == "fetching"
            threading.Event().wait(0.1)  # somewhere in the middle of the stream
            child.send_signal(signal.SIGINT)
            assert read_line(child) == "interrupted"
            assert read_line(child) == "rows 2"
        finally:
            child.kill()
            child.wait()


def test_released_tickets_over_flight(broker: BrokerProcess) -> None:
    client, auth = stock_client(broker)
    big = pa.table({"x": np.arange(5_000_000, dtype=np.int64)})
    with tb.Session() as pub:
        pub.publish_table(big, "going")
        reader = client.do_get(flight.Ticket(b"s/going"), auth)
        first = reader.read_chunk().data
        pub.release("going")  # mid-stream: the reader keeps what it is reading
        rest = reader.read_all()
        got = pa.Table.from_batches([first, *rest.to_batches()])
        assert got.equals(big)
        with pytest.raises(pa.ArrowKeyError, match="nothing is published under the name 'going'"):
            client.do_get(flight.Ticket(b"s/going"), auth).read_all()
        with tb.Session(force_remote=True) as sub, pytest.raises(tb.TicketNotFoundError):
            sub.fetch_table("going")
    client.close()


def test_do_put_from_a_stock_client(broker: BrokerProcess) -> None:
    with tb.Session(name="stock-flight") as s, tb.Session(force_remote=True) as reader:
        client, options = stock_client(broker, s)
        before = segments(s)
        for version in (1, 2):
            data = pa.table({"v": [version] * 1000})
            descriptor = flight.FlightDescriptor.for_path("from-flight")
            writer, _ = client.do_put(descriptor, data.schema, options)
            writer.write_table(data)
            writer.close()
            assert reader.fetch_table("from-flight").to_arrow().equals(data)
        # version 1 is kept for fetch_table(..., version=1), and nothing else
        assert s.info("from-flight").kept_versions == (1,)
        assert len(segments(s) - before) == 2, "republishing leaked a version"
        by_id = flight.FlightDescriptor.for_path("export", "7")
        writer, _ = client.do_put(by_id, DATA.schema, options)
        writer.write_table(DATA)
        writer.close()
        s.publish(tb.ExportTicket.export_ticket(7), "by-id")  # pydeephaven picks its own ids
        assert reader.fetch_table("by-id").num_rows == DATA.num_rows
        with pytest.raises(pa.ArrowException, match="export 7 already exists"):
            writer, _ = client.do_put(by_id, DATA.schema, options)  # refused at any step
            writer.write_table(DATA)
            writer.close()
        client.close()
    no_session, auth = stock_client(broker)
    with pytest.raises(flight.FlightUnauthenticatedError, match="x-ticketbooth-session"):
        writer, _ = no_session.do_put(flight.FlightDescriptor.for_path("x"), DATA.schema, auth)
        writer.write_table(DATA)
        writer.close()
    with pytest.raises(pa.ArrowNotImplementedError, match="not served by the ticketbooth broker"):
        list(no_session.do_action(flight.Action("anything", b""), auth))
    no_session.close()


def test_a_long_upload_shows_a_progress_bar(broker: BrokerProcess) -> None:
    code = SLOW_UPLOAD.replace("if i == 2:", "if i == 1000:").replace("input()", "")
    code = code.replace("range(1000)", "range(150)")  # about 1.5 s
    child = spawn_child(code, broker.env)
    out, err = child.communicate(timeout=120)
    assert "completed" in out
    assert "import table" in err and "B/s" in err, err


def test_a_long_upload_in_a_notebook_shows_a_widget_bar(broker: BrokerProcess) -> None:
    kernel = Kernel(broker.env)
    try:
        kernel.run(
            "import time, numpy as np, pyarrow as pa, ticketbooth as tb\n"
            "s = tb.Session(force_remote=True)\n"
            "schema = pa.schema([('x', pa.int64())])\n"
            "def batches():\n"
            "    for i in range(150):\n"
            "        yield pa.record_batch([pa.array(np.arange(100_000))], schema=schema)\n"
            "        time.sleep(0.01)\n"
            "s.publish_table(pa.RecordBatchReader.from_batches(schema, batches()), 'nb')\n"
        )
        widgets = [d for d in kernel.displays if "application/vnd.jupyter.widget-view+json" in d]
        assert widgets, kernel.displays
        assert any("import table" in str(d.get("text/plain", "")) for d in widgets), widgets
    finally:
        kernel.shutdown()


def test_segments_are_stored_in_message_sized_batches(broker: BrokerProcess) -> None:
    """A table published as one 80 MB batch is stored in batches that DoGet sends as they
    lie in shared memory (before, every remote fetch re-encoded the whole table)."""
    one_batch = pa.table({"x": np.arange(10_000_000, dtype=np.int64)})
    assert one_batch.column("x").num_chunks == 1
    with tb.Session() as s:
        for remote in (False, True):
            with tb.Session(force_remote=remote) as pub:
                pub.publish_table(one_batch, "stored")
                chunk = s._backend.server.limits.max_message_bytes - 64 * 1024
                path = os.path.join(s._backend.server.shm_dir, segment_name(s, "stored"))
                with pa.memory_map(path) as source:
                    sizes = [
                        m.metadata.size + (m.body.size if m.body else 0)
                        for m in pa.ipc.MessageReader.open_stream(source)
                    ]
                assert len(sizes) > 10 and max(sizes) <= chunk, (remote, len(sizes), max(sizes))

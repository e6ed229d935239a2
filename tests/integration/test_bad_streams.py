"""Bad inputs, continued: oversized and malformed streams, bad shm segments, a broker that
dies mid-session. Every case checks the error and that the broker keeps serving."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess, start_broker
from tests.integration.conftest import (
    SMALL_LIMIT,
    MiB,
    Published,
    RawClient,
    assert_intact,
    assert_no_export,
    flight_frames,
    reference_table,
    rpc_error,
    shm_files,
)
from ticketbooth import _arrow, _segments
from ticketbooth._proto.flight import flight_pb2 as fl
from ticketbooth._proto.v1 import broker_pb2 as pb


# sizes -----------------------------------------------------------------------------------------
def test_oversized_raw_flight_message(published: Published, raw: RawClient) -> None:
    before = shm_files(published.session)
    schema = pa.schema([("s", pa.string())])
    frames = flight_frames(schema, [(b"\0" * 64, b"\0" * (6 * MiB))], rows=1)
    err = rpc_error(raw.do_put, frames)
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in err.details()
    assert raw.server.limits.max_message_bytes == 4 * MiB
    time.sleep(0.2)
    # The refused upload must not become an export of the session (a truncated table that
    # nobody holds a ticket to, kept in shared memory until the session closes).
    assert_no_export(raw, 1, "the refused upload was stored as export 1")
    assert shm_files(published.session) == before, "the refused upload left a segment behind"
    assert_intact(published)


def test_cancelled_raw_flight_put_is_not_stored(published: Published, raw: RawClient) -> None:
    before = shm_files(published.session)
    batch = pa.record_batch({"a": pa.array(range(100), pa.int64())})
    frames = flight_frames(batch.schema, [batch.serialize().to_pybytes()])

    def stream() -> Iterator[bytes]:
        yield from frames
        time.sleep(0.3)
        raise RuntimeError("the uploader crashed half way")

    err = rpc_error(raw.do_put, stream())
    assert err.code() in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.CANCELLED)
    time.sleep(0.3)
    assert_no_export(raw, 1, "the half-sent table was stored as export 1")
    assert shm_files(published.session) == before, "the cancelled upload left a segment behind"
    assert_intact(published)


def test_flight_put_without_its_end_marker_is_not_stored(
    published: Published, raw: RawClient
) -> None:
    """ticketbooth's own uploads end with a marker: a stream that ends early (a client
    interrupted between batches that then closed normally) is refused, not stored short."""
    before = shm_files(published.session)
    batch = pa.record_batch({"a": pa.array(range(100), pa.int64())})
    err = rpc_error(raw.do_put, flight_frames(batch.schema, [batch.serialize().to_pybytes()]))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "without its end marker" in err.details()
    wrong = flight_frames(batch.schema, [batch.serialize().to_pybytes()], rows=99)
    assert "announced 99 rows but carried 100" in rpc_error(raw.do_put, wrong).details()
    assert shm_files(published.session) == before
    assert_intact(published)


SCHEMA = pa.schema([("a", pa.int64())])


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        ([], "empty DoPut stream"),
        (flight_frames(SCHEMA, descriptor=None), "must carry a FlightDescriptor"),
        (flight_frames((b"garbage", b"")), "not an Arrow schema"),
        (flight_frames(SCHEMA, [(b"garbage-garbage", b"")], rows=0), "malformed Arrow record"),
        (flight_frames(SCHEMA, [(b"\0" * 100, b"")], rows=0), "malformed Arrow record"),
        ([b"\xff\xff\xff"], "malformed FlightData"),
        (
            flight_frames(SCHEMA, descriptor=fl.FlightDescriptor(type=fl.FlightDescriptor.PATH)),
            "names its target",
        ),
    ],
    ids=["empty", "no-descriptor", "bad-schema", "bad-batch", "zero", "bad-frame", "no-target"],
)
def test_malformed_raw_flight_put(
    published: Published, raw: RawClient, frames: list[bytes], expected: str
) -> None:
    before = shm_files(published.session)
    err = rpc_error(raw.do_put, frames)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    assert expected in err.details()
    assert shm_files(published.session) == before
    assert_intact(published)


def test_forced_remote_import_of_10mb_table_is_chunked(
    small_published: Published, small_broker: BrokerProcess
) -> None:
    n = 10 * MiB // 16
    big = pa.table({"id": np.arange(n, dtype=np.int64), "x": np.random.default_rng(1).random(n)})
    assert big.nbytes >= 10 * MiB
    url, token = small_broker.url, small_broker.token
    with tb.Session(url, token=token, force_remote=True, timeout=30) as s:
        assert not s.same_host
        assert s._backend.server.limits.max_message_bytes == SMALL_LIMIT
        try:
            imported = s.import_table(big)
        except tb.BrokerUnavailableError as exc:
            pytest.fail(f"forced-remote import of a 10 MB table did not finish in 30 s: {exc}")
        assert imported.num_rows == n
        s.publish(imported, "big")
        with tb.Session(url, token=token, force_remote=True, timeout=30) as reader:
            assert reader.fetch_table("big").to_arrow().equals(big)
        with tb.Session(url, token=token) as local:
            assert local.same_host
            assert local.fetch_table("big").to_arrow().equals(big)
    assert_intact(small_published)


def test_remote_messages_are_close_to_the_limit() -> None:
    """A 10 MB table goes out as a few hundred 64 KiB messages, not 655,360."""
    n = 10 * MiB // 16
    big = pa.table({"id": np.arange(n, dtype=np.int64), "x": np.zeros(n)})
    sizes = [
        piece.serialize().size
        for batch in big.to_batches()
        for piece in _arrow.message_sized(batch, SMALL_LIMIT)
    ]
    assert max(sizes) <= SMALL_LIMIT
    assert len(sizes) <= 2 * big.nbytes // SMALL_LIMIT + 2, (
        f"{len(sizes)} messages for {big.nbytes} bytes with a {SMALL_LIMIT}-byte limit"
    )


def test_cell_larger_than_message_limit_on_import(
    small_published: Published, small_broker: BrokerProcess
) -> None:
    huge_cell = pa.table({"s": ["x" * (4 * SMALL_LIMIT)]})
    with tb.Session(small_broker.url, token=small_broker.token, force_remote=True) as s:
        with pytest.raises(tb.LimitExceededError) as info:
            s.import_table(huge_cell)
        assert "message limit" in str(info.value)
        assert str(SMALL_LIMIT) in str(info.value)
        with pytest.raises(tb.LimitExceededError):
            s.publish_table(huge_cell, "huge")
        assert "huge" not in s.tables
    assert_intact(small_published)


def test_cell_larger_than_message_limit_on_fetch(
    small_published: Published, small_broker: BrokerProcess
) -> None:
    huge_cell = pa.table({"s": ["x" * (4 * SMALL_LIMIT)]})
    url, token = small_broker.url, small_broker.token
    with tb.Session(url, token=token) as local:
        assert local.same_host  # shared memory has no message limit
        local.publish_table(huge_cell, "huge")
        with tb.Session(url, token=token, force_remote=True, timeout=10) as remote:
            with pytest.raises(tb.LimitExceededError) as info:
                remote.fetch_table("huge")
            assert "message limit" in str(info.value)
        assert local.fetch_table("huge").to_arrow().equals(huge_cell)
    assert_intact(small_published)


# ImportShm -------------------------------------------------------------------------------------
def import_shm(session: tb.Session, name: str) -> Any:
    request = pb.ImportShmRequest(shm_name=name)
    return session._backend.call("import table", session._backend.conn.tables.ImportShm, request)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../etc/passwd", "is not an incoming segment name"),
        ("/etc/passwd", "is not an incoming segment name"),
        ("in-../../etc/passwd.arrow", "is not an incoming segment name"),
        ("nonce", "is not an incoming segment name"),
        ("", "is not an incoming segment name"),
        ("in-" + "0" * 32 + ".arrow", "does not exist"),
    ],
)
def test_import_shm_bad_names(published: Published, name: str, expected: str) -> None:
    with tb.Session() as s:
        before = shm_files(s)
        with pytest.raises(tb.InvalidInputError) as info:
            import_shm(s, name)
        assert expected in str(info.value)
        assert repr(name) in str(info.value)
        assert shm_files(s) == before
    assert Path("/etc/passwd").exists()
    assert_intact(published)


@pytest.mark.parametrize("content", [b"this is not arrow", b"", b"ARROW1\0\0garbage"])
def test_import_shm_file_that_is_not_arrow(published: Published, content: bytes) -> None:
    with tb.Session() as s:
        before = shm_files(s)
        name = f"in-{secrets.token_hex(16)}.arrow"
        path = Path(s._backend.server.shm_dir) / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        with pytest.raises(tb.InvalidInputError) as info:
            import_shm(s, name)
        assert "not an Arrow IPC file" in str(info.value)
        assert shm_files(s) == before, "the broker kept the refused segment"
    assert_intact(published)


def test_import_shm_symlink_is_refused(published: Published, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.arrow"
    _segments.write_segment(_arrow.as_reader(published.data), str(target))
    original = target.read_bytes()
    with tb.Session() as s:
        name = f"in-{secrets.token_hex(16)}.arrow"
        link = Path(s._backend.server.shm_dir) / name
        link.symlink_to(target)
        try:
            with pytest.raises(tb.InvalidInputError) as info:
                import_shm(s, name)
            assert "is not a regular file" in str(info.value)
        finally:
            link.unlink(missing_ok=True)
    assert target.read_bytes() == original
    assert_intact(published)


# lifetime --------------------------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_broker_killed_mid_session(tmp_path: Path) -> None:
    b = start_broker(tmp_path / "rt-kill")
    s = tb.Session(b.url, token=b.token, timeout=5)
    shm_dir = s._backend.server.shm_dir
    sock_dir = os.path.dirname(b.url.removeprefix("unix://"))
    try:
        data = reference_table()
        s.publish_table(data, "doomed")
        assert s.fetch_table("doomed").to_arrow().equals(data)
        os.kill(b.proc.pid, signal.SIGKILL)
        b.proc.wait(timeout=10)

        calls = {
            "fetch table": lambda: s.fetch_table("doomed"),
            "import table": lambda: s.import_table(data),
            "import table ": lambda: s.publish_table(data, "again"),
            "list objects": lambda: s.tables,
            "release": lambda: s.release("doomed"),
        }
        for what, call in calls.items():  # each fails at once (the test's timeout: no hang)
            with pytest.raises(tb.BrokerUnavailableError) as info:
                call()
            assert "broker" in str(info.value)
            assert what.strip() in str(info.value), (what, str(info.value))
        s.close()  # closing a session whose broker is gone is quiet
        assert not s.is_alive
        with pytest.raises(tb.SessionClosedError):
            s.fetch_table("doomed")
        leftovers = [n for n in os.listdir(shm_dir) if n.startswith("in-")]
        assert leftovers == [], "a failed same-host import left its file behind"
    finally:
        s.close()
        b.stop()
        shutil.rmtree(shm_dir, ignore_errors=True)
        shutil.rmtree(sock_dir, ignore_errors=True)


def test_session_used_after_close(published: Published) -> None:
    s = tb.Session()
    pending = s.import_table(published.data)  # not loaded yet
    s.close()
    s.close()  # closing twice is fine
    assert not s.is_alive
    assert "closed" in repr(s)
    calls = {
        "fetch_table": lambda: s.fetch_table("sales"),
        "open_table": lambda: s.open_table("sales"),
        "import_table": lambda: s.import_table(published.data),
        "publish_table": lambda: s.publish_table(published.data, "after-close"),
        "publish": lambda: s.publish(pending, "after-close"),
        "fetch": lambda: s.fetch(published.shared),
        "info": lambda: s.info("sales"),
        "release": lambda: s.release("sales"),
        "tables": lambda: s.tables,
        "exportable_objects": lambda: s.exportable_objects,
        "to_arrow": pending.to_arrow,
    }
    for what, call in calls.items():
        with pytest.raises(tb.SessionClosedError) as info:
            call()
        assert "closed" in str(info.value), what
    with tb.Session() as other:
        assert "after-close" not in other.tables
    assert_intact(published)

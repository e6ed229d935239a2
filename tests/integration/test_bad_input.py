"""Every bad input gets a clear error, and the broker keeps serving afterwards.

Each test checks three things: the exception class (from `ticketbooth`, or the gRPC status for
raw stub calls), that the message names the problem, and that afterwards a new session can
still fetch what was published before the bad call, with identical rows.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess, start_broker
from ticketbooth import _arrow
from ticketbooth._proto.v1 import broker_pb2 as pb
from ticketbooth._proto.v1 import broker_pb2_grpc as pb_grpc

MiB = 1 << 20
SMALL_LIMIT = 65536


def reference_table() -> pa.Table:
    n = 1000
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "name": [f"row-{i}" for i in range(n)],
            "x": np.linspace(0.0, 1.0, n),
        }
    )


@dataclass
class Published:
    """Objects published before a bad call, which must survive it unchanged."""

    broker: BrokerProcess
    session: tb.Session
    data: pa.Table
    shared: tb.SharedTicket
    name: str = "sales"


def publish_reference(broker: BrokerProcess) -> Published:
    session = tb.Session(broker.url, token=broker.token, name="reference-publisher")
    data = reference_table()
    shared = tb.SharedTicket.random_ticket()
    session.publish_table(data, "sales")
    session.publish_table(data, shared)
    return Published(broker, session, data, shared)


def assert_intact(pub: Published) -> None:
    """The broker is alive, serves a new session, and the reference objects are unchanged."""
    assert pub.broker.proc.poll() is None, "the broker process died"
    assert pub.session.is_alive, "the publisher's session was lost"
    for force_remote in (False, True):
        with tb.Session(pub.broker.url, token=pub.broker.token, force_remote=force_remote) as s:
            assert pub.name in s.tables
            for ticket in (pub.name, pub.shared, str(pub.shared)):
                got = s.fetch_table(ticket).to_arrow()
                assert got.equals(pub.data), f"{ticket} changed (force_remote={force_remote})"


@pytest.fixture
def published(broker: BrokerProcess) -> Iterator[Published]:
    pub = publish_reference(broker)
    yield pub
    pub.session.close()


@pytest.fixture
def small_broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A broker whose gRPC messages may carry at most 64 KiB of table data."""
    b = start_broker(tmp_path / "rt2", "--max-message-bytes", str(SMALL_LIMIT))
    yield b
    b.stop()


@pytest.fixture
def small_published(small_broker: BrokerProcess) -> Iterator[Published]:
    pub = publish_reference(small_broker)
    yield pub
    pub.session.close()


class RawClient:
    """Plain generated stubs with the right metadata, bypassing every client-side check."""

    def __init__(self, broker: BrokerProcess) -> None:
        self.channel = grpc.insecure_channel(
            broker.url,
            options=[
                ("grpc.max_send_message_length", -1),
                ("grpc.max_receive_message_length", -1),
            ],
        )
        self.sessions = pb_grpc.SessionServiceStub(self.channel)
        self.tables = pb_grpc.TableServiceStub(self.channel)
        self.metadata: list[tuple[str, str]] = [("authorization", f"Bearer {broker.token}")]
        resp = self.sessions.OpenSession(
            pb.OpenSessionRequest(client_name="raw-test-client"),
            metadata=self.metadata,
            timeout=10,
        )
        self.metadata.append(("x-ticketbooth-session", resp.session_id))
        self.server = resp.server

    def call(self, method: Any, request: Any) -> Any:
        return method(request, metadata=self.metadata, timeout=10)

    def close(self) -> None:
        try:
            self.call(self.sessions.CloseSession, pb.CloseSessionRequest())
        finally:
            self.channel.close()


@pytest.fixture
def raw(broker: BrokerProcess) -> Iterator[RawClient]:
    client = RawClient(broker)
    yield client
    client.close()


def rpc_error(fn: Any, *args: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        fn(*args)
    return info.value


def assert_no_export(raw: RawClient, export_id: int, why: str) -> None:
    """The raw client's session holds no export `export_id`."""
    ticket = tb.ExportTicket.export_ticket(export_id).bytes
    try:
        info = raw.call(raw.sessions.GetInfo, pb.GetInfoRequest(ticket=ticket))
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.NOT_FOUND, err.details()
    else:
        pytest.fail(f"{why} ({info.num_rows} rows, segment {info.shm_name})")


def shm_files(session: tb.Session) -> set[str]:
    return set(os.listdir(session._server.shm_dir))


# tickets and names ----------------------------------------------------------------------------
def test_unknown_scope_name(published: Published) -> None:
    with tb.Session() as s:
        for call in (s.fetch_table, s.open_table, s.fetch, s.info, s.release):
            with pytest.raises(tb.TicketNotFoundError) as info:
                call("no-such-table")
            assert "no-such-table" in str(info.value), call.__name__
            assert "nothing is published" in str(info.value)
    assert_intact(published)


def test_released_shared_ticket(published: Published) -> None:
    gone = tb.SharedTicket.random_ticket()
    published.session.publish_table(pa.table({"a": [1, 2, 3]}), gone)
    with tb.Session() as s:
        assert s.fetch_table(gone).to_arrow().column("a").to_pylist() == [1, 2, 3]
        published.session.release(gone)
        for ticket in (gone, str(gone)):
            with pytest.raises(tb.TicketNotFoundError) as info:
                s.fetch_table(ticket)
            assert str(gone) in str(info.value)
            assert "not published" in str(info.value)
        # releasing it a second time is also a clear "not found"
        with pytest.raises(tb.TicketNotFoundError, match="not published"):
            published.session.release(gone)
    assert_intact(published)


@pytest.mark.parametrize(
    "text",
    [
        "nope",
        "",
        "shared:abcd",  # too short
        "shared:" + "0" * 31,  # odd number of hex digits
        "shared:" + "00" * 17,  # too long
        "shared:" + "zz" * 16,  # not hex
        "0" * 30,
    ],
)
def test_malformed_shared_ticket_text(published: Published, text: str) -> None:
    with pytest.raises(tb.InvalidInputError) as info:
        tb.SharedTicket.from_str(text)
    message = str(info.value)
    assert "malformed shared ticket text" in message
    assert repr(text) in message
    assert "32 hex digits" in message
    if text.startswith("shared:"):
        # the session parses the text form the same way, before calling the broker
        with tb.Session() as s, pytest.raises(tb.InvalidInputError, match="malformed shared"):
            s.fetch_table(text)
    assert_intact(published)


def test_malformed_shared_ticket_bytes(published: Published) -> None:
    for raw_bytes in (b"h123", b"x" * 17, b"h" + b"\0" * 17):
        with pytest.raises(tb.InvalidInputError, match="not a shared ticket"):
            tb.SharedTicket(raw_bytes)
    with pytest.raises(tb.InvalidInputError, match="must be bytes"):
        tb.SharedTicket("h" + "0" * 16)  # type: ignore[arg-type]
    assert_intact(published)


BAD_TICKET_BYTES = [
    b"",
    b"x",
    b"zzzzzz",
    b"e12",  # export ticket of the wrong length
    b"e" + b"\0" * 8,
    b"h" + b"\0" * 5,  # shared ticket of the wrong length
    b"s/",  # empty scope name
    b"s/\xff\xfe",  # not UTF-8
]


@pytest.mark.parametrize("ticket", BAD_TICKET_BYTES, ids=repr)
def test_malformed_raw_ticket_bytes(published: Published, raw: RawClient, ticket: bytes) -> None:
    calls = {
        "Fetch": lambda: raw.call(raw.sessions.Fetch, pb.FetchRequest(ticket=ticket)),
        "GetInfo": lambda: raw.call(raw.sessions.GetInfo, pb.GetInfoRequest(ticket=ticket)),
        "Release": lambda: raw.call(raw.sessions.Release, pb.ReleaseRequest(ticket=ticket)),
        "Publish source": lambda: raw.call(
            raw.sessions.Publish,
            pb.PublishRequest(source_ticket=ticket, result_ticket=b"s/raw-result"),
        ),
        "GetTable": lambda: list(
            raw.tables.GetTable(
                pb.GetTableRequest(ticket=ticket), metadata=raw.metadata, timeout=10
            )
        ),
    }
    for what, call in calls.items():
        err = rpc_error(call)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, what
        assert re.search(r"ticket|scope name", err.details()), (what, err.details())
    # a valid export to publish from, then a malformed result ticket
    export = raw.call(raw.sessions.Fetch, pb.FetchRequest(ticket=b"s/sales")).export_ticket
    if ticket[:1] != b"e" or len(ticket) != 5:
        err = rpc_error(
            raw.call,
            raw.sessions.Publish,
            pb.PublishRequest(source_ticket=export, result_ticket=ticket),
        )
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert_intact(published)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", "cannot be empty"),
        ("has space", "invalid scope name 'has space'"),
        ("a/b", "invalid scope name 'a/b'"),
        ("-leading-dash", "invalid scope name '-leading-dash'"),
        ("x" * 200, "200 characters; the limit is 128"),
    ],
)
def test_bad_scope_names_are_refused_client_side(
    published: Published, name: str, expected: str
) -> None:
    with pytest.raises(tb.InvalidInputError) as info:
        tb.ScopeTicket.scope_ticket(name)
    assert expected in str(info.value)
    with pytest.raises(tb.InvalidInputError, match=re.escape(expected)):
        tb.ScopeTicket(b"s/" + name.encode())

    # A closed session proves the check happens before any call to the broker: a call that
    # reached the broker would raise SessionClosedError instead.
    closed = tb.Session()
    closed.close()
    for call in (
        lambda: closed.publish_table(published.data, name),
        lambda: closed.bind_table(name, published.data),
        lambda: closed.fetch_table(name),
        lambda: closed.open_table(name),
    ):
        with pytest.raises(tb.InvalidInputError, match=re.escape(expected)):
            call()

    with tb.Session() as s:
        before = s.tables
        with pytest.raises(tb.InvalidInputError, match=re.escape(expected)):
            s.publish_table(published.data, name)
        assert s.tables == before
    assert_intact(published)


@pytest.mark.parametrize(
    ("ticket", "expected"),
    [
        (b"s/bad name", "invalid scope name 'bad name'"),
        (b"s/a/b", "invalid scope name 'a/b'"),
        (b"s/" + b"x" * 200, "the limit is 128"),
    ],
)
def test_bad_scope_name_via_raw_stub(
    published: Published, raw: RawClient, ticket: bytes, expected: str
) -> None:
    err = rpc_error(raw.call, raw.sessions.Fetch, pb.FetchRequest(ticket=ticket))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert expected in err.details()

    export = raw.call(raw.sessions.Fetch, pb.FetchRequest(ticket=b"s/sales")).export_ticket
    err = rpc_error(
        raw.call,
        raw.sessions.Publish,
        pb.PublishRequest(source_ticket=export, result_ticket=ticket),
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert expected in err.details()
    listed = raw.call(raw.sessions.ListObjects, pb.ListObjectsRequest())
    assert sorted(o.name for o in listed.objects) == ["sales"]
    assert_intact(published)


# authentication --------------------------------------------------------------------------------
def test_wrong_token(published: Published, broker: BrokerProcess) -> None:
    for url in (broker.url, broker.tcp_url):
        with pytest.raises(tb.AuthenticationError) as info:
            tb.Session(url, token="wrong")
        assert "wrong token" in str(info.value)
    assert_intact(published)


def test_raw_call_without_token_or_session(published: Published, broker: BrokerProcess) -> None:
    with grpc.insecure_channel(broker.url) as channel:
        sessions = pb_grpc.SessionServiceStub(channel)
        err = rpc_error(lambda: sessions.OpenSession(pb.OpenSessionRequest(), timeout=10))
        assert err.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "no token given" in err.details()
        auth = [("authorization", f"Bearer {broker.token}")]
        err = rpc_error(
            lambda: sessions.Fetch(pb.FetchRequest(ticket=b"s/sales"), metadata=auth, timeout=10)
        )
        assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "OpenSession" in err.details()
        bogus = [*auth, ("x-ticketbooth-session", "0" * 32)]
        err = rpc_error(
            lambda: sessions.Fetch(pb.FetchRequest(ticket=b"s/sales"), metadata=bogus, timeout=10)
        )
        assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "session is closed" in err.details()
    assert_intact(published)


def test_no_token_for_explicit_url(
    published: Published,
    broker: BrokerProcess,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    elsewhere = tmp_path / "no-connection-file-here"
    elsewhere.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(elsewhere))
    monkeypatch.delenv("TICKETBOOTH_TOKEN", raising=False)
    for url in (broker.url, broker.tcp_url):
        assert url is not None
        with pytest.raises(tb.AuthenticationError) as info:
            tb.Session(url)
        assert "token is required" in str(info.value)
        assert url in str(info.value)
    assert not (elsewhere / "ticketbooth-broker.json").exists()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(broker.runtime_dir))
    assert_intact(published)


# data that is not a table ---------------------------------------------------------------------
class PlainObject:
    pass


@pytest.mark.parametrize(
    "bad",
    [42, "text", {"a": object()}, PlainObject(), 3.5, None, b"bytes", [1, 2, 3]],
    ids=lambda v: type(v).__name__,
)
def test_data_that_is_not_a_table(published: Published, bad: object) -> None:
    for force_remote in (False, True):
        with tb.Session(force_remote=force_remote) as s:
            for call in (
                lambda: s.import_table(bad),
                lambda: s.publish_table(bad, "not-a-table"),
                lambda: s.bind_table("not-a-table", bad),
            ):
                with pytest.raises(tb.InvalidInputError) as info:
                    call()
                message = str(info.value)
                assert "is not a table" in message
                assert type(bad).__name__ in message
                assert "pyarrow" in message
                assert "pandas" in message
            assert "not-a-table" not in s.tables
    assert_intact(published)


# publishing to / from the wrong kind of ticket -----------------------------------------------
def test_publish_to_an_export_ticket(published: Published) -> None:
    with tb.Session() as s:
        imported = s.import_table(published.data)
        for target in (imported.ticket, tb.ExportTicket.export_ticket(7)):
            with pytest.raises(tb.InvalidInputError) as info:
                s.publish(imported, target)
            assert "cannot publish to an export ticket" in str(info.value)
        with pytest.raises(tb.InvalidInputError, match="cannot publish to an export ticket"):
            s.publish_table(published.data, tb.ExportTicket.export_ticket(1))
        # the import is still usable
        assert s.import_table(published.data).to_arrow().equals(published.data)
    assert_intact(published)


def test_publish_with_a_shared_ticket_as_source(published: Published) -> None:
    with tb.Session() as s:
        for source in (published.shared, "sales", tb.ScopeTicket.scope_ticket("sales")):
            with pytest.raises(tb.InvalidInputError) as info:
                s.publish(source, "copy-of-sales")
            assert "source of publish must be an export ticket" in str(info.value)
            with pytest.raises(tb.InvalidInputError, match="must be an export ticket"):
                s.publish(source, tb.SharedTicket.random_ticket())
        assert "copy-of-sales" not in s.tables
        # an export ticket that this session does not hold
        with pytest.raises(tb.TicketNotFoundError, match="export 4242 does not exist"):
            s.publish(tb.ExportTicket.export_ticket(4242), "copy-of-sales")
        assert "copy-of-sales" not in s.tables
    assert_intact(published)


def test_release_of_another_sessions_ticket(published: Published) -> None:
    with tb.Session() as other:
        for ticket in ("sales", published.shared, str(published.shared)):
            with pytest.raises(tb.PermissionDeniedError) as info:
                other.release(ticket)
            assert "published by another session" in str(info.value)
            assert "only its publisher can release it" in str(info.value)
        # export ids are per session: the publisher's export 1 is not reachable from here
        with pytest.raises(tb.TicketNotFoundError, match="does not exist in this session"):
            other.release(tb.ExportTicket.export_ticket(1))
    assert_intact(published)


# sizes -----------------------------------------------------------------------------------------
def test_oversized_raw_put_table_message(published: Published, raw: RawClient) -> None:
    before = shm_files(published.session)
    schema = pa.schema([("s", pa.string())]).serialize().to_pybytes()
    chunks = [pb.TableChunk(ipc_message=schema), pb.TableChunk(ipc_message=b"\0" * (6 * MiB))]
    err = rpc_error(
        lambda: raw.tables.PutTable(iter(chunks), metadata=raw.metadata, timeout=20),
    )
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in err.details()
    assert raw.server.limits.max_message_bytes == 4 * MiB
    time.sleep(0.2)
    # The refused upload must not become an export of the session (a truncated table that
    # nobody holds a ticket to, kept in shared memory until the session closes).
    assert_no_export(raw, 1, "the refused upload was stored as export 1")
    assert shm_files(published.session) == before, "the refused upload left a segment behind"
    assert_intact(published)


def test_cancelled_raw_put_table_is_not_stored(published: Published, raw: RawClient) -> None:
    before = shm_files(published.session)
    batch = pa.record_batch({"a": pa.array(range(100), pa.int64())})

    def chunks() -> Iterator[pb.TableChunk]:
        yield pb.TableChunk(ipc_message=batch.schema.serialize().to_pybytes())
        yield pb.TableChunk(ipc_message=batch.serialize().to_pybytes())
        time.sleep(0.3)
        raise RuntimeError("the uploader crashed half way")

    err = rpc_error(lambda: raw.tables.PutTable(chunks(), metadata=raw.metadata, timeout=20))
    assert err.code() in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.CANCELLED)
    time.sleep(0.3)
    assert_no_export(raw, 1, "the half-sent table was stored as export 1")
    assert shm_files(published.session) == before, "the cancelled upload left a segment behind"
    assert_intact(published)


SCHEMA_MESSAGE = pa.schema([("a", pa.int64())]).serialize().to_pybytes()


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([], "empty table stream"),
        ([b"garbage"], "not an Arrow schema"),
        ([SCHEMA_MESSAGE, b"garbage-garbage-garbage"], "malformed Arrow record batch"),
        ([SCHEMA_MESSAGE, b"\0" * 100], "malformed Arrow record batch"),
    ],
    ids=["empty", "bad-schema", "bad-batch", "zero-batch"],
)
def test_malformed_raw_put_table_stream(
    published: Published, raw: RawClient, messages: list[bytes], expected: str
) -> None:
    before = shm_files(published.session)
    chunks = [pb.TableChunk(ipc_message=m) for m in messages]
    err = rpc_error(lambda: raw.tables.PutTable(iter(chunks), metadata=raw.metadata, timeout=10))
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
        assert s._server.limits.max_message_bytes == SMALL_LIMIT
        started = time.monotonic()
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
        assert time.monotonic() - started < 30
    assert_intact(small_published)


def test_remote_messages_are_close_to_the_limit() -> None:
    """The remote wire form of a 10 MB table is a few hundred 64 KiB messages, not 655,360."""
    n = 10 * MiB // 16
    big = pa.table({"id": np.arange(n, dtype=np.int64), "x": np.zeros(n)})
    count = 0
    for message in _arrow.encode_messages(_arrow.as_reader(big), SMALL_LIMIT):
        assert len(message) <= SMALL_LIMIT
        count += 1
        if count > 2000:
            break
    assert count <= 2 * big.nbytes // SMALL_LIMIT + 2, (
        f"{count}+ messages for {big.nbytes} bytes with a {SMALL_LIMIT}-byte limit"
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
    return session._call("import table", session._conn.tables.ImportShm, request)


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
        path = Path(s._server.shm_dir) / name
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
    _arrow.write_ipc_file(_arrow.as_reader(published.data), str(target))
    original = target.read_bytes()
    with tb.Session() as s:
        name = f"in-{secrets.token_hex(16)}.arrow"
        link = Path(s._server.shm_dir) / name
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
    shm_dir = s._server.shm_dir
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
        for what, call in calls.items():
            started = time.monotonic()
            with pytest.raises(tb.BrokerUnavailableError) as info:
                call()
            assert time.monotonic() - started < 10, f"{what} hung after the broker died"
            assert "broker" in str(info.value)
            assert what.strip() in str(info.value), (what, str(info.value))
        started = time.monotonic()
        s.close()  # closing a session whose broker is gone is quiet and quick
        assert time.monotonic() - started < 10
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

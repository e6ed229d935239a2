"""Every bad input gets a clear error, and the broker keeps serving afterwards.

Each test checks three things: the exception class (from `ticketbooth`, or the gRPC status for
raw stub calls), that the message names the problem, and that afterwards a new session can
still fetch what was published before the bad call, with identical rows.
"""

from __future__ import annotations

import re
from pathlib import Path

import grpc
import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess
from tests.integration.conftest import (
    Published,
    RawClient,
    assert_intact,
    rpc_error,
)
from ticketbooth._proto.v1 import broker_pb2 as pb
from ticketbooth._proto.v1 import broker_pb2_grpc as pb_grpc


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
        "Flight DoGet": lambda: raw.do_get(ticket),
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
    [42, "text", PlainObject(), 3.5, None, b"bytes", [1, 2, 3]],
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


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({"a": object()}, "column 'a' is not a list of values (got object)"),
        ({"a": [1, 2], "b": [3]}, "the columns have different lengths ('a': 2, 'b': 1)"),
        ({}, "an empty dict is not a table"),
    ],
    ids=["opaque-column", "ragged", "empty"],
)
def test_dicts_of_columns_that_are_not_tables(
    published: Published, bad: object, expected: str
) -> None:
    for force_remote in (False, True):
        with tb.Session(force_remote=force_remote) as s:
            with pytest.raises(tb.InvalidInputError, match=re.escape(expected)):
                s.publish_table(bad, "not-a-table")
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
            assert "only its publisher" in str(info.value)
        # export ids are per session: the publisher's export 1 is not reachable from here
        with pytest.raises(tb.TicketNotFoundError, match="does not exist in this session"):
            other.release(tb.ExportTicket.export_ticket(1))
    assert_intact(published)

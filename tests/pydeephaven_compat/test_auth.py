"""Who may connect: the broker's token as a pre-shared key; Anonymous only when the broker
was started with --deephaven-anonymous, and only on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from pydeephaven import DHError

from tests.conftest import BrokerProcess
from tests.pydeephaven_compat.conftest import (
    PSK,
    close_quietly,
    connect,
    rpc_code,
    same,
    sample_table,
    start_dh_broker,
)
from ticketbooth import BrokerUnavailableError


@pytest.mark.parametrize(
    "auth",
    [
        {"auth_token": "not-the-token"},
        {"auth_token": ""},
        {"auth_type": "Basic", "auth_token": "user:password"},
        {"auth_type": "io.example.SomeOtherHandler"},
    ],
    ids=["wrong-token", "empty-token", "basic", "other-handler"],
)
def test_refused(dh_broker: BrokerProcess, auth: dict[str, str]) -> None:
    with pytest.raises(DHError) as err:
        close_quietly(connect(dh_broker, **auth))
    assert rpc_code(err.value) == grpc.StatusCode.UNAUTHENTICATED, repr(err.value.__cause__)


def test_wrong_token_on_flight_is_refused(dh_broker: BrokerProcess) -> None:
    """The Flight service checks the header too (a client could skip the gRPC handshake)."""
    import pyarrow.flight as fl

    client = fl.FlightClient(f"grpc://127.0.0.1:{dh_broker.deephaven_port}")
    try:
        options = fl.FlightCallOptions(headers=[(b"authorization", f"{PSK} wrong".encode())])
        with pytest.raises(fl.FlightUnauthenticatedError):
            client.do_get(fl.Ticket(b"h" + bytes(16)), options).read_all()
        with pytest.raises(fl.FlightUnauthenticatedError):
            client.do_get(fl.Ticket(b"h" + bytes(16))).read_all()  # no header at all
    finally:
        client.close()


def test_the_broker_token_as_a_bearer_says_how_to_log_in(dh_broker: BrokerProcess) -> None:
    """The main port's `Bearer <token>` sent to this port: UNAUTHENTICATED, saying that this
    port logs in with PSK (not that a session expired)."""
    import pyarrow.flight as fl

    client = fl.FlightClient(f"grpc://127.0.0.1:{dh_broker.deephaven_port}")
    try:
        bearer = f"Bearer {dh_broker.token}".encode()
        options = fl.FlightCallOptions(headers=[(b"authorization", bearer)])
        with pytest.raises(fl.FlightUnauthenticatedError, match="a broker token was sent as"):
            client.do_get(fl.Ticket(b"h" + bytes(16)), options).read_all()
        options = fl.FlightCallOptions(headers=[(b"authorization", b"Bearer " + b"x" * 32)])
        with pytest.raises(fl.FlightUnauthenticatedError, match="closed or expired"):
            client.do_get(fl.Ticket(b"h" + bytes(16)), options).read_all()
    finally:
        client.close()


def test_anonymous_refused_without_the_flag(dh_broker: BrokerProcess) -> None:
    with pytest.raises(DHError) as err:
        close_quietly(connect(dh_broker, auth_type="Anonymous", auth_token=""))
    assert rpc_code(err.value) == grpc.StatusCode.UNAUTHENTICATED, repr(err.value.__cause__)


@pytest.fixture(scope="module")
def anonymous_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    b = start_dh_broker(tmp_path_factory.mktemp("dh-anon-runtime"), "--deephaven-anonymous")
    yield b
    b.stop()


def test_anonymous_accepted_with_the_flag(anonymous_broker: BrokerProcess) -> None:
    data = sample_table(20)
    s = connect(anonymous_broker, auth_type="Anonymous", auth_token="")
    try:
        same(s.import_table(data).to_arrow(), data)
    finally:
        close_quietly(s)
    # the token still works there
    s = connect(anonymous_broker)
    try:
        same(s.import_table(data).to_arrow(), data)
    finally:
        close_quietly(s)
    with pytest.raises(DHError) as err:
        close_quietly(connect(anonymous_broker, auth_token="not-the-token"))
    assert rpc_code(err.value) == grpc.StatusCode.UNAUTHENTICATED


def test_anonymous_beyond_loopback_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BrokerUnavailableError):
        b = start_dh_broker(
            tmp_path, "--host", "0.0.0.0", "--insecure", "--deephaven-anonymous", timeout=20
        )
        b.stop()
    log = (tmp_path / "ticketbooth-broker.log").read_text()
    assert "anonymous" in log.lower(), log


def test_a_users_token_opens_that_users_session(runtime_dir: Path, tmp_path: Path) -> None:
    """On a team broker (--users-file) a user's token is a pre-shared key too: the
    pydeephaven session is that user's (`ticketbooth ls` names them as the publisher)."""
    import secrets

    import ticketbooth as tb

    token = secrets.token_urlsafe(32)
    users = tmp_path / "users"
    users.write_text(f"alice {token}\n")
    users.chmod(0o600)
    b = start_dh_broker(runtime_dir, "--users-file", str(users))
    try:
        s = connect(b, auth_token=token)
        try:
            data = sample_table(5)
            s.bind_table("alices", s.import_table(data))
            other = tb.Session(b.url, token=b.token, start_broker=False)
            try:
                listed = {o.name: o.publisher for o in other.list_objects()}
                assert listed["alices"].startswith("alice: pydeephaven "), listed
                same(other.fetch_table("alices").to_arrow(), data)
            finally:
                other.close()
        finally:
            close_quietly(s)
    finally:
        b.stop()

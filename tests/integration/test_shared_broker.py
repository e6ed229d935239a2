"""One broker for a team (JupyterHub): per-user tokens from --users-file. Everyone shares by
ticket; a user may release what any of their own sessions published, nobody else's."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import start_broker
from ticketbooth._proto.v1 import broker_pb2 as pb
from ticketbooth.broker import BrokerProcess

TABLE = pa.table({"x": [1, 2, 3]})


@pytest.fixture
def team(runtime_dir: Path, tmp_path: Path) -> Iterator[tuple[BrokerProcess, dict[str, str]]]:
    users = {"alice": secrets.token_urlsafe(32), "bob": secrets.token_urlsafe(32)}
    path = tmp_path / "users"
    path.write_text("".join(f"{u} {t}\n" for u, t in users.items()))
    path.chmod(0o600)
    broker = start_broker(runtime_dir, "--port", "0", "--users-file", str(path))
    yield broker, users
    broker.stop()


def test_users_share_by_ticket_and_release_only_their_own(
    team: tuple[BrokerProcess, dict[str, str]],
) -> None:
    broker, users = team
    alice = tb.Session(broker.tcp_url, token=users["alice"], name="alice's kernel")
    alice2 = tb.Session(broker.tcp_url, token=users["alice"], name="alice's server")
    bob = tb.Session(broker.tcp_url, token=users["bob"])
    try:
        assert (alice.user, bob.user) == ("alice", "bob")
        alice.publish_table(TABLE, "sales")
        bob.publish_table(TABLE, "bobs")
        assert bob.fetch_table("sales").to_arrow().equals(TABLE)  # sharing is the point
        publishers = {o.name: o.publisher for o in bob.list_objects()}
        assert publishers["sales"] == "alice: alice's kernel"

        with pytest.raises(tb.PermissionDeniedError, match="per-user tokens"):
            bob.release(tb.ScopeTicket.scope_ticket("sales"))
        with pytest.raises(tb.PermissionDeniedError):
            alice2.release(tb.ScopeTicket.scope_ticket("bobs"))
        alice2.release(tb.ScopeTicket.scope_ticket("sales"))  # another session, same user
        assert sorted(bob.exportable_objects) == ["bobs"]

        # list_objects(include_shared=True) (ls --all): a user sees only their own shared
        # tickets, from any of their sessions; a shared ticket stays a capability
        mine, theirs = tb.SharedTicket.random_ticket(), tb.SharedTicket.random_ticket()
        alice.publish_table(TABLE, mine)
        bob.publish_table(TABLE, theirs)
        listed = {o.ticket for o in alice2.list_objects(include_shared=True)}
        assert mine in listed and theirs not in listed
        listed = {o.ticket for o in bob.list_objects(include_shared=True)}
        assert theirs in listed and mine not in listed
    finally:
        for s in (alice, alice2, bob):
            s.close()


def test_the_brokers_own_token_still_works_and_has_no_user(
    team: tuple[BrokerProcess, dict[str, str]],
) -> None:
    broker, users = team
    with tb.Session(broker.tcp_url, token=broker.token) as admin:
        assert admin.user == ""
        with tb.Session(broker.tcp_url, token=users["bob"]) as bob:
            bob.publish_table(TABLE, "bobs")
            with pytest.raises(tb.PermissionDeniedError):
                admin.release(tb.ScopeTicket.scope_ticket("bobs"))


def test_wrong_tokens_and_borrowed_sessions_are_refused(
    team: tuple[BrokerProcess, dict[str, str]],
) -> None:
    broker, users = team
    with pytest.raises(tb.AuthenticationError, match="wrong token"):
        tb.Session(broker.tcp_url, token=users["alice"] + "x", timeout=5)
    with (
        tb.Session(broker.tcp_url, token=users["alice"]) as alice,
        tb.Session(broker.tcp_url, token=users["bob"]) as bob,
    ):
        # bob presents alice's session id with his own token
        md = tuple(
            (k, alice.session_id) if k == "x-ticketbooth-session" else (k, v)
            for k, v in bob._backend.conn.md
        )
        with pytest.raises(Exception, match="another user's token"):
            bob._backend.conn.sessions.Heartbeat(pb.HeartbeatRequest(), metadata=md, timeout=5)


def test_another_users_session_id_is_refused_on_flight_and_close(
    team: tuple[BrokerProcess, dict[str, str]],
) -> None:
    """Every call that takes a session id from the x-ticketbooth-session header checks that
    the caller's token opened it: Flight DoGet/DoPut and CloseSession too."""
    import grpc
    import pyarrow.flight as flight

    broker, users = team
    with (
        tb.Session(broker.tcp_url, token=users["alice"]) as alice,
        tb.Session(broker.tcp_url, token=users["bob"]) as bob,
    ):
        secret = alice.import_table(pa.table({"secret": [1, 2, 3]}))  # alice's export only
        bob_md = [
            (b"authorization", f"Bearer {users['bob']}".encode()),
            (b"x-ticketbooth-session", alice.session_id.encode()),
        ]
        client = flight.FlightClient(f"grpc+tcp://{broker.tcp_url}")
        opts = flight.FlightCallOptions(headers=bob_md, timeout=10)
        with pytest.raises(flight.FlightUnauthorizedError, match="another user's token"):
            client.do_get(flight.Ticket(secret.ticket.bytes), opts).read_all()
        with pytest.raises(flight.FlightUnauthorizedError, match="another user's token"):
            writer, _ = client.do_put(
                flight.FlightDescriptor.for_path("bobput"), TABLE.schema, opts
            )
            writer.write_table(TABLE)
            writer.close()
        with pytest.raises(grpc.RpcError, match="another user's token") as info:
            md = tuple((k.decode(), v.decode()) for k, v in bob_md)
            bob._backend.conn.sessions.CloseSession(
                pb.CloseSessionRequest(), metadata=md, timeout=5
            )
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
        client.close()
        assert alice.is_alive
        assert alice.fetch_table(secret.ticket).to_arrow().to_pydict() == {"secret": [1, 2, 3]}
        assert "bobput" not in [o.name for o in alice.list_objects()]

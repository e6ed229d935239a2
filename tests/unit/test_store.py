"""The broker's lifetime rules, checked on the store alone (no server, no I/O)."""

import grpc
import pytest

from ticketbooth import ExportTicket, ScopeTicket, SharedTicket
from ticketbooth._limits import Limits
from ticketbooth.broker import BrokerError, Store
from ticketbooth.broker._store import StoredObject


class Harness:
    def __init__(self, limits: Limits | None = None) -> None:
        self.freed: list[StoredObject] = []
        self.events: list[tuple[str, bytes, int, str]] = []
        self.store = Store(limits or Limits(), lambda obj, _: self.freed.append(obj))
        self.store.hooks.append(
            lambda k, b, why: self.events.append((k, b.ticket.bytes, b.version, why))
        )

    def table(self, sid: str, nbytes: int = 100) -> bytes:
        export_id = self.store.add_object(sid, StoredObject(0, "Table", nbytes))
        return ExportTicket.export_ticket(export_id).bytes


def code_of(exc: pytest.ExceptionInfo[BrokerError]) -> grpc.StatusCode:
    return exc.value.code


def test_shared_ticket_lives_while_source_export_lives() -> None:
    h = Harness()
    pub, sub = h.store.open_session("pub").sid, h.store.open_session("sub").sid
    src = h.table(pub)
    shared = SharedTicket.random_ticket().bytes
    assert h.store.publish(pub, src, shared) == 1
    _, obj, _ = h.store.fetch(sub, shared)
    h.store.release(pub, src)
    with pytest.raises(BrokerError) as exc:
        h.store.fetch(sub, shared)
    assert code_of(exc) == grpc.StatusCode.NOT_FOUND
    assert h.freed == []  # the subscriber's fetch still holds the object
    assert obj.refs == 1
    h.store.close_session(sub)
    assert h.freed == [obj]
    assert h.store.total_bytes == 0


def test_close_and_expiry_unpublish() -> None:
    h = Harness(Limits(session_ttl_s=5, heartbeat_interval_s=1))
    a = h.store.open_session("a", now=0).sid
    b = h.store.open_session("b", now=0).sid
    h.store.publish(a, h.table(a), b"s/one")
    h.store.publish(b, h.table(b), b"s/two")
    h.store.touch(b, now=4)
    assert h.store.expired(now=6) == [a]
    h.store.close_session(a, reason="expired")
    assert [x.ticket.bytes for x in h.store.scope_bindings()] == [b"s/two"]
    assert ("released", b"s/one", 1, "expired") in h.events
    h.store.close_session(b)
    assert h.store.bindings == {} and len(h.freed) == 2


def test_republish_replaces_and_versions_increase() -> None:
    h = Harness()
    a = h.store.open_session("a").sid
    first, second = h.table(a), h.table(a)
    assert h.store.publish(a, first, b"s/sales") == 1
    assert h.store.publish(a, second, b"s/sales") == 2
    obj, binding = h.store.resolve(a, b"s/sales")
    assert binding is not None and binding.version == 2
    assert obj is h.store.sessions[a].exports[ExportTicket(second).id]
    # releasing the replaced source does not unpublish the new one
    h.store.release(a, first)
    assert h.store.resolve(a, b"s/sales")[0] is obj
    # after release and republish the version keeps growing
    h.store.release(a, b"s/sales")
    assert h.store.publish(a, second, b"s/sales") == 3
    kinds = [(k, why) for k, t, _, why in h.events if t == b"s/sales"]
    assert kinds == [
        ("published", ""),
        ("updated", ""),
        ("released", "released"),
        ("published", ""),
    ]


def test_only_the_publisher_can_unpublish() -> None:
    h = Harness()
    a, b = h.store.open_session("a").sid, h.store.open_session("b").sid
    h.store.publish(a, h.table(a), b"s/x")
    with pytest.raises(BrokerError) as exc:
        h.store.release(b, b"s/x")
    assert code_of(exc) == grpc.StatusCode.PERMISSION_DENIED


def test_exports_are_per_session() -> None:
    h = Harness()
    a, b = h.store.open_session("a").sid, h.store.open_session("b").sid
    src = h.table(a)
    with pytest.raises(BrokerError) as exc:
        h.store.publish(b, src, b"s/x")
    assert code_of(exc) == grpc.StatusCode.NOT_FOUND
    assert "export 1 does not exist" in exc.value.message


@pytest.mark.parametrize(
    ("source", "result", "expect"),
    [
        (b"s/x", b"s/y", "must be an export ticket"),
        (None, ExportTicket.export_ticket(9).bytes, "cannot publish to an export"),
        (None, b"garbage", "malformed ticket"),
    ],
)
def test_publish_refusals(source: bytes | None, result: bytes, expect: str) -> None:
    h = Harness()
    a = h.store.open_session("a").sid
    src = source or h.table(a)
    with pytest.raises(BrokerError, match=expect) as exc:
        h.store.publish(a, src, result)
    assert code_of(exc) == grpc.StatusCode.INVALID_ARGUMENT


def test_limits() -> None:
    h = Harness(Limits(max_exports_per_session=2, max_store_bytes=1000, max_object_bytes=600))
    a = h.store.open_session("a").sid
    h.table(a, 500)
    with pytest.raises(BrokerError, match="per-object limit"):
        h.table(a, 700)
    with pytest.raises(BrokerError, match="1000-byte limit"):
        h.table(a, 600)
    h.table(a, 100)
    with pytest.raises(BrokerError, match="holds 2 exports") as exc:
        h.store.fetch(a, ExportTicket.export_ticket(1).bytes)
    assert code_of(exc) == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_closed_session_is_refused() -> None:
    h = Harness()
    a = h.store.open_session("a").sid
    h.store.close_session(a)
    with pytest.raises(BrokerError, match="session is closed") as exc:
        h.store.fetch(a, ScopeTicket.scope_ticket("x").bytes)
    assert code_of(exc) == grpc.StatusCode.FAILED_PRECONDITION


def test_a_missing_scope_name_lists_the_names_and_the_closest() -> None:
    h = Harness()
    sid = h.store.open_session("s").sid
    with pytest.raises(BrokerError, match=r"'sales'; no names are published yet$"):
        h.store.fetch(sid, b"s/sales")
    for name in ("sales", "regions", *(f"t{i:02}" for i in range(10))):
        h.store.publish(sid, h.table(sid), ScopeTicket.scope_ticket(name).bytes)
    with pytest.raises(BrokerError) as exc:
        h.store.fetch(sid, b"s/slaes")
    assert exc.value.message == (
        "nothing is published under the name 'slaes'; did you mean 'sales'? "
        "Published: regions, sales, t00, t01, t02, t03, t04, t05 and 4 more"
    )
    with pytest.raises(BrokerError, match=r"'zzz'; published: regions, sales, t00"):
        h.store.fetch(sid, b"s/zzz")
    # a shared ticket's hex given without its prefix reads as a name: the error says so
    hex_name = "3f9a" * 8
    with pytest.raises(BrokerError, match=f"to fetch a shared ticket, write shared:{hex_name}$"):
        h.store.fetch(sid, ScopeTicket.scope_ticket(hex_name).bytes)
    # a shared ticket is a capability: its error names no other tickets
    with pytest.raises(BrokerError) as exc:
        h.store.fetch(sid, SharedTicket.random_ticket().bytes)
    assert "published:" not in exc.value.message.lower()


def republish(h: Harness, sid: str, ticket: bytes, nbytes: int = 100) -> int:
    """Import a new object and publish it to `ticket`, releasing the previous import (what
    Session.publish_table does)."""
    src = h.table(sid, nbytes)
    old = h.store.bindings.get(ticket)
    version = h.store.publish(sid, src, ticket)
    if old is not None:
        h.store.release(sid, ExportTicket.export_ticket(old.export_id).bytes)
    return version


def test_earlier_versions_are_kept_within_the_count() -> None:
    h = Harness(Limits(history_versions=2))
    sid = h.store.open_session("pub").sid
    sub = h.store.open_session("sub").sid
    sales = ScopeTicket.scope_ticket("sales").bytes
    objs = []
    for _ in range(4):
        republish(h, sid, sales)
        objs.append(h.store.bindings[sales].obj)
    assert h.store.kept_versions(sales) == [2, 3]
    assert h.freed == [objs[0]]  # version 1 fell out of the history
    for version, obj in ((2, objs[1]), (3, objs[2]), (4, objs[3]), (0, objs[3])):
        _, got, binding = h.store.fetch(sub, sales, version)
        assert got is obj and binding is not None
        assert binding.version == (version or 4)
    with pytest.raises(
        BrokerError, match=r"version 1 is no longer kept \(kept: 2, 3; current: 4\)"
    ):
        h.store.fetch(sub, sales, 1)
    with pytest.raises(BrokerError, match=r"there is no version 9 \(the current one is 4\)"):
        h.store.fetch(sub, sales, 9)
    with pytest.raises(BrokerError, match="an export ticket has no versions"):
        h.store.fetch(sid, ExportTicket.export_ticket(1).bytes, 2)
    # a fetched old version outlives its eviction; the release of the ticket drops the rest
    h.store.release(sid, sales)
    assert h.store.kept_versions(sales) == [] and h.store.history_bytes == 0
    assert h.freed == [objs[0]]  # the subscriber's fetches hold 2 and 3, the publisher 4
    h.store.close_session(sub)
    assert h.freed == objs[:3]
    h.store.close_session(sid)
    assert h.store.total_bytes == 0


def test_history_off_and_bounded_by_bytes() -> None:
    h = Harness(Limits(history_versions=0))
    sid = h.store.open_session("pub").sid
    republish(h, sid, b"s/a")
    republish(h, sid, b"s/a")
    assert h.store.kept_versions(b"s/a") == [] and len(h.freed) == 1
    with pytest.raises(BrokerError, match=r"only the current version \(2\) is"):
        h.store.fetch(sid, b"s/a", 1)

    h = Harness(Limits(max_store_bytes=1000, max_history_bytes=250, history_versions=5))
    sid = h.store.open_session("pub").sid
    for _ in range(4):
        republish(h, sid, b"s/a")  # 3 earlier versions of 100 bytes: only 2 fit in 250
    assert h.store.kept_versions(b"s/a") == [2, 3] and h.store.history_bytes == 200


def test_history_gives_way_to_new_objects() -> None:
    h = Harness(Limits(max_store_bytes=1000, max_history_bytes=1000, history_versions=5))
    sid = h.store.open_session("pub").sid
    for _ in range(4):
        republish(h, sid, b"s/a", 200)  # current 200 + kept 3 x 200 = 800
    assert h.store.kept_versions(b"s/a") == [1, 2, 3]
    h.table(sid, 500)  # needs 300 bytes back: the two oldest versions go, oldest first
    assert h.store.kept_versions(b"s/a") == [3]
    assert h.store.total_bytes == 200 + 200 + 500
    with pytest.raises(BrokerError, match="would exceed its 1000-byte limit"):
        h.store.add_object(sid, StoredObject(0, "Table", 400))  # nothing more to give
    assert h.store.kept_versions(b"s/a") == []


def test_segments_shared_by_versions_are_counted_once_and_removed_with_the_last() -> None:
    unlinked: list[str] = []
    store = Store(Limits(), lambda _obj, names: unlinked.extend(names))
    sid = store.open_session("pub").sid
    v1 = StoredObject(0, "Table", 1000, shm_name="a")
    e1 = store.add_object(sid, v1)
    # v2 keeps v1's batches and adds a 10-byte file of its own
    v2 = StoredObject(0, "Table", 1010, shm_name="b", parts=(("b", 0, 1), ("a", 0, 4)))
    v2.new_bytes = 10
    e2 = store.add_object(sid, v2)
    assert store.total_bytes == 1010
    store.release(sid, ExportTicket.export_ticket(e1).bytes)
    assert unlinked == [] and store.total_bytes == 1010  # v2 still holds file a
    store.release(sid, ExportTicket.export_ticket(e2).bytes)
    assert sorted(unlinked) == ["a", "b"] and store.total_bytes == 0
    assert len(store.segments) == 0

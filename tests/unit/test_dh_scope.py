"""Names bound by Deephaven clients (broker/_dh_sessions.py), without a server: they outlive
the binding session, and the export that holds each one is released once the name names
something else or nothing, so rebinding never accumulates objects."""

from __future__ import annotations

import asyncio

from ticketbooth._limits import Limits
from ticketbooth._tickets import ExportTicket, ScopeTicket
from ticketbooth.broker._dh_sessions import DhSessions
from ticketbooth.broker._servicer import Core
from ticketbooth.broker._store import Store, StoredObject

NAME = ScopeTicket.scope_ticket("sales").bytes


def setup() -> tuple[Store, DhSessions, list[StoredObject]]:
    freed: list[StoredObject] = []
    store = Store(Limits(), lambda obj, _: freed.append(obj))
    core = Core(store, None, "token")  # type: ignore[arg-type]  # no shared memory used
    return store, DhSessions(core, ttl_s=60.0, anonymous=False), freed


def table(store: Store, sid: str) -> StoredObject:
    obj = StoredObject(0, "Table", 100)
    store.add_object(sid, obj)
    return obj


def holders(store: Store) -> list[str]:
    return [s.sid for s in store.sessions.values() if s.name == "pydeephaven scope"]


async def tick() -> None:
    await asyncio.sleep(0)  # releases are scheduled on the loop


def test_bound_name_outlives_its_session_and_rebinding_frees_the_old() -> None:
    async def run() -> None:
        store, sessions, freed = setup()
        script = store.open_session("script").sid
        first = table(store, script)
        sessions.bind(script, first, NAME)
        store.close_session(script)  # the script exits: its own export goes, the name stays
        await tick()
        assert store.bindings[NAME].obj is first
        (holder,) = holders(store)
        assert not store.expired(now=1e12)  # the holder never expires

        other = store.open_session("other").sid
        second = table(store, other)
        sessions.bind(other, second, NAME)
        await tick()
        assert store.bindings[NAME].obj is second
        assert list(store.sessions[holder].exports.values()) == [second]
        assert first.refs == 1  # the kept earlier version only

        store.publish(other, _export(store, other, second), NAME)
        await tick()  # ticketbooth published over it: the holder lets go
        assert store.sessions[holder].exports == {}
        store.unpublish(NAME)
        store.close_session(other)
        assert first in freed and second in freed  # nothing held on to either

    asyncio.run(run())


def test_unpublished_name_releases_its_holder_export() -> None:
    async def run() -> None:
        store, sessions, freed = setup()
        script = store.open_session("script").sid
        obj = table(store, script)
        sessions.bind(script, obj, NAME)
        store.close_session(script)
        store.unpublish(NAME)
        await tick()
        assert store.sessions[holders(store)[0]].exports == {}
        assert obj in freed

    asyncio.run(run())


def _export(store: Store, sid: str, obj: StoredObject) -> bytes:
    """The ticket of `sid`'s export of `obj`."""
    (export_id,) = [i for i, o in store.sessions[sid].exports.items() if o is obj]
    return ExportTicket.export_ticket(export_id).bytes

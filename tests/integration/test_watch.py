"""Change notifications: every version in order, clean ends, publishers never blocked."""

from __future__ import annotations

import asyncio
import os
import signal
import threading

import pyarrow as pa

import ticketbooth as tb
from tests.conftest import BrokerProcess, spawn_child


def collect(watch: tb.Watch, out: list[tb.WatchEvent]) -> threading.Thread:
    def run() -> None:
        for event in watch:
            out.append(event)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_every_version_in_order_under_concurrent_republishes(broker: BrokerProcess) -> None:
    with tb.Session() as watcher_session:
        events: list[tb.WatchEvent] = []
        watch = watcher_session.watch("hot")
        thread = collect(watch, events)
        publishers = [tb.Session() for _ in range(4)]

        def hammer(s: tb.Session, k: int) -> None:
            for i in range(25):
                s.publish_table(pa.table({"who": [k], "i": [i]}), "hot")

        workers = [threading.Thread(target=hammer, args=(s, k)) for k, s in enumerate(publishers)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        for s in publishers:
            s.close()  # the last publisher's close releases the ticket
        thread.join(timeout=30)
        assert not thread.is_alive(), "watch did not end after the release"
    versions = [e.version for e in events if e.kind in ("published", "updated")]
    assert versions == list(range(1, 101))
    assert events[0].kind == "published" and all(e.kind == "updated" for e in events[1:100])
    assert events[-1].kind == "released"
    assert all(e.type == "Table" for e in events)


def test_watch_starts_with_the_current_state_and_ends_on_release(broker: BrokerProcess) -> None:
    with tb.Session() as s, tb.Session() as s2:
        s.publish_table(pa.table({"a": [1]}), "sales")
        s.publish_table(pa.table({"a": [2]}), "sales")
        watch = s2.watch("sales")
        first = next(watch)
        assert (first.kind, first.version, first.info.num_rows) == ("published", 2, 1)
        s.publish_table(pa.table({"a": [3, 3]}), "sales")
        second = next(watch)
        assert (second.kind, second.version, second.info.num_rows) == ("updated", 3, 2)
        s.release("sales")
        last = next(watch)
        assert (last.kind, last.reason, last.publisher_gone) == ("released", "released", False)
        assert list(watch) == []


def test_async_watch(broker: BrokerProcess) -> None:
    async def main() -> list[tuple[str, int]]:
        with tb.Session() as s, tb.Session() as s2:
            seen: list[tuple[str, int]] = []

            async def consume() -> None:
                async for event in s2.watch("async-t"):
                    seen.append((event.kind, event.version))

            task = asyncio.create_task(consume())
            await asyncio.sleep(0.5)
            for i in range(3):
                await asyncio.to_thread(s.publish_table, pa.table({"i": [i]}), "async-t")
            await asyncio.to_thread(s.release, "async-t")
            await asyncio.wait_for(task, 20)
            return seen

    seen = asyncio.run(main())
    assert seen == [("published", 1), ("updated", 2), ("updated", 3), ("released", 3)]


def test_killed_publisher_ends_watch_with_a_clear_event(broker: BrokerProcess) -> None:
    code = """
    import sys, pyarrow as pa, ticketbooth as tb
    s = tb.Session()
    s.publish_table(pa.table({"a": [1]}), "victim")
    print("ready", flush=True)
    sys.stdin.readline()
    """
    pub = spawn_child(code, broker.env)
    assert pub.stdout.readline().strip() == "ready"  # type: ignore[union-attr]
    with tb.Session() as s:
        watch = s.watch("victim")
        assert next(watch).kind == "published"
        os.kill(pub.pid, signal.SIGKILL)
        pub.wait()
        event = next(watch)
        assert (event.kind, event.reason, event.publisher_gone) == ("released", "expired", True)


def test_a_watcher_that_never_reads_does_not_block_publishers(broker: BrokerProcess) -> None:
    with tb.Session() as s, tb.Session() as lazy:
        stalled = lazy.watch("busy")  # opened, never read while publishing
        for i in range(300):
            s.publish_figure(_Big(i), "busy")
        assert s.info("busy").version == 300
        versions = [next(stalled).version for _ in range(300)]
        assert versions == list(range(1, 301))
        stalled.close()


def test_watch_everything(broker: BrokerProcess) -> None:
    with tb.Session() as s, tb.Session() as s2:
        s.publish_table(pa.table({"a": [1]}), "one")
        watch = s2.watch()
        assert next(watch).ticket == tb.ScopeTicket.scope_ticket("one")
        s.publish_table(pa.table({"a": [1]}), "two")
        event = next(watch)
        assert (event.kind, str(event.ticket)) == ("published", "two")
        watch.close()


class _Big:
    def __init__(self, i: int) -> None:
        self.i = i

    def _repr_html_(self) -> str:
        return f"<p>{self.i}</p>" + "x" * 50_000

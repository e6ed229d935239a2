"""The parts behind the fault handling, without a server: upload budgets, attached and
paused sessions, byte-bounded queues, progress deadlines, owner locks and sweeps."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest

from tests.unit.test_store import Harness
from ticketbooth._deadline import Progress
from ticketbooth._limits import Limits, MiB
from ticketbooth.broker import BrokerError
from ticketbooth.broker._janitor import claim_dir, is_held, sweep_dead_dirs, sweep_incoming
from ticketbooth.broker._queues import ByteQueue, QueueFull


def test_budget_counts_uploads_in_progress_against_the_store_limit() -> None:
    h = Harness(Limits(max_store_bytes=1000, max_object_bytes=800))
    sid = h.store.open_session("s").sid
    with h.store.budget() as a, h.store.budget() as b:
        a.grow(500)
        b.grow(400)
        with pytest.raises(BrokerError) as exc:  # 900 in flight + 200 > 1000
            b.grow(200)
        assert exc.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        with pytest.raises(BrokerError, match="per-object limit"):
            a.grow(400)  # 900 > 800 for one object
        assert h.store.pending_bytes == 900
    assert h.store.pending_bytes == 0
    h.table(sid, 800)  # the finished upload is counted once, by add_object
    assert h.store.total_bytes == 800


def test_attached_sessions_never_expire_and_a_paused_broker_forgives() -> None:
    h = Harness(Limits(session_ttl_s=10, heartbeat_interval_s=2))
    attached = h.store.open_session("attached", now=0).sid
    silent = h.store.open_session("silent", now=0).sid
    h.store.attach(attached)
    assert h.store.expired(now=100) == [silent]
    h.store.forgive(now=100)  # the broker itself was not running
    assert h.store.expired(now=105) == []
    h.store.detach(attached, now=105)  # the connection dropped: the TTL counts from now
    assert h.store.expired(now=114) == [silent]
    assert set(h.store.expired(now=116)) == {attached, silent}


def test_byte_queue_drops_nothing_silently() -> None:
    async def run() -> list[object]:
        q: ByteQueue[str] = ByteQueue(10)
        q.put("big", 50)  # one item of any size fits an empty queue
        with pytest.raises(QueueFull) as full:
            q.put("more", 1)
        assert (full.value.queued, full.value.limit) == (51, 10)
        q.put_last("end")
        return [await q.get(), await q.get(), q.nbytes]

    assert asyncio.run(run()) == ["big", "end", 0]


class FakeCall:
    def __init__(self) -> None:
        self.cancelled = threading.Event()

    def cancel(self) -> None:
        self.cancelled.set()


def test_progress_cancels_a_stalled_call_and_says_so() -> None:
    with Progress("import table", 0.2) as progress:
        call = progress.watch(FakeCall())
        assert call.cancelled.wait(5)
    assert progress.stalled
    err = progress.error(grpc.RpcError())
    assert "no progress for 0.2s during import table" in str(err)


def test_progress_lets_a_long_but_moving_call_run() -> None:
    with Progress("fetch table data", 0.2) as progress:
        call = progress.watch(FakeCall())
        for _ in progress.ticking(range(10)):
            time.sleep(0.05)  # 0.5 s in all, never 0.2 s without a step
        assert not call.cancelled.is_set()
    assert not progress.stalled


def hold_lock_in_child(path: Path) -> subprocess.Popen[str]:
    code = (
        "import sys; from ticketbooth.broker._janitor import claim_dir\n"
        f"lock = claim_dir({str(path)!r}); print('held', flush=True); sys.stdin.read()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


def test_dead_owners_dirs_are_swept_live_ones_kept(tmp_path: Path) -> None:
    live, dead, foreign = (tmp_path / f"ticketbooth-{n}" for n in ("live", "dead", "foreign"))
    for d in (live, dead, foreign):
        d.mkdir()
    (foreign / "owner.lock").write_text("not ours")  # not a broker's lock: left alone
    keeper, victim = hold_lock_in_child(live), hold_lock_in_child(dead)
    victim.kill()
    victim.wait()
    assert is_held(str(live / "owner.lock")) and not is_held(str(dead / "owner.lock"))
    assert sweep_dead_dirs(str(tmp_path)) == [str(dead)]
    assert live.exists() and foreign.exists()
    keeper.kill()
    keeper.wait()
    mine = claim_dir(str(tmp_path))  # this process: held, so never swept
    assert is_held(str(tmp_path / "owner.lock"))
    mine.release()


def test_incoming_segments_swept_only_when_unlocked_and_old(tmp_path: Path) -> None:
    old_unlocked = tmp_path / ("in-" + "a" * 32 + ".arrow")
    fresh = tmp_path / ("in-" + "b" * 32 + ".arrow")
    other = tmp_path / ("obj-" + "c" * 32 + ".arrow")
    for p in (old_unlocked, fresh, other):
        p.write_bytes(b"x" * MiB)
    os.utime(old_unlocked, (time.time() - 60, time.time() - 60))
    os.utime(other, (time.time() - 60, time.time() - 60))
    assert sweep_incoming(str(tmp_path), older_than_s=30) == [old_unlocked.name]
    assert fresh.exists() and other.exists()

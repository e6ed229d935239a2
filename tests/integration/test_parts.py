"""Republishing in parts against a broker process: a table built from a fetched one writes
only its new batches, every reader sees the whole table, the older segments live as long
as a table holds them, and bad part lists are refused without harm."""

from __future__ import annotations

import os

import grpc
import numpy as np
import pyarrow as pa

import ticketbooth as tb
from tests.conftest import BrokerProcess
from tests.integration.conftest import (
    Published,
    RawClient,
    assert_intact,
    rpc_error,
    shm_files,
)
from ticketbooth._proto.v1 import broker_pb2 as pb

N = 1_000_000


def big() -> pa.Table:
    return pa.table(
        {
            "id": np.arange(N),
            "x": np.linspace(0.0, 1.0, N),
            "label": [f"row-{i}" for i in range(N)],
        }
    )


def with_label(table: pa.Table, row: int, text: str) -> pa.Table:
    """`table` with one row's label changed; the other rows keep their memory."""
    col = table.column("label")
    new = pa.chunked_array(
        [*col.slice(0, row).chunks, pa.array([text]), *col.slice(row + 1).chunks], pa.string()
    )
    return table.set_column(2, "label", new)


def sizes(s: tb.Session) -> dict[str, int]:
    d = s._backend.server.shm_dir
    return {f: os.path.getsize(os.path.join(d, f)) for f in shm_files(s) if f.startswith("obj-")}


def test_a_changed_row_writes_one_batch_and_every_reader_sees_the_table(
    broker: BrokerProcess,
) -> None:
    with tb.Session() as pub, tb.Session() as local, tb.Session(force_remote=True) as remote:
        pub.publish_table(big(), "big")
        whole = sum(sizes(pub).values())
        fetched = pub.fetch_table("big")
        t = fetched.to_arrow()
        assert t.column(0).num_chunks > 4, "the test needs a table of several batches"
        before = sizes(pub)
        v2 = with_label(t, N // 2, "CHANGED")
        pub.publish_table(v2, "big")
        new = {f: n for f, n in sizes(pub).items() if f not in before}
        assert len(new) == 1 and 0 < next(iter(new.values())) < whole / 4, (new, whole)
        for reader in (local, remote):
            got = reader.fetch_table("big").to_arrow()
            assert got.equals(v2)
            assert got.column("label")[N // 2].as_py() == "CHANGED"
            assert reader.fetch_table("big", version=1).to_arrow().equals(big())
        assert local.info("big").num_rows == N


def test_appends_write_only_the_new_rows_and_old_segments_live_while_held(
    broker: BrokerProcess,
) -> None:
    with tb.Session() as pub, tb.Session(force_remote=True) as remote:
        pub.publish_table(big(), "log")
        first = sizes(pub)
        for i in range(3):
            before = sizes(pub)
            pub.append_table("log", {"id": [N + i], "x": [0.5], "label": [f"new-{i}"]})
            new = {f: n for f, n in sizes(pub).items() if f not in before}
            assert len(new) == 1 and next(iter(new.values())) < 4096, new
        expect = pa.concat_tables(
            [
                big(),
                pa.table(
                    {"id": [N, N + 1, N + 2], "x": [0.5] * 3, "label": ["new-0", "new-1", "new-2"]}
                ),
            ]
        )
        assert remote.fetch_table("log").to_arrow().equals(expect)
        # a change on top of the appended table: runs from three segments
        t = pub.fetch_table("log").to_arrow()
        pub.publish_table(with_label(t, 3, "three"), "log")
        got = remote.fetch_table("log").to_arrow()
        assert got.column("label")[3].as_py() == "three" and got.num_rows == N + 3
        assert got.column("label")[-1].as_py() == "new-2"
        # the first version's file outlives its version while later ones hold its batches
        assert set(first) <= set(sizes(pub))
        pub.release("log")
    with tb.Session() as s:
        assert not sizes(s), "segments left after every table holding them was released"


def test_a_held_table_released_meanwhile_falls_back_to_a_whole_write(
    broker: BrokerProcess,
) -> None:
    with tb.Session() as pub, tb.Session() as sub:
        pub.publish_table(big(), "big")
        fetched = pub.fetch_table("big")
        t = fetched.to_arrow()
        # released behind the client's back: it still thinks it may name those batches
        backend = pub._backend
        backend.conn.sessions.Release(
            pb.ReleaseRequest(ticket=fetched.ticket.bytes), metadata=backend.conn.md
        )
        pub.release("big")  # and the published version goes: nobody holds the segment
        v2 = with_label(t, 0, "zero")
        pub.publish_table(v2, "big")
        assert sub.fetch_table("big").to_arrow().equals(v2)


def test_tables_that_cannot_be_kept_in_parts_are_written_whole(broker: BrokerProcess) -> None:
    with tb.Session() as pub, tb.Session(force_remote=True) as sub:
        d = pa.table({"k": pa.array(["a", "b"] * (N // 2)).dictionary_encode(), "v": np.arange(N)})
        pub.publish_table(d, "dict")
        t = pub.fetch_table("dict").to_arrow()
        before = sizes(pub)
        pub.publish_table(t.slice(0, N - 1), "dict")
        new = {f: n for f, n in sizes(pub).items() if f not in before}
        assert len(new) == 1 and next(iter(new.values())) > 1_000_000  # written whole
        assert sub.fetch_table("dict").to_arrow().equals(t.slice(0, N - 1))
        # a table merely equal to a fetched one (not its memory) is written whole too
        pub.publish_table(big(), "big")
        before = sizes(pub)
        pub.fetch_table("big").to_arrow()
        pub.publish_table(big(), "big")
        new = {f: n for f, n in sizes(pub).items() if f not in before}
        assert next(iter(new.values())) > 1_000_000


# bad part lists, sent by hand -----------------------------------------------------------------
def _incoming(raw: RawClient, table: pa.Table) -> str:
    name = f"in-{os.urandom(16).hex()}.arrow"
    path = os.path.join(raw.server.shm_dir, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f, pa.ipc.new_stream(f, table.schema) as w:
        w.write_table(table)
    return name


def _import(raw: RawClient, name: str, *parts: tuple[str, int, int]) -> pb.ImportResponse:
    req = pb.ImportShmRequest(
        shm_name=name,
        parts=[pb.SegmentPart(shm_name=n, first_batch=f, num_batches=c) for n, f, c in parts],
    )
    resp: pb.ImportResponse = raw.call(raw.tables.ImportShm, req)
    return resp


def test_bad_part_lists_are_refused_and_nothing_is_lost(
    published: Published, raw: RawClient
) -> None:
    fetched = raw.call(
        raw.sessions.Fetch, pb.FetchRequest(ticket=tb.ScopeTicket.scope_ticket("sales").bytes)
    )
    seg = fetched.info.shm_name
    rows = published.data.slice(0, 3)
    cases = [
        (("unknown", 0, 1), grpc.StatusCode.ABORTED, "is not behind a table this session holds"),
        ((seg, 0, 99), grpc.StatusCode.ABORTED, "out of range"),
        ((seg, -1, 1), grpc.StatusCode.ABORTED, "out of range"),
        ((seg, 0, 0), grpc.StatusCode.ABORTED, "out of range"),
    ]
    for part, code, text in cases:
        name = _incoming(raw, rows)
        err = rpc_error(_import, raw, name, (name, 0, 1), part)
        assert err.code() == code and text in (err.details() or ""), (part, err.details())
    # another schema
    name = _incoming(raw, pa.table({"other": [1]}))
    err = rpc_error(_import, raw, name, (name, 0, 1), (seg, 0, 1))
    assert err.code() == grpc.StatusCode.ABORTED and "another schema" in (err.details() or "")
    # dictionary columns
    name = _incoming(raw, pa.table({"k": pa.array(["a"]).dictionary_encode()}))
    err = rpc_error(_import, raw, name, (name, 0, 1))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "dictionary" in (err.details() or "")
    # a segment only another session holds
    other = RawClient(published.broker)
    try:
        name = _incoming(other, rows)
        err = rpc_error(_import, other, name, (name, 0, 1), (seg, 0, 1))
        assert err.code() == grpc.StatusCode.ABORTED
    finally:
        other.close()
    # a good one, for contrast: the three rows, then the whole reference table
    name = _incoming(raw, rows)
    resp = _import(raw, name, (name, 0, 1), (seg, 0, 1))
    assert resp.info.num_rows == 3 + published.data.num_rows
    assert [p.shm_name for p in resp.info.parts] == [resp.info.shm_name, seg]
    incoming = [f for f in os.listdir(raw.server.shm_dir) if f.startswith("in-")]
    assert not incoming, f"refused imports left files behind: {incoming}"
    assert_intact(published)

"""`_reuse.plan`: which batches of a table are the very memory of held, mapped batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from ticketbooth._parts import read_table
from ticketbooth._reuse import HeldBatches, plan


def mapped(tmp_path: Path, n_batches: int = 4, rows: int = 100) -> tuple[pa.Table, HeldBatches]:
    batches = [
        pa.record_batch(
            {"i": np.arange(k * rows, (k + 1) * rows), "s": [f"r{j}" for j in range(rows)]}
        )
        for k in range(n_batches)
    ]
    with (
        pa.OSFile(str(tmp_path / "seg.arrow"), "wb") as f,
        pa.ipc.new_stream(f, batches[0].schema) as w,
    ):
        for b in batches:
            w.write_batch(b)
    table, placed = read_table(str(tmp_path), "seg.arrow", [])
    held = HeldBatches()
    held.add(b"export", placed)
    return table, held


def test_batches_are_found_at_any_position(tmp_path: Path) -> None:
    t, held = mapped(tmp_path)
    b = t.to_batches()
    new = pa.Table.from_batches([b[2], b[0]])
    p = plan(new, held)
    assert p is not None and p.runs == [("seg.arrow", 2, 3), ("seg.arrow", 0, 1)]
    assert p.kept_rows == 200
    assert p.parts("in", [0, 0]) == [("seg.arrow", 2, 1), ("seg.arrow", 0, 1)]


def test_new_rows_between_held_batches_are_runs_to_write(tmp_path: Path) -> None:
    t, held = mapped(tmp_path)
    extra = pa.table({"i": [7], "s": ["x"]})
    new = pa.concat_tables([t.slice(0, 200), extra, t.slice(200)])
    p = plan(new, held)
    assert p is not None
    assert p.runs == [
        ("seg.arrow", 0, 1),
        ("seg.arrow", 1, 2),
        (None, 200, 201),
        ("seg.arrow", 2, 3),
        ("seg.arrow", 3, 4),
    ]
    written = [sum(1 for k, _ in p.new_batches(1 << 20) if k == i) for i in range(len(p.runs))]
    assert p.parts("in", written) == [("seg.arrow", 0, 2), ("in", 0, 1), ("seg.arrow", 2, 2)]


def test_a_batch_with_a_changed_row_or_a_cut_is_written(tmp_path: Path) -> None:
    t, held = mapped(tmp_path)
    s = t.column("s")
    changed = pa.chunked_array([*s.slice(0, 150).chunks, pa.array(["X"]), *s.slice(151).chunks])
    p = plan(t.set_column(1, "s", changed), held)
    assert p is not None
    assert [r for r in p.runs if r[0] is None] == [(None, 100, 200)]
    p = plan(t.slice(50), held)  # the first batch is cut: rows 0..49 of it are written
    assert p is not None and p.runs[0] == (None, 0, 50) and p.kept_rows == 300


def test_equal_data_elsewhere_or_seen_as_another_type_is_not_reused(tmp_path: Path) -> None:
    t, held = mapped(tmp_path)
    assert plan(pa.table(t.to_pydict()), held) is None  # equal values, other memory
    as_uint = pa.chunked_array([c.view(pa.uint64()) for c in t.column("i").chunks])
    assert plan(t.set_column(0, "i", as_uint), held) is None  # same bytes, another type
    assert plan(t.rename_columns(["j", "s"]), held) is None  # another schema
    held.drop(b"export")
    assert plan(t, held) is None  # released: nothing may be named


def test_dictionary_and_nested_columns_are_never_planned(tmp_path: Path) -> None:
    _, held = mapped(tmp_path)
    assert plan(pa.table({"d": pa.array(["a"]).dictionary_encode()}), held) is None
    assert plan(pa.table({"l": [[1]]}), held) is None
    assert plan(pa.table({"i": pa.array([], pa.int64())}), held) is None


def test_parts_messages_are_the_runs_and_big_batches_are_rechunked(tmp_path: Path) -> None:
    from ticketbooth._parts import parts_messages
    from ticketbooth._segments import map_segment

    t, _ = mapped(tmp_path, n_batches=4, rows=1000)
    data = {"seg.arrow": map_segment(str(tmp_path / "seg.arrow"))}
    parts = [("seg.arrow", 2, 2), ("seg.arrow", 0, 1)]
    expected = pa.Table.from_batches([*t.to_batches()[2:], t.to_batches()[0]])
    for max_bytes, at_most in ((1 << 20, 3), (4096, None)):  # then every batch is too big
        messages = parts_messages(data, parts, max_bytes)
        sink = pa.BufferOutputStream()
        for meta, body in messages:  # re-encapsulate: continuation, length, flatbuffer, body
            sink.write(b"\xff\xff\xff\xff" + len(meta).to_bytes(4, "little") + meta + body)
        got = pa.ipc.open_stream(sink.getvalue()).read_all()
        assert got.equals(expected)
        if at_most:
            assert len(messages) - 1 == at_most
        else:
            assert len(messages) - 1 > 3
            assert all(len(m) + len(b) <= 4096 for m, b in messages[1:])

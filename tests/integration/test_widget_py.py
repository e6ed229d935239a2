"""The viewer widget's Python side, driven the way the front end drives it (no kernel)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess
from ticketbooth._windows import TableWindows


class Front:
    """Records what the widget sends and sends requests like the JS data source does."""

    def __init__(self, view: Any) -> None:
        self.view = view
        self.sent: list[tuple[dict[str, Any], list[bytes]]] = []
        view.send = lambda content, buffers=None: self.sent.append((content, buffers or []))
        self.n = 0

    def ask(self, kind: str, **params: Any) -> tuple[dict[str, Any], list[bytes]]:
        self.n += 1
        self.view._on_request(self.view, {"kind": kind, "id": f"r{self.n}", **params}, [])
        content, buffers = self.sent[-1]
        assert content["id"] == f"r{self.n}" and content["kind"] == f"{kind}-response"
        return content, buffers

    def rows(self, start: int, end: int) -> pa.Table:
        content, buffers = self.ask("window", row_start=start, row_end=end, version=0)
        assert "error" not in content, content
        return pa.ipc.open_stream(buffers[0]).read_all()


def wait_for(cond: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def test_table_windows_sort_and_live_updates(broker: BrokerProcess) -> None:
    n = 100_000
    data = pa.table(
        {
            "i": pa.array(range(n), pa.int64()),
            "s": pa.array([f"r{i}" for i in range(n)]).cast(pa.string_view()),
            "x": pa.array([None if i % 10 == 0 else i * 0.5 for i in range(n)]),
        }
    )
    with tb.Session() as pub, tb.Session() as sub:
        pub.publish_table(data, "grid")
        view = sub.view("grid")
        front = Front(view)
        assert (view.kind, view.status, view.num_rows) == ("table", "live", n)
        assert [c["name"] for c in view.columns] == ["i", "s", "x"]
        last = front.rows(n - 10, n + 50)  # clipped at the end
        assert last.column("i").to_pylist() == list(range(n - 10, n))
        assert last.schema.field("s").type == pa.string()  # what the browser can decode
        # sort on the kernel side: descending by x, nulls last
        v = view.version
        view.sort = [{"column": "x", "descending": True}]
        assert view.version == v + 1
        top = front.rows(0, 3)
        assert top.column("i").to_pylist() == [n - 1, n - 2, n - 3]
        assert front.rows(n - 1, n).column("x").to_pylist() == [None]
        # republish with the same columns: the view follows, the sort stays
        pub.publish_table(data.slice(0, 500), "grid")
        wait_for(lambda: view.num_rows == 500)
        assert view.sort == [{"column": "x", "descending": True}]
        assert front.rows(0, 1).column("i").to_pylist() == [499]
        # bad requests get error responses, not exceptions
        content, _ = front.ask("nonsense")
        assert "unknown request kind" in content["error"]
        view.sort = [{"column": "nope", "descending": False}]
        assert "no such column" in view.status_message
        assert view.sort == [{"column": "x", "descending": True}]  # reverted
        # release: the view says so and keeps its last content
        pub.release("grid")
        wait_for(lambda: view.status == "released")
        assert view.num_rows == 500
        pub.publish_table(data.slice(0, 7), "grid")
        wait_for(lambda: view.status == "live" and view.num_rows == 7)
        view.close()


def test_figure_view_and_renderer_module(broker: BrokerProcess) -> None:
    class Html:
        def __init__(self, text: str) -> None:
            self.text = text

        def _repr_html_(self) -> str:
            return self.text

    with tb.Session() as pub, tb.Session() as sub:
        pub.publish_figure(Html("<b>one</b>"), "fig")
        view = tb.view("fig", sub)
        front = Front(view)
        assert (view.kind, view.mimebundle["text/html"]) == ("figure", "<b>one</b>")
        pub.publish_figure(Html("<b>two</b>"), "fig")
        wait_for(lambda: view.mimebundle.get("text/html") == "<b>two</b>")
        assert view.publisher_version == 2
        content, buffers = front.ask("renderer", name="plotly")
        assert content["response"] == {"name": "plotly"} and b"export" in buffers[0]
        content, _ = front.ask("renderer", name="../../etc/passwd")
        assert "unknown renderer" in content["error"]
        pub.close()
        wait_for(lambda: view.status == "publisher-gone")
        view.close()


def test_view_waits_for_a_ticket_not_yet_published(broker: BrokerProcess) -> None:
    with tb.Session() as pub, tb.Session() as sub:
        view = sub.view("later")
        assert view.status == "loading"
        assert (
            view.status_message == "waiting for 'later' to be published; no names are published yet"
        )
        pub.publish_table(pa.table({"a": [1, 2]}), "later")
        # a typo: the view says what it waits for, and what is published instead
        typo = sub.view("latr")
        assert typo.status_message == (
            "waiting for 'latr' to be published; did you mean 'later'? Published: later"
        ), typo.status_message
        assert repr(typo) == "<ticketbooth.TicketView latr empty loading>"
        typo.close()
        wait_for(lambda: view.status == "live" and view.num_rows == 2)
        assert repr(view) == "<ticketbooth.TicketView later 2 rows v1 live>"
        view.close()


def test_a_failed_sort_reverts_and_says_why(broker: BrokerProcess) -> None:
    """Columns pyarrow cannot sort (or reorder): the view keeps its order and says why."""
    runs = pa.RunEndEncodedArray.from_arrays(pa.array([3], pa.int32()), pa.array(["x"]))
    data = pa.table(
        {
            "i": [2, 0, 1],
            "tags": pa.array([[1], [2], []]),  # list: ArrowTypeError (a TypeError)
            "cat": pa.array(["b", "a", "c"]).dictionary_encode(),  # sorted by its values
            "half": pa.array([1, 0, 2], pa.float16()),
        }
    )
    with tb.Session() as pub, tb.Session() as sub:
        pub.publish_table(data, "odd")
        view = sub.view("odd")
        front = Front(view)
        states: list[dict[str, Any]] = []  # what goes to the front end's model
        view._send = lambda msg, buffers=None: states.append(msg)
        by_i = [{"column": "i", "descending": True}]
        view.set_state({"sort": by_i})  # as the comm delivers a header click
        assert front.rows(0, 3).column("i").to_pylist() == [2, 1, 0]
        for bad, named in [
            ([{"column": "tags", "descending": False}], "'tags'"),
            ([{"column": "i", "descending": False}, {"column": "half"}], "'half'"),
        ]:
            states.clear()
            version = view.version
            view.set_state({"sort": bad})
            assert view.sort == by_i and view.version == version
            assert "cannot sort by" in view.status_message and named in view.status_message
            assert "cannot sort its type" in view.status_message
            updates = [m["state"] for m in states if m["method"] == "update"]
            # the revert and the reason reach the front end, in one message
            assert [u["sort"] for u in updates if "sort" in u] == [by_i], updates
            assert named in next(u for u in updates if "sort" in u)["status_message"]
            assert front.rows(0, 3).column("i").to_pylist() == [2, 1, 0]  # order unchanged
        view.set_state({"sort": [{"column": "i", "descending": False}]})
        assert view.status_message == "" and front.rows(0, 1).column("i").to_pylist() == [0]

        # a republish keeps the sort; if sorting the new data fails, the view says so
        def boom(self: Any, keys: list[dict[str, Any]]) -> None:
            raise MemoryError("out of memory while sorting")

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(TableWindows, "sort", boom)
            pub.publish_table(data.slice(0, 2), "odd")
            wait_for(lambda: view.num_rows == 2)
        assert view.sort == [] and view.status == "live"
        assert view.status_message == "cannot sort by 'i': MemoryError: out of memory while sorting"
        assert front.rows(0, 2).column("i").to_pylist() == [2, 0]  # published order

        # a column that cannot be reordered makes any sort fail: it is named
        pub.publish_table(data.append_column("runs", runs), "odd")
        wait_for(lambda: view.num_rows == 3 and len(view.columns) == 5)
        assert view.sort == []
        view.set_state({"sort": by_i})
        assert view.sort == [] and "'runs'" in view.status_message
        assert front.rows(0, 3).column("i").to_pylist() == [2, 0, 1]  # published order

        # any other failure (not a pyarrow or ticketbooth error) is reported the same way
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(TableWindows, "sort", boom)
            view.set_state({"sort": [{"column": "i", "descending": False}]})
        assert view.sort == [] and "'i'" in view.status_message
        assert "MemoryError: out of memory" in view.status_message
        view.close()


def test_a_republish_pushes_the_rows_in_view_before_the_version(broker: BrokerProcess) -> None:
    """The rows the front end asked for last, at the new version, go out before the version
    trait: the grid repaints a republish without a round trip."""
    with tb.Session() as pub, tb.Session() as sub:
        pub.publish_table(pa.table({"i": list(range(1000))}), "pushed")
        view = sub.view("pushed")
        # the first rows go with the view, for its version
        first = pa.ipc.open_stream(view.first_rows).read_all()
        assert first.column("i").to_pylist() == list(range(64))
        assert view.first_rows_version == view.version
        messages: list[tuple[str, dict[str, Any], list[bytes]]] = []
        view._send = lambda msg, buffers=None: messages.append(
            (msg["method"], msg.get("content") or msg.get("state") or {}, list(buffers or []))
        )
        view._on_request(view, {"kind": "window", "id": "r1", "row_start": 64, "row_end": 128}, [])
        assert messages[-1][1]["kind"] == "window-response"
        before = view.version
        messages.clear()
        pub.publish_table(pa.table({"i": [k * 10 for k in range(2000)]}), "pushed")
        wait_for(lambda: view.version == before + 1)
        kinds = [(m, c.get("kind") or ",".join(sorted(c))) for m, c, _ in messages]
        push = next(i for i, (m, k) in enumerate(kinds) if k == "window-push")
        update = next(i for i, (m, c, _) in enumerate(messages) if m == "update" and "version" in c)
        assert push < update, kinds
        _, content, buffers = messages[push]
        assert content == {
            "kind": "window-push",
            "version": before + 1,
            "row_start": 64,
            "row_end": 128,
        }
        rows = pa.ipc.open_stream(buffers[0]).read_all()
        assert rows.column("i").to_pylist() == [k * 10 for k in range(64, 128)]
        first = pa.ipc.open_stream(view.first_rows).read_all()
        assert first.column("i").to_pylist() == [k * 10 for k in range(64)]
        assert view.first_rows_version == view.version
        view.close()


def test_rows_the_server_served_are_pushed_with_the_next_version(broker: BrokerProcess) -> None:
    """The rows the front end got over HTTP reach the kernel as a `viewport` request: it
    answers (so the front end knows the kernel is there), and the next version pushes those
    rows. A malformed one is refused and changes nothing."""
    with tb.Session() as pub, tb.Session() as sub:
        pub.publish_table(pa.table({"i": list(range(1000))}), "viewport")
        view = sub.view("viewport")
        assert view.broker_id == sub.broker_id == pub.broker_id != ""
        messages: list[tuple[str, dict[str, Any], list[bytes]]] = []
        view._send = lambda msg, buffers=None: messages.append(
            (msg["method"], msg.get("content") or msg.get("state") or {}, list(buffers or []))
        )
        view._on_request(
            view, {"kind": "viewport", "id": "v", "row_start": 500, "row_end": 532}, []
        )
        assert messages[-1][1] == {
            "kind": "viewport-response",
            "id": "v",
            "response": {"row_start": 500, "row_end": 532},
        }
        for n, bad in enumerate(
            ({}, {"row_start": "x", "row_end": 3}, {"row_start": 9, "row_end": 2})
        ):
            view._on_request(view, {"kind": "viewport", "id": f"b{n}", **bad}, [])
            assert messages[-1][1]["kind"] == "viewport-response" and messages[-1][1]["error"]
        messages.clear()
        before = view.version
        pub.publish_table(pa.table({"i": [k * 10 for k in range(2000)]}), "viewport")
        wait_for(lambda: view.version == before + 1)
        pushes = [(c, b) for _, c, b in messages if c.get("kind") == "window-push"]
        assert len(pushes) == 1
        content, buffers = pushes[0]
        assert (content["row_start"], content["row_end"]) == (500, 532)
        rows = pa.ipc.open_stream(buffers[0]).read_all()
        assert rows.column("i").to_pylist() == [k * 10 for k in range(500, 532)]
        view.close()

"""The viewer widget's Python side, driven the way the front end drives it (no kernel)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pyarrow as pa

import ticketbooth as tb
from tests.conftest import BrokerProcess


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
        assert view.status == "loading" and "nothing is published" in view.status_message
        pub.publish_table(pa.table({"a": [1, 2]}), "later")
        wait_for(lambda: view.status == "live" and view.num_rows == 2)
        view.close()

"""Figures, watches and the widget on a real Deephaven server: the notebook code of the
broker, unchanged."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.deephaven_server import DeephavenServer
from tests.integration.test_plugin import seed_figure_example
from tests.integration.test_widget_py import Front, wait_for
from ticketbooth._objects import MimeBundle


class Figure:
    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_html_(self) -> str:
        return f"<b>{self.text}</b>"


def test_figures_round_trip_and_are_not_tables(dh: DeephavenServer) -> None:
    with tb.Session(dh.url, token=dh.psk) as pub, tb.Session(dh.url, token=dh.psk) as sub:
        pub.publish_figure(Figure("x" * (3 << 20)), "big_html")  # several chunks
        got = sub.fetch_object("big_html")
        assert isinstance(got, tb.SharedObject)
        assert got.mimebundle["text/html"] == "<b>" + "x" * (3 << 20) + "</b>"
        assert sub.info("big_html").type == "Figure"
        with pytest.raises(tb.InvalidInputError, match="holds a Figure, not a Table"):
            sub.fetch_table("big_html")
        shared = tb.SharedTicket.random_ticket()
        pub.publish_figure(Figure("shared"), shared)
        assert sub.fetch_object(shared).mimebundle["text/html"] == "<b>shared</b>"


def test_watch_follows_scope_names(dh: DeephavenServer) -> None:
    with tb.Session(dh.url, token=dh.psk) as pub, tb.Session(dh.url, token=dh.psk) as sub:
        pub.publish_table({"v": [1]}, "watched")
        with sub.watch("watched") as watch:
            first = next(watch)
            assert (first.kind, first.version, str(first.ticket)) == ("published", 1, "watched")
            pub.publish_table({"v": [1, 2]}, "watched")
            second = next(watch)
            assert (second.kind, second.version) == ("updated", 2)
        assert sub.fetch_table("watched").num_rows == 2
        assert sub.info("watched").version == 2  # the watch's count and info's agree


def test_watch_sees_a_shared_ticket_go(dh: DeephavenServer) -> None:
    with tb.Session(dh.url, token=dh.psk) as pub, tb.Session(dh.url, token=dh.psk) as sub:
        shared = tb.SharedTicket.random_ticket()
        pub.publish_table({"v": [1]}, shared)
        with sub.watch(shared) as watch:
            assert next(watch).kind == "published"
            pub.release(shared)
            gone = next(watch)
            assert (gone.kind, gone.reason) == ("released", "released")
            assert next(watch, None) is None


def test_the_widget_shows_windows_and_follows_republish(dh: DeephavenServer) -> None:
    n = 200_000
    data = pa.table({"row": pa.array(range(n), pa.int64()), "x": pa.array(range(n), pa.float64())})
    with tb.Session(dh.url, token=dh.psk) as pub, tb.Session(dh.url, token=dh.psk) as sub:
        pub.publish_table(data, "dh_grid")
        view = tb.view("dh_grid", session=sub)
        front = Front(view)
        assert (view.kind, view.status, view.num_rows) == ("table", "live", n)
        assert front.rows(n - 10, n).column("row").to_pylist() == list(range(n - 10, n))
        pub.publish_table(data.slice(0, 5), "dh_grid")
        wait_for(lambda: view.num_rows == 5)
        assert front.rows(0, 5).column("row").to_pylist() == [0, 1, 2, 3, 4]
        pub.publish_figure(Figure("now a figure"), "dh_grid")
        wait_for(lambda: view.kind == "figure")
        assert view.mimebundle["text/html"] == "<b>now a figure</b>"
        view.close()

        shared = tb.SharedTicket.random_ticket()  # the issue's own line: a shared ticket
        pub.publish_table(data.slice(0, 7), shared)
        by_ticket = tb.view(shared, session=sub)
        assert (by_ticket.status, by_ticket.num_rows) == ("live", 7)
        assert Front(by_ticket).rows(0, 7).column("row").to_pylist() == list(range(7))
        pub.release(shared)  # seen by the shared ticket's poll
        wait_for(lambda: by_ticket.status == "released")
        by_ticket.close()

        later = tb.view("dh_not_yet", session=sub)  # waits, then shows it when published
        assert later.status == "loading" and "waiting for 'dh_not_yet'" in later.status_message
        pub.publish_table({"v": [1, 2, 3]}, "dh_not_yet")
        wait_for(lambda: later.status == "live" and later.num_rows == 3)
        later.close()


def test_missing_extra_names_the_pip_command() -> None:
    code = (
        "import sys; sys.modules['pydeephaven'] = None\n"
        "import ticketbooth as tb\n"
        "try:\n"
        "    tb.Session('deephaven://127.0.0.1:1')\n"
        "except tb.InvalidInputError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "pip install 'ticketbooth[deephaven]'" in out.stdout, out.stderr


def test_seed_figure_example_on_deephaven(dh: DeephavenServer) -> None:
    """The seed's first example, the same code as on the broker; only the address differs."""
    seed_figure_example(url=dh.url, token=dh.psk)


def test_plugin_stream_follows_republish(dh: DeephavenServer) -> None:

    with tb.Session(dh.url, token=dh.psk) as pub, tb.Session(dh.url, token=dh.psk) as sub:
        pub.publish_figure(Figure("v1"), "streamed")
        with sub.plugin_client("streamed") as client:
            first, _ = next(client.resp_stream)
            assert MimeBundle.from_wire(first).data["text/html"] == "<b>v1</b>"
            with pytest.raises(tb.PluginError, match="need the ticketbooth broker"):
                client.req_stream.write(b"zoom")
            pub.publish_figure(Figure("v2"), "streamed")
            payload, _ = next(client.resp_stream)
            assert MimeBundle.from_wire(payload).data["text/html"] == "<b>v2</b>"
            assert client.resp_stream.version == 2
        pub.publish_table({"a": [1]}, "a_table")
        with pytest.raises(tb.InvalidInputError, match="holds a Table"):
            sub.plugin_client("a_table")

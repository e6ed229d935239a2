"""Plugin message streams: the seed's plugin_client shape, handlers, and their failures."""

from __future__ import annotations

import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess
from ticketbooth._objects import MimeBundle


class _Html:
    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_html_(self) -> str:
        return self.text


def test_seed_figure_example(broker: BrokerProcess) -> None:
    """The seed's first example, with run_script replaced by publish_figure."""
    assert broker.tcp_url is not None
    seed_figure_example(host="localhost", port=int(broker.tcp_url.rsplit(":", 1)[1]))


def seed_figure_example(**where: object) -> None:
    """The seed's first example as a notebook would run it; `where` are the Session
    arguments (also run against a Deephaven server: tests/deephaven/test_live.py)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ticketbooth import ServerObject, Session, SharedTicket

    session = Session(**where)  # type: ignore[arg-type]
    fig, ax = plt.subplots()
    ax.plot([0.1 * i for i in range(20)], [i % 5 for i in range(20)], label="Random numbers")
    session.publish_figure(fig, "plot")

    plot_obj = session.exportable_objects["plot"]
    plugin_client = session.plugin_client(plot_obj)
    export_ticket = session.fetch(plugin_client)
    shared_ticket = SharedTicket.random_ticket()
    session.publish(export_ticket, shared_ticket)

    sub_session = Session(**where)  # type: ignore[arg-type]
    server_obj = ServerObject(type="Figure", ticket=shared_ticket)
    sub_plugin_client = sub_session.plugin_client(server_obj)
    payload, refs = next(sub_plugin_client.resp_stream)
    assert refs == []
    bundle = MimeBundle.from_wire(payload)
    assert bundle.data["image/png"][:8] == b"\x89PNG\r\n\x1a\n"  # type: ignore[index]

    sub_plugin_client.close()
    sub_session.close()
    plugin_client.close()
    session.close()


def test_requests_reach_the_publisher_and_replies_come_back(broker: BrokerProcess) -> None:
    with tb.Session() as pub, tb.Session() as sub:
        pub.publish_figure(_Html("<p>v1</p>"), "chart")
        seen: list[tuple[bytes, list[tb.Ticket]]] = []

        def handler(payload: bytes, refs: list[tb.Ticket]) -> bytes:
            seen.append((payload, refs))
            if payload == b"boom":
                raise ValueError("cannot zoom there")
            return b"view:" + payload

        with pub.serve_requests("chart", handler) as server, sub.plugin_client("chart") as client:
            assert repr(server) == "<ticketbooth.RequestServer serving chart>"
            first, _ = next(client.resp_stream)
            assert MimeBundle.from_wire(first).data["text/html"] == "<p>v1</p>"
            client.req_stream.write(payload=b"zoom=2", references=["chart"])
            assert next(client.resp_stream) == (b"view:zoom=2", [])
            assert seen == [(b"zoom=2", [tb.ScopeTicket.scope_ticket("chart")])]
            client.req_stream.write(payload=b"boom")
            with pytest.raises(tb.PluginError, match="ValueError: cannot zoom there"):
                next(client.resp_stream)
            # republish: the stream delivers the new payload; the handler follows the ticket
            pub.publish_figure(_Html("<p>v2</p>"), "chart")
            payload, _ = next(client.resp_stream)
            assert MimeBundle.from_wire(payload).data["text/html"] == "<p>v2</p>"
            assert client.resp_stream.version == 2
            client.req_stream.write(payload=b"again")
            assert next(client.resp_stream) == (b"view:again", [])


def test_no_handler_and_publisher_gone(broker: BrokerProcess) -> None:
    pub, sub = tb.Session(), tb.Session()
    pub.publish_figure(_Html("x"), "lonely")
    client = sub.plugin_client("lonely")
    next(client.resp_stream)
    client.req_stream.write(payload=b"anyone?")
    with pytest.raises(tb.PluginError, match="no handler"):
        next(client.resp_stream)
    pub.close()
    with pytest.raises(tb.TicketNotFoundError, match="released \\(closed\\)"):
        next(client.resp_stream)
    client.close()
    sub.close()


def test_table_stream_references_the_table(broker: BrokerProcess) -> None:
    with tb.Session() as pub, tb.Session() as sub:
        pub.publish_table(pa.table({"a": [1, 2]}), "t")
        with sub.plugin_client(tb.ServerObject("Table", tb.ScopeTicket.scope_ticket("t"))) as c:
            schema_bytes, refs = next(c.resp_stream)
            assert pa.ipc.read_schema(pa.py_buffer(schema_bytes)).names == ["a"]
            assert refs[0].type == "Table"
            assert sub.fetch_table(refs[0].ticket).num_rows == 2


def test_serving_someone_elses_ticket_is_refused(broker: BrokerProcess) -> None:
    with tb.Session() as pub, tb.Session() as other:
        pub.publish_figure(_Html("x"), "mine")
        with pytest.raises(tb.PermissionDeniedError, match="only the session that published"):
            other.serve_requests("mine", lambda p, r: p)

"""A figure ticketbooth publishes, seen by pydeephaven: a "Figure" in exportable_objects,
its MIME bundle (Jupyter's display_data JSON) through plugin_client, and passed on by
fetch + publish to a shared ticket that ticketbooth reads back."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import matplotlib
import pytest
from pydeephaven.ticket import ExportTicket, ScopeTicket, ServerObject, SharedTicket

import ticketbooth as tb
from tests.pydeephaven_compat.conftest import Clients, unique

matplotlib.use("Agg")
import matplotlib.pyplot as plt

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def chart(clients: Clients) -> Iterator[tuple[str, tb.SharedObject]]:
    """A matplotlib figure ticketbooth published under a scope name: (name, its handle)."""
    fig, ax = plt.subplots(figsize=(3, 2), dpi=60)
    ax.plot([0.1 * i for i in range(20)], [i % 5 for i in range(20)], label="Random numbers")
    s = clients.tbs()
    handle = s.import_figure(fig)
    plt.close(fig)
    name = unique("chart")
    s.publish(handle.ticket, tb.ScopeTicket.scope_ticket(name))
    yield name, handle


def first_message(client: Any) -> tuple[dict[str, Any], list[Any]]:
    """The plugin stream's first message: (the decoded JSON payload, its references)."""
    payload, refs = next(client.resp_stream)
    return json.loads(payload.decode("utf-8")), refs


def check_streamed(session: Any, obj: ServerObject, handle: tb.SharedObject) -> None:
    """plugin_client on `obj` sends the published bundle, with no references."""
    client = session.plugin_client(obj)
    try:
        message, refs = first_message(client)
    finally:
        client.close()
    assert refs == []
    check_bundle(message, handle)


def check_bundle(message: dict[str, Any], handle: tb.SharedObject) -> None:
    """The JSON display_data bundle carries exactly the published bundle's data."""
    assert set(message) >= {"data", "metadata"}
    assert isinstance(message["metadata"], dict)
    want = handle.bundle.data
    data = message["data"]
    assert set(data) == set(want)
    png = base64.b64decode(data["image/png"], validate=True)
    assert png.startswith(PNG_MAGIC)
    for mime, value in want.items():
        if isinstance(value, (bytes, bytearray, memoryview)):
            assert base64.b64decode(data[mime], validate=True) == bytes(value), mime
        else:  # text as a string, JSON types as JSON values
            assert data[mime] == value, mime


def test_listed_as_a_figure(clients: Clients, chart: tuple[str, tb.SharedObject]) -> None:
    name, _ = chart
    pdh = clients.pdh()
    objects = pdh.exportable_objects
    assert objects[name].type == "Figure"
    assert objects[name].ticket.bytes == f"s/{name}".encode()
    assert name not in pdh.tables


def test_plugin_client_gives_the_mime_bundle(
    clients: Clients, chart: tuple[str, tb.SharedObject]
) -> None:
    name, handle = chart
    pdh = clients.pdh()
    check_streamed(pdh, pdh.exportable_objects[name], handle)


def test_fetched_and_republished_to_a_shared_ticket(
    clients: Clients, chart: tuple[str, tb.SharedObject]
) -> None:
    """The seed's example with the publisher in ticketbooth: pydeephaven fetches the figure
    by its scope ticket and publishes it to a shared ticket; ticketbooth and another
    pydeephaven session read the same figure from that ticket."""
    name, handle = chart
    relay = clients.pdh()
    export = relay.fetch(ScopeTicket.scope_ticket(name))
    assert isinstance(export, ExportTicket)
    shared = SharedTicket.random_ticket()
    relay.publish(export, shared)

    s = clients.tbs()
    obj = s.fetch_object(tb.SharedTicket(shared.bytes))
    assert isinstance(obj, tb.SharedObject) and obj.type == "Figure"
    assert obj.bundle.to_wire() == handle.bundle.to_wire()
    assert s.info(tb.SharedTicket(shared.bytes)).type == "Figure"

    check_streamed(clients.pdh(), ServerObject(type="Figure", ticket=shared), handle)


def test_figure_is_not_a_table(clients: Clients, chart: tuple[str, tb.SharedObject]) -> None:
    """open_table of a figure's name fails cleanly; the figure stays published."""
    from pydeephaven import DHError

    name, _ = chart
    pdh = clients.pdh()
    with pytest.raises(DHError):
        clients.keep(pdh.open_table(name))
    assert pdh.exportable_objects[name].type == "Figure"


def test_plugin_client_follows_republish_and_release(clients: Clients) -> None:
    """pydeephaven's plugin_client fetches the named figure, then streams on its export: the
    stream still follows the name, so a republish sends the new bundle and a release ends
    the stream with the reason."""
    import grpc

    s = clients.tbs()
    name = unique("live_chart")
    scope = tb.ScopeTicket.scope_ticket(name)
    handles = []
    for points in ([1, 2, 3], [3, 1, 2]):
        fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
        ax.plot(points)
        handles.append(s.import_figure(fig))
        plt.close(fig)
    s.publish(handles[0].ticket, scope)
    pdh = clients.pdh()
    client = pdh.plugin_client(pdh.exportable_objects[name])
    try:
        check_bundle(first_message(client)[0], handles[0])
        s.publish(handles[1].ticket, scope)
        check_bundle(first_message(client)[0], handles[1])
        s.release(scope)
        with pytest.raises(grpc.RpcError) as ended:
            next(client.resp_stream)
        assert ended.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # type: ignore[attr-defined]
        assert "released" in ended.value.details()  # type: ignore[attr-defined]
    finally:
        client.close()

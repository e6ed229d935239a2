"""The server extension in a real jupyter_server (pytest-jupyter): the broker runs on the
server's loop, and its objects are served over HTTP behind Jupyter's auth."""

from __future__ import annotations

import json
import os
from typing import Any

import pyarrow as pa
import pytest
from tornado.httpclient import HTTPClientError

import ticketbooth as tb
from tests.server.conftest import off_loop


class Html:
    def __init__(self, html: str) -> None:
        self.html = html

    def _repr_html_(self) -> str:
        return self.html


TABLE = pa.table({"n": [3, 1, None, 2], "s": ["c", "a", "x", "b"]})


async def error_of(jp_fetch: Any, *path: str, **kw: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch(*path, **kw)
    assert err.value.response is not None
    return err.value.code, json.loads(err.value.response.body)


async def test_status_says_the_broker_runs_in_the_server(
    server: Any, jp_fetch: Any, publisher: tb.Session
) -> None:
    body = json.loads((await jp_fetch("ticketbooth", "api", "status")).body)
    # a kernel's view on this broker may ask this server for rows; one on another may not
    assert body["broker_id"] == publisher.broker_id and len(body["broker_id"]) == 16
    assert body["broker"]["in_process"] is True and body["can_release"] is True
    assert body["broker"]["url"] == os.environ["TICKETBOOTH_URL"]
    assert "token" not in json.dumps(body).lower()


async def test_every_endpoint_needs_jupyters_auth(jp_fetch: Any, publisher: tb.Session) -> None:
    for path in ("status", "objects", "object?ticket=x", "window?ticket=x", "events"):
        name, _, query = path.partition("?")
        params = dict([query.split("=")]) if query else {}
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch("ticketbooth", "api", name, params=params, headers={"Authorization": ""})
        assert err.value.code == 403, path


async def test_objects_and_windows(jp_fetch: Any, publisher: tb.Session) -> None:
    await off_loop(publisher.publish_table, TABLE, "sales")
    objects = json.loads((await jp_fetch("ticketbooth", "api", "objects")).body)["objects"]
    assert [(o["name"], o["type"], o["num_rows"], o["version"]) for o in objects] == [
        ("sales", "Table", 4, 1)
    ]
    info = json.loads(
        (await jp_fetch("ticketbooth", "api", "object", params={"ticket": "sales"})).body
    )
    assert info["columns"] == [{"name": "n", "type": "int64"}, {"name": "s", "type": "string"}]

    resp = await jp_fetch(
        "ticketbooth", "api", "window", params={"ticket": "sales", "start": 1, "end": 3}
    )
    assert resp.headers["Content-Type"] == "application/vnd.apache.arrow.stream"
    assert (resp.headers["X-Ticketbooth-Rows"], resp.headers["X-Ticketbooth-Row-End"]) == ("4", "3")
    assert pa.ipc.open_stream(resp.body).read_all().to_pydict() == {"n": [1, None], "s": ["a", "x"]}

    sort = json.dumps([{"column": "n", "descending": True}])
    resp = await jp_fetch(
        "ticketbooth", "api", "window", params={"ticket": "sales", "sort": sort, "end": 10}
    )
    assert pa.ipc.open_stream(resp.body).read_all().column("n").to_pylist() == [3, 2, 1, None]


async def test_a_republished_table_answers_409_with_the_new_version(
    jp_fetch: Any, publisher: tb.Session
) -> None:
    await off_loop(publisher.publish_table, TABLE, "sales")
    await off_loop(publisher.publish_table, TABLE.slice(0, 2), "sales")
    code, body = await error_of(
        jp_fetch, "ticketbooth", "api", "window", params={"ticket": "sales", "version": 1}
    )
    assert code == 409 and body["version"] == 2
    resp = await jp_fetch("ticketbooth", "api", "window", params={"ticket": "sales", "version": 2})
    assert resp.headers["X-Ticketbooth-Rows"] == "2"


async def test_a_version_held_here_is_served_until_a_newer_one_is_fetched(
    jp_fetch: Any, publisher: tb.Session
) -> None:
    """A view scrolling version 1 gets its rows from the table this server holds, without
    asking the broker (a republish reaches the view through its kernel or the events); once
    the server fetched version 2 it lets version 1 go, and asking for it answers 409."""
    await off_loop(publisher.publish_table, TABLE, "sales")

    async def window(**params: Any) -> Any:
        return await jp_fetch("ticketbooth", "api", "window", params={"ticket": "sales", **params})

    assert (await window(version=1)).headers["X-Ticketbooth-Version"] == "1"  # now held
    await off_loop(publisher.publish_table, TABLE.slice(0, 2), "sales")
    resp = await window(version=1, start=3, end=4)
    assert resp.headers["X-Ticketbooth-Version"] == "1"
    assert pa.ipc.open_stream(resp.body).read_all().to_pydict() == {"n": [2], "s": ["b"]}
    assert "window;dur=" in resp.headers["Server-Timing"]
    code, body = await error_of(  # sorting is not cut from the held table: the broker is asked
        jp_fetch,
        "ticketbooth",
        "api",
        "window",
        params={"ticket": "sales", "version": 1, "sort": '[{"column": "n"}]'},
    )
    assert code == 409 and body["version"] == 2
    assert (await window()).headers["X-Ticketbooth-Rows"] == "2"  # version 2 fetched
    code, body = await error_of(
        jp_fetch, "ticketbooth", "api", "window", params={"ticket": "sales", "version": 1}
    )
    assert code == 409 and body["version"] == 2


@pytest.mark.parametrize(
    ("params", "code", "words"),
    [
        ({}, 400, "?ticket="),
        ({"ticket": "nope"}, 404, "nothing is published"),
        ({"ticket": "sales", "start": "ten"}, 400, "start must be an integer"),
        ({"ticket": "sales", "sort": "[{"}, 400, "sort must be JSON"),
        ({"ticket": "sales", "sort": '[{"column": "zz"}]'}, 400, "no such column"),
        ({"ticket": "sales", "sort": '{"column": "n"}'}, 400, "sort must be a list"),
        ({"ticket": "chart"}, 400, "not a table"),
    ],
)
async def test_bad_window_requests_say_what_is_wrong(
    jp_fetch: Any, publisher: tb.Session, params: dict[str, str], code: int, words: str
) -> None:
    await off_loop(publisher.publish_table, TABLE, "sales")
    await off_loop(publisher.publish_figure, Html("<b>hi</b>"), "chart")
    got, body = await error_of(jp_fetch, "ticketbooth", "api", "window", params=params)
    assert (got, words in body["error"]) == (code, True), body


async def test_a_figure_bundle(jp_fetch: Any, publisher: tb.Session) -> None:
    await off_loop(publisher.publish_figure, Html("<b>hi</b>"), "chart")
    info = json.loads(
        (await jp_fetch("ticketbooth", "api", "object", params={"ticket": "chart"})).body
    )
    assert info["mimebundle"]["text/html"] == "<b>hi</b>" and info["version"] == 1


async def test_a_shared_ticket_by_its_text(jp_fetch: Any, publisher: tb.Session) -> None:
    ticket = tb.SharedTicket.random_ticket()
    await off_loop(publisher.publish_table, TABLE, ticket)
    resp = await jp_fetch("ticketbooth", "api", "window", params={"ticket": str(ticket)})
    assert resp.headers["X-Ticketbooth-Rows"] == "4"


async def test_release_unpublishes_and_the_publisher_keeps_working(
    jp_fetch: Any, publisher: tb.Session
) -> None:
    await off_loop(publisher.publish_table, TABLE, "sales")
    resp = await jp_fetch(
        "ticketbooth", "api", "release", method="POST", body=b"", params={"ticket": "sales"}
    )
    assert resp.code == 204
    code, _ = await error_of(jp_fetch, "ticketbooth", "api", "object", params={"ticket": "sales"})
    assert code == 404
    code, _ = await error_of(
        jp_fetch,
        "ticketbooth",
        "api",
        "release",
        method="POST",
        body=b"",
        params={"ticket": "sales"},
    )
    assert code == 404
    await off_loop(publisher.publish_table, TABLE, "sales")  # the name can be used again
    assert [o.name for o in await off_loop(publisher.list_objects)] == ["sales"]


async def test_renderers_are_served(server: Any, jp_fetch: Any) -> None:
    resp = await jp_fetch("ticketbooth", "api", "renderer", "plotly")
    assert resp.headers["Content-Type"].startswith("text/javascript") and len(resp.body) > 100_000
    code, body = await error_of(jp_fetch, "ticketbooth", "api", "renderer", "nope")
    assert code == 404 and "known" in body["error"]

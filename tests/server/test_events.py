"""The server-sent-events stream: publishes, republishes and releases, as they happen."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import pyarrow as pa

import ticketbooth as tb
from tests.server.conftest import off_loop
from tests.server.test_endpoints import TABLE


class Events:
    """Reads `events` over a plain socket (HTTP/1.0: no chunking, closed at once by
    `close()`); `next()` waits for the next change."""

    def __init__(self, port: int, path: str, headers: dict[str, str]) -> None:
        self.port, self.path, self.headers = port, path, headers
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task = asyncio.ensure_future(self._read())
        self.status = ""

    async def _read(self) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
        self.writer.write(f"GET {self.path} HTTP/1.0\r\n{head}\r\n".encode())
        self.status = (await reader.readline()).decode()
        while (await reader.readline()).strip():  # the response headers
            pass
        block: list[str] = []
        while line := (await reader.readline()).decode():
            if line.strip():
                block.append(line.rstrip("\n"))
                continue
            fields = dict(x.split(": ", 1) for x in block if not x.startswith(":"))
            block = []
            if fields:
                assert fields["event"] == "change"
                self.queue.put_nowait(json.loads(fields["data"]))

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.queue.get(), 10)

    async def close(self) -> None:
        self.writer.close()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def stream(port: Any, base_url: str, headers: dict[str, str], query: str = "") -> Events:
    return Events(port[-1], f"{base_url}ticketbooth/api/events{query}", headers)


async def test_changes_stream_as_they_happen(
    jp_fetch: Any,
    publisher: tb.Session,
    http_server_port: Any,
    jp_base_url: str,
    jp_auth_header: Any,
) -> None:
    await off_loop(publisher.publish_table, TABLE, "sales")
    events = stream(http_server_port, jp_base_url, jp_auth_header)
    first = await events.next()  # what is published already comes first
    assert (first["kind"], first["ticket"], first["version"], first["type"]) == (
        "published",
        "sales",
        1,
        "Table",
    )
    await off_loop(publisher.publish_table, TABLE.slice(0, 1), "sales")
    assert (await events.next())["kind"] == "updated"
    await jp_fetch(
        "ticketbooth", "api", "release", method="POST", body=b"", params={"ticket": "sales"}
    )
    released = await events.next()
    assert (released["kind"], released["reason"]) == ("released", "released")
    await off_loop(publisher.publish_table, TABLE, "sales")  # the stream goes on
    assert (await events.next())["kind"] == "published"
    await events.close()


async def test_one_shared_ticket_can_be_followed(
    jp_fetch: Any,  # starts the HTTP server
    publisher: tb.Session,
    http_server_port: Any,
    jp_base_url: str,
    jp_auth_header: Any,
) -> None:
    shared = tb.SharedTicket.random_ticket()
    await off_loop(publisher.publish_table, TABLE, "other")
    query = f"?ticket={shared}"
    events = stream(http_server_port, jp_base_url, jp_auth_header, query)
    await off_loop(publisher.publish_table, pa.table({"x": [1]}), shared)
    event = await events.next()
    assert (event["kind"], event["ticket"]) == ("published", str(shared))
    await off_loop(publisher.publish_table, TABLE, "other")  # not this ticket: not sent
    await off_loop(publisher.release, shared)
    assert (await events.next())["kind"] == "released"
    await events.close()

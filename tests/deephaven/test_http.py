"""The Jupyter server extension's HTTP windows with a Deephaven server behind it: set
TICKETBOOTH_URL=deephaven://... and the same data source serves windows, never the table."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.deephaven_server import DeephavenServer
from tests.integration.test_server_extension import TOKEN, Server, start_server


def window(server: Server, **params: object) -> tuple[dict[str, str], pa.Table]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    req = urllib.request.Request(
        f"{server.url}ticketbooth/api/window?{query}", headers={"Authorization": f"token {TOKEN}"}
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return dict(resp.headers), pa.ipc.open_stream(resp.read()).read_all()


def test_windows_over_http_from_deephaven(
    dh: DeephavenServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKETBOOTH_URL", dh.url)
    monkeypatch.setenv("TICKETBOOTH_TOKEN", dh.psk or "")
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    n = 100_000
    with tb.Session(dh.url, token=dh.psk) as pub:
        pub.publish_table({"row": pa.array(range(n), pa.int64())}, "http_sales")
        server = start_server(runtime, tmp_path)
        try:
            status = server.get("ticketbooth/api/status")
            assert status["broker"]["url"] == dh.url and status["broker"]["in_process"] is False
            # a widget whose kernel is on this Deephaven server may ask this Jupyter server
            assert status["broker_id"] == pub.broker_id == f"deephaven://127.0.0.1:{dh.port}"
            names = [o["name"] for o in server.get("ticketbooth/api/objects")["objects"]]
            assert "http_sales" in names
            headers, rows = window(server, ticket="http_sales", start=n - 10, end=n)
            assert rows.column("row").to_pylist() == list(range(n - 10, n))
            assert headers["X-Ticketbooth-Rows"] == str(n)
            old = int(headers["X-Ticketbooth-Version"])
            pub.publish_table({"row": pa.array(range(5), pa.int64())}, "http_sales")
            # a view still showing the old version gets its rows from the table the server holds
            _, rows = window(server, ticket="http_sales", version=old, start=n - 3, end=n)
            assert rows.column("row").to_pylist() == list(range(n - 3, n))
            deadline = time.monotonic() + 30
            while True:  # the current version, once the server sees the republish (by the
                headers, rows = window(server, ticket="http_sales", end=10)  # field stream)
                new = int(headers["X-Ticketbooth-Version"])
                if new > old or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert new > old and rows.column("row").to_pylist() == [0, 1, 2, 3, 4]
            with pytest.raises(urllib.error.HTTPError) as err:  # the old version was let go
                window(server, ticket="http_sales", version=old)
            assert err.value.code == 409 and json.loads(err.value.read())["version"] == new
        finally:
            server.stop()

"""`jupyter server` as its own process with the extension: the broker lives and dies with it,
the kernels it starts find the broker, and it attaches to a broker that is already there."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jupyter_client import BlockingKernelClient

from tests.conftest import start_broker
from tests.e2e.conftest import free_port

TOKEN = "server-test-token"


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def get(self, path: str) -> Any:
        req = urllib.request.Request(
            f"{self.url}{path}", headers={"Authorization": f"token {TOKEN}"}
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def post(self, path: str) -> int:
        req = urllib.request.Request(
            f"{self.url}{path}",
            data=b"",
            method="POST",
            headers={"Authorization": f"token {TOKEN}"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as err:
            return int(err.code)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)  # what a user's Ctrl+C / a service stop does
        return self.proc.wait(timeout=30)


def start_server(runtime: Path, tmp: Path, *args: str) -> Server:
    port, root, log = free_port(), tmp / "root", tmp / "server.log"
    root.mkdir(exist_ok=True)
    cmd = [
        sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={root}", "--ServerApp.base_url=/hub/user/alice/", *args,
    ]  # fmt: skip
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)}
    proc = subprocess.Popen(cmd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}/hub/user/alice/", log)
    deadline = time.monotonic() + 60
    while True:
        try:
            server.get("ticketbooth/api/status")
            return server
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(log.read_text()) from None
            time.sleep(0.3)


@pytest.fixture
def server(runtime_dir: Path, tmp_path: Path) -> Iterator[Server]:
    s = start_server(runtime_dir, tmp_path)
    yield s
    if s.proc.poll() is None:
        s.stop()


def kernel_client(server: Server, runtime: Path) -> tuple[str, BlockingKernelClient]:
    req = urllib.request.Request(
        f"{server.url}api/kernels", data=b"{}", method="POST",
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=60) as resp:
        kernel_id = json.loads(resp.read())["id"]
    client = BlockingKernelClient(connection_file=str(runtime / f"kernel-{kernel_id}.json"))
    client.load_connection_file()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return kernel_id, client


def run(client: BlockingKernelClient, code: str) -> str:
    out: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append("\n".join(msg["content"]["traceback"]))

    reply = client.execute_interactive(code, output_hook=hook, timeout=60)
    assert reply["content"]["status"] == "ok", "".join(out)
    return "".join(out)


def test_the_broker_lives_in_the_server_and_kernels_find_it(
    server: Server, runtime_dir: Path
) -> None:
    status = server.get("ticketbooth/api/status")
    assert status["broker"]["in_process"] is True
    connection_file = runtime_dir / "ticketbooth-broker.json"
    info = json.loads(connection_file.read_text())
    assert (
        info["url"] == status["broker"]["url"] and oct(connection_file.stat().st_mode)[-3:] == "600"
    )

    _, client = kernel_client(server, runtime_dir)
    try:
        out = run(
            client,
            "import os, pyarrow as pa, ticketbooth as tb\n"
            "print(os.environ['TICKETBOOTH_URL'], len(os.environ['TICKETBOOTH_TOKEN']))\n"
            "s = tb.Session(start_broker=False)\n"
            "s.publish_table(pa.table({'a': list(range(10))}), 'from_kernel')\n"
            "print('published')",
        )
        assert out.splitlines() == [f"{status['broker']['url']} 43", "published"]
        objects = server.get("ticketbooth/api/objects")["objects"]
        assert [(o["name"], o["num_rows"]) for o in objects] == [("from_kernel", 10)]
        assert str(os.getpid()) not in objects[0]["publisher"]  # the kernel published it
    finally:
        client.stop_channels()

    socket_dir = Path(status["broker"]["url"].removeprefix("unix://")).parent
    assert socket_dir.exists()
    assert server.stop() == 0
    assert not connection_file.exists() and not socket_dir.exists()
    assert "Traceback" not in server.log.read_text()


def test_it_attaches_to_the_broker_already_serving_the_runtime_dir(
    runtime_dir: Path, tmp_path: Path
) -> None:
    broker = start_broker(runtime_dir)
    try:
        server = start_server(runtime_dir, tmp_path)
        status = server.get("ticketbooth/api/status")
        assert status["broker"] == {"url": broker.url, "tcp_url": None, "in_process": False}
        assert status["can_release"] is False
        assert server.post("ticketbooth/api/release?ticket=anything") == 403
        assert server.stop() == 0
        assert broker.proc.poll() is None  # not the server's to stop
        assert (runtime_dir / "ticketbooth-broker.json").exists()
    finally:
        broker.stop()


def test_a_configured_broker_url_and_token_file(runtime_dir: Path, tmp_path: Path) -> None:
    broker = start_broker(tmp_path / "elsewhere", "--port", "0")
    token_file = tmp_path / "token"
    token_file.write_text(broker.token)
    token_file.chmod(0o600)
    try:
        server = start_server(
            runtime_dir, tmp_path,
            f"--Ticketbooth.broker_url={broker.tcp_url}", f"--Ticketbooth.token_file={token_file}",
        )  # fmt: skip
        assert server.get("ticketbooth/api/status")["broker"]["url"] == broker.tcp_url
        assert server.get("ticketbooth/api/objects") == {"objects": []}
        server.stop()
    finally:
        broker.stop()


def test_on_a_shared_broker_the_panel_releases_only_its_users_tickets(
    runtime_dir: Path, tmp_path: Path
) -> None:
    import pyarrow as pa

    import ticketbooth as tb

    tokens = {"alice": "alice-" + "a" * 40, "bob": "bob-" + "b" * 40}
    users, alice_token = tmp_path / "users", tmp_path / "alice-token"
    users.write_text("".join(f"{u} {t}\n" for u, t in tokens.items()))
    alice_token.write_text(tokens["alice"])
    for path in (users, alice_token):
        path.chmod(0o600)
    broker = start_broker(tmp_path / "team", "--port", "0", "--users-file", str(users))
    try:
        server = start_server(
            runtime_dir, tmp_path,
            f"--Ticketbooth.broker_url={broker.tcp_url}", f"--Ticketbooth.token_file={alice_token}",
        )  # fmt: skip
        status = server.get("ticketbooth/api/status")
        assert (status["user"], status["can_release"]) == ("alice", True)
        with (
            tb.Session(broker.tcp_url, token=tokens["alice"]) as alice,
            tb.Session(broker.tcp_url, token=tokens["bob"]) as bob,
        ):
            alice.publish_table(pa.table({"x": [1]}), "mine")
            bob.publish_table(pa.table({"x": [2]}), "bobs")
            assert server.post("ticketbooth/api/release?ticket=bobs") == 403
            assert server.post("ticketbooth/api/release?ticket=mine") == 204
            assert sorted(bob.exportable_objects) == ["bobs"]
        server.stop()
    finally:
        broker.stop()


def test_a_sort_nested_too_deeply_or_too_long_is_a_400(server: Server, runtime_dir: Path) -> None:
    import urllib.parse

    import pyarrow as pa

    import ticketbooth as tb

    info = json.loads((runtime_dir / "ticketbooth-broker.json").read_text())
    with tb.Session(info["url"], token=info["token"], start_broker=False) as s:
        s.publish_table(pa.table({"id": [3, 1, 2]}), "sales")

        def window(sort: str) -> int:
            req = urllib.request.Request(
                f"{server.url}ticketbooth/api/window?ticket=sales&sort={urllib.parse.quote(sort)}",
                headers={"Authorization": f"token {TOKEN}"},
            )
            with urllib.request.urlopen(req, timeout=30) as resp:
                return int(resp.status)

        assert window(json.dumps([{"column": "id"}])) == 200
        for sort, says in [
            ("[" * 4000 + "]" * 4000, "sort must be JSON"),
            ("[" * 5000 + "]" * 5000, "at most 8192"),
            (json.dumps([{"column": "id"}] * 600), "at most 8192"),
        ]:
            with pytest.raises(urllib.error.HTTPError) as refused:
                window(sort)
            assert refused.value.code == 400
            assert says in refused.value.read().decode()
    assert "RecursionError" not in server.log.read_text()

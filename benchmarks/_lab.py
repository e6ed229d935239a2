"""A real JupyterLab server and Debian's chromium driven by Playwright, for bench_widget.py.

The same setup as tests/e2e (conftest.py, test_lab.py): ``jupyter lab --allow-root`` on
127.0.0.1 with a token, notebooks written as JSON, cells run one by one with Shift+Enter (a
key press that lands before the kernel connection is ready is lost, so it is retried).
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# the browser, notebook and page helpers are the end-to-end tests' own
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, notebook
from tests.e2e.test_lab import open_notebook  # noqa: F401 - used by bench_widget.py

# An experiment, not the default: Jupyter Server does not set TCP_NODELAY on kernel websockets,
# so a small message written right after another may wait for the browser's delayed ACK
# (Nagle). This config sets it when each kernel websocket opens.
SERVER_NODELAY = """
from jupyter_server.services.kernels.websocket import KernelWebsocketHandler as _H
_open = _H.open
async def _open_nodelay(self, *args, **kwargs):
    result = await _open(self, *args, **kwargs)
    self.set_nodelay(True)
    return result
_H.open = _open_nodelay
"""


# Diagnostics (--trace-messages): when the server gets each message from the kernel and when
# it writes it to the websocket, one JSON line each: [time.time(), msg_type, header date, what].
SERVER_TRACE = """
import json as _json, struct as _struct, time as _time
from jupyter_server.services.kernels.connection.channels import (
    ZMQChannelsWebsocketConnection as _C,
)
from jupyter_server.services.kernels.websocket import KernelWebsocketHandler as _K
_trace = open(TRACE_PATH, "a", buffering=1)
_handle = _C.handle_outgoing_message
def _traced_handle(self, stream, msg_list):
    t = _time.time()
    try:
        header = _json.loads(bytes(self.session.feed_identities(msg_list)[1][1]))
        _trace.write(_json.dumps([t, header["msg_type"], header["date"], "recv"]) + "\\n")
    except Exception:
        pass
    return _handle(self, stream, msg_list)
_C.handle_outgoing_message = _traced_handle
_write = _K.write_message
def _traced_write(self, message, binary=False):
    t = _time.time()
    try:
        raw = bytes(message)
        n = _struct.unpack_from("<Q", raw, 0)[0]
        off = _struct.unpack_from(f"<{n}Q", raw, 8)
        header = _json.loads(raw[off[1] : off[2]])
        _trace.write(_json.dumps([t, header["msg_type"], header["date"], "write"]) + "\\n")
    except Exception:
        pass
    return _write(self, message, binary=binary)
_K.write_message = _traced_write
"""


def server_trace(path: str) -> str:
    return SERVER_TRACE.replace("TRACE_PATH", repr(path))


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    log: Path

    def page_url(self, path: str) -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}"

    def write_notebook(self, name: str, *cells: str) -> str:
        (self.root / name).write_text(json.dumps(notebook(*cells)))
        return name


@contextmanager
def jupyter_lab(base: Path, env: dict[str, str], server_config: str = "") -> Iterator[Lab]:
    """``python -m jupyterlab`` with its own config, settings and notebook dirs under `base`;
    `server_config` (Python) becomes its jupyter_server_config.py."""
    root = base / "notebooks"
    root.mkdir(parents=True, exist_ok=True)
    if server_config:
        (base / "config").mkdir(parents=True, exist_ok=True)
        (base / "config" / "jupyter_server_config.py").write_text(server_config)
    token, port = secrets.token_hex(16), free_port()
    env = dict(env, JUPYTER_CONFIG_DIR=str(base / "config"))
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={base / 'settings'}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        "--LabApp.news_url=",
    ]
    log_path = base / "lab.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text()) from None
                time.sleep(0.5)
        yield Lab(url, token, root, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# every URL but the machine's own
OUTSIDE = re.compile(r"^(?!(https?|wss?)://127\.0\.0\.1[:/]|data:|blob:)")
# chromium resolves no host name but 127.0.0.1's: a request that would leave the machine fails
# at once, without Playwright pausing every request on its way (a route does: ~10 ms per
# request, and the widget's windows over HTTP would carry it, its websocket messages not)
LOCAL_ONLY_ARGS = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError("install Debian's chromium: apt-get install -y chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *LOCAL_ONLY_ARGS], headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


def local_only(context: Any, outside: list[str]) -> None:
    """Remember any request that would leave the machine (chromium, started with
    LOCAL_ONLY_ARGS, cannot resolve its host: it fails)."""

    def seen(request: Any) -> None:
        if OUTSIDE.match(request.url):
            outside.append(request.url)

    context.on("request", seen)


def code_cell(page: Any, k: int) -> Any:
    return page.locator(".jp-Notebook .jp-CodeCell").nth(k)


def start_cell(page: Any, k: int) -> None:
    """Click into cell k and press Shift+Enter until its prompt shows it started."""
    cell = code_cell(page, k)
    prompt = cell.locator(".jp-InputArea-prompt")
    for attempt in range(4):
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        try:
            prompt.filter(has_text=re.compile(r"\[(\*|\d+)\]")).wait_for(timeout=15_000)
            return
        except Exception:
            if attempt == 3:
                raise


def wait_cell_done(page: Any, k: int, timeout_ms: int = 300_000) -> None:
    prompt = code_cell(page, k).locator(".jp-InputArea-prompt")
    prompt.filter(has_text=re.compile(r"\[\d+\]")).wait_for(timeout=timeout_ms)


def run_cell(page: Any, k: int, timeout_ms: int = 300_000) -> None:
    start_cell(page, k)
    wait_cell_done(page, k, timeout_ms)


def cell_text(page: Any, k: int) -> str:
    return str(code_cell(page, k).locator(".jp-OutputArea").inner_text())


def clock_skew(page: Any) -> dict[str, float]:
    """Browser wall clock (timeOrigin + now) minus time.time(), from the fastest of 7 probes."""
    best = (float("inf"), 0.0)
    for _ in range(7):
        t0 = time.time()
        b = page.evaluate("() => performance.timeOrigin + performance.now()") / 1e3
        t1 = time.time()
        best = min(best, (t1 - t0, b - (t0 + t1) / 2))
    origin = page.evaluate("() => performance.timeOrigin")
    return {"skew_s": best[1], "probe_rtt_s": best[0], "origin_ms": origin}

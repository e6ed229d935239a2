"""A real JupyterLab server and Debian's chromium driven by Playwright."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BrokerProcess, start_broker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"


def notebook(*cells: str) -> dict[str, Any]:
    return {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": c,
                "outputs": [],
                "execution_count": None,
            }
            for c in cells
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    broker: BrokerProcess

    def page_url(self, path: str) -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}"


@contextlib.contextmanager
def running_lab(
    base: Path, env: dict[str, str], broker: BrokerProcess | None, base_url: str = "/"
) -> Iterator[Lab]:
    """`jupyter lab` on a free loopback port with a fresh token, notebooks in base/notebooks;
    ready when /api/status answers, terminated on exit (its log: base/lab.log)."""
    root = base / "notebooks"
    root.mkdir()
    token, port = secrets.token_hex(16), free_port()
    env = {**env, "JUPYTER_CONFIG_DIR": str(base / "config")}
    cmd = [
        *(sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1"),
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={base / 'settings'}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        "--LabApp.news_url=",
        f"--ServerApp.base_url={base_url}",
    ]
    log_path = base / "lab.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
        url = f"http://127.0.0.1:{port}{base_url.rstrip('/')}"
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    raise RuntimeError(log_path.read_text()) from None
                time.sleep(0.5)
        try:
            yield Lab(url, token, root, broker)  # type: ignore[arg-type]
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Lab]:
    """JupyterLab attached to a broker process (TICKETBOOTH_URL-free: found in the runtime
    dir). Optional indirect parameter: the server's base URL, e.g. "/prefix/"."""
    base_url = str(getattr(request, "param", None) or "/")
    base = tmp_path_factory.mktemp("lab")
    broker = start_broker(base / "runtime", "--session-ttl", "5")
    try:
        with running_lab(base, dict(broker.env), broker, base_url) as lab:
            yield lab
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def own_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab whose server extension runs the broker itself (no TICKETBOOTH_URL), so the
    status says can_release and the panel offers Release."""
    base = tmp_path_factory.mktemp("own-lab")
    runtime = base / "runtime"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBOOTH_")}
    env["JUPYTER_RUNTIME_DIR"] = str(runtime)
    with running_lab(base, env, None) as lab:
        yield lab


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "install Debian's chromium: apt-get install -y chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def write_notebook(lab: Lab, name: str, *cells: str) -> str:
    (lab.root / name).write_text(json.dumps(notebook(*cells)))
    return name


@contextlib.contextmanager
def reported(context: Any, pages: list[Any], prefix: str) -> Iterator[list[str]]:
    """A failure inside shows a screenshot of each page in `pages` and the browser's errors
    (console errors, uncaught exceptions) in its message. Yields the console's lines."""
    console: list[str] = []
    context.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    context.on("weberror", lambda e: console.append(f"pageerror: {e.error}"))
    try:
        yield console
    except Exception as exc:
        for k, page in enumerate(pages):
            shot(page, f"{prefix}-99-failure-{k}")
        errors = "\n".join(c for c in console if c.startswith(("error", "pageerror")))
        raise AssertionError(f"{exc}\nbrowser errors:\n{errors[:4000]}") from exc


def wait_listed_version(page: Any, name: str, version: int) -> None:
    """Until the Tickets panel lists `name` at `version`."""
    page.wait_for_function(
        """([name, version]) => [...document.querySelectorAll('.tb-lab-item')].some(li =>
          li.querySelector('.tb-lab-name')?.textContent === name
          && li.dataset.version === String(version))""",
        arg=[name, version],
        timeout=30_000,
    )


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path

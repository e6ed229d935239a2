"""Finding a broker: explicit address, environment, connection file, or an embedded one."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ._errors import AuthenticationError

CONNECTION_FILE = "ticketbooth-broker.json"
ENV_URL = "TICKETBOOTH_URL"
ENV_TOKEN = "TICKETBOOTH_TOKEN"
ENV_IDLE = "TICKETBOOTH_IDLE_TIMEOUT"
DEFAULT_IDLE_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Endpoint:
    """Where a broker listens and how to authenticate; `source` says how it was found."""

    url: str
    token: str
    source: str
    connection_file: str | None = None


def runtime_dir() -> str:
    """The Jupyter runtime directory (created 0700 if missing)."""
    from jupyter_core.paths import jupyter_runtime_dir

    path = str(jupyter_runtime_dir())
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def connection_file_path() -> str:
    return os.path.join(runtime_dir(), CONNECTION_FILE)


def write_connection_file(path: str, info: dict[str, Any]) -> None:
    """Write `info` as JSON readable by this user only, atomically."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(info, f, indent=1)
    os.replace(tmp, path)


def read_connection_file(path: str) -> dict[str, Any] | None:
    """The file's content if it describes a broker whose process is alive, else None."""
    try:
        with open(path) as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("url"), str):
        return None
    pid = info.get("pid")
    if isinstance(pid, int) and info.get("hostname") == os.uname().nodename:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
    return info


def remove_stale(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


def _same_address(a: str, b: str) -> bool:
    """True for the same URL, or host:port pairs naming the same loopback port."""
    if a == b:
        return True
    a, b = a.split("://")[-1], b.split("://")[-1]
    (ha, _, pa), (hb, _, pb) = a.rpartition(":"), b.rpartition(":")
    return pa == pb and pa.isdigit() and ha in LOOPBACK and hb in LOOPBACK


def _token_from_files(url: str) -> str | None:
    info = read_connection_file(connection_file_path())
    if not info:
        return None
    known = [u for u in (info.get("url"), info.get("tcp_url")) if isinstance(u, str)]
    token = info.get("token")
    if isinstance(token, str) and any(_same_address(url, u) for u in known):
        return token
    return None


def explicit(url: str, token: str | None) -> Endpoint:
    token = token or os.environ.get(ENV_TOKEN) or _token_from_files(url)
    if not token:
        raise AuthenticationError(
            f"a token is required to connect to {url}: pass token=..., set {ENV_TOKEN}, "
            "or run the broker on this machine so its connection file provides it"
        )
    return Endpoint(url, token, "argument")


def from_env_or_file() -> Endpoint | None:
    url = os.environ.get(ENV_URL)
    if url:
        return explicit(url, None)
    path = connection_file_path()
    info = read_connection_file(path)
    if info is None:
        return None
    return Endpoint(info["url"], str(info.get("token", "")), "connection file", path)


@contextlib.contextmanager
def _start_lock() -> Iterator[None]:
    """Serialize broker start-up between processes sharing the runtime dir."""
    lock_path = os.path.join(runtime_dir(), "ticketbooth-broker.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def start_embedded(timeout: float = 30.0, failed: Endpoint | None = None) -> Endpoint:
    """Start a background broker that exits when idle, unless another process just did.

    `failed` is an endpoint that did not answer; its connection file is replaced.
    """
    path = connection_file_path()
    with _start_lock():
        info = read_connection_file(path)
        if info is not None and (failed is None or info["url"] != failed.url):
            return Endpoint(info["url"], str(info.get("token", "")), "connection file", path)
        remove_stale(path)
        from .broker._process import start_process

        idle = os.environ.get(ENV_IDLE, str(DEFAULT_IDLE_TIMEOUT_S))
        broker = start_process(
            runtime_dir(),
            "--idle-timeout",
            idle,
            connection_file=path,
            detach=True,  # outlives the kernel that started it
            timeout=timeout,
        )
        return Endpoint(broker.url, broker.token, "embedded", path)

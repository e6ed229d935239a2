"""A real deephaven-server (PyPI, on the machine's Java 17) as a child process, for the
Deephaven backend's tests and benchmark."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ANONYMOUS = "io.deephaven.auth.AnonymousAuthenticationHandler"
PSK = "io.deephaven.authentication.psk.PskAuthenticationHandler"


def missing() -> str | None:
    """Why a Deephaven server cannot start here, or None when it can."""
    if shutil.which("java") is None:
        return "no Java on PATH (install openjdk-17-jre-headless)"
    try:
        import deephaven_server  # noqa: F401
        import pydeephaven  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[dev]')"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DeephavenServer:
    """``deephaven server`` on 127.0.0.1; `psk` set means pre-shared-key auth with it;
    `tls` serves TLS with a self-signed certificate (`cert`: its path, to trust)."""

    def __init__(
        self, *, psk: str | None = None, heap: str = "4g", port: int = 0, tls: bool = False
    ) -> None:
        self.port = port or free_port()
        self.psk = psk
        self.url = f"deephaven{'s' if tls else ''}://127.0.0.1:{self.port}"
        auth = f"-Dauthentication.psk={psk}" if psk else f"-DAuthHandlers={ANONYMOUS}"
        self._dir = tempfile.mkdtemp(prefix="tb-dh-")
        # its own cache, config and data dirs: servers share nothing, and leave nothing
        dirs = " ".join(f"-Ddeephaven.{d}Dir={self._dir}/{d}" for d in ("cache", "config", "data"))
        self.cert: Path | None = None
        if tls:
            from tests.certs import self_signed_cert

            self.cert, key = self_signed_cert(Path(self._dir) / "tls")
            dirs += (
                f" -Dssl.identity.type=privatekey -Dssl.identity.certChainPath={self.cert}"
                f" -Dssl.identity.privateKeyPath={key}"
            )
        self.log = Path(self._dir) / "server.log"
        exe = Path(sys.executable).with_name("deephaven")
        args = [str(exe), "server", "--host", "127.0.0.1", "--port", str(self.port)]
        args += ["--no-browser", "--jvm-args", f"-Xmx{heap} {auth} {dirs}"]
        with open(self.log, "w") as log:
            # stdin stays open: the CLI runs until it reads EOF or is signalled
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._dir,
                start_new_session=True,
            )
        self._wait_ready(120.0)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Server started on port" in self.log.read_text(errors="replace"):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        text = self.log.read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"deephaven server did not start:\n{text}")

    def kill(self) -> None:
        """SIGKILL the whole server (a crash, not a shutdown)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> DeephavenServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def new_psk() -> str:
    return secrets.token_hex(16)

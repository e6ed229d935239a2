"""`serve`'s Deephaven options: refused when unsafe or unusable (one line, exit 2), and TLS on
the Deephaven port with the broker's certificate."""

from __future__ import annotations

import socket
from pathlib import Path

import pyarrow as pa
from pydeephaven import Session as DHSession

from tests.certs import self_signed_cert
from tests.conftest import start_broker
from tests.integration.test_serve_options import assert_refused, serve

from .conftest import PSK


def test_anonymous_beyond_loopback_is_refused(runtime_dir: Path, tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path / "certs")
    res = serve(
        runtime_dir,
        *("--host", "0.0.0.0", "--deephaven-port", "0", "--deephaven-anonymous"),
        *("--tls-cert", str(cert), "--tls-key", str(key)),
    )
    assert_refused(res, "--deephaven-anonymous", "loopback")


def test_anonymous_without_the_port_is_refused(runtime_dir: Path) -> None:
    assert_refused(serve(runtime_dir, "--deephaven-anonymous"), "needs --deephaven-port")


def test_deephaven_port_in_use_is_refused(runtime_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = serve(runtime_dir, "--deephaven-port", str(port))
    assert_refused(res, f"127.0.0.1:{port}", "already in use")


def test_the_same_port_twice_is_refused(runtime_dir: Path) -> None:
    res = serve(runtime_dir, "--port", "10123", "--deephaven-port", "10123")
    assert_refused(res, "--port and --deephaven-port are both 10123")


def test_deephaven_port_without_tls_beyond_loopback_is_refused(runtime_dir: Path) -> None:
    res = serve(runtime_dir, "--host", "0.0.0.0", "--deephaven-port", "0")
    assert_refused(res, "without TLS")


def test_pydeephaven_over_tls(runtime_dir: Path, tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path / "certs")
    b = start_broker(
        runtime_dir, "--deephaven-port", "0", "--tls-cert", str(cert), "--tls-key", str(key)
    )
    try:
        assert b.deephaven_port
        session = DHSession(
            host="localhost",
            port=b.deephaven_port,
            auth_type=PSK,
            auth_token=b.token,
            use_tls=True,
            tls_root_certs=cert.read_bytes(),
        )
        try:
            data = pa.table({"x": [1, 2, 3], "s": ["a", None, "c"]})
            assert session.import_table(data).to_arrow().equals(data)
        finally:
            session.close()
    finally:
        b.stop()

"""`ticketbooth serve` options: secure by default, and a bad value is one line, never a traceback.

Refusals exit with code 2 and write nothing: no connection file, no listening socket.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.certs import self_signed_cert
from tests.conftest import BrokerProcess, start_broker
from ticketbooth import _cli, _cli_serve, _cli_values, _discovery
from ticketbooth._limits import GiB, MiB
from ticketbooth.broker import BrokerConfig, run, start_process

SECRET = "s3cret-token-value-1234567890"


def serve(
    runtime: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``ticketbooth serve`` with a connection file in `runtime`; it must exit by itself."""
    runtime.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ticketbooth",
            "serve",
            "--connection-file",
            str(runtime / "ticketbooth-broker.json"),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_refused(
    res: subprocess.CompletedProcess[str], *expected: str, usage: bool = False
) -> str:
    """Exit code 2, nothing on stdout, no traceback, and the last stderr line says it all.

    Without `usage` (argparse's usage lines) stderr is exactly that one line.
    """
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert res.stdout == ""
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    if not usage:
        assert len(lines) == 1, res.stderr
    last = lines[-1]
    assert last.startswith("ticketbooth serve: error: "), last
    for text in expected:
        assert text in last, (text, last)
    return last


@pytest.fixture
def runtime(runtime_dir: Path) -> Path:
    return runtime_dir


def private_file(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


# --host and TLS --------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.1"])
def test_host_beyond_loopback_needs_tls_or_insecure(runtime: Path, host: str) -> None:
    res = serve(runtime, "--host", host, "--port", "0")
    assert_refused(res, f"--host {host}", "--tls-cert", "--insecure")
    assert not (runtime / "ticketbooth-broker.json").exists()


def test_insecure_allows_plaintext_beyond_loopback(runtime: Path) -> None:
    b = start_broker(runtime, "--host", "0.0.0.0", "--port", "0", "--insecure")
    try:
        assert b.tcp_url is not None and b.tcp_url.startswith("0.0.0.0:")
        port = b.tcp_url.rsplit(":", 1)[1]
        with tb.Session(f"127.0.0.1:{port}", token=b.token, force_remote=True) as s:
            assert s.list_objects() == []
    finally:
        b.stop()


def test_loopback_hosts_need_neither(runtime: Path) -> None:
    b = start_broker(runtime, "--host", "::1", "--port", "0")
    try:
        assert b.tcp_url is not None and b.tcp_url.startswith("[::1]:")
    finally:
        b.stop()


@pytest.mark.parametrize("given", ["--tls-cert", "--tls-key"])
def test_half_a_tls_pair_is_refused(runtime: Path, tmp_path: Path, given: str) -> None:
    cert, key = self_signed_cert(tmp_path / "certs")
    missing = "--tls-key" if given == "--tls-cert" else "--tls-cert"
    path = cert if given == "--tls-cert" else key
    res = serve(runtime, "--port", "0", given, str(path), timeout=30)
    assert_refused(res, f"{given} needs {missing}")


def test_tls_without_port_is_refused(runtime: Path, tmp_path: Path) -> None:
    cert, key = self_signed_cert(tmp_path / "certs")
    res = serve(runtime, "--tls-cert", str(cert), "--tls-key", str(key), timeout=30)
    assert_refused(res, "needs --port")


@pytest.mark.parametrize("problem", ["missing-cert", "missing-key", "not-pem", "other-key"])
def test_unusable_tls_files(runtime: Path, tmp_path: Path, problem: str) -> None:
    cert, key = self_signed_cert(tmp_path / "certs")
    _other_cert, other_key = self_signed_cert(tmp_path / "other")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    cert_arg, key_arg, expected = {
        "missing-cert": (tmp_path / "nope.pem", key, "cannot read --tls-cert"),
        "missing-key": (cert, tmp_path / "nope.pem", "cannot read --tls-key"),
        "not-pem": (garbage, key, "holds no PEM certificate"),
        "other-key": (cert, other_key, "the key does not belong to the certificate"),
    }[problem]
    res = serve(runtime, "--port", "0", "--tls-cert", str(cert_arg), "--tls-key", str(key_arg))
    assert_refused(res, expected)


# tokens ----------------------------------------------------------------------------------------
def test_token_on_the_command_line_is_refused(runtime: Path) -> None:
    res = serve(runtime, "--token", SECRET)
    assert_refused(res, "--token-file", "TICKETBOOTH_TOKEN", "chmod 600", usage=True)
    assert SECRET not in res.stderr


def test_token_file(runtime: Path, tmp_path: Path) -> None:
    token_file = private_file(tmp_path / "token", SECRET + "\n")
    b = start_broker(runtime, "--token-file", str(token_file))
    try:
        assert b.token == SECRET
        with tb.Session(b.url, token=SECRET) as s:
            assert s.list_objects() == []
    finally:
        b.stop()


def test_token_from_environment(runtime: Path) -> None:
    b = start_process(runtime, env=dict(os.environ, TICKETBOOTH_TOKEN=SECRET))
    try:
        assert b.token == SECRET
    finally:
        b.stop()


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_token_file_open_to_others_is_refused(runtime: Path, tmp_path: Path, mode: int) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(SECRET)
    token_file.chmod(mode)
    res = serve(runtime, "--token-file", str(token_file))
    assert_refused(res, f"chmod 600 {token_file}")
    assert SECRET not in res.stderr


def test_missing_token_file(runtime: Path, tmp_path: Path) -> None:
    res = serve(runtime, "--token-file", str(tmp_path / "nope"))
    assert_refused(res, "cannot read token file", "No such file")


@pytest.mark.parametrize("token", ["two words", "line\nbreak", "caf\u00e9"])
def test_malformed_token_is_refused(runtime: Path, tmp_path: Path, token: str) -> None:
    res = serve(runtime, env=dict(os.environ, TICKETBOOTH_TOKEN=token))
    assert_refused(res, "TICKETBOOTH_TOKEN", "printable ASCII")
    res = serve(runtime, "--token-file", str(private_file(tmp_path / "t", f"x{token}x")))
    assert_refused(res, "token file", "printable ASCII")


def test_generated_tokens_never_start_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter(["-starts-with-a-dash", "--two", "fine-token"])
    monkeypatch.setattr(_discovery.secrets, "token_urlsafe", lambda n: next(draws))
    assert _discovery.new_token() == "fine-token"


def test_generated_token_is_valid() -> None:
    token = _discovery.new_token()
    assert _discovery.check_token(token, "test") == token
    assert len(token) >= 43


# --port and --host that cannot be listened on --------------------------------------------------
@pytest.mark.parametrize("port", ["99999", "65536", "-1", "ten"])
def test_port_out_of_range(runtime: Path, port: str) -> None:
    res = serve(runtime, "--port", port)
    assert_refused(res, "--port", "0..65535", usage=True)


def test_port_in_use(runtime: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        res = serve(runtime, "--port", str(port))
    assert_refused(res, f"127.0.0.1:{port}", "already in use", "--port 0")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("192.0.2.1", "not one of this machine's"),  # TEST-NET-1: never a local address
        ("no-such-host.invalid", "not a known host name or IP address"),
    ],
)
def test_host_that_cannot_be_bound(runtime: Path, host: str, expected: str) -> None:
    res = serve(runtime, "--host", host, "--port", "0", "--insecure")
    assert_refused(res, expected)


def test_failed_start_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The broker's own refusal (not the CLI's pre-check), and the directories it made go."""
    sockets, shm = tmp_path / "tmp", tmp_path / "shm"
    sockets.mkdir()
    shm.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(sockets))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        config = BrokerConfig(port=busy.getsockname()[1], shm_base=str(shm))
        with pytest.raises(tb.InvalidInputError, match="already in use"):
            asyncio.run(run(config))
    assert list(sockets.iterdir()) == []
    assert list(shm.iterdir()) == []


@pytest.mark.parametrize("port", [-1, 70000])
def test_broker_config_port_out_of_range(tmp_path: Path, port: int) -> None:
    config = BrokerConfig(port=port, shm_base=str(tmp_path))
    with pytest.raises(tb.InvalidInputError, match=r"0\.\.65535"):
        asyncio.run(run(config))


def test_connection_file_in_a_missing_directory(runtime: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "ticketbooth", "serve", "--connection-file", "/nonexistent/c.json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_refused(res, "cannot write the connection file /nonexistent/c.json")


# limits ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1000", 1000),
        ("10_000", 10_000),
        ("1e9", 10**9),
        ("512MiB", 512 * MiB),
        ("4GiB", 4 * GiB),
        ("4gib", 4 * GiB),
        ("1.5GiB", 3 * GiB // 2),
        ("2GB", 2 * 10**9),
        ("64 KiB", 64 * 1024),
        ("100k", 100_000),
    ],
)
def test_sizes(text: str, expected: int) -> None:
    assert _cli_values.parse_size(text) == expected


@pytest.mark.parametrize(
    "text", ["", "12xb", "1.5", "-5", "0", "MiB", "1e-3", "nan", "0x10", "1e999999999", "1e20"]
)
def test_bad_sizes(runtime: Path, text: str) -> None:
    res = serve(runtime, "--max-store-bytes", text)
    assert_refused(res, "--max-store-bytes", usage=True)


@pytest.mark.parametrize("option", ["--max-sessions", "--max-exports-per-session"])
@pytest.mark.parametrize("text", ["0", "-3", "2.5", "many", "1e10"])
def test_bad_counts(runtime: Path, option: str, text: str) -> None:
    assert_refused(serve(runtime, option, text), option, usage=True)


def test_zero_means_none_for_history_limits() -> None:
    """--history-versions 0 and --history-bytes 0 both keep no earlier version (README);
    what is refused says 0 is allowed."""
    assert _cli_values.parse_count_or_zero("0") == _cli_values.parse_size_or_zero("0") == 0
    assert _cli_values.parse_size_or_zero("1MiB") == MiB


@pytest.mark.parametrize(
    ("option", "said"),
    [
        ("--history-versions", "is not a whole number from 0 to"),
        ("--history-bytes", "a size must be 0 to"),
    ],
)
def test_bad_history_limits(runtime: Path, option: str, said: str) -> None:
    bad = "-1" if option == "--history-versions" else "1e30"
    assert_refused(serve(runtime, option, bad), option, said, usage=True)


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "soon"])
def test_bad_seconds(runtime: Path, text: str) -> None:
    assert_refused(serve(runtime, "--session-ttl", text), "--session-ttl", usage=True)


def test_limits_the_broker_refuses(runtime: Path) -> None:
    res = serve(runtime, "--max-message-bytes", "1KiB")
    assert_refused(res, "invalid limits", "max_message_bytes")


def test_no_store_option_keeps_the_free_space_default() -> None:
    args = _cli.build_parser().parse_args(["serve"])
    limits = _cli_serve._limits(args)
    assert limits.max_store_bytes is None
    assert limits == tb.Limits()


@pytest.fixture
def limited(runtime: Path) -> Iterator[BrokerProcess]:
    b = start_broker(
        runtime,
        "--max-message-bytes=1MiB",
        "--max-object-bytes=2e6",
        "--max-store-bytes=64MiB",
        "--max-exports-per-session=1_000",
        "--max-sessions=2",
        "--session-ttl=4.5",
    )
    yield b
    b.stop()


def test_limit_options_reach_the_broker(limited: BrokerProcess) -> None:
    with tb.Session(limited.url, token=limited.token) as s:
        limits = s._backend.server.limits
        assert limits.max_message_bytes == MiB
        assert limits.max_object_bytes == 2_000_000
        assert limits.max_store_bytes == 64 * MiB
        assert limits.max_exports_per_session == 1000
        assert s._backend.server.heartbeat_interval_s == pytest.approx(1.5)  # --session-ttl / 3
        second = tb.Session(limited.url, token=limited.token)
        with pytest.raises(tb.LimitExceededError, match="sessions"):
            tb.Session(limited.url, token=limited.token)
        second.close()


def test_restart_on_the_same_port(runtime: Path, tmp_path: Path) -> None:
    """A port whose broker just stopped (its connections in TIME_WAIT) is not "in use"."""
    first = start_broker(runtime, "--port", "0")
    assert first.tcp_url is not None
    port = first.tcp_url.rsplit(":", 1)[1]
    with tb.Session(first.tcp_url, token=first.token) as s:
        s.publish_table(pa.table({"a": [1]}), "x")
        first.stop()  # the broker closes the connection first: TIME_WAIT is on its side
    second = start_broker(tmp_path / "rt2", "--port", port)
    try:
        assert second.tcp_url == f"127.0.0.1:{port}"
    finally:
        second.stop()

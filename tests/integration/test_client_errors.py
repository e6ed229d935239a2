"""Client-side failures a person can act on: each says what is wrong and what to do.

Nothing listening, TLS on one side only, a missing, wrong or malformed token, and the CLI's
token options and output of names chosen by other clients.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess
from tests.integration.test_cli import fresh_env, parse_ls
from ticketbooth._cli_values import shown


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ticketbooth", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def free_port() -> int:
    """A TCP port nothing listens on (it was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def private_file(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


# nothing there ---------------------------------------------------------------------------------
def test_nothing_listening_on_tcp_is_not_a_token_problem(runtime_dir: Path) -> None:
    port = free_port()
    with pytest.raises(tb.BrokerUnavailableError) as info:
        tb.Session(f"127.0.0.1:{port}", timeout=5)
    message = str(info.value)
    assert message.startswith(f"nothing answers at 127.0.0.1:{port}")
    assert f"ticketbooth serve --port {port}" in message
    assert "token" not in message


@pytest.mark.parametrize(
    "url", ["not a url", "localhost", "grpc+tcp://localhost:10000", "http://localhost:8888/"]
)
def test_a_url_that_is_no_broker_address(runtime_dir: Path, url: str) -> None:
    """Said before anything is dialled, with the forms that work."""
    with pytest.raises(tb.InvalidInputError, match="is not a broker address: use host:port"):
        tb.Session(url, token="t" * 32)


def test_nothing_listening_on_a_unix_socket(runtime_dir: Path, tmp_path: Path) -> None:
    url = f"unix://{tmp_path}/gone.sock"
    with pytest.raises(tb.BrokerUnavailableError) as info:
        tb.Session(url, token="some-token", timeout=5)
    assert str(info.value).startswith(f"nothing answers at {url}")
    assert "ticketbooth serve" in str(info.value)


def test_missing_token_when_a_broker_answers(
    broker: BrokerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "elsewhere"))  # no connection file
    with pytest.raises(tb.AuthenticationError) as info:
        tb.Session(broker.tcp_url, timeout=5)
    message = str(info.value)
    assert message.startswith(f"a token is required to connect to {broker.tcp_url}")
    assert "TICKETBOOTH_TOKEN" in message
    assert "--token-file" in message
    assert "ticketbooth-broker.json" in message


# TLS on one side only --------------------------------------------------------------------------
def test_plain_url_to_a_tls_broker(tls_broker: tuple[BrokerProcess, Path]) -> None:
    b, cert = tls_broker
    assert b.tcp_url is not None
    plain = b.tcp_url.removeprefix("grpcs://")
    with pytest.raises(tb.BrokerUnavailableError) as info:
        tb.Session(plain, token=b.token, timeout=5)
    assert f"the broker at {plain} uses TLS: connect to grpcs://{plain}" in str(info.value)
    # and the hint is right: that URL works
    with tb.Session(f"grpcs://{plain}", token=b.token, tls_root_certs=str(cert), timeout=5):
        pass


def test_tls_url_to_a_plaintext_broker(broker: BrokerProcess) -> None:
    assert broker.tcp_url is not None
    with pytest.raises(tb.BrokerUnavailableError) as info:
        tb.Session(f"grpcs://{broker.tcp_url}", token=broker.token, timeout=5)
    message = str(info.value)
    assert f"the broker at {broker.tcp_url} does not use TLS" in message
    assert "drop the s" in message


def test_tls_broker_whose_certificate_is_not_trusted(
    tls_broker: tuple[BrokerProcess, Path],
) -> None:
    b, _cert = tls_broker
    assert b.tcp_url is not None
    with pytest.raises(tb.BrokerUnavailableError) as info:
        tb.Session(b.tcp_url, token=b.token, timeout=5)
    assert "does not trust the certificate" in str(info.value)
    assert "tls_root_certs=" in str(info.value)


# tokens ----------------------------------------------------------------------------------------
def test_wrong_token_names_the_connection_file(broker: BrokerProcess) -> None:
    for url in (broker.url, broker.tcp_url):
        assert url is not None
        with pytest.raises(tb.AuthenticationError) as info:
            tb.Session(url, token="wrong", timeout=5)
        message = str(info.value)
        assert message.startswith(f"wrong token for the broker at {url}")
        assert str(broker.connection_file) in message
        assert "TICKETBOOTH_TOKEN" in message
        assert "--token-file" in message
        assert "printed by" not in message  # serve prints the file's path, not the token


def test_wrong_token_for_a_broker_elsewhere(
    broker: BrokerProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "another-machine"))
    with pytest.raises(tb.AuthenticationError) as info:
        tb.Session(broker.tcp_url, token="wrong", timeout=5)
    message = str(info.value)
    assert "wrong token" in message
    assert "ticketbooth-broker.json in the Jupyter runtime dir of the broker's machine" in message
    assert not (tmp_path / "another-machine").exists()  # looking did not create it


@pytest.mark.parametrize("token", ["has space", "new\nline", "tab\t", "caf\u00e9", "x" * 2000])
def test_malformed_token_argument(broker: BrokerProcess, token: str) -> None:
    with pytest.raises(tb.InvalidInputError) as info:
        tb.Session(broker.url, token=token, timeout=5)
    message = str(info.value)
    assert "token=..." in message
    assert "printable ASCII" in message
    assert token not in message


def test_malformed_token_in_the_environment(
    broker: BrokerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKETBOOTH_TOKEN", broker.token + "\n")
    with pytest.raises(tb.InvalidInputError) as info:
        tb.Session(broker.url, timeout=5)
    assert "TICKETBOOTH_TOKEN" in str(info.value)
    assert "'\\n' at position" in str(info.value)
    assert broker.token not in str(info.value)


def test_endpoint_repr_hides_the_token(broker: BrokerProcess) -> None:
    with tb.Session(broker.url, token=broker.token) as s:
        assert s.endpoint.token == broker.token
        assert broker.token not in repr(s.endpoint)
        assert broker.token not in str(s.endpoint)
        assert broker.url in repr(s.endpoint)


# the CLI's token options -----------------------------------------------------------------------
@pytest.mark.parametrize("command", [["ls"], ["info", "sales"]])
def test_cli_token_option_is_refused(broker: BrokerProcess, command: list[str]) -> None:
    res = cli(*command, "--url", broker.url, "--token", broker.token, env=broker.env)
    assert res.returncode == 2, res
    assert "Traceback" not in res.stderr
    assert "--token-file" in res.stderr
    assert "TICKETBOOTH_TOKEN" in res.stderr
    assert broker.token not in res.stderr


def test_ls_with_token_file(broker: BrokerProcess, tmp_path: Path) -> None:
    with tb.Session(broker.url, token=broker.token) as s:
        s.publish_table(pa.table({"a": [1]}), "sales")
        token_file = private_file(tmp_path / "token", broker.token + "\n")
        env = fresh_env(tmp_path / "empty-runtime")
        res = cli("ls", "--url", str(broker.tcp_url), "--token-file", str(token_file), env=env)
        assert res.returncode == 0, res.stderr
        assert [row["NAME"] for row in parse_ls(res.stdout)] == ["sales"]
        res = cli("info", "sales", "--url", broker.url, "--token-file", str(token_file), env=env)
        assert res.returncode == 0, res.stderr
        assert "rows:       1" in res.stdout


def test_ls_over_tls(tls_broker: tuple[BrokerProcess, Path], tmp_path: Path) -> None:
    b, cert = tls_broker
    assert b.tcp_url is not None
    token_file = private_file(tmp_path / "token", b.token)
    env = fresh_env(tmp_path / "empty-runtime")
    args = ("ls", "--url", b.tcp_url, "--token-file", str(token_file))
    res = cli(*args, "--tls-root-certs", str(cert), env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "no named objects (--all adds shared tickets)"
    res = cli(*args, env=env)  # without the CA: the message says what to pass
    assert res.returncode == 1
    assert "--tls-root-certs" in res.stderr
    assert "Traceback" not in res.stderr


def test_ls_token_file_open_to_others(broker: BrokerProcess, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(broker.token)
    token_file.chmod(0o644)
    res = cli("ls", "--url", broker.url, "--token-file", str(token_file), env=broker.env)
    assert res.returncode == 2, res
    assert f"chmod 600 {token_file}" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_ls_token_file_needs_an_address(broker: BrokerProcess, tmp_path: Path) -> None:
    token_file = private_file(tmp_path / "token", broker.token)
    res = cli("ls", "--token-file", str(token_file), env=broker.env)
    assert res.returncode == 2, res
    assert "--token-file needs --url" in res.stderr


def test_ls_with_wrong_token_in_the_environment(broker: BrokerProcess) -> None:
    env = dict(broker.env, TICKETBOOTH_TOKEN="wrong")
    res = cli("ls", "--url", broker.url, env=env)
    assert res.returncode == 1
    assert "wrong token" in res.stderr
    assert str(broker.connection_file) in res.stderr
    assert "Traceback" not in res.stderr


# names chosen by other clients -----------------------------------------------------------------
EVIL = "mallory\x1b[2J\x1b[31m\nroot@host pid 1\u202e"


def test_ls_and_info_escape_control_characters(broker: BrokerProcess) -> None:
    data = pa.table({"col\x1b[1mumn": [1, 2]})
    with tb.Session(broker.url, token=broker.token, name=EVIL) as s:
        s.publish_table(data, "sales")
        listing = cli("ls", env=broker.env)
        info = cli("info", "sales", env=broker.env)
    for res in (listing, info):
        assert res.returncode == 0, res.stderr
        assert "\x1b" not in res.stdout
        assert "\u202e" not in res.stdout
        assert "mallory\\x1b[2J\\x1b[31m\\nroot@host pid 1\\u202e" in res.stdout
    (row,) = parse_ls(listing.stdout)
    assert row["NAME"] == "sales"
    assert "  col\\x1b[1mumn: int64" in info.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alice@host pid 12", "alice@host pid 12"),
        ("DOMAIN\\user", "DOMAIN\\user"),
        ("a\x1bb", "a\\x1bb"),
        ("line\nbreak\r", "line\\nbreak\\r"),
        ("bidi\u202eoverride", "bidi\\u202eoverride"),
        ("caf\u00e9", "caf\u00e9"),
    ],
)
def test_shown(text: str, expected: str) -> None:
    assert shown(text) == expected


def test_nothing_listening_from_the_cli(tmp_path: Path) -> None:
    env = fresh_env(tmp_path / "empty-runtime")
    port = free_port()
    res = cli("ls", "--url", f"127.0.0.1:{port}", env=env)
    assert res.returncode == 1
    assert res.stderr.startswith(f"ticketbooth: nothing answers at 127.0.0.1:{port}")
    assert "Traceback" not in res.stderr

"""The `ticketbooth` command line: --version, ls, info, and their failures."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess

LS_COLUMNS = ("NAME", "TYPE", "ROWS", "COLUMNS", "BYTES", "PUBLISHER", "AGE")


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ticketbooth", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def sales_table() -> pa.Table:
    n = 1234
    return pa.table(
        {
            "region": [f"r{i % 7}" for i in range(n)],
            "amount": pa.array([i * 1.5 for i in range(n)], pa.float64()),
            "units": pa.array(range(n), pa.int32()),
        }
    )


@pytest.fixture
def publisher(broker: BrokerProcess) -> Iterator[tb.Session]:
    with tb.Session(name="cli-test-publisher") as s:
        s.publish_table(sales_table(), "sales")
        yield s


def parse_ls(stdout: str) -> list[dict[str, str]]:
    """Split the aligned `ls` table into dicts, using the header's column positions."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    header = lines[0]
    names = header.split()
    starts = [header.index(name) for name in names]
    rows = []
    for line in lines[1:]:
        cells = [
            line[start : (starts[i + 1] if i + 1 < len(starts) else None)].strip()
            for i, start in enumerate(starts)
        ]
        rows.append(dict(zip(names, cells, strict=True)))
    return rows


def no_broker_started(runtime: Path) -> None:
    """Nothing in `runtime` says a broker was started there, and no such process exists."""
    time.sleep(0.5)
    assert not (runtime / "ticketbooth-broker.json").exists()
    assert not (runtime / "ticketbooth-broker.log").exists()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = (Path("/proc") / pid / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        assert not (b"serve" in cmdline and str(runtime).encode() in cmdline), cmdline


def fresh_env(runtime: Path) -> dict[str, str]:
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime))
    env.pop("TICKETBOOTH_URL", None)
    env.pop("TICKETBOOTH_TOKEN", None)
    return env


def test_version() -> None:
    res = cli("--version")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"ticketbooth {tb.__version__}"


def test_version_of_console_script() -> None:
    script = Path(sys.executable).parent / "ticketbooth"
    if not script.exists():
        pytest.skip("the ticketbooth console script is not installed next to this Python")
    res = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"ticketbooth {tb.__version__}"


def test_ls_shows_published_table(broker: BrokerProcess, publisher: tb.Session) -> None:
    res = cli("ls", env=broker.env)
    assert res.returncode == 0, res.stderr
    header = res.stdout.splitlines()[0]
    for column in LS_COLUMNS:
        assert column in header.split(), header
    rows = {row["NAME"]: row for row in parse_ls(res.stdout)}
    assert set(rows) == {"sales"}
    sales = rows["sales"]
    assert sales["TYPE"] == "Table"
    assert sales["ROWS"] == "1,234"
    assert sales["COLUMNS"] == "3"
    assert sales["BYTES"].endswith(("B", "KB", "MB"))
    assert sales["PUBLISHER"] == "cli-test-publisher"
    assert sales["AGE"].endswith("s")
    assert broker.token not in res.stdout


def test_ls_with_explicit_url_and_token(broker: BrokerProcess, publisher: tb.Session) -> None:
    assert broker.tcp_url is not None
    env = fresh_env(broker.runtime_dir.parent / "empty-runtime")
    env["TICKETBOOTH_TOKEN"] = broker.token  # never on the command line, where ps shows it
    res = cli("ls", "--url", broker.tcp_url, env=env)
    assert res.returncode == 0, res.stderr
    assert "sales" in {row["NAME"] for row in parse_ls(res.stdout)}


def test_ls_with_nothing_published(broker: BrokerProcess) -> None:
    res = cli("ls", env=broker.env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "no named objects (--all adds shared tickets)"
    res = cli("ls", "--all", env=broker.env)
    assert res.stdout.strip() == "no published objects"


def test_ls_all_lists_shared_tickets(broker: BrokerProcess, publisher: tb.Session) -> None:
    shared = tb.SharedTicket.random_ticket()
    publisher.publish_table(sales_table(), shared)
    assert str(shared) not in cli("ls", env=broker.env).stdout  # unlisted by default
    res = cli("ls", "--all", env=broker.env)
    assert res.returncode == 0, res.stderr
    rows = {row["NAME"]: row for row in parse_ls(res.stdout)}
    assert set(rows) == {"sales", str(shared)}
    assert rows[str(shared)]["ROWS"] == "1,234"
    # the Python API: the same, as ObjectInfo
    with tb.Session() as s:
        assert [o.name for o in s.list_objects()] == ["sales"]
        infos = {o.ticket: o for o in s.list_objects(include_shared=True)}
        assert infos[shared].name == "" and infos[shared].num_rows == 1234


def test_info_shows_schema(broker: BrokerProcess, publisher: tb.Session) -> None:
    res = cli("info", "sales", env=broker.env)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "type:       Table" in out
    assert "rows:       1,234" in out
    assert "publisher:  cli-test-publisher" in out
    assert "schema:" in out
    schema_lines = out.split("schema:", 1)[1].split()
    assert "region:" in schema_lines
    assert "amount:" in schema_lines
    assert "units:" in schema_lines
    assert "  region: string" in out
    assert "  amount: double" in out
    assert "  units: int32" in out


def test_info_of_shared_ticket(broker: BrokerProcess, publisher: tb.Session) -> None:
    shared = tb.SharedTicket.random_ticket()
    publisher.publish_table(sales_table(), shared)
    res = cli("info", str(shared), env=broker.env)
    assert res.returncode == 0, res.stderr
    assert "rows:       1,234" in res.stdout


@pytest.mark.parametrize(
    ("ticket", "expected"),
    [
        ("no-such-table", "nothing is published under the name 'no-such-table'"),
        ("shared:" + "ab" * 16, "is not published"),
        ("has space", "invalid scope name 'has space'"),
        ("shared:abcd", "malformed shared ticket text"),
    ],
)
def test_info_of_unknown_or_bad_name(
    broker: BrokerProcess, publisher: tb.Session, ticket: str, expected: str
) -> None:
    res = cli("info", ticket, env=broker.env)
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert res.stdout == ""
    assert res.stderr.startswith("ticketbooth: ")
    assert expected in res.stderr
    assert "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    # the broker is unaffected
    assert cli("info", "sales", env=broker.env).returncode == 0


def test_ls_without_broker_does_not_start_one(tmp_path: Path) -> None:
    runtime = tmp_path / "fresh-runtime"
    runtime.mkdir()
    res = cli("ls", env=fresh_env(runtime))
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert "no ticketbooth broker is running" in res.stderr
    assert "ticketbooth serve" in res.stderr
    assert "Traceback" not in res.stderr
    no_broker_started(runtime)


def test_info_without_broker_does_not_start_one(tmp_path: Path) -> None:
    runtime = tmp_path / "fresh-runtime"
    runtime.mkdir()
    res = cli("info", "sales", env=fresh_env(runtime))
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert "no ticketbooth broker is running" in res.stderr
    assert "Traceback" not in res.stderr
    no_broker_started(runtime)


def test_ls_with_stale_connection_file(tmp_path: Path) -> None:
    """A connection file whose broker is dead (or not answering) is not 'a broker'."""
    runtime = tmp_path / "stale-runtime"
    runtime.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    conn = runtime / "ticketbooth-broker.json"
    hostname = os.uname().nodename
    for pid, expected in ((dead.pid, "no ticketbooth broker is running"), (os.getpid(), "broker")):
        conn.write_text(
            f'{{"url": "unix://{tmp_path}/nothing.sock", "token": "t", "pid": {pid}, '
            f'"hostname": "{hostname}"}}'
        )
        res = cli("ls", env=fresh_env(runtime))
        assert res.returncode == 1, (res.stdout, res.stderr)
        assert expected in res.stderr
        assert "Traceback" not in res.stderr
    assert not (runtime / "ticketbooth-broker.log").exists()


def test_ls_with_wrong_token(broker: BrokerProcess) -> None:
    res = cli("ls", "--url", broker.url, env=dict(broker.env, TICKETBOOTH_TOKEN="wrong"))
    assert res.returncode == 1
    assert "wrong token" in res.stderr
    assert "Traceback" not in res.stderr

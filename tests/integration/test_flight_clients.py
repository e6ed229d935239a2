"""Any Arrow Flight client fetches what a ticketbooth Session published (docs/flight.md).

The fetching side runs no ticketbooth code: pyarrow's own `FlightClient`, and a Flight
client in another language, Node (tests/flight_clients/js: @grpc/grpc-js + apache-arrow, as
Arrow JS has no Flight client), over the broker's TCP port, its unix socket and TLS.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.flight as flight
import pytest

import ticketbooth as tb
from tests.conftest import start_broker
from ticketbooth._proto.v1 import broker_pb2 as pb
from ticketbooth.broker import BrokerProcess

JS_DIR = Path(__file__).resolve().parents[1] / "flight_clients" / "js"
ROWS = 200_000  # about 9 MB: several Flight messages of at most ~4 MiB each
TRANSPORTS = ["tcp", "unix"]


def sample_table(n: int = ROWS) -> pa.Table:
    """Columns of several types, with nulls, extremes, NaN and infinities, non-ASCII text."""
    i = np.arange(n, dtype=np.int64)
    ints = i * 7_919 - 10**9
    ints[:2] = [np.iinfo(np.int64).min, np.iinfo(np.int64).max]
    floats = np.sqrt(i) * 1.1 - 3.3
    floats[2:5] = [np.nan, np.inf, -np.inf]
    text = [f"row-{k}" for k in range(n)]
    text[1:4] = ["", "é€ 𝄞 ☃", "tab\tnew\nline"]
    colours = np.array(["red", "green", "blue"])[i % 3]
    return pa.table(
        {
            "id": pa.array(ints, mask=i % 7 == 3),
            "x": pa.array(floats, mask=i % 5 == 1),
            "name": pa.array(text, mask=i % 11 == 5),
            "flag": pa.array(i % 3 == 0, mask=i % 13 == 6),
            "at": pa.array(i * 1_234_567 - 10**15, mask=i % 17 == 8).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "colour": pa.array(colours, mask=i % 19 == 9).dictionary_encode(),
        }
    )


def assert_same_table(got: pa.Table, expected: pa.Table) -> None:
    """Equal schemas and values (Table.equals would call NaN unequal to itself)."""
    assert got.schema.equals(expected.schema), f"{got.schema} != {expected.schema}"
    for name in expected.column_names:
        a, b = got[name], expected[name]
        if pa.types.is_floating(b.type):
            assert a.is_null().equals(b.is_null()), f"{name}: nulls differ"
            a, b = (c.fill_null(0).to_numpy() for c in (a, b))
            assert np.array_equal(a, b, equal_nan=True), f"{name}: values differ"
        else:
            assert a.equals(b), f"{name}: values differ"


@dataclass
class Tables:
    broker: BrokerProcess
    table: pa.Table
    ticket: tb.SharedTicket
    names: tuple[str, ...] = ("sales", "small")

    def location(self, transport: str) -> str:
        """The broker's address as a Flight URI."""
        if transport == "tcp":
            return f"grpc+tcp://{self.broker.tcp_url}"
        return "grpc+unix://" + self.broker.url.removeprefix("unix://")

    def options(self, token: str | None = None) -> flight.FlightCallOptions:
        token = self.broker.token if token is None else token
        return flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {token}".encode())])


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tables]:
    """A broker with a table published as "sales" and to a shared ticket, and a small one."""
    broker = start_broker(tmp_path_factory.mktemp("flight-runtime"), "--port", "0")
    try:
        assert broker.tcp_url is not None
        table = sample_table()
        ticket = tb.SharedTicket.random_ticket()
        with tb.Session(broker.url, token=broker.token, name="flight-publisher") as session:
            session.publish_table(table, "sales")
            session.publish_table(table, ticket)
            session.publish_table(pa.table({"k": [1, 2, 3]}), "small")
            yield Tables(broker, table, ticket)
    finally:
        broker.stop()


@pytest.fixture(params=TRANSPORTS)
def client(request: pytest.FixtureRequest, tables: Tables) -> Iterator[flight.FlightClient]:
    with flight.FlightClient(tables.location(request.param)) as c:
        yield c


# pyarrow's FlightClient -------------------------------------------------------------------------
def test_do_get_by_name_and_by_shared_ticket(tables: Tables, client: flight.FlightClient) -> None:
    for ticket in (b"s/sales", tables.ticket.bytes):
        reader = client.do_get(flight.Ticket(ticket), tables.options())
        batches = [chunk.data for chunk in reader]
        got = pa.Table.from_batches(batches)
        assert_same_table(got, tables.table)
        assert len(batches) > 1, "a 9 MB table should arrive as several record batches"
    small = client.do_get(flight.Ticket(b"s/small"), tables.options()).read_all()
    assert small.to_pydict() == {"k": [1, 2, 3]}


def test_do_get_of_a_table_republished_in_parts(
    tables: Tables, client: flight.FlightClient
) -> None:
    """A table whose batches lie in three segments (README: republishing a changed table)
    reaches a stock client as one stream."""
    base = tables.table.drop_columns(["colour"])  # dictionary columns are written whole
    with tb.Session(tables.broker.url, token=tables.broker.token) as s:
        s.publish_table(base, "flat")
        held = s.fetch_table("flat")
        t = held.to_arrow()
        name = t.column("name")
        name = pa.chunked_array([pa.array(["first"]), *name.slice(1).chunks])
        s.publish_table(t.set_column(2, "name", name), "flat")
        s.append_table("flat", base.slice(0, 5))
        expected = pa.concat_tables([t.set_column(2, "name", name), base.slice(0, 5)])
        req = pb.GetInfoRequest(ticket=tb.ScopeTicket.scope_ticket("flat").bytes)
        info = s._backend.call("get info", s._backend.conn.sessions.GetInfo, req)
        assert len({p.shm_name for p in info.parts}) == 3, info.parts
        got = client.do_get(flight.Ticket(b"s/flat"), tables.options()).read_all()
        assert_same_table(got, expected)
        s.release(held)


def test_list_flights_lists_the_names_only(tables: Tables, client: flight.FlightClient) -> None:
    infos = {
        tuple(info.descriptor.path): info for info in client.list_flights(b"", tables.options())
    }
    # a shared ticket is a capability: it is never listed
    assert sorted(infos) == [(name.encode(),) for name in sorted(tables.names)]
    info = infos[(b"sales",)]
    assert info.descriptor.descriptor_type == flight.DescriptorType.PATH
    assert info.schema.equals(tables.table.schema)
    assert info.total_records == ROWS
    assert info.total_bytes > 0
    [endpoint] = info.endpoints
    assert endpoint.ticket.ticket == b"s/sales"
    # the standard flow: ListFlights, then DoGet each endpoint's ticket
    assert_same_table(client.do_get(endpoint.ticket, tables.options()).read_all(), tables.table)


def test_flight_info_and_schema_by_path_and_by_ticket(
    tables: Tables, client: flight.FlightClient
) -> None:
    descriptors = [
        flight.FlightDescriptor.for_path("sales"),
        flight.FlightDescriptor.for_command(tables.ticket.bytes),
        flight.FlightDescriptor.for_command(b"s/sales"),
    ]
    for descriptor in descriptors:
        info = client.get_flight_info(descriptor, tables.options())
        assert info.schema.equals(tables.table.schema), descriptor
        assert info.total_records == ROWS, descriptor
        [endpoint] = info.endpoints
        got = client.do_get(endpoint.ticket, tables.options()).read_all()
        assert_same_table(got, tables.table)
        schema = client.get_schema(descriptor, tables.options()).schema
        assert schema.equals(tables.table.schema), descriptor


def test_wrong_or_missing_token_is_unauthenticated(
    tables: Tables, client: flight.FlightClient
) -> None:
    ticket = flight.Ticket(b"s/small")
    assert client.do_get(ticket, tables.options()).read_all().num_rows == 3
    for options in (tables.options("not-the-token"), tables.options(""), None):
        with pytest.raises(flight.FlightUnauthenticatedError):
            client.do_get(ticket, options).read_all()
        with pytest.raises(flight.FlightUnauthenticatedError):
            list(client.list_flights(b"", options))
        with pytest.raises(flight.FlightUnauthenticatedError):
            client.get_flight_info(flight.FlightDescriptor.for_path("small"), options)


def test_unknown_ticket_is_not_found_with_a_message(
    tables: Tables, client: flight.FlightClient
) -> None:
    def do_get(ticket: bytes) -> None:
        client.do_get(flight.Ticket(ticket), tables.options()).read_all()

    def get_flight_info(name: str) -> None:
        client.get_flight_info(flight.FlightDescriptor.for_path(name), tables.options())

    cases: list[tuple[Callable[[Any], None], Any]] = [
        (do_get, b"s/no-such-table"),
        (do_get, tb.SharedTicket.random_ticket().bytes),
        (get_flight_info, "no-such-table"),
    ]
    for call, arg in cases:
        with pytest.raises(pa.ArrowKeyError) as err:  # how pyarrow raises gRPC's NOT_FOUND
            call(arg)
        # the server's message, without what pyarrow wraps around it
        message = str(err.value).split("with message: ", 1)[-1]
        assert message.split(". gRPC client debug context")[0].strip(), str(err.value)


# the Node client (tests/flight_clients/js) ------------------------------------------------------
@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with the client's npm packages installed (npm ci, from the registry)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JS Flight client needs Node.js >= 18 and npm")
    if not (JS_DIR / "node_modules").is_dir():
        npm = shutil.which("npm")
        assert npm is not None, "node is installed without npm: cannot install the JS client"
        res = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert res.returncode == 0, f"npm ci in {JS_DIR} failed:\n{res.stdout}\n{res.stderr}"
    return node


def run_js(
    node: str, address: str, ticket: str, token: str, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [node, "fetch.mjs", address, ticket],
        cwd=JS_DIR,
        env=dict(os.environ, TICKETBOOTH_TOKEN=token, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def js_error(res: subprocess.CompletedProcess[str]) -> str:
    """The "CODE: details" line of a failed fetch.mjs (node may print warnings before it)."""
    assert res.returncode == 1, (res.returncode, res.stderr)
    lines = [line for line in res.stderr.splitlines() if re.match(r"[A-Z_]+: ", line)]
    assert lines, res.stderr
    return lines[0]


def js_value(value: Any) -> Any:
    """A value as fetch.mjs prints it: int64 as text, NaN and infinities as text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return {math.inf: "Infinity", -math.inf: "-Infinity"}.get(value, "NaN")
    return value


def js_expected(table: pa.Table) -> dict[str, Any]:
    """What fetch.mjs prints for `table`: every value, timestamps as their int64."""
    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(column.type):
            column = column.cast(pa.int64())
        columns[name] = [js_value(v) for v in column.to_pylist()]
    return {"rows": table.num_rows, "columns": columns}


JS_SCHEMA = [
    ("id", "Int64"),
    ("x", "Float64"),
    ("name", "Utf8"),
    ("flag", "Bool"),
    ("at", "Timestamp<MICROSECOND, UTC>"),
    ("colour", "Dictionary<Int32, Utf8>"),
]


def check_js_output(out: dict[str, Any], table: pa.Table) -> None:
    assert [(f["name"], f["type"]) for f in out["schema"]] == JS_SCHEMA
    expected = js_expected(table)
    assert out["rows"] == expected["rows"]
    for name, values in expected["columns"].items():
        got = out["columns"][name]
        assert len(got) == len(values), name
        diff = [k for k, (a, b) in enumerate(zip(got, values, strict=True)) if a != b]
        assert not diff, f"{name}: rows {diff[:5]} differ: {[got[k] for k in diff[:5]]}"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_js_client_fetches_shared_and_named_tables(
    node: str, tables: Tables, transport: str
) -> None:
    address = tables.location(transport)
    for ticket in (str(tables.ticket), "sales"):
        res = run_js(node, address, ticket, tables.broker.token)
        assert res.returncode == 0, f"node fetch.mjs {address} {ticket}:\n{res.stderr}"
        out = json.loads(res.stdout)
        check_js_output(out, tables.table)
        # grpc-js keeps its default 4 MiB receive limit: the broker must split the table
        assert out["batches"] > 1


def test_js_client_reports_a_wrong_token_and_an_unknown_ticket(node: str, tables: Tables) -> None:
    address = tables.location("tcp")
    error = js_error(run_js(node, address, str(tables.ticket), "not-the-token"))
    assert error.startswith("UNAUTHENTICATED: ")
    error = js_error(run_js(node, address, "no-such-table", tables.broker.token))
    assert error.startswith("NOT_FOUND: ")
    assert error.removeprefix("NOT_FOUND: ").strip(), "NOT_FOUND without a message"


# TLS: `serve --tls-cert/--tls-key` serves Flight as grpc+tls:// -------------------------------
SMALL = pa.table({"k": pa.array([1, None, 3], pa.int64()), "s": ["a", "b", None]})


@pytest.fixture
def tls_tables(tls_broker: tuple[BrokerProcess, Path]) -> Iterator[tuple[str, str, Path]]:
    """(Flight location, token, CA file) of a TLS broker holding a small table "sales"."""
    b, cert = tls_broker
    assert b.tcp_url is not None and b.tcp_url.startswith("grpcs://")
    with tb.Session(b.tcp_url, token=b.token, tls_root_certs=str(cert)) as s:
        s.publish_table(SMALL, "sales")
        yield "grpc+tls://" + b.tcp_url.removeprefix("grpcs://"), b.token, cert


def test_pyarrow_over_tls(tls_tables: tuple[str, str, Path]) -> None:
    location, token, cert = tls_tables
    options = flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {token}".encode())])
    with flight.FlightClient(location, tls_root_certs=cert.read_bytes()) as c:
        assert c.do_get(flight.Ticket(b"s/sales"), options).read_all().equals(SMALL)
    with flight.FlightClient(location) as c, pytest.raises(flight.FlightUnavailableError):
        c.do_get(flight.Ticket(b"s/sales"), options).read_all()  # the CA is not trusted


def test_js_client_over_tls(node: str, tls_tables: tuple[str, str, Path]) -> None:
    location, token, cert = tls_tables
    res = run_js(node, location, "sales", token, TICKETBOOTH_TLS_ROOT_CERTS=str(cert))
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["columns"] == {"k": ["1", None, "3"], "s": ["a", "b", None]}
    error = js_error(run_js(node, location, "sales", token))  # without the CA
    assert error.startswith("UNAVAILABLE: ")


# the Node client against pyarrow's own Flight server (Arrow C++), apart from the broker -------
class _BearerAuth(flight.ServerMiddlewareFactory):  # type: ignore[misc]
    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def start_call(self, info: Any, headers: dict[str, list[str]]) -> None:
        if headers.get("authorization") != [f"Bearer {self.token}"]:
            raise flight.FlightUnauthenticatedError("wrong or missing token")


class _ReferenceServer(flight.FlightServerBase):  # type: ignore[misc]
    """pyarrow's Flight server holding tables by ticketbooth ticket bytes."""

    def __init__(self, location: str, token: str, tables: dict[bytes, pa.Table]) -> None:
        super().__init__(location, middleware={"auth": _BearerAuth(token)})
        self.tables = tables

    def do_get(self, context: Any, ticket: flight.Ticket) -> flight.RecordBatchStream:
        if ticket.ticket not in self.tables:
            raise KeyError(f"no table for ticket {ticket.ticket!r}")
        # ~1 MiB batches: pyarrow's server sends each batch as one message
        return flight.RecordBatchStream(
            self.tables[ticket.ticket].combine_chunks().to_reader(max_chunksize=20_000)
        )


def test_js_client_against_pyarrow_flight_server(node: str, tmp_path: Path) -> None:
    """Checks the JS client itself, so a failure above points at the broker or the client."""
    table = sample_table()
    ticket = tb.SharedTicket.random_ticket()
    by_ticket = {b"s/sales": table, ticket.bytes: table}
    for address in ("grpc+tcp://127.0.0.1:0", f"grpc+unix://{tmp_path}/ref.sock"):
        with _ReferenceServer(address, "tok", by_ticket) as server:
            if address.startswith("grpc+tcp"):
                address = f"grpc+tcp://127.0.0.1:{server.port}"
            for text in ("sales", str(ticket)):
                res = run_js(node, address, text, "tok")
                assert res.returncode == 0, res.stderr
                check_js_output(json.loads(res.stdout), table)
            assert js_error(run_js(node, address, "sales", "bad")).startswith("UNAUTHENTICATED: ")

"""One broker with a Deephaven front end for this package of tests, and clients on it.

pydeephaven's `Table` releases its ticket when it is garbage collected while its session is
alive; for a table fetched from a shared ticket that ticket is the shared ticket itself (on
a real Deephaven server that unpublishes it for everyone). `Clients.keep` / `Clients.read`
hold such tables until their session is closed, so that no test passes or fails because
of a collection."""

from __future__ import annotations

import gc
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pyarrow as pa
import pytest
from pydeephaven import DHError
from pydeephaven import Session as DHSession
from pydeephaven.ticket import Ticket

import ticketbooth as tb
from tests.conftest import BrokerProcess, start_broker

#: seconds without calls after which either kind of session is closed by the broker
TTL = 3
PSK = "io.deephaven.authentication.psk.PskAuthenticationHandler"


def start_dh_broker(runtime_dir: Path, *extra: str, timeout: float = 30.0) -> BrokerProcess:
    """A broker process that also speaks the Deephaven protocol on a free port."""
    b = start_broker(
        runtime_dir,
        "--port",
        "0",
        "--session-ttl",
        str(TTL),
        "--deephaven-port",
        "0",
        "--deephaven-session-ttl",
        str(TTL),
        *extra,
        timeout=timeout,
    )
    if not b.deephaven_port:
        b.stop()
        raise AssertionError(f"the connection file names no deephaven_port: {b.connection_file}")
    return b


@pytest.fixture(scope="package")
def dh_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    b = start_dh_broker(tmp_path_factory.mktemp("dh-compat-runtime"))
    yield b
    b.stop()


def connect(broker: BrokerProcess, **kw: Any) -> DHSession:
    """A plain pydeephaven session on the broker's Deephaven port (PSK = the broker token)."""
    kw.setdefault("auth_type", PSK)
    kw.setdefault("auth_token", broker.token)
    assert broker.deephaven_port  # pydeephaven would fall back to port 10000
    return DHSession(host="127.0.0.1", port=broker.deephaven_port, **kw)


def close_quietly(session: DHSession) -> None:
    """Close a pydeephaven session; one the server already dropped (expired) fails to close,
    so its channels are closed here (else they can hold up interpreter exit)."""
    try:
        session.close()
    except DHError:
        session.is_connected = False
    finally:  # close() skips these for a session it thinks is gone
        if session.grpc_channel is not None:
            session.grpc_channel.close()
        if session._flight_client is not None:
            session._flight_client.close()


class Clients:
    """Sessions of both kinds on one broker, all closed at the end of the test (usable
    from several threads)."""

    def __init__(self, broker: BrokerProcess) -> None:
        self.broker = broker
        self._lock = threading.Lock()
        self._pdh: list[DHSession] = []
        self._tb: list[tb.Session] = []
        self._held: list[Any] = []

    def pdh(self, **kw: Any) -> DHSession:
        s = connect(self.broker, **kw)
        with self._lock:
            self._pdh.append(s)
        return s

    def tbs(self) -> tb.Session:
        s = tb.Session(self.broker.url, token=self.broker.token, start_broker=False)
        with self._lock:
            self._tb.append(s)
        return s

    def keep(self, *objs: Any) -> None:
        """Hold pydeephaven tables until their sessions are closed (see the module doc)."""
        with self._lock:
            self._held.extend(objs)

    def read(self, session: DHSession, ticket: Ticket) -> pa.Table:
        """pydeephaven's fetch_table(ticket).to_arrow(), the fetched table held."""
        t = session.fetch_table(ticket)
        self.keep(t)
        return t.to_arrow()

    def close(self) -> None:
        for s in self._pdh:
            close_quietly(s)
        for t in self._tb:
            t.close()
        self._held.clear()


@pytest.fixture
def clients(dh_broker: BrokerProcess) -> Iterator[Clients]:
    """Clients of the package's broker. The cyclic garbage collector is off meanwhile:
    a pydeephaven Table it collects (one kept by an exception's traceback, say) makes a
    release call from whatever thread it runs in, which deadlocks when that thread is
    inside a call on the same gRPC channel (seen: a test stuck in a collection during
    `Session.close`). Such tables are collected before the sessions close."""
    enabled = gc.isenabled()
    gc.disable()
    c = Clients(dh_broker)
    try:
        yield c
    finally:
        gc.collect()
        c.close()
        if enabled:
            gc.enable()
    assert dh_broker.proc.poll() is None, "the broker exited during the test"


def unique(prefix: str) -> str:
    """A scope name no other test uses (the broker lives for the whole package)."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def rpc_error(exc: BaseException) -> grpc.RpcError | None:
    """The gRPC error in `exc`'s chain of causes (pydeephaven wraps it in DHError)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, grpc.RpcError) and hasattr(cur, "code"):
            return cur
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return None


def rpc_code(exc: BaseException) -> grpc.StatusCode | None:
    err = rpc_error(exc)
    return err.code() if err is not None else None  # type: ignore[attr-defined]


def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `check` until it holds; fail after `timeout` seconds saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.1)


def gone(session: DHSession, ticket: Ticket, keep: Clients) -> bool:
    """True when fetching `ticket` fails; a table that is still there is held (its
    collection must not be what releases it)."""
    try:
        keep.keep(session.fetch_table(ticket))
    except DHError:
        return True
    return False


def sample_table(n: int = 1000, seed: int = 0, batches: int = 3) -> pa.Table:
    """Several column types with nulls, in several record batches."""
    table = pa.table(
        {
            "id": pa.array([seed * 1_000_000 + i for i in range(n)], pa.int64()),
            "name": pa.array([None if i % 11 == 3 else f"row-{seed}-{i}" for i in range(n)]),
            "x": pa.array([None if i % 7 == 0 else i * 0.25 + seed for i in range(n)]),
            "flag": pa.array([None if i % 5 == 1 else i % 2 == 0 for i in range(n)]),
            "when": pa.array(
                [None if i % 13 == 2 else i * 1000 for i in range(n)], pa.timestamp("ns")
            ),
        }
    )
    size = max(1, -(-n // batches))
    return pa.Table.from_batches(table.to_batches(max_chunksize=size))


def same(got: pa.Table, want: pa.Table) -> None:
    """Equal schemas (ignoring the "deephaven:type" field metadata pydeephaven adds) and data."""
    assert got.schema.equals(want.schema, check_metadata=False), f"{got.schema}\n!=\n{want.schema}"
    assert got.num_rows == want.num_rows
    assert got.equals(want), f"{got}\n!=\n{want}"

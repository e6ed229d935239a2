"""A pydeephaven process killed mid-session: its session expires after the broker's
--deephaven-session-ttl and what it published goes with it; live sessions are untouched."""

from __future__ import annotations

import os
import signal

from pydeephaven.ticket import SharedTicket

import ticketbooth as tb
from tests.conftest import BrokerProcess, spawn_child
from tests.pydeephaven_compat.conftest import TTL, Clients, eventually, gone, same, sample_table

PUBLISHER = """
import os, sys
import pyarrow as pa
from pydeephaven import Session
from pydeephaven.ticket import ExportTicket, SharedTicket

s = Session(host="127.0.0.1", port=int(os.environ["DH_COMPAT_PORT"]),
            auth_type="io.deephaven.authentication.psk.PskAuthenticationHandler",
            auth_token=os.environ["DH_COMPAT_TOKEN"])
t = s.import_table(pa.table({"k": list(range(100)), "v": [i * 0.5 for i in range(100)]}))
shared = SharedTicket.random_ticket()
s.publish_table(shared, t)
print(shared.bytes.hex(), t.ticket.bytes.hex(), flush=True)
sys.stdin.readline()  # wait to be killed
"""


def publisher_env(broker: BrokerProcess) -> dict[str, str]:
    env = dict(broker.env)
    env["DH_COMPAT_PORT"] = str(broker.deephaven_port)
    env["DH_COMPAT_TOKEN"] = broker.token
    return env


def test_killed_publishers_tickets_expire(dh_broker: BrokerProcess, clients: Clients) -> None:
    # a live session's ticket, which must outlast the killed one's
    live = clients.pdh()
    control_data = sample_table(10)
    control_table = live.import_table(control_data)
    control = SharedTicket.random_ticket()
    live.publish_table(control, control_table)

    child = spawn_child(PUBLISHER, publisher_env(dh_broker))
    try:
        assert child.stdout is not None and child.stderr is not None
        line = child.stdout.readline()
        assert line, child.stderr.read()
        shared = SharedTicket(bytes.fromhex(line.split()[0]))
        sub = clients.pdh()
        got = clients.read(sub, shared)
        assert got.column("k").to_pylist() == list(range(100))
        s = clients.tbs()
        assert s.fetch_table(tb.SharedTicket(shared.bytes)).num_rows == 100
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
        child.stdout.close()  # type: ignore[union-attr]
        child.stderr.close()  # type: ignore[union-attr]
        child.stdin.close()  # type: ignore[union-attr]
    assert child.returncode == -signal.SIGKILL

    eventually(lambda: gone(sub, shared, clients), TTL + 12, "expiry of the killed session")
    try:
        s.fetch_table(tb.SharedTicket(shared.bytes))
    except tb.TicketNotFoundError:
        pass
    else:
        raise AssertionError("ticketbooth still fetches the killed session's shared ticket")

    # the sessions that kept calling are alive, with what they published
    same(clients.read(sub, control), control_data)
    same(control_table.to_arrow(), control_data)
    same(s.fetch_table(tb.SharedTicket(control.bytes)).to_arrow(), control_data)


def test_session_without_keepalive_expires(clients: Clients) -> None:
    """never_timeout=False: pydeephaven sends nothing between calls, so its session expires
    after the TTL, taking its shared ticket along (what the keep-alive test relies on)."""
    quiet = clients.pdh(never_timeout=False)
    data = sample_table(10, seed=1)
    t = quiet.import_table(data)
    shared = SharedTicket.random_ticket()
    quiet.publish_table(shared, t)
    watcher = clients.pdh()
    same(clients.read(watcher, shared), data)
    eventually(lambda: gone(watcher, shared, clients), TTL + 12, "expiry of the quiet session")
    assert not quiet.is_alive  # its next call finds the session gone

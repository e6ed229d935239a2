"""pydeephaven refreshes its session on its own (every half of http.session.durationMs): a
session that sleeps well past the broker's --deephaven-session-ttl is still there, with
what it published. (test_killed_client.py shows that a session which stops calling does
expire, so this is not a broker that never expires anything.)"""

from __future__ import annotations

import time

from pydeephaven.ticket import SharedTicket

import ticketbooth as tb
from tests.pydeephaven_compat.conftest import TTL, Clients, same, sample_table


def test_duration_is_the_ttl(clients: Clients) -> None:
    s = clients.pdh()
    constants = s.config_service.get_configuration_constants()
    assert int(constants["http.session.durationMs"].string_value) == TTL * 1000


def test_session_survives_a_sleep_past_the_ttl(clients: Clients) -> None:
    data = sample_table(100)
    s = clients.pdh()
    t = s.import_table(data)
    shared = SharedTicket.random_ticket()
    s.publish_table(shared, t)

    time.sleep(8)  # > 2 TTLs without a call of its own

    assert s.is_alive
    same(t.to_arrow(), data)
    same(clients.read(clients.pdh(), shared), data)
    same(clients.tbs().fetch_table(tb.SharedTicket(shared.bytes)).to_arrow(), data)
    more = sample_table(10, seed=1)
    same(s.import_table(more).to_arrow(), more)

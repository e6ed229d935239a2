"""Twenty pydeephaven sessions at once, each importing and publishing its own table while
the others fetch (pydeephaven's test_session.py::test_multiple_sessions, with sharing)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
from pydeephaven.ticket import SharedTicket

import ticketbooth as tb
from tests.pydeephaven_compat.conftest import Clients, same, sample_table, unique

N = 20


def test_twenty_sessions_share_at_once(clients: Clients) -> None:
    tables = [sample_table(2000 + 37 * i, seed=i, batches=1 + i % 4) for i in range(N)]
    tickets = [SharedTicket.random_ticket() for _ in range(N)]
    names = [unique(f"conc{i}") for i in range(N)]
    everyone_published = threading.Barrier(N, timeout=90)

    def run(i: int) -> tuple[pa.Table, pa.Table, pa.Table]:
        try:
            s = clients.pdh()
            t = s.import_table(tables[i])
            s.publish_table(tickets[i], t)
            s.bind_table(names[i], t)
            clients.keep(t)
        except BaseException:
            everyone_published.abort()  # the others fail at once rather than wait
            raise
        everyone_published.wait()
        j = (i + 1) % N
        fetched = s.fetch_table(tickets[j])
        opened = s.open_table(names[(i + 2) % N])
        clients.keep(fetched, opened)
        return t.to_arrow(), fetched.to_arrow(), opened.to_arrow()

    with ThreadPoolExecutor(N) as pool:
        futures = [pool.submit(run, i) for i in range(N)]
    errors = [f.exception() for f in futures]
    first = [e for e in errors if e is not None and not isinstance(e, threading.BrokenBarrierError)]
    if first:
        raise first[0]
    results = [f.result() for f in futures]

    for i, (own, fetched, opened) in enumerate(results):
        same(own, tables[i])
        same(fetched, tables[(i + 1) % N])
        same(opened, tables[(i + 2) % N])

    # a ticketbooth Session sees all of them, by ticket and by name
    s = clients.tbs()
    for i in range(N):
        same(s.fetch_table(tb.SharedTicket(tickets[i].bytes)).to_arrow(), tables[i])
        same(s.open_table(names[i]).to_arrow(), tables[i])


def test_one_session_used_from_many_threads(clients: Clients) -> None:
    """pydeephaven sessions are shared between threads (its own mt_session test)."""
    s = clients.pdh()
    tables = [sample_table(500, seed=100 + i) for i in range(N)]

    def run(i: int) -> pa.Table:
        t = s.import_table(tables[i])
        shared = SharedTicket.random_ticket()
        s.publish_table(shared, t)
        fetched = s.fetch_table(shared)
        clients.keep(t, fetched)
        return fetched.to_arrow()

    with ThreadPoolExecutor(N) as pool:
        results = list(pool.map(run, range(N)))
    for got, want in zip(results, tables, strict=True):
        same(got, want)

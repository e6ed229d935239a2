"""20 sessions in 4 processes publishing and fetching at once: no errors, no torn rows."""

from __future__ import annotations

import json

from tests.conftest import BrokerProcess, spawn_child

WORKER = """
import json, sys, threading, zlib
import pyarrow as pa, ticketbooth as tb

WORKER, SESSIONS, ROUNDS = {worker}, 5, 8

def table(owner, round_):
    n = 2000 + 37 * round_
    vals = [owner * 1_000_000 + round_ * 10_000 + i for i in range(n)]
    return pa.table({{"owner": [owner] * n, "round": [round_] * n, "v": vals}})

def check(t):
    # every row of a fetched table must come from one (owner, round) publish
    d = t.to_pydict()
    owner, round_ = d["owner"][0], d["round"][0]
    assert t.equals(table(owner, round_)), (owner, round_)

errors, checked = [], [0]
def run(k):
    owner = WORKER * SESSIONS + k
    try:
        with tb.Session(force_remote=(k % 2 == 1)) as s:
            for r in range(ROUNDS):
                s.publish_table(table(owner, r), f"w{{owner}}")
                for other in range(20):
                    try:
                        check(s.fetch_table(f"w{{other}}").to_arrow())
                        checked[0] += 1
                    except tb.TicketNotFoundError:
                        pass   # not yet published (or between sessions): fine
    except Exception as exc:
        errors.append(repr(exc))

threads = [threading.Thread(target=run, args=(k,)) for k in range(SESSIONS)]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps({{"errors": errors, "checked": checked[0]}}))
"""


def test_twenty_concurrent_sessions(broker: BrokerProcess) -> None:
    procs = [spawn_child(WORKER.format(worker=w), broker.env) for w in range(4)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["errors"] for r in results] == [[], [], [], []]
    assert sum(r["checked"] for r in results) > 20 * 8 * 5

"""Two real Jupyter kernels, started independently, hand a table over by ticket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BrokerProcess
from tests.kernels import Kernel


@pytest.fixture
def kernels(broker: BrokerProcess) -> Iterator[tuple[Kernel, Kernel]]:
    a, b = Kernel(broker.env), Kernel(broker.env)
    yield a, b
    a.shutdown()
    b.shutdown()


def test_two_kernels_share_a_table(kernels: tuple[Kernel, Kernel], tmp_path: Path) -> None:
    a, b = kernels
    text = a.run(
        """
import pandas as pd, ticketbooth as tb
s = tb.Session()
df = pd.DataFrame({"city": ["Oslo", "Lima", "Pune"], "sales": [3.5, 7.25, 1.0]})
t = s.import_table(df)
shared = tb.SharedTicket.random_ticket()
s.publish(t.ticket, shared)
s.publish_table(df, tb.ScopeTicket.scope_ticket("sales"))
print(shared)
"""
    ).strip()
    assert text.startswith("shared:")
    out = b.run(
        f"""
import ticketbooth as tb
s2 = tb.Session()
tbl = s2.fetch_table(tb.SharedTicket.from_str("{text}"))
print(tbl.num_rows, tbl.schema.names, tbl.to_pandas()["sales"].sum())
print(s2.exportable_objects)
print(s2.fetch_table("sales").to_arrow().equals(tbl.to_arrow()))
"""
    )
    lines = out.strip().splitlines()
    assert lines[0] == "3 ['city', 'sales'] 11.75"
    assert "'sales': ServerObject(type='Table'" in lines[1]
    assert lines[2] == "True"
    # the publisher releases and closes; the subscriber keeps its data, new fetches fail
    a.run("s.release(t.ticket); s.close()")
    out = b.run(
        f"""
try:
    s2.fetch_table(tb.SharedTicket.from_str("{text}"))
except tb.TicketNotFoundError as e:
    print("gone:", e)
print(tbl.to_pandas()["city"].tolist(), "sales" in s2.exportable_objects)
"""
    )
    assert "gone: shared ticket" in out
    assert "['Oslo', 'Lima', 'Pune'] False" in out

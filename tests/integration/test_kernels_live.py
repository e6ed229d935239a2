"""Two real kernels: one publishes figures and a table and keeps republishing; the other
displays the figures and receives every update in order."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator

import pytest

from tests.conftest import BrokerProcess
from tests.kernels import Kernel

PUBLISHER_SETUP = """
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt, plotly.graph_objects as go, pyarrow as pa
import ticketbooth as tb
s = tb.Session()

def publish_round(i):
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot(range(10), [(x * (i + 1)) % 7 for x in range(10)])
    ax.set_title(f"revenue v{i + 1}")
    s.publish_figure(fig, "revenue-chart")
    plt.close(fig)
    s.publish_figure(go.Figure(go.Bar(x=["a", "b"], y=[i, i + 1])), "plotly-chart")
    s.publish_table(pa.table({"round": [i] * (i + 1)}), "sales")

publish_round(0)
"""

SUBSCRIBER_SETUP = """
import threading, ticketbooth as tb
from IPython.display import display
s2 = tb.Session()
display(s2.fetch_object("revenue-chart"))
display(s2.fetch_object("plotly-chart"))
events = []
watch = s2.watch("sales")
def follow():
    for e in watch:
        events.append((e.kind, e.version, e.info.num_rows))
        if e.version >= ROUNDS:
            break
ROUNDS = 6
follower = threading.Thread(target=follow, daemon=True)
follower.start()
"""


@pytest.fixture
def pair(broker: BrokerProcess) -> Iterator[tuple[Kernel, Kernel]]:
    a, b = Kernel(broker.env), Kernel(broker.env)
    yield a, b
    a.shutdown()
    b.shutdown()


def test_figures_display_and_every_update_arrives_in_order(pair: tuple[Kernel, Kernel]) -> None:
    a, b = pair
    a.run(PUBLISHER_SETUP)
    b.run(SUBSCRIBER_SETUP)
    png, plotly = b.displays[0], b.displays[1]
    assert png["image/png"].startswith("iVBOR") and "<svg" in png["image/svg+xml"]
    assert plotly["application/vnd.plotly.v1+json"]["data"][0]["type"] == "bar"
    a.run("for i in range(1, 6): publish_round(i)")
    out = b.run("follower.join(30); import json; print(json.dumps(events))")
    events = json.loads(out)
    assert events == [["published", 1, 1]] + [["updated", v, v] for v in range(2, 7)]
    # the latest figure is the one the subscriber fetches now
    b.run('display(s2.fetch_object("revenue-chart"))')
    assert b.displays[-1]["image/png"] != png["image/png"]
    # the publisher's kernel dies: the subscriber's watch ends with "expired"
    b.run("w2 = s2.watch('sales'); first = next(w2)")
    a.km.signal_kernel(signal.SIGKILL)
    out = b.run("e = next(w2); print(e.kind, e.reason, e.publisher_gone)", timeout=60)
    assert out.split() == ["released", "expired", "True"]

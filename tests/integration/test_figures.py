"""Figures and rich objects handed between processes as MIME bundles."""

from __future__ import annotations

import hashlib
import json

import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess, run_child

PUBLISH_ALL = """
import hashlib, json
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt, plotly.graph_objects as go, altair as alt, pandas as pd
import ticketbooth as tb

class Card:
    def _repr_html_(self):
        return "<b>quarterly</b> card"

fig, ax = plt.subplots(figsize=(4, 3), dpi=80)
ax.plot([1, 2, 3], [3, 1, 2])
objects = {
    "mpl": fig,
    "plotly": go.Figure(go.Scatter(x=[1, 2, 3], y=[4, 1, 2])),
    "altair": alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_line().encode(x="x", y="y"),
    "html": Card(),
}
s = tb.Session()
digests, handles = {}, []
for name, obj in objects.items():
    handle = s.import_figure(obj)  # the exact bundle that goes to the broker
    s.publish(handle.ticket, name)
    handles.append(handle)
    digests[name] = hashlib.sha256(handle.bundle.to_wire()).hexdigest()
print(json.dumps(digests), flush=True)
import sys; sys.stdin.readline()
"""


def test_each_library_round_trips_between_processes(broker: BrokerProcess) -> None:
    from tests.conftest import spawn_child

    pub = spawn_child(PUBLISH_ALL, broker.env)
    try:
        line = pub.stdout.readline()  # type: ignore[union-attr]
        assert line, pub.stderr.read()  # type: ignore[union-attr]
        digests = json.loads(line)
        with tb.Session() as s:
            objects = s.exportable_objects
            assert {k: v.type for k, v in objects.items()} == dict.fromkeys(digests, "Figure")
            for name, digest in digests.items():
                obj = s.fetch_object(name)
                assert isinstance(obj, tb.SharedObject)
                assert hashlib.sha256(obj.bundle.to_wire()).hexdigest() == digest, name
            mpl = s.fetch_object("mpl").mimebundle  # type: ignore[union-attr]
            assert mpl["image/png"].startswith("iVBOR")  # base64 of the PNG signature
            assert "<svg" in mpl["image/svg+xml"]
            plotly = s.fetch_object("plotly").mimebundle  # type: ignore[union-attr]
            assert plotly["application/vnd.plotly.v1+json"]["data"][0]["type"] == "scatter"
            vl = s.fetch_object("altair").mimebundle  # type: ignore[union-attr]
            assert any(k.startswith("application/vnd.vegalite.v") for k in vl)
            html = s.fetch_object("html")._repr_mimebundle_()[0]  # type: ignore[union-attr]
            assert html["text/html"] == "<b>quarterly</b> card"
    finally:
        pub.communicate("\n", timeout=30)


def test_publish_works_for_every_object_type(broker: BrokerProcess) -> None:
    class Svg:
        def _repr_svg_(self) -> str:
            return '<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>'

    with tb.Session() as s, tb.Session() as s2:
        handle = s.import_figure(Svg())
        shared = tb.SharedTicket.random_ticket()
        s.publish(handle.ticket, shared)  # the seed's generic publish, for a figure
        got = s2.fetch_object(shared)
        assert got.type == "Figure"
        assert "<circle" in got.mimebundle["image/svg+xml"]  # type: ignore[union-attr]
        s.publish(handle.ticket, shared)
        assert s2.info(shared).version == 2
        s.publish_table(pa.table({"a": [1]}), "tbl")
        assert isinstance(s2.fetch_object("tbl"), tb.Table)


def test_bad_figures(broker: BrokerProcess) -> None:
    import pandas as pd

    with tb.Session() as s:
        with pytest.raises(tb.InvalidInputError, match="publish_table"):
            s.publish_figure(pd.DataFrame({"a": [1]}), "df")
        with pytest.raises(
            tb.InvalidInputError, match="cannot share object: it has no rich display"
        ):
            s.publish_figure(object(), "obj")
        s.publish_figure(_Html(), "fig")
        with pytest.raises(tb.InvalidInputError, match="holds a Figure, not a Table"):
            s.fetch_table("fig")
        with pytest.raises(tb.TicketNotFoundError):
            s.fetch_object("missing")
        # nothing published was lost
        assert "fig" in s.exportable_objects


def test_oversized_figure(broker: BrokerProcess) -> None:
    class Huge:
        def _repr_html_(self) -> str:
            return "x" * (9 << 20)

    with tb.Session() as s:
        s._backend.max_object_bytes = 8 << 20  # as a broker with a smaller limit says
        with pytest.raises(tb.LimitExceededError, match="bytes"):
            s.publish_figure(Huge(), "huge")


def test_figure_bytes_match_what_the_broker_stores(broker: BrokerProcess) -> None:
    with tb.Session() as s:
        s.publish_figure(_Html(), "h")
        out = run_child(
            "import ticketbooth as tb; o = tb.Session().fetch_object('h'); "
            "print(o.type, o.version, o.mimebundle['text/html'])",
            broker.env,
        )
        assert out.split() == ["Figure", "1", "<i>hi</i>"]


class _Html:
    def _repr_html_(self) -> str:
        return "<i>hi</i>"

"""A notebook with TicketViews, run in a real kernel and exported to HTML, shows snapshots.

nbconvert's HTML exporter takes the widget view only when the notebook saved that model's
state (nbclient does by default); without it, or after ticketbooth._snapshot.static_views,
it takes the text/html snapshot: the table's first rows and the figure's image.
"""

from __future__ import annotations

import base64
import html
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import nbformat
import pyarrow as pa
from nbclient import NotebookClient
from nbconvert import HTMLExporter

import ticketbooth as tb
from tests.conftest import BrokerProcess

matplotlib.use("Agg")
import matplotlib.pyplot as plt

VIEW = "application/vnd.jupyter.widget-view+json"
ROWS = 1_000
HOSTILE = "<script>alert('x')</script>"


def executed(env: dict[str, str], *, store_widget_state: bool) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import ticketbooth as tb\ntb.view('orders')"),
        nbformat.v4.new_code_cell("tb.view('chart', height=300)"),
    ]
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", store_widget_state=store_widget_state
    )
    client.execute(env=env)
    return nb


def table_rows(page: str) -> list[list[str]]:
    """The body rows of the snapshot tables in an exported page (cells as raw HTML)."""
    rows = []
    for body in re.findall(r"<tbody>(.*?)</tbody>", page, re.S):
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
            rows.append(re.findall(r"<td>(.*?)</td>", row, re.S))
    return rows


def check_page(page: str, png: bytes) -> None:
    assert f"{ROWS:,} rows x 3 columns, ticket orders, version 1" in page
    rows = table_rows(page)
    assert len(rows) == 20
    assert [r[0] for r in rows] == [str(i) for i in range(20)]
    assert rows[0][1].startswith("&lt;script&gt;") and html.unescape(rows[0][1]) == HOSTILE
    assert rows[1][2].endswith("null</span>")
    assert HOSTILE not in page  # the value never reaches the page as markup
    assert "figure, ticket chart, version 1 (image/png)" in page
    assert f'src="data:image/png;base64,{base64.b64encode(png).decode()}"' in page
    assert "Loading widget" not in page


def test_exported_notebook_shows_the_rows_and_the_figure(
    broker: BrokerProcess, tmp_path: Path
) -> None:
    table = pa.table(
        {
            "order": pa.array(range(ROWS)),
            "note": pa.array([HOSTILE if i == 0 else f"n{i}" for i in range(ROWS)]),
            "amount": pa.array([None if i % 2 else i * 1.5 for i in range(ROWS)]),
        }
    )
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1, 0])
    with tb.Session() as pub:
        pub.publish_table(table, "orders")
        pub.publish_figure(fig, "chart")
        plt.close(fig)
        png = pub.fetch_object("chart").bundle.data["image/png"]
        assert isinstance(png, bytes)

        # without saved widget state (JupyterLab's default): the exporter takes the snapshot
        plain = executed(broker.env, store_widget_state=False)
        assert "widgets" not in plain.metadata
        outputs = [o for c in plain.cells for o in c.outputs]
        assert [sorted(o.data) for o in outputs] == [
            [VIEW, "text/html", "text/plain"],
            [VIEW, "image/png", "image/svg+xml", "text/html", "text/plain"],
        ]
        assert (
            outputs[0]
            .data["text/plain"]
            .startswith(
                f"TicketView: table, {ROWS:,} rows x 3 columns, ticket orders, version 1\n"
                "order  note"
            )
        )
        page, _ = HTMLExporter().from_notebook_node(plain)
        check_page(page, png)
        assert f'<script type="{VIEW}">' not in page
        (tmp_path / "plain.html").write_text(page)

        # nbclient saves the views' state by default: the exporter would render the widget
        # (from a CDN, with no kernel behind it) ...
        stored = executed(broker.env, store_widget_state=True)
        page, _ = HTMLExporter().from_notebook_node(stored)
        assert f'<script type="{VIEW}">' in page and table_rows(page) == []
        # ... unless static_views drops that state; the CLI takes the preprocessor by name
        path = tmp_path / "stored.ipynb"
        nbformat.write(stored, path)
    cli = [
        sys.executable,
        "-m",
        "jupyter",
        "nbconvert",
        "--to",
        "html",
        "--HTMLExporter.preprocessors=ticketbooth._snapshot.static_views",
        str(path),
    ]
    subprocess.run(cli, check=True, capture_output=True, timeout=120)
    page = (tmp_path / "stored.html").read_text()
    check_page(page, png)
    assert f'<script type="{VIEW}">' not in page

"""The issue's story in a real JupyterLab: a pydeephaven script (this test process) binds a
table on the broker's Deephaven port and a notebook views it with `tb.view`, live when the
script binds it again; the notebook publishes a figure and a table that pydeephaven reads."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.conftest import start_broker
from tests.e2e.conftest import Lab, browser, reported, running_lab, shot, write_notebook
from tests.e2e.test_lab import open_notebook, run_cells
from tests.pydeephaven_compat.conftest import close_quietly, connect

__all__ = ["browser"]  # the fixture, used by name below

VIEW = ["import ticketbooth as tb", 'tb.view("pdh_sales")']
PUBLISH = [
    """import ticketbooth as tb, pyarrow as pa
import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
s = tb.Session()
fig, ax = plt.subplots(figsize=(4, 2.5)); ax.plot([1, 3, 2]); ax.set_title("from a notebook")
s.publish_figure(fig, "nb_chart")
s.publish_table(pa.table({"k": [1, 2, 3], "who": ["nb", "nb", "nb"]}), "nb_table")
print("published from the notebook")"""
]


def table(version: int, n: int = 1_000_000) -> pa.Table:
    return pa.table(
        {
            "row": pa.array(range(n), pa.int64()),
            "label": pa.array([f"v{version}-{i}" for i in range(n)]),
        }
    )


@pytest.fixture(scope="module")
def pdh_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("pdh-lab")
    broker = start_broker(base / "runtime", "--session-ttl", "5", "--deephaven-port", "0")
    try:
        with running_lab(base, dict(broker.env), broker) as lab:
            yield lab
    finally:
        broker.stop()


@pytest.mark.timeout(600)
def test_pydeephaven_script_and_notebooks(pdh_lab: Lab, browser: Any, tmp_path: Path) -> None:
    broker = pdh_lab.broker
    assert broker is not None
    script = connect(broker)
    held: list[Any] = []  # pydeephaven tables release their tickets when collected
    try:
        first = script.import_table(table(1))
        held.append(first)
        script.bind_table("pdh_sales", first)

        write_notebook(pdh_lab, "View.ipynb", *VIEW)
        write_notebook(pdh_lab, "Publish.ipynb", *PUBLISH)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        pages: list[Any] = []
        with reported(context, pages, "pydeephaven"):
            view = open_notebook(context, pdh_lab, "View.ipynb")
            pages.append(view)
            run_cells(view, 0, 2)
            view.wait_for_selector(".tb-row:not(.tb-placeholder) >> text=v1-0", timeout=60_000)
            assert "1,000,000" in view.locator(".tb-root").first.inner_text()
            shot(view, "pydeephaven-01-viewed")

            second = script.import_table(table(2))
            held.append(second)
            script.bind_table("pdh_sales", second)  # a new version of the name
            view.wait_for_selector(".tb-row:not(.tb-placeholder) >> text=v2-0", timeout=60_000)
            shot(view, "pydeephaven-02-rebound")

            publish = open_notebook(context, pdh_lab, "Publish.ipynb")
            pages.append(publish)
            run_cells(publish, 0, 1)
            publish.wait_for_selector("text=published from the notebook", timeout=120_000)
        context.close()

        objects = script.exportable_objects
        assert objects["nb_chart"].type == "Figure"
        assert objects["nb_table"].type == "Table" and "nb_table" in script.tables
        opened = script.open_table("nb_table")
        held.append(opened)
        assert opened.to_arrow().column("who").to_pylist() == ["nb", "nb", "nb"]
        client = script.plugin_client(objects["nb_chart"])
        try:
            payload, _ = next(client.resp_stream)
        finally:
            client.close()
        png = base64.b64decode(json.loads(payload)["data"]["image/png"])
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        (tmp_path / "nb_chart.png").write_bytes(png)
    finally:
        held.clear()
        close_quietly(script)

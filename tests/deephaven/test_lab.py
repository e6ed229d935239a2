"""A real JupyterLab whose kernels and server extension use a Deephaven server
(TICKETBOOTH_URL=deephaven://...): the broker's notebook code, unchanged, in two notebooks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deephaven_server import DeephavenServer
from tests.e2e.conftest import Lab, browser, reported, running_lab, shot, write_notebook
from tests.e2e.test_lab import open_notebook, run_cells
from tests.e2e.test_panel import item, open_panel

__all__ = ["browser"]  # the fixture, used by name below

PUBLISH = """import ticketbooth as tb, pyarrow as pa
import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
s = tb.Session()
def table(v):
    n = 1_000_000
    return pa.table({"row": pa.array(range(n), pa.int64()),
                     "label": pa.array([f"v{v}-{i}" for i in range(n)])})
s.publish_table(table(1), "dh_lab")
fig, ax = plt.subplots(figsize=(4, 2.5)); ax.plot([1, 3, 2]); ax.set_title("on Deephaven")
s.publish_figure(fig, "dh_fig")
print("published v1 on", s.backend)"""
REPUBLISH = """s.publish_table(table(2), "dh_lab"); print("published v2")"""
VIEW = ["import ticketbooth as tb", 'tb.view("dh_lab")', 'tb.view("dh_fig", height=300)']


@pytest.fixture(scope="module")
def dh_lab(dh: DeephavenServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("dh-lab")
    runtime = base / "runtime"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBOOTH_")}
    env |= {"JUPYTER_RUNTIME_DIR": str(runtime), "TICKETBOOTH_URL": dh.url}
    env["TICKETBOOTH_TOKEN"] = dh.psk or ""
    with running_lab(base, env, None) as lab:
        yield lab


@pytest.mark.timeout(600)
def test_notebooks_share_through_deephaven(dh_lab: Lab, browser: Any, tmp_path: Path) -> None:
    write_notebook(dh_lab, "DhA.ipynb", PUBLISH, REPUBLISH)
    write_notebook(dh_lab, "DhB.ipynb", *VIEW)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pages: list[Any] = []
    with reported(context, pages, "deephaven"):
        a = open_notebook(context, dh_lab, "DhA.ipynb")
        pages.append(a)
        run_cells(a, 0, 1)
        a.wait_for_selector("text=published v1 on deephaven", timeout=120_000)

        b = open_notebook(context, dh_lab, "DhB.ipynb")
        pages.append(b)
        run_cells(b, 0, 3)
        b.wait_for_selector(".tb-row:not(.tb-placeholder) >> text=v1-0", timeout=60_000)
        assert "1,000,000" in b.locator(".tb-root").first.inner_text()
        b.locator(".tb-figure").first.locator("img").first.wait_for(timeout=60_000)
        shot(b, "deephaven-01-viewer")

        b.locator(".tb-scroller").first.evaluate("el => { el.scrollTop = el.scrollHeight; }")
        b.wait_for_selector(".tb-row:not(.tb-placeholder) >> text=v1-999999", timeout=30_000)
        shot(b, "deephaven-02-end")

        run_cells(a, 1, 1)
        a.wait_for_selector("text=published v2", timeout=120_000)
        b.wait_for_selector(".tb-row:not(.tb-placeholder) >> text=v2-999999", timeout=60_000)
        shot(b, "deephaven-03-republished")

        # the Tickets panel lists what the Deephaven server holds
        open_panel(b)
        listed = item(b, "dh_lab")
        listed.wait_for(timeout=30_000)
        assert "1,000,000 rows" in listed.inner_text()
        item(b, "dh_fig").wait_for(timeout=30_000)
        shot(b, "deephaven-04-panel")
    context.close()

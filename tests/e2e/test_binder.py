"""The Binder demo as a visitor runs it: binder/publisher.ipynb and binder/subscriber.ipynb,
unchanged, in a JupyterLab whose server extension runs the broker (as on Binder). The panel
lists what the publisher shares, the subscriber's views render it, and a republish reaches
both."""

from __future__ import annotations

import re
import shutil
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, Lab, reported, shot, wait_listed_version
from tests.e2e.test_lab import open_notebook, run_cells
from tests.e2e.test_panel import item, open_panel

REGIONS = ("north", "south", "east", "west")


@pytest.mark.timeout(600)
def test_binder_notebooks(own_lab: Lab, browser: Any) -> None:
    for name in ("publisher.ipynb", "subscriber.ipynb"):
        shutil.copy(ROOT / "binder" / name, own_lab.root / name)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pages: list[Any] = []
    try:
        with reported(context, pages, "binder"):
            _scenario(context, own_lab, pages)
    finally:
        context.close()


def _scenario(context: Any, lab: Lab, pages: list[Any]) -> None:
    pub = open_notebook(context, lab, "publisher.ipynb")
    pages.append(pub)
    panel = open_panel(pub)
    run_cells(pub, 0, 3)
    pub.wait_for_selector("text=published 1", timeout=180_000)
    # the unlisted ticket is printed, and only the named objects are listed
    shared = pub.get_by_text(re.compile(r"unlisted ticket for the table: shared:[0-9a-f]{32}"))
    assert shared.count() == 1
    sales = item(pub, "sales")
    for name in ("sales", "revenue-chart", "regions"):
        item(pub, name).wait_for(timeout=30_000)
    assert "1,000,000 rows \N{MULTIPLICATION SIGN} 4 columns" in sales.inner_text()
    assert panel.locator(".tb-lab-item").count() == 3
    shot(pub, "binder-01-publisher-panel")

    sub = open_notebook(context, lab, "subscriber.ipynb")
    pages.append(sub)
    run_cells(sub, 0, 5)
    sub.wait_for_selector("text=1000000 ['order', 'region', 'amount', 'at']", timeout=60_000)
    grid = sub.locator(".jp-CodeCell").nth(1).locator(".tb-grid")
    grid.wait_for(timeout=30_000)
    header = grid.locator(".tb-hcell .tb-hname-text").all_inner_texts()
    assert header == ["order", "region", "amount", "at"], header
    first = grid.locator(".tb-row:not(.tb-placeholder)").first
    first.wait_for(timeout=30_000)
    cells = first.locator(".tb-cell").all_inner_texts()
    assert cells[1] == "0" and cells[2] in REGIONS, cells
    meta = sub.locator(".jp-CodeCell").nth(1).locator(".tb-meta").first.inner_text()
    assert "1,000,000 rows" in meta, meta
    mpl = sub.locator(".jp-CodeCell").nth(2).locator(".tb-figure img").first
    mpl.wait_for(timeout=30_000)
    assert mpl.evaluate("img => img.complete && img.naturalWidth > 0")
    sub.locator(".jp-CodeCell").nth(3).locator(".tb-figure .main-svg").first.wait_for(
        timeout=60_000
    )
    sub.locator(".jp-CodeCell").nth(1).evaluate("el => el.scrollIntoView({block: 'start'})")
    shot(sub, "binder-02-subscriber")

    # run the publishing cell again: the panel shows version 2, the subscriber's views follow
    pub.bring_to_front()
    run_cells(pub, 2, 1)
    pub.wait_for_selector("text=published 2", timeout=180_000)
    wait_listed_version(pub, "sales", 2)
    shot(pub, "binder-03-publisher-v2")
    sub.bring_to_front()
    pill = sub.locator(".jp-CodeCell").nth(1).locator(".tb-pill")
    pill.filter(has_text=re.compile(r"v2\b")).wait_for(timeout=30_000)
    sub.locator(".jp-CodeCell").nth(1).evaluate("el => el.scrollIntoView({block: 'start'})")
    shot(sub, "binder-04-subscriber-v2")

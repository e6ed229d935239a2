"""The JupyterLab side panel "Tickets" (labextension/): a notebook publishes a table and
figures; the panel lists them live, opens them without a kernel (grid cells, the figure), and
follows a republish."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import Lab, shot, wait_listed_version, write_notebook
from tests.e2e.test_lab import open_notebook, run_cells

PUBLISHER = [
    """import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt, numpy as np, pyarrow as pa
import plotly.graph_objects as go
import altair as alt
import ticketbooth as tb
s = tb.Session()

def table(tag, n):
    i = np.arange(n)
    return pa.table({"row": i, "value": i * 0.25, "label": [f"{tag}-{k}" for k in i]})

fig, ax = plt.subplots(figsize=(4, 3), dpi=80)
ax.plot(np.arange(20), np.arange(20) ** 0.5)
ax.set_title("panel figure")
""",
    """s.publish_table(table("v1", 1000), "sales")
s.publish_figure(fig, "chart")
s.publish_figure(go.Figure(go.Bar(x=["a", "b", "c"], y=[3, 1, 2])), "bars")
counts = pa.table({"kind": ["a", "b", "c"], "n": [3, 1, 2]}).to_pandas()
s.publish_figure(alt.Chart(counts).mark_bar().encode(x="kind", y="n"), "vl")
print("published v1")""",
    """s.publish_table(table("v2", 2500), "sales")
print("published v2")""",
]


def item(page: Any, name: str) -> Any:
    """The panel's row of `name`."""
    return page.locator(".tb-lab-item").filter(
        has=page.locator(".tb-lab-name", has_text=re.compile(f"^{re.escape(name)}$"))
    )


def open_panel(page: Any) -> Any:
    tab = page.locator('.jp-SideBar.jp-mod-left [data-id="ticketbooth-panel"]')
    tab.wait_for(timeout=30_000)
    tab.click()
    panel = page.locator("#ticketbooth-panel")
    panel.wait_for(state="visible", timeout=10_000)
    return panel


# "/tb-base/": the server under a base URL (lab fixture's indirect parameter); every request
# of the panel (ServerConnection, the EventSource) and of the views must carry it
@pytest.mark.parametrize("lab", ["/", "/tb-base/"], indirect=True)
@pytest.mark.timeout(420)
def test_panel_lists_opens_and_follows(lab: Lab, browser: Any) -> None:
    write_notebook(lab, "publisher.ipynb", *PUBLISHER)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    console: list[str] = []
    context.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    context.on("weberror", lambda e: console.append(f"pageerror: {e.error}"))
    page = None
    try:
        page = open_notebook(context, lab, "publisher.ipynb")
        _scenario(page, "panel" if lab.url.endswith(tuple("0123456789")) else "panel-base")
    except Exception as exc:
        if page is not None:
            shot(page, "panel-99-failure-" + re.sub(r"\W", "", lab.url[-8:]))
        errors = "\n".join(c for c in console if c.startswith(("error", "pageerror")))
        raise AssertionError(f"{exc}\nbrowser errors:\n{errors[:4000]}") from exc
    finally:
        context.close()


def _scenario(page: Any, prefix: str) -> None:
    panel = open_panel(page)
    # before anything is published: the empty state says how to publish
    panel.locator(".tb-lab-empty").wait_for(state="visible", timeout=30_000)
    assert 's.publish_table(df, "sales")' in panel.locator(".tb-lab-empty").inner_text()
    assert panel.locator(".tb-lab-error").is_hidden()
    shot(page, f"{prefix}-00-empty")

    run_cells(page, 0, 2)
    page.wait_for_selector("text=published v1", timeout=120_000)

    # listed live (the change feed), with rows, size, type and version
    sales, chart, bars = item(page, "sales"), item(page, "chart"), item(page, "bars")
    for row in (sales, chart, bars):
        row.wait_for(timeout=30_000)
    assert panel.locator(".tb-lab-empty").is_hidden()
    text = sales.inner_text()
    assert "1,000 rows \N{MULTIPLICATION SIGN} 3 columns" in text, text
    assert re.search(r"\d+(\.\d+)? KiB", text), text
    assert "v1" in sales.locator(".tb-lab-prov").inner_text()
    assert sales.get_attribute("data-version") == "1"
    assert "Figure" in chart.inner_text() and "v1" in chart.inner_text()
    assert "table" in sales.locator(".tb-lab-kind").inner_text().lower()
    # the copy button holds the code to fetch it
    assert 's.fetch_table("sales")' in (sales.locator(".tb-lab-copy").get_attribute("title") or "")
    assert 's.fetch_object("chart")' in (chart.locator(".tb-lab-copy").get_attribute("title") or "")
    # the lab attaches to an outside broker: no release there
    assert sales.locator(".tb-lab-release").count() == 0
    shot(page, f"{prefix}-01-list")

    # open the table: a main-area tab with the grid, no kernel involved
    sales.locator(".tb-lab-open").click()
    view = page.locator("#ticketbooth-view-sales")
    view.locator(".tb-grid").wait_for(timeout=30_000)
    view.locator(".tb-row:not(.tb-placeholder)", has_text="v1-0").first.wait_for(timeout=30_000)
    header = view.locator(".tb-hcell .tb-hname-text").all_inner_texts()
    assert header == ["row", "value", "label"], header
    row7 = view.locator(".tb-row:not(.tb-placeholder)", has_text="v1-7").first
    cells = row7.locator(".tb-cell").all_inner_texts()
    assert cells[1:4] == ["7", "1.75", "v1-7"], cells  # after the row number
    assert "1,000 rows" in view.locator(".tb-meta").inner_text()
    assert "live" in view.locator(".tb-pill").inner_text()
    # sort by value, descending (click twice): the server sorts, the first row is the last
    hvalue = view.locator(".tb-hcell", has_text="value").first
    hvalue.click()
    hvalue.click()
    view.locator(".tb-row:not(.tb-placeholder)").first.filter(has_text="v1-999").wait_for(
        timeout=30_000
    )
    shot(page, f"{prefix}-02-table")

    # the matplotlib figure (its SVG/PNG from the bundle) and the plotly one (the renderer
    # module from the server)
    chart.locator(".tb-lab-open").click()
    fig = page.locator("#ticketbooth-view-chart .tb-figure")
    fig.locator("img").first.wait_for(timeout=30_000)
    assert fig.locator("img").first.evaluate("img => img.complete && img.naturalWidth > 0")
    shot(page, f"{prefix}-03-figure")
    bars.locator(".tb-lab-open").click()
    page.locator("#ticketbooth-view-bars .tb-figure .main-svg").first.wait_for(timeout=60_000)
    shot(page, f"{prefix}-04-plotly")
    # altair's vega-lite (v6 from altair 6) drawn by vega, not shown as its text
    item(page, "vl").locator(".tb-lab-open").click()
    marks = page.locator("#ticketbooth-view-vl .tb-figure .tb-heavy svg .mark-rect path")
    marks.first.wait_for(timeout=60_000)
    assert marks.count() == 3
    shot(page, f"{prefix}-04b-altair")
    # a closed view opens again from the panel
    tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="bars")
    tab.locator(".lm-TabBar-tabCloseIcon").click()
    page.locator("#ticketbooth-view-bars").wait_for(state="detached", timeout=10_000)
    bars.locator(".tb-lab-open").click()
    page.locator("#ticketbooth-view-bars .tb-figure .main-svg").first.wait_for(timeout=60_000)

    # republish: the list shows version 2 and the new row count; the open table follows
    page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="publisher.ipynb").click()
    run_cells(page, 2, 1)
    page.wait_for_selector("text=published v2", timeout=120_000)
    wait_listed_version(page, "sales", 2)
    assert "2,500 rows" in sales.inner_text()
    assert "v2" in sales.locator(".tb-lab-prov").inner_text()
    assert chart.get_attribute("data-version") == "1"
    page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="sales").click()
    view.locator(".tb-row:not(.tb-placeholder)").first.filter(has_text="v2-2499").wait_for(
        timeout=30_000
    )
    assert "2,500 rows" in view.locator(".tb-meta").inner_text()
    shot(page, f"{prefix}-05-republished")


@pytest.mark.timeout(300)
def test_panel_release(own_lab: Lab, browser: Any) -> None:
    """With the broker in the server, Release (a POST with Jupyter's XSRF token) unpublishes."""
    write_notebook(
        own_lab,
        "release.ipynb",
        "import pyarrow as pa, ticketbooth as tb\ns = tb.Session()\n"
        's.publish_table(pa.table({"x": [1, 2, 3]}), "doomed")\n'
        's.publish_table(pa.table({"y": [4]}), "kept")\nprint("both published")',
    )
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = None
    try:
        page = open_notebook(context, own_lab, "release.ipynb")
        panel = open_panel(page)
        run_cells(page, 0, 1)
        page.wait_for_selector("text=both published", timeout=120_000)
        doomed = item(page, "doomed")
        doomed.wait_for(timeout=30_000)
        item(page, "kept").wait_for(timeout=30_000)
        assert "3 rows" in doomed.inner_text()
        doomed.locator(".tb-lab-release").click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for(timeout=10_000)
        shot(page, "panel-06-release-dialog")
        dialog.locator("button", has_text="Release").click()
        doomed.wait_for(state="detached", timeout=30_000)
        assert item(page, "kept").count() == 1
        assert panel.locator(".tb-lab-error").is_hidden(), panel.locator(
            ".tb-lab-error"
        ).inner_text()
    except Exception:
        if page is not None:
            shot(page, "panel-99-release-failure")
        raise
    finally:
        context.close()

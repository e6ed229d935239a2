"""End to end in a real JupyterLab: notebook A publishes a 1M-row table and figures,
notebook B views them, scrolls to the end, and follows A's republish."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import Lab, reported, shot, write_notebook

PUBLISHER = [
    """import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt, numpy as np, pyarrow as pa, pyarrow.compute as pc
import plotly.graph_objects as go
import altair as alt
import ticketbooth as tb
s = tb.Session()
N = 1_000_000

def make(tag):
    i = pa.array(np.arange(N))
    labels = pc.binary_join_element_wise(tag, pc.cast(i, pa.string()), "-")
    when = pc.cast(pc.multiply(i, 60_000_000), pa.timestamp("us"))
    return pa.table({"row": i, "value": pc.multiply(i, 0.5), "label": labels, "when": when})

def chart(title):
    fig, ax = plt.subplots(figsize=(5, 3), dpi=80)
    x = np.arange(60)
    ax.plot(x, np.sin(x / 6) * (2 if "v2" in title else 1))
    ax.set_title(title)
    return fig
""",
    """s.publish_table(make("v1"), "big")
s.publish_figure(chart("revenue v1"), "chart")
s.publish_figure(go.Figure(go.Scatter(x=[1, 2, 3, 4], y=[3, 1, 4, 2])), "plotly-chart")
bars = pa.table({"kind": ["a", "b", "c"], "n": [3, 1, 2]})
s.publish_figure(alt.Chart(bars.to_pandas()).mark_bar().encode(x="kind", y="n"), "altair-chart")
print("published v1")""",
    """s.publish_table(make("v2"), "big")
s.publish_figure(chart("revenue v2"), "chart")
print("published v2")""",
    """s.close()
print("publisher closed")""",
]

VIEWER = [
    'import ticketbooth as tb\ntb.view("big")',
    'tb.view("chart", height=300)',
    'tb.view("plotly-chart", height=360)',
    'tb.view("altair-chart", height=300)',
]


# the first figure's SVG: the data: URL of the <img> it is shown in
FIGURE_MARKUP = """() => {
  const img = document.querySelector('.tb-figure img.tb-svg');
  return img ? img.getAttribute('src') : '';
}"""


def run_cells(page: Any, first: int, count: int) -> None:
    """Run `count` cells from `first`, one by one, and wait until each has run.

    A key press that lands before the kernel connection is ready is lost (Notebook 7 shows
    "Idle" a little early), so a cell that did not start is run again.
    """
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    for k in range(first, first + count):
        prompt = cells.nth(k).locator(".jp-InputArea-prompt")
        for attempt in range(4):
            cells.nth(k).locator(".jp-InputArea-editor").click()
            page.keyboard.press("Shift+Enter")
            try:
                prompt.filter(has_text=re.compile(r"\[(\*|\d+)\]")).wait_for(timeout=15_000)
                break
            except Exception:
                if attempt == 3:
                    raise
        prompt.filter(has_text=re.compile(r"\[\d+\]")).wait_for(timeout=180_000)


def open_notebook(context: Any, lab: Lab, name: str) -> Any:
    page = context.new_page()
    page.goto(lab.page_url(name))
    page.wait_for_selector(".jp-Notebook .jp-CodeCell .jp-InputArea-editor", timeout=90_000)
    page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle")).wait_for(timeout=90_000)
    no_news = page.get_by_role("button", name="No", exact=True)
    if no_news.count():
        no_news.first.click()
    return page


@pytest.mark.timeout(600)
def test_publish_view_scroll_and_follow(lab: Lab, browser: Any) -> None:
    write_notebook(lab, "A.ipynb", *PUBLISHER)
    write_notebook(lab, "B.ipynb", *VIEWER)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if re.match(
            r"^(https?|wss?)://127\.0\.0\.1[:/]", route.request.url
        ) or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)

    pages: list[Any] = []
    with reported(context, pages, "lab") as console:
        _scenario(context, lab, pages)
    assert outside == [], f"requests left the machine: {outside[:5]}"
    ours = [c for c in console if "ticketbooth" in c and c.startswith(("warning", "error"))]
    assert ours == [], ours  # e.g. anywidget's deprecation warning for a named render export
    context.close()


def _scenario(context: Any, lab: Lab, pages: list[Any]) -> None:
    a = open_notebook(context, lab, "A.ipynb")
    pages.append(a)
    run_cells(a, 0, 2)
    a.wait_for_selector("text=published v1", timeout=120_000)
    shot(a, "01-publisher")

    b = open_notebook(context, lab, "B.ipynb")
    pages.append(b)
    run_cells(b, 0, 4)
    grid = b.locator(".tb-grid").first
    grid.wait_for(timeout=60_000)
    b.wait_for_selector(".tb-row:not(.tb-placeholder) >> text=v1-0", timeout=60_000)
    header = b.locator(".tb-hcell .tb-hname-text").all_inner_texts()
    assert header[:4] == ["row", "value", "label", "when"]
    assert "1,000,000" in b.locator(".tb-root").first.inner_text()
    grid.evaluate("el => el.closest('.tb-root').scrollIntoView({block: 'start'})")
    shot(b, "02-viewer-top")

    # jump to the end of the table: the last rows are there and right
    b.locator(".tb-scroller").first.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    b.wait_for_selector(".tb-row:not(.tb-placeholder) >> text=v1-999999", timeout=30_000)
    last_row = b.locator(".tb-row:not(.tb-placeholder)", has_text="v1-999999").first
    cells = last_row.locator(".tb-cell").all_inner_texts()
    assert "999,999" in cells and "499,999.5" in cells, cells
    assert "1971-11-26 10:39:00" in cells, cells  # 999,999 minutes after 1970-01-01
    grid.evaluate("el => el.closest('.tb-root').scrollIntoView({block: 'start'})")
    shot(b, "03-viewer-end")

    # the figures: matplotlib's SVG as an image, plotly interactive from the kernel-sent
    # renderer (no CDN)
    b.locator(".tb-figure").first.locator("img.tb-svg").wait_for(timeout=30_000)
    svg_v1 = b.evaluate(FIGURE_MARKUP)
    assert svg_v1.startswith("data:image/svg+xml;charset=utf-8;base64,")
    b.locator(".tb-figure .main-svg").first.wait_for(timeout=60_000)
    # altair's vega-lite spec (whatever version altair writes) drawn by vega, not as text
    bars = b.locator(
        ".tb-figure .tb-heavy[data-mime^='application/vnd.vegalite'] svg .mark-rect path"
    )
    bars.first.wait_for(timeout=60_000)
    assert bars.count() == 3
    b.locator(".tb-figure").nth(1).scroll_into_view_if_needed()
    shot(b, "04-viewer-figures")
    b.locator(".tb-figure").nth(2).scroll_into_view_if_needed()
    shot(b, "04b-viewer-altair")

    # A republishes: B's grid stays at the end and shows the new rows; the figure changes
    run_cells(a, 2, 1)
    a.wait_for_selector("text=published v2", timeout=120_000)
    b.locator(".tb-grid").first.scroll_into_view_if_needed()
    b.wait_for_selector(".tb-row:not(.tb-placeholder) >> text=v2-999999", timeout=30_000)
    b.wait_for_function(f"old => ({FIGURE_MARKUP})() !== old", arg=svg_v1, timeout=30_000)
    shot(b, "05-viewer-after-republish")

    # A closes its session: B keeps the last content and says the publisher is gone
    run_cells(a, 3, 1)
    a.wait_for_selector("text=publisher closed", timeout=60_000)
    banner = b.locator(".tb-banner.tb-show").first
    banner.wait_for(timeout=30_000)
    assert "Publisher gone: its session was closed" in banner.inner_text()
    assert b.locator(".tb-row:not(.tb-placeholder)", has_text="v2-999999").count() == 1
    shot(b, "08-publisher-gone")

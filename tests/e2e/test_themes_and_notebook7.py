"""The widget in Notebook 7, and in JupyterLab's dark theme."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Lab, shot, write_notebook
from tests.e2e.test_lab import open_notebook, run_cells

SETUP = """import numpy as np, pyarrow as pa, ticketbooth as tb
s = tb.Session()
s.publish_table(pa.table({"n": np.arange(5000), "sq": np.arange(5000) ** 2,
                          "name": [f"name-{i}" for i in range(5000)]}), "small")
class Card:
    def _repr_html_(self):
        return "<h3 style='font-family:sans-serif'>Quarterly card</h3><p>shared HTML</p>"
s.publish_figure(Card(), "card")
tb.view("small", height=260)"""

LUMINANCE = """el => {
  const c = getComputedStyle(el).backgroundColor.match(/\\d+(\\.\\d+)?/g).map(Number);
  return (0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]) / 255;
}"""


def set_theme(page: Any, name: str) -> None:
    """Through the command palette, as a user would."""
    page.keyboard.press("Escape")
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".lm-CommandPalette-input").first
    palette.wait_for(timeout=10_000)
    palette.fill(f"Use Theme: {name}")
    page.locator(".lm-CommandPalette-item", has_text=f"Use Theme: {name}").first.click()


def _grid_ready(page: Any) -> None:
    page.wait_for_selector(".tb-row:not(.tb-placeholder) >> text=name-0", timeout=60_000)


@pytest.mark.timeout(300)
def test_notebook7(lab: Lab, browser: Any) -> None:
    write_notebook(lab, "N7.ipynb", SETUP, 'tb.view("card", height=200)')
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(f"{lab.url}/notebooks/N7.ipynb?token={lab.token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell .jp-InputArea-editor", timeout=90_000)
    page.get_by_text("Kernel status: Idle").first.wait_for(state="attached", timeout=90_000)
    run_cells(page, 0, 2)
    _grid_ready(page)
    assert "5,000" in page.locator(".tb-root").first.inner_text()
    frame = page.frame_locator(".tb-figure iframe").first
    frame.get_by_text("Quarterly card").wait_for(timeout=30_000)
    sandbox = page.locator(".tb-figure iframe").first.get_attribute("sandbox")
    assert sandbox is not None and "allow-same-origin" not in sandbox
    shot(page, "06-notebook7")
    page.close()


@pytest.mark.timeout(300)
def test_dark_theme(lab: Lab, browser: Any) -> None:
    write_notebook(lab, "Dark.ipynb", SETUP)
    context = browser.new_context(viewport={"width": 1200, "height": 700})
    page = open_notebook(context, lab, "Dark.ipynb")
    run_cells(page, 0, 1)
    _grid_ready(page)
    root = page.locator(".tb-root").first
    assert root.evaluate(LUMINANCE) > 0.8  # light theme: a light grid
    set_theme(page, "JupyterLab Dark")
    page.wait_for_function(
        f"() => ({LUMINANCE})(document.querySelector('.tb-root')) < 0.3", timeout=30_000
    )
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=30_000)
    _grid_ready(page)
    shot(page, "07-dark-theme")
    set_theme(page, "JupyterLab Light")  # back to light for whoever comes next
    context.close()

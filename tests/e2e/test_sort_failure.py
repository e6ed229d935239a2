"""A sort the kernel cannot do, clicked in a real JupyterLab: the grid keeps the order it
shows, says why, and stops saying "sorting…" (through ipywidgets' real state round trip)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import Lab, shot, write_notebook
from tests.e2e.test_lab import open_notebook, run_cells

SETUP = """import pyarrow as pa, ticketbooth as tb
s = tb.Session()
s.publish_table(pa.table({"n": [3, 1, 2], "tags": [[1, 2], [3], []], "name": ["c", "a", "b"]}),
                "odd-sort")
tb.view("odd-sort", height=240)"""

STATE = """() => {
  const root = document.querySelector('.tb-root');
  const sortOf = (name) => [...root.querySelectorAll('.tb-hcell')]
    .find((h) => h.querySelector('.tb-hname-text')?.textContent === name)
    ?.getAttribute('aria-sort');
  const rows = [...root.querySelectorAll('.tb-row:not(.tb-placeholder)')]
    .filter((r) => r.style.display !== 'none')
    .sort((a, b) => Number(a.dataset.row) - Number(b.dataset.row));
  return {
    range: root.querySelector('.tb-range').textContent,
    msg: root.querySelector('.tb-msg').textContent,
    n: sortOf('n'),
    tags: sortOf('tags'),
    names: rows.map((r) => r.querySelectorAll('.tb-cell')[3].textContent),
  };
}"""


def header(page: Any, name: str) -> Any:
    text = page.locator(".tb-hname-text", has_text=re.compile(f"^{name}$"))
    return page.locator(".tb-hcell", has=text).first


@pytest.mark.timeout(300)
def test_a_failed_sort_in_the_browser(lab: Lab, browser: Any) -> None:
    write_notebook(lab, "Sort.ipynb", SETUP)
    context = browser.new_context(viewport={"width": 1200, "height": 700})
    page = open_notebook(context, lab, "Sort.ipynb")
    run_cells(page, 0, 1)
    page.wait_for_selector(".tb-row:not(.tb-placeholder) >> text=c", timeout=60_000)

    header(page, "n").click()  # a sort the kernel can do
    page.wait_for_function(f"() => ({STATE})().names.join() === 'a,b,c'", timeout=30_000)
    state = page.evaluate(STATE)
    assert state["n"] == "ascending" and "sorting" not in state["range"], state

    header(page, "tags").click()  # list<int64>: pyarrow cannot sort it
    page.wait_for_function(
        f"() => {{ const s = ({STATE})(); return s.msg.includes(\"'tags'\") && "
        "!s.range.includes('sorting'); }",
        timeout=30_000,
    )
    state = page.evaluate(STATE)
    assert "cannot sort by 'tags'" in state["msg"] and "list<item: int64>" in state["msg"]
    assert state["tags"] == "none" and state["n"] == "ascending", state
    assert state["names"] == ["a", "b", "c"], state  # the order shown is unchanged
    page.locator(".tb-root").first.scroll_into_view_if_needed()
    shot(page, "11-sort-failure")
    context.close()

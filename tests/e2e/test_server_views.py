"""Views that keep working without their kernel: the server extension serves the rows.

Notebook A publishes a 1M-row table; notebook B views it. While B's kernel sleeps (busy) and
after it is shut down, B's grid still scrolls to rows it has not loaded and shows them right,
fetched over HTTP from `{base_url}ticketbooth/api/`; after the shutdown it also follows A's
republish through the server's events. The same under `--ServerApp.base_url=/prefix/`.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Lab, shot, write_notebook
from tests.e2e.test_lab import run_cells

PUBLISHER = [
    """import numpy as np, pyarrow as pa, pyarrow.compute as pc
import ticketbooth as tb
s = tb.Session()
N = 1_000_000

def make(tag):
    i = pa.array(np.arange(N))
    labels = pc.binary_join_element_wise(tag, pc.cast(i, pa.string()), "-")
    return pa.table({"row": i, "value": pc.multiply(i, 0.5), "label": labels})

s.publish_table(make("v1"), "{name}")
print("published v1")""",
    """s.publish_table(make("v2"), "{name}")
print("published v2")""",
]

VIEWER = [
    'import ticketbooth as tb\ntb.view("{name}")',
    'import time\ntime.sleep(30)\nprint("slept")',
    # libc's sleep through PyDLL keeps the GIL: no thread of the kernel can answer (a
    # time.sleep cell does not stop Lab's comm messages, which ipykernel 7 can handle on a
    # subshell thread meanwhile)
    'import ctypes\nctypes.PyDLL(None).sleep(20)\nprint("slept with the GIL")',
]

# the rows on screen: [data-row, cell texts] for each loaded (not placeholder) row
VISIBLE_ROWS = """() => [...document.querySelectorAll('.tb-row:not(.tb-placeholder)')]
  .filter(r => r.style.display !== 'none' && r.dataset.row !== undefined)
  .map(r => [Number(r.dataset.row), [...r.querySelectorAll('.tb-cell')].map(c => c.textContent)])"""


def api(lab: Lab, method: str, path: str) -> Any:
    req = urllib.request.Request(
        f"{lab.url}/{path}", method=method, headers={"Authorization": f"token {lab.token}"}
    )
    with urllib.request.urlopen(req, timeout=30) as res:
        body = res.read()
    return json.loads(body) if body else None


def shut_down_kernels(lab: Lab) -> None:
    """The next test starts without this one's publishers and viewers."""
    for kernel in api(lab, "GET", "api/kernels"):
        api(lab, "DELETE", f"api/kernels/{kernel['id']}")


def kernel_of(lab: Lab, notebook: str) -> str:
    for session in api(lab, "GET", "api/sessions"):
        if session["path"].endswith(notebook):
            return str(session["kernel"]["id"])
    raise AssertionError(f"no session for {notebook}")


def scroll_to(page: Any, fraction: float) -> None:
    page.locator(".tb-scroller").first.evaluate(
        "(el, f) => { el.scrollTop = f * (el.scrollHeight - el.clientHeight); }", fraction
    )


def wait_rows(page: Any, tag: str, lo: int, hi: int, timeout_s: float = 20) -> list[Any]:
    """Wait until the grid shows loaded rows in [lo, hi); check every shown row's values."""
    deadline = time.monotonic() + timeout_s
    rows: list[Any] = []
    while time.monotonic() < deadline:
        rows = page.evaluate(VISIBLE_ROWS)
        inside = [r for r in rows if lo <= r[0] < hi]
        if len(inside) >= 5 and all(_right(tag, r) for r in rows):
            return rows
        page.wait_for_timeout(200)
    raise AssertionError(f"rows {lo}..{hi} of {tag} not shown right; on screen: {rows[:6]}")


def _right(tag: str, row: list[Any]) -> bool:
    """A row shows its own values: row number, row, value = row / 2, label = tag-row."""
    r, cells = row  # [row number, row, value, label, (filler)]
    values = cells[1:4]
    half = f"{r / 2:,.1f}".removesuffix(".0")
    return values == [f"{r:,}", half, f"{tag}-{r}"]


def window_requests(requests: list[str], prefix: str) -> list[str]:
    return [u for u in requests if f"{prefix}ticketbooth/api/window?" in u]


def start_sleep(page: Any, index: int) -> Any:
    """Run the viewer's sleeping cell `index` without waiting for it; returns its prompt."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").nth(index)
    prompt = cell.locator(".jp-InputArea-prompt")
    for _ in range(4):
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        try:
            prompt.filter(has_text="[*]").wait_for(timeout=10_000)
            return prompt
        except Exception:
            continue
    raise AssertionError("the sleep cell did not start")


def open_notebook(context: Any, lab: Lab, name: str) -> Any:
    """Open `name` alone in a new workspace (a shared one reopens other tests' notebooks)."""
    page = context.new_page()
    workspace = name.removesuffix(".ipynb")
    page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/{name}?token={lab.token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell .jp-InputArea-editor", timeout=90_000)
    page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle")).wait_for(timeout=90_000)
    assert page.locator(".jp-Notebook").count() == 1, "other notebooks opened in the page"
    return page


@contextlib.contextmanager
def pages(lab: Lab, browser: Any, tag: str) -> Iterator[tuple[Any, Any, list[str], list[str]]]:
    """Notebooks A and B of `tag` (setup_pages), the URLs the pages asked for and their
    console. A failure inside shows both pages and the console; the kernels are shut down
    after."""
    context, a, b, requests, console = setup_pages(lab, browser, tag)
    try:
        yield a, b, requests, console
    except Exception as exc:
        shot(a, f"server-{tag}-99-failure-publisher")
        shot(b, f"server-{tag}-99-failure")
        raise AssertionError(f"{exc}\nconsole:\n" + "\n".join(console[-30:])) from exc
    finally:
        context.close()
        shut_down_kernels(lab)


def setup_pages(lab: Lab, browser: Any, tag: str) -> tuple[Any, Any, Any, list[str], list[str]]:
    scope = f"big-{tag}"  # a scope of its own per test
    a_name = write_notebook(lab, f"A-{tag}.ipynb", *(c.replace("{name}", scope) for c in PUBLISHER))
    b_name = write_notebook(lab, f"B-{tag}.ipynb", *(c.replace("{name}", scope) for c in VIEWER))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    console: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    context.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    a = open_notebook(context, lab, a_name)
    run_cells(a, 0, 1)
    a.wait_for_selector("text=published v1", timeout=120_000)
    b = open_notebook(context, lab, b_name)
    run_cells(b, 0, 1)
    b.locator(".tb-grid").first.wait_for(timeout=60_000)
    wait_rows(b, "v1", 0, 10, timeout_s=60)
    b.locator(".tb-grid").first.evaluate(
        "el => el.closest('.tb-root').scrollIntoView({block: 'start'})"
    )
    return context, a, b, requests, console


@pytest.mark.timeout(600)
def test_idle_kernel_view_jumps_with_the_servers_rows(lab: Lab, browser: Any) -> None:
    """An unsorted view asks the server first (its answer comes sooner than the kernel's),
    and then tells the kernel which rows it shows: A's republish repaints those rows from the
    kernel's push, with no window asked for again."""
    with pages(lab, browser, "idle") as (a, b, requests, _console):
        scroll_to(b, 0.6)
        wait_rows(b, "v1", 599_000, 601_000)
        asked = len(window_requests(requests, "/"))
        assert asked >= 1, "the jump did not ask the server"
        b.wait_for_timeout(1000)  # the kernel is told the rows in view (after 300 ms)
        run_cells(a, 1, 1)
        a.wait_for_selector("text=published v2", timeout=120_000)
        wait_rows(b, "v2", 599_000, 601_000, timeout_s=60)
        assert len(window_requests(requests, "/")) == asked, "v2's rows were asked for again"
        shot(b, "server-00-idle-kernel-jump-then-v2")


@pytest.mark.timeout(600)
def test_busy_kernel_view_scrolls(lab: Lab, browser: Any) -> None:
    with pages(lab, browser, "busy") as (_a, b, requests, _console):
        assert not window_requests(requests, "/"), "HTTP was asked while the kernel answered"
        # (a) time.sleep(30): the grid scrolls to rows it has not loaded, before the sleep ends
        prompt = start_sleep(b, 1)
        t0 = time.monotonic()
        scroll_to(b, 1.0)
        rows = wait_rows(b, "v1", 999_990, 1_000_000)
        assert any(r[0] == 999_999 for r in rows), rows[-3:]
        scroll_to(b, 0.5)
        wait_rows(b, "v1", 499_000, 501_000)
        assert time.monotonic() - t0 < 25, "the rows waited for the sleep to end"
        assert prompt.inner_text().strip() == "[*]:", "the kernel is not busy any more"
        shot(b, "server-01-time-sleep-middle")
        over_http = len(window_requests(requests, "/"))
        prompt.filter(has_text="[2]").wait_for(timeout=60_000)

        # (a') a sleep that holds the GIL: only the server can answer, so the rows come over
        # HTTP (after the grace) and are right
        prompt = start_sleep(b, 2)
        b.wait_for_timeout(500)
        t0 = time.monotonic()
        scroll_to(b, 0.25)
        wait_rows(b, "v1", 249_000, 251_000)
        scroll_to(b, 0.75)
        wait_rows(b, "v1", 749_000, 751_000)
        assert time.monotonic() - t0 < 15, "the rows waited for the kernel"
        assert prompt.inner_text().strip() == "[*]:", "the kernel is not busy any more"
        shot(b, "server-02-gil-sleep-three-quarters")
        assert len(window_requests(requests, "/")) > over_http, "no window came over HTTP"
        print(f"time.sleep: {over_http} windows over HTTP")


def _kernel_gone(lab: Lab, browser: Any, prefix: str, tag: str) -> None:
    with pages(lab, browser, tag) as (a, b, requests, console):
        kernel = kernel_of(lab, f"B-{tag}.ipynb")
        api(lab, "DELETE", f"api/kernels/{kernel}")
        assert kernel not in [k["id"] for k in api(lab, "GET", "api/kernels")]
        b.wait_for_timeout(1500)
        shot(b, f"server-{tag}-01-kernel-shut-down")
        before = len(window_requests(requests, prefix))
        scroll_to(b, 1.0)
        wait_rows(b, "v1", 999_990, 1_000_000)
        scroll_to(b, 0.3)
        wait_rows(b, "v1", 299_000, 301_000)
        shot(b, f"server-{tag}-02-scrolled-without-kernel")
        assert len(window_requests(requests, prefix)) > before, f"no window under {prefix}"

        # A republishes: B (no kernel) follows the server's events and shows the new rows
        run_cells(a, 1, 1)
        a.wait_for_selector("text=published v2", timeout=120_000)
        b.bring_to_front()
        wait_rows(b, "v2", 299_000, 301_000, timeout_s=30)
        scroll_to(b, 1.0)
        wait_rows(b, "v2", 999_990, 1_000_000)
        assert "v2" in b.locator(".tb-pill").first.inner_text()
        shot(b, f"server-{tag}-03-republished-without-kernel")
        pages_errors = [c for c in console if c.startswith("error") and "ticketbooth" in c]
        assert not pages_errors, pages_errors


@pytest.mark.timeout(600)
def test_view_without_kernel_scrolls_and_follows(lab: Lab, browser: Any) -> None:
    _kernel_gone(lab, browser, "/", "gone")


@pytest.mark.timeout(600)
@pytest.mark.parametrize("lab", ["/prefix/"], indirect=True)
def test_view_without_kernel_under_base_url(lab: Lab, browser: Any) -> None:
    assert re.search(r":\d+/prefix$", lab.url), lab.url
    _kernel_gone(lab, browser, "/prefix/", "prefix")

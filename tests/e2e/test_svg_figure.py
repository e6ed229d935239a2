"""Shared SVG in a real JupyterLab: shown as an <img>, so nothing in it ever runs.

The payloads would run in the lab's origin if the SVG were put into the page: a click on
the figure follows an <a> whose href an <animate>/<set> turns into javascript: (a blocklist
sanitizer let those through), and onload/<script>/onerror run on their own."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.e2e.conftest import Lab, shot, write_notebook
from tests.e2e.test_lab import open_notebook, run_cells

PWN = "window.__tb_pwned = 1; alert('pwned')"
INNER = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{PWN}"><script>{PWN}</script></svg>'
EVIL = f"""<svg xmlns="http://www.w3.org/2000/svg" width="420" height="140" onload="{PWN}">
<script>{PWN}</script>
<a><animate attributeName="href" values="javascript:void(window.__tb_pwned = 1)"/>
<rect width="210" height="140" fill="#2e7d32"/></a>
<a><set attributeName="href" to="javascript:void(window.__tb_pwned = 1)"/>
<rect x="210" width="210" height="140" fill="#1565c0"/></a>
<use href="data:image/svg+xml;base64,{base64.b64encode(INNER.encode()).decode()}#x"/>
<image href="nowhere.png" width="1" height="1" onerror="{PWN}"/>
<text x="24" y="80" font-family="sans-serif" font-size="26" fill="#fff" pointer-events="none"
>shared SVG ✓ Umsatz € ñ</text>
</svg>"""

SETUP = f"""import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt, numpy as np
import ticketbooth as tb
s = tb.Session()
EVIL = {EVIL!r}
class Evil:
    def _repr_mimebundle_(self, include=None, exclude=None):
        return {{"image/svg+xml": EVIL}}
s.publish_figure(Evil(), "evil-svg")
fig, ax = plt.subplots(figsize=(5, 3))
x = np.linspace(0, 12, 200)
ax.plot(x, np.sin(x)); ax.set_title("Umsatz € — ñ")
s.publish_figure(fig, "mpl-svg")
print("published", sorted(s.fetch_object("mpl-svg").mimebundle))"""

# what the k-th figure holds: element tags (shadow roots included), and its image
FIGURE = """k => {
  const fig = document.querySelectorAll('.tb-figure')[k];
  const all = [...fig.querySelectorAll('*')];
  const img = fig.querySelector('img');
  const src = img ? img.getAttribute('src') : '';
  const b64 = src.slice(src.indexOf(',') + 1);
  const text = new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  return {
    tags: all.map((e) => e.tagName.toLowerCase()),
    shadow: all.some((e) => e.shadowRoot),
    prefix: src.slice(0, src.indexOf(',') + 1),
    text,
    natural: [img.naturalWidth, img.naturalHeight],
    shown: [img.clientWidth, img.clientHeight],
    room: fig.clientWidth,
    meta: fig.closest('.tb-root').querySelector('.tb-meta').textContent,
  };
}"""
LOADED = """k => {
  const img = document.querySelectorAll('.tb-figure')[k]?.querySelector('img.tb-svg');
  return !!img && img.complete && img.naturalWidth > 0;
}"""


@pytest.mark.timeout(300)
def test_shared_svg_is_an_inert_image(lab: Lab, browser: Any) -> None:
    write_notebook(
        lab, "Svg.ipynb", SETUP, 'tb.view("evil-svg", height=220)', 'tb.view("mpl-svg", height=420)'
    )
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    dialogs: list[str] = []
    page = open_notebook(context, lab, "Svg.ipynb")
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    url = page.url
    run_cells(page, 0, 2)
    page.wait_for_selector("text=published ['image/png', 'image/svg+xml', 'text/plain']")
    page.wait_for_function(LOADED, arg=0, timeout=30_000)

    evil = page.evaluate(FIGURE, 0)
    assert evil["tags"] == ["img"] and not evil["shadow"], evil["tags"]
    assert evil["prefix"] == "data:image/svg+xml;charset=utf-8;base64,"
    assert evil["text"] == EVIL  # all of it, as UTF-8, only inside the data: URL
    assert evil["natural"] == [420, 140] and evil["shown"] == [420, 140]
    assert evil["meta"] == "image/svg+xml"
    assert page.evaluate("document.querySelectorAll('.tb-root svg, .tb-root script').length") == 0
    img = page.locator(".tb-figure img").first
    img.click(position={"x": 100, "y": 70})  # over the <a> the <animate> would arm
    img.click(position={"x": 320, "y": 70})  # over the <a> the <set> would arm
    img.scroll_into_view_if_needed()
    shot(page, "09-svg-payload-as-image")

    # an ordinary matplotlib figure (PNG + SVG): the SVG is shown, at its natural size
    run_cells(page, 2, 1)
    page.wait_for_function(LOADED, arg=1, timeout=30_000)
    mpl = page.evaluate(FIGURE, 1)
    assert mpl["tags"] == ["img"] and mpl["meta"] == "image/svg+xml"
    assert "Umsatz € — ñ" in mpl["text"]  # matplotlib notes text in comments: UTF-8 kept
    width, height = mpl["natural"]
    assert 400 < width < 500 and 250 < height < 320, mpl["natural"]  # 5 x 3 in, in pt -> px
    assert mpl["shown"] == mpl["natural"] and width <= mpl["room"]
    page.locator(".tb-figure").nth(1).scroll_into_view_if_needed()
    shot(page, "10-svg-matplotlib")

    # by now the clicks' navigations and the image loads are long done: nothing ran
    assert page.evaluate("window.__tb_pwned") is None
    assert dialogs == [] and page.url == url
    context.close()

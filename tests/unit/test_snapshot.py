"""Static snapshots of a TicketView (ticketbooth._snapshot): escaping, caps, types, figures."""

from __future__ import annotations

import base64
import datetime
import decimal
import html.parser
from typing import Any

import pyarrow as pa
import pytest

from ticketbooth import _snapshot as snap
from ticketbooth._windows import TableWindows

TABLE_TAGS = {"div", "table", "thead", "tbody", "tr", "th", "td", "br", "span"}


class Parsed(html.parser.HTMLParser):
    """Tags, attributes and text of a snapshot, as a browser's parser sees them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def rows_of(text: str) -> list[list[str]]:
    """The body rows of a snapshot's table as lists of cell texts."""

    class Rows(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.rows: list[list[str]] = []
            self.body = False
            self.cell: list[str] | None = None

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag == "tbody":
                self.body = True
            elif tag == "tr" and self.body:
                self.rows.append([])
            elif tag == "td":
                self.cell = []

        def handle_endtag(self, tag: str) -> None:
            if tag == "td" and self.cell is not None:
                self.rows[-1].append("".join(self.cell))
                self.cell = None

        def handle_data(self, data: str) -> None:
            if self.cell is not None:
                self.cell.append(data)

    parser = Rows()
    parser.feed(text)
    return parser.rows


def render(table: pa.Table, **kw: Any) -> str:
    args = {"num_rows": table.num_rows, "ticket": "sales", "version": 3, **kw}
    return snap.table_html(table, **args)


HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>&amp;'


def test_every_value_name_type_and_ticket_is_escaped() -> None:
    struct = pa.struct([pa.field(HOSTILE, pa.int64())])  # the name reaches the type's text
    table = pa.table(
        {
            HOSTILE: pa.array([HOSTILE, None]),
            "nested": pa.array([{HOSTILE: 1}, None], struct),
            "b": pa.array([HOSTILE.encode(), b"\x00<"]),
        }
    )
    out = render(table, ticket=HOSTILE)
    parsed = Parsed(out)
    assert {tag for tag, _ in parsed.tags} <= TABLE_TAGS
    attrs = {name for _, a in parsed.tags for name in a}
    assert attrs <= {"class", "style", "title", snap.MARKER}, attrs
    assert "<script" not in out and "<img" not in out
    assert rows_of(out)[0][0] == HOSTILE  # shown as text, exactly
    assert rows_of(out)[1][0] == "null"
    titles = [a["title"] for tag, a in parsed.tags if tag == "th"]
    assert titles[1] == str(struct)  # the type, intact inside a quoted attribute
    caption = "".join(parsed.text)
    assert f"ticket {HOSTILE}, version 3" in caption


def test_status_and_figure_captions_are_escaped() -> None:
    out = snap.status_bundle("loading", HOSTILE, ticket=HOSTILE)
    assert {tag for tag, _ in Parsed(out["text/html"]).tags} == {"div"}
    assert HOSTILE in "".join(Parsed(out["text/html"]).text)
    fig, _ = snap.figure_bundle({"text/plain": "x"}, {}, ticket=HOSTILE, version=1)
    assert {tag for tag, _ in Parsed(fig["text/html"]).tags} == {"div"}


def test_rows_columns_and_cells_are_capped() -> None:
    n, width = 1_000, 80
    table = pa.table({f"c{j}": pa.array(range(j, j + n)) for j in range(width)})
    table = table.append_column("long", pa.array(["y" * 10_000] * n))
    out = render(table)
    rows = rows_of(out)
    assert len(rows) == snap.MAX_ROWS == 20
    assert all(len(r) == snap.MAX_COLUMNS == 50 for r in rows)
    assert [r[0] for r in rows] == [str(i) for i in range(20)]
    text = "".join(Parsed(out).text)
    assert "1,000 rows x 81 columns, ticket sales, version 3" in text
    assert "first 20 rows, first 50 columns" in text and "… 980 more rows" in text
    assert len(out) < 60_000

    long = render(pa.table({"s": ["y" * 10_000], "b": [b"\x01" * 10_000]}))
    cells = rows_of(long)[0]
    assert all(len(c) <= snap.MAX_CELL for c in cells), [len(c) for c in cells]
    assert cells[0].endswith("…") and cells[1].startswith("b'\\x01") and cells[1].endswith("…'")
    assert len(long) < 2_000


def test_a_small_table_says_nothing_is_left_out() -> None:
    out = render(pa.table({"a": [1]}))
    text = "".join(Parsed(out).text)
    assert "1 row x 1 column, ticket sales, version 3 (snapshot when the cell ran)" in text
    assert "more row" not in text and "first" not in text
    empty = render(pa.table({"a": pa.array([], pa.int64())}))
    assert rows_of(empty) == [] and "0 rows x 1 column" in empty


def test_types_nulls_timestamps_binary_nested() -> None:
    ts = pa.array([1_767_225_600_000_000_001, None], pa.timestamp("ns", tz="UTC"))
    ext_ok = hasattr(pa, "uuid")
    columns: dict[str, pa.Array] = {
        "int": pa.array([2**62, None]),
        "float": pa.array([1.5, None]),
        "nan": pa.array([float("nan"), float("-inf")]),
        "bool": pa.array([True, None]),
        "ts_ns_utc": ts,
        "ts_naive": pa.array([datetime.datetime(2026, 1, 1, 12, 30), None]),
        "date": pa.array([datetime.date(2026, 1, 2), None]),
        "dur": pa.array([1500, None], pa.duration("ms")),
        "dec": pa.array([decimal.Decimal("1.50"), None]),
        "bin": pa.array([b"\x00\xffab", None]),
        "list": pa.array([[1, None, 3], None]),
        "struct": pa.array([{"x": 1, "y": "z"}, None]),
        "map": pa.array([[("k", 1)], None], pa.map_(pa.string(), pa.int64())),
        "dict": pa.array(["north", None]).dictionary_encode(),
        "null": pa.array([None, None], pa.null()),
        "view": pa.array(["v", None], pa.string_view()),
    }
    if ext_ok:
        columns["uuid"] = pa.array([b"\x11" * 16, None], pa.uuid())
    table = pa.table(columns)
    rows = rows_of(render(table))
    got = dict(zip(table.schema.names, zip(*rows, strict=True), strict=True))
    nulls = {k for k, v in got.items() if v[1] == "null"}
    assert nulls == set(got) - {"nan"}, got  # every second value is null
    first = {k: v[0] for k, v in got.items()}
    assert first["int"] == str(2**62)
    assert first["float"] == "1.5" and got["nan"] == ("nan", "-inf")
    assert first["bool"] == "true"
    assert first["ts_ns_utc"] == "2026-01-01 00:00:00.000000001Z"  # nanoseconds kept
    assert first["ts_naive"].startswith("2026-01-01 12:30:00")
    assert first["date"] == "2026-01-02"
    assert first["dur"] == "1500 ms"
    assert first["dec"] == "1.50"
    assert first["bin"] == "b'\\x00\\xffab'"
    assert first["list"] == "[1, null, 3]"
    assert first["struct"] == '{"x": 1, "y": "z"}'
    assert first["map"] == '[["k", 1]]'
    assert first["dict"] == "north"
    assert first["view"] == "v"
    if ext_ok:
        assert first["uuid"] == "11111111-1111-1111-1111-111111111111"  # as_py: a UUID


def test_view_bundle_follows_the_sort_shown() -> None:
    windows = TableWindows(pa.table({"a": [3, 1, 2], "b": ["x", "y", "z"]}))
    windows.sort([{"column": "a", "descending": False}])
    data, meta = snap.view_bundle(status="live", message="", ticket="t", version=2, windows=windows)
    assert [r[0] for r in rows_of(data["text/html"])] == ["1", "2", "3"]
    assert "sorted by a ↑" in data["text/html"] and meta == {}
    assert data["text/plain"].splitlines() == [
        "TicketView: table, 3 rows x 2 columns, ticket t, version 2",
        "a  b",
        "1  y",
        "2  z",
        "3  x",
    ]


def test_text_plain_is_one_line_per_row_and_capped() -> None:
    table = pa.table({"s\nname": ["a\nb\x1b[31m", *["q" * 50] * 9]})
    text = snap.table_text(table, num_rows=10, ticket="t", version=1)
    lines = text.splitlines()
    assert len(lines) == 1 + 1 + snap.TEXT_ROWS + 1 and lines[-1] == "… 5 more rows"
    assert lines[1] == "s name" and lines[2] == "a b [31m"
    assert all(len(line) <= snap.TEXT_CELL for line in lines[1:-1])


def test_shared_tickets_are_never_shown_in_full() -> None:
    ticket = "shared:" + "ab" * 16
    out = render(pa.table({"a": [1]}), ticket=ticket)
    assert "ab" * 16 not in out and "ticket shared:abab…, version" in out
    fig, _ = snap.figure_bundle({"image/png": "AAAA"}, {}, ticket=ticket, version=1)
    assert "ab" * 16 not in fig["text/html"] + fig["text/plain"]
    status = snap.status_bundle("loading", f"waiting: nothing under {ticket}", ticket=ticket)
    assert "ab" * 16 not in status["text/plain"] + status["text/html"]
    assert status["text/plain"].endswith("waiting: nothing under shared:abab…")
    assert snap.ticket_text("sales\x1b[2J") == "sales\\x1b[2J"


SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4" onload="alert(1)">'
    "<script>alert(2)</script></svg>"
)


def img_src(fragment: str) -> str:
    imgs = [a for tag, a in Parsed(fragment).tags if tag == "img"]
    assert len(imgs) == 1, fragment[:300]
    return imgs[0]["src"] or ""


def test_matplotlib_like_bundle_png_first_with_its_size() -> None:
    png = base64.b64encode(b"\x89PNG fake").decode()
    data = {"image/png": png, "image/svg+xml": SVG, "text/plain": "<Figure>"}
    out, meta = snap.figure_bundle(
        data, {"image/png": {"width": 30, "height": 20}}, ticket="f", version=4
    )
    assert set(out) == {"text/html", "text/plain", "image/png", "image/svg+xml"}
    assert out["image/png"] == png and out["image/svg+xml"] == SVG
    assert meta == {"image/png": {"width": 30, "height": 20}}
    assert img_src(out["text/html"]) == f"data:image/png;base64,{png}"
    assert 'width="30" height="20"' in out["text/html"]
    assert "<svg" not in out["text/html"] and "<script" not in out["text/html"]
    assert (
        out["text/plain"]
        == "TicketView: figure, ticket f, version 4 [image/png, image/svg+xml, text/plain]"
    )
    # raw bytes (the wire form) are base64-encoded the same way
    raw, _ = snap.figure_bundle({"image/png": b"\x89PNG fake"}, {}, ticket="f", version=4)
    assert raw["image/png"] == png and img_src(raw["text/html"]).endswith(png)


def test_svg_is_only_ever_an_img_data_url() -> None:
    out, _ = snap.figure_bundle({"image/svg+xml": SVG}, {}, ticket="f", version=1)
    html = out["text/html"]
    assert "<svg" not in html and "<script" not in html and "onload" not in html
    src = img_src(html)
    prefix = "data:image/svg+xml;base64,"
    assert src.startswith(prefix)
    assert base64.b64decode(src[len(prefix) :]).decode() == SVG
    assert {tag for tag, _ in Parsed(html).tags} == {"div", "img"}


def test_shared_html_only_in_a_sandboxed_frame_and_only_without_an_image() -> None:
    page = '<p onclick="x()">hi</p><script>parent.document.cookie</script>"\''
    out, _ = snap.figure_bundle({"text/html": page}, {}, ticket="f", version=1)
    tags = Parsed(out["text/html"]).tags
    assert [t for t, _ in tags] == ["div", "div", "iframe"]
    frame = tags[2][1]
    assert frame["sandbox"] == "allow-scripts"  # no allow-same-origin: an opaque origin
    assert frame["srcdoc"] == page  # the markup is only ever the frame's document
    assert "<script" not in out["text/html"] and "text/html" not in set(out) - {"text/html"}
    with_png, _ = snap.figure_bundle(
        {"text/html": page, "image/png": "AAAA"}, {}, ticket="f", version=1
    )
    assert "iframe" not in with_png["text/html"] and "srcdoc" not in with_png["text/html"]


@pytest.mark.parametrize(
    "mime", ["application/vnd.plotly.v1+json", "application/vnd.vegalite.v5+json"]
)
def test_interactive_only_bundles_say_there_is_no_static_form(mime: str) -> None:
    out, meta = snap.figure_bundle(
        {mime: {"data": []}, "text/plain": "Figure"}, {}, ticket="p", version=1
    )
    assert set(out) == {"text/html", "text/plain"} and meta == {}
    assert "no static form to show" in out["text/html"] and mime in out["text/html"]


def notebook(view_html: str, model: str, state: dict[str, Any]) -> dict[str, Any]:
    output = {
        "output_type": "display_data",
        "data": {snap.WIDGET_VIEW: {"model_id": model}, "text/html": view_html},
        "metadata": {},
    }
    return {
        "cells": [{"cell_type": "code", "outputs": [output]}, {"cell_type": "markdown"}],
        "metadata": {"widgets": {snap.WIDGET_STATE: {"state": state}}},
    }


def test_static_views_drops_only_the_state_of_views_with_a_snapshot() -> None:
    ours = render(pa.table({"a": [1]}))
    state = {"m1": {"state": {}}, "other": {"state": {}}}
    nb = notebook(ours, "m1", state)
    other = {
        "output_type": "display_data",
        "data": {snap.WIDGET_VIEW: {"model_id": "other"}, "text/html": "<b>slider</b>"},
    }
    nb["cells"][0]["outputs"].append(other)
    out, resources = snap.static_views(nb, {"r": 1})
    assert resources == {"r": 1}
    assert set(out["metadata"]["widgets"][snap.WIDGET_STATE]["state"]) == {"other"}
    # a notebook without widget state is left as it is
    bare = {"cells": [], "metadata": {}}
    assert snap.static_views(bare, {})[0] == {"cells": [], "metadata": {}}

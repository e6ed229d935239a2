"""Static snapshots of a `TicketView`: what a notebook shows without a live kernel.

`TicketView._repr_mimebundle_` puts these next to the widget-view MIME type, so a saved or
exported notebook shows the table's first rows or the figure instead of "Loading widget...".

Who picks which (checked against nbconvert 7.17, JupyterLab 4.6, ipywidgets 8.1, nbclient 0.11):

- JupyterLab ranks the widget renderer first (rank -10) but marks it unsafe: a trusted
  notebook with a live kernel shows the widget; an untrusted one (opened from elsewhere) shows
  the text/html snapshot, through JupyterLab's sanitizer (it keeps tables and ``data:``
  images, and strips an iframe's ``srcdoc``/``sandbox``, so a shared HTML figure is blank).
  A trusted notebook reopened without its kernel says "Error displaying widget: model not
  found": JupyterLab never falls back for a widget view.
- nbconvert's HTML exporter picks the widget view only when the notebook's metadata holds
  that model's state (``WidgetsDataTypeFilter``), and then renders it with the
  html-manager from a CDN, with no kernel: a table view can show no rows. Otherwise it takes
  text/html, the snapshot. JupyterLab saves no widget state by default ("Save Jupyter widget
  state in notebooks" is off); nbclient and ``jupyter nbconvert --execute`` do
  (``store_widget_state``), so for those pass ``--ExecutePreprocessor.store_widget_state=False``,
  or, for a notebook saved with widget state, drop the views' state with the preprocessor
  `static_views`: ``jupyter nbconvert --to html
  --HTMLExporter.preprocessors=ticketbooth._snapshot.static_views nb.ipynb``.

A snapshot is the object as it was when the cell ran (later republishes do not change it).

Safety. Every value, column name, type and ticket is HTML-escaped, and cells and captions are
cut to a bounded length; at most `MAX_ROWS` rows and `MAX_COLUMNS` columns are shown, so a
snapshot stays small whatever the table. Shared tickets are capabilities: the caption names
one by its first hex digits only (``shared:3f9a…``), never in full, since an exported
notebook is made to be passed around. Figures follow the widget's rules (js/src/figure.ts):
PNG and JPEG as ``<img>``; SVG only ever as an ``<img>`` with a base64 ``data:`` URL (an SVG
loaded as an image runs no script and loads nothing), never inlined. A shared figure's
text/html is another user's markup: it is used only when the bundle has no image, and then
only inside ``<iframe sandbox="allow-scripts" srcdoc=...>`` without ``allow-same-origin``,
as in the live widget: its scripts run in an opaque origin that cannot read the page, the
notebook server's cookies or the exported document, open windows or navigate the page. It can
still draw and make network requests, exactly as it could in the live view; HTML-only
figures (e.g. a plotly bundle's CDN-loading text/html) need that to render at all. A
sanitizing viewer (an untrusted notebook in JupyterLab, ``HTMLExporter.sanitize_html``)
removes the frame's content, which is the safe direction. Plotly and Vega-Lite JSON have no
static form here: the snapshot says so (the publisher can add a PNG to the bundle).
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ._windows import TableWindows

MAX_ROWS = 20
MAX_COLUMNS = 50
MAX_CELL = 100  # characters of one cell's text
MAX_LABEL = 200  # characters of a column name, type or ticket
TEXT_ROWS = 5  # rows in the text/plain form
TEXT_CELL = 24
_SHARED_TEXT = re.compile(r"shared:[0-9a-fA-F]{32}")
MARKER = "data-ticketbooth-snapshot"  # on the outer element of every snapshot
STATIC_IMAGES = ("image/png", "image/jpeg", "image/svg+xml")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_NULL = '<span style="opacity:.55;font-style:italic">null</span>'
_BOX = "font-size:12px;max-width:100%;overflow-x:auto"
_CAPTION = "text-align:left;padding:2px 0 4px;opacity:.8"
# cells take the front end's table style (JupyterLab's and nbconvert's, as for a DataFrame)


def cut(text: str, limit: int = MAX_CELL) -> str:
    """`text` cut to `limit` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def esc(text: str, limit: int = MAX_LABEL) -> str:
    """`text` cut to `limit` characters and escaped for HTML text and quoted attributes."""
    return html.escape(cut(text, limit), quote=True)


def ticket_text(ticket: str) -> str:
    """A ticket as a snapshot may show it: a shared ticket by its first 4 hex digits only."""
    if ticket.startswith("shared:"):
        return ticket[: len("shared:") + 4] + "…"
    # scope names are chosen by clients: no newline or terminal escape reaches text/plain
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in ticket)


def _bytes_text(value: bytes) -> str:
    """A bytes literal of at most `MAX_CELL` characters (``b'\\x00a…'``)."""
    text = repr(value[:MAX_CELL])
    if len(value) <= MAX_CELL and len(text) <= MAX_CELL:
        return text
    return text[: MAX_CELL - 2] + "…" + text[-1]


def _nested_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _scalar_text(scalar: pa.Scalar) -> str | None:
    """One value's text by as_py; the fallback for types the vectorised paths do not cover."""
    if not scalar.is_valid:
        return None
    try:
        value = scalar.as_py()
    except Exception:
        return cut(str(scalar))
    if isinstance(value, bytes):
        return _bytes_text(value)
    if isinstance(value, (dict, list, tuple)):
        return cut(_nested_text(value))
    return cut(str(value))


def column_texts(array: pa.Array | pa.ChunkedArray) -> list[str | None]:
    """Each value of `array` as display text (None for null), cut to `MAX_CELL` characters.

    Numbers, booleans, decimals and dates/times go through Arrow's cast to string (the same
    text with or without pandas installed, nanoseconds and time zones kept); durations get
    their unit; binary values show as a bytes literal; nested values as JSON.
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks else pa.array([], array.type)
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.dictionary_decode()
        kind = array.type
    if isinstance(kind, pa.ExtensionType):
        array, kind = array.storage, kind.storage_type
    try:
        if pa.types.is_null(kind):
            return [None] * len(array)
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return [None if v is None else cut(v) for v in array.to_pylist()]
        if (
            pa.types.is_binary(kind)
            or pa.types.is_large_binary(kind)
            or pa.types.is_fixed_size_binary(kind)
        ):
            return [None if v is None else _bytes_text(v) for v in array.to_pylist()]
        if pa.types.is_duration(kind):
            unit = kind.unit
            texts = pc.cast(array, pa.string()).to_pylist()
            return [None if v is None else f"{v} {unit}" for v in texts]
        if (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_boolean(kind)
            or pa.types.is_decimal(kind)
            or pa.types.is_temporal(kind)
        ):
            return [None if v is None else cut(v) for v in pc.cast(array, pa.string()).to_pylist()]
    except (pa.ArrowException, ValueError, TypeError):
        pass  # e.g. a type Arrow cannot cast to string: value by value below
    return [_scalar_text(array[i]) for i in range(len(array))]


def caption(num_rows: int, num_columns: int, ticket: str, version: int) -> str:
    """``1,000 rows x 4 columns, ticket sales, version 2`` (plain text, not escaped)."""
    rows = "row" if num_rows == 1 else "rows"
    cols = "column" if num_columns == 1 else "columns"
    return (
        f"{num_rows:,} {rows} x {num_columns:,} {cols}, "
        f"ticket {cut(ticket_text(ticket), MAX_LABEL)}, version {version}"
    )


def _head(table: pa.Table) -> pa.Table:
    return table.slice(0, MAX_ROWS).select(list(range(min(table.num_columns, MAX_COLUMNS))))


def table_html(table: pa.Table, *, num_rows: int, ticket: str, version: int, sort: str = "") -> str:
    """An HTML table of the first rows of `table` (of `num_rows` in all), with a caption.

    `table` may hold only the first rows; nothing past `MAX_ROWS` rows or `MAX_COLUMNS`
    columns is read.
    """
    head = _head(table)
    shown_rows, total_cols = head.num_rows, table.num_columns
    notes = []
    if shown_rows < num_rows:
        notes.append(f"first {shown_rows:,} rows")
    if head.num_columns < total_cols:
        notes.append(f"first {head.num_columns} columns")
    if sort:
        notes.append(f"sorted by {sort}")
    notes.append("snapshot when the cell ran")
    cap = f"{caption(num_rows, total_cols, ticket, version)} ({', '.join(notes)})"
    out = [
        f'<div class="ticketbooth-snapshot" {MARKER}="table" style="{_BOX}">',
        f'<div style="{_CAPTION}">{esc(cap, 1000)}</div>',
        "<table><thead><tr>",
    ]
    for field in head.schema:
        kind = esc(str(field.type))
        out.append(
            f'<th title="{kind}">{esc(field.name)}'
            f'<br><span style="font-weight:normal;opacity:.6">{kind}</span></th>'
        )
    out.append("</tr></thead><tbody>")
    columns = [column_texts(head.column(i)) for i in range(head.num_columns)]
    for row in range(shown_rows):
        cells = (_NULL if col[row] is None else esc(col[row] or "", MAX_CELL) for col in columns)
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    if shown_rows < num_rows:
        more = num_rows - shown_rows
        out.append(f'<div style="opacity:.7">… {more:,} more row{"s" * (more != 1)}</div>')
    out.append("</div>")
    return "".join(out)


def _one_line(text: str) -> str:
    """A text/plain cell: control characters (newlines, ANSI escapes) as spaces, cut short."""
    return cut("".join(c if c.isprintable() else " " for c in text), TEXT_CELL)


def table_text(table: pa.Table, *, num_rows: int, ticket: str, version: int) -> str:
    """The text/plain form: the caption and the first `TEXT_ROWS` rows, aligned."""
    head = _head(table).slice(0, TEXT_ROWS)
    lines = [f"TicketView: table, {caption(num_rows, table.num_columns, ticket, version)}"]
    if head.num_columns:
        columns = [column_texts(head.column(i)) for i in range(head.num_columns)]
        grid = [[_one_line(name) for name in head.schema.names]]
        grid += [
            [_one_line("null" if col[r] is None else col[r] or "") for col in columns]
            for r in range(head.num_rows)
        ]
        widths = [max(len(row[c]) for row in grid) for c in range(head.num_columns)]
        for row in grid:
            text = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
            lines.append(text.rstrip())
        if head.num_rows < num_rows:
            lines.append(f"… {num_rows - head.num_rows:,} more rows")
    return "\n".join(lines)


def _as_text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):  # nbformat's multiline strings
        return "".join(str(v) for v in value)
    return value if isinstance(value, str) else json.dumps(value)


def _as_base64(value: Any) -> str:
    """A binary payload as base64 text (Jupyter bundles hold it base64-encoded already)."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return "".join(_as_text(value).split())


def _figure_body(data: Mapping[str, Any], metadata: Mapping[str, Any]) -> tuple[str, str]:
    """The HTML of the figure's best static form, and its MIME type ("" if none)."""
    for mime in ("image/png", "image/jpeg"):
        if mime in data:
            found = metadata.get(mime)
            size: Mapping[str, Any] = found if isinstance(found, dict) else {}
            dims = "".join(
                f' {k}="{size[k]}"' for k in ("width", "height") if type(size.get(k)) is int
            )
            src = f"data:{mime};base64,{_as_base64(data[mime])}"
            return f'<img alt="figure" style="max-width:100%"{dims} src="{src}">', mime
    if "image/svg+xml" in data:
        svg = _as_text(data["image/svg+xml"]).encode("utf-8")
        src = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
        return f'<img alt="figure" style="max-width:100%" src="{src}">', "image/svg+xml"
    if "text/html" in data:
        doc = html.escape(_as_text(data["text/html"]), quote=True)
        frame = (
            '<iframe sandbox="allow-scripts" referrerpolicy="no-referrer" '
            'style="width:100%;height:360px;border:0" title="figure (shared HTML, sandboxed)" '
            f'srcdoc="{doc}"></iframe>'
        )
        return frame, "text/html"
    kinds = ", ".join(sorted(str(m) for m in data)) or "nothing"
    note = (
        f"no static form to show (the bundle holds {kinds}); run the notebook to see the live view"
    )
    return f'<div style="opacity:.7">{esc(note, 1000)}</div>', ""


def figure_bundle(
    data: Mapping[str, Any], metadata: Mapping[str, Any], *, ticket: str, version: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """text/html, text/plain and the bundle's own images for a shared figure, with metadata.

    `data` is the Jupyter form of the figure's bundle (binary payloads base64 text).
    """
    body, used = _figure_body(data, metadata)
    kinds = ", ".join(str(m) for m in data)
    cap = f"figure, ticket {cut(ticket_text(ticket), MAX_LABEL)}, version {version}"
    out: dict[str, Any] = {
        "text/html": (
            f'<div class="ticketbooth-snapshot" {MARKER}="figure" style="{_BOX}">'
            f'<div style="{_CAPTION}">{esc(cap, 1000)}'
            f"{' (' + esc(used) + ')' if used else ''}</div>{body}</div>"
        ),
        "text/plain": f"TicketView: {cap} [{cut(kinds, 1000)}]",
    }
    meta: dict[str, Any] = {}
    for mime in STATIC_IMAGES:
        if mime in data:
            out[mime] = _as_base64(data[mime]) if mime != "image/svg+xml" else data[mime]
            if isinstance(metadata.get(mime), dict):
                meta[mime] = dict(metadata[mime])
    return out, meta


def status_bundle(status: str, message: str, *, ticket: str) -> dict[str, Any]:
    """text/html and text/plain for a view with nothing to show (waiting, error, released)."""
    text = f"TicketView: ticket {cut(ticket_text(ticket), MAX_LABEL)}, {status}"
    if message:  # error texts may name the ticket in full
        text += f": {cut(_SHARED_TEXT.sub(lambda m: ticket_text(m[0]), message), 500)}"
    return {
        "text/html": f'<div class="ticketbooth-snapshot" {MARKER}="{esc(status, 40)}" '
        f'style="{_BOX};opacity:.8">{esc(text, 1000)}</div>',
        "text/plain": text,
    }


def sort_text(keys: list[dict[str, Any]]) -> str:
    """``amount ↓, region ↑`` for a view's sort keys ("" when unsorted)."""
    return ", ".join(
        f"{cut(str(k.get('column')), 60)} {'↓' if k.get('descending') else '↑'}" for k in keys
    )


def view_bundle(
    *,
    status: str,
    message: str,
    ticket: str,
    version: int,
    windows: TableWindows | None = None,
    figure: tuple[Mapping[str, Any], Mapping[str, Any]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The static part of a view's bundle: its table rows (in the order shown) or figure."""
    if windows is not None:
        if windows.order is None:
            head = windows.table.slice(0, MAX_ROWS)
        else:
            head = windows.table.take(windows.order.slice(0, MAX_ROWS))
        n, sort = windows.num_rows, sort_text(windows.sort_keys)
        return {
            "text/html": table_html(head, num_rows=n, ticket=ticket, version=version, sort=sort),
            "text/plain": table_text(head, num_rows=n, ticket=ticket, version=version),
        }, {}
    if figure is not None:
        return figure_bundle(figure[0], figure[1], ticket=ticket, version=version)
    return status_bundle(status, message, ticket=ticket), {}


def static_views(nb: Any, resources: Any) -> tuple[Any, Any]:
    """An nbconvert preprocessor: exports show TicketView snapshots, not their saved state.

    nbconvert's HTML exporter renders a widget view whose state the notebook saved (no
    kernel behind it: a table view stays empty). This drops the saved state of every model
    displayed with a ticketbooth snapshot, so the exporter takes the snapshot instead; other
    widgets keep theirs. ``jupyter nbconvert --to html
    --HTMLExporter.preprocessors=ticketbooth._snapshot.static_views nb.ipynb``
    """
    ours = set()
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = output.get("data", {})
            view, snapshot = data.get(WIDGET_VIEW), data.get("text/html")
            if isinstance(view, dict) and MARKER in _as_text(snapshot or ""):
                ours.add(view.get("model_id"))
    widgets = nb.get("metadata", {}).get("widgets") or {}
    state = (widgets.get(WIDGET_STATE) or {}).get("state")
    if isinstance(state, dict):
        for model_id in ours & set(state):
            del state[model_id]
    return nb, resources

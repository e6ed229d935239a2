"""`TicketView`: an anywidget that renders a shared table or figure and follows republishes."""

from __future__ import annotations

import contextlib
import logging
import pathlib
import threading
from typing import Any

import anywidget
import traitlets

from . import _owner, _snapshot
from ._default import default_session
from ._errors import TicketboothError, TicketNotFoundError
from ._shared_object import SharedObject
from ._static import RENDERERS, STATIC
from ._table import Table
from ._tickets import ExportTicket, ScopeTicket, Ticket, as_ticket
from ._windows import TableWindows, column_specs

log = logging.getLogger("ticketbooth")

#: Rows sent with the view (two of the front end's 32-row windows: a tall view's first page).
FIRST_ROWS = 64
RELEASE_REASONS = {  # the banner reads "Publisher gone: ..." / "Ticket released: ..."
    "closed": "its session was closed; the view updates if the ticket is published again",
    "expired": "it stopped answering (killed or disconnected); the view updates if the "
    "ticket is published again",
    "released": "the view updates if it is published again",
}


def _bundle_path() -> pathlib.Path:
    path = STATIC / "widget.js"
    if not path.exists():
        raise TicketboothError(
            f"the widget's JavaScript bundle is missing ({path}); install ticketbooth with its "
            "JS build (`pip install .` with npm available), or run `npm run build` in js/"
        )
    return path


def _sort_failure(keys: Any, exc: Exception) -> str:
    """status_message for a sort that failed: TicketboothErrors say which column and why."""
    if isinstance(exc, TicketboothError):
        return str(exc)
    columns = ", ".join(repr(k.get("column")) for k in keys if isinstance(k, dict))
    return f"cannot sort by {columns or 'that'}: {type(exc).__name__}: {exc}"


def _waiting(ticket: Ticket, exc: Exception) -> str:
    """ "waiting for 'typo' to be published; did you mean 'sales'? published: ..." """
    what = repr(ticket.name) if isinstance(ticket, ScopeTicket) else str(ticket)
    _, _, known = str(exc).partition("; ")
    return f"waiting for {what} to be published" + (f"; {known}" if known else "")


class TicketView(anywidget.AnyWidget):
    """Shows the object behind a ticket (table grid or figure) and updates it live.

    Args:
        ticket: a SharedTicket, ScopeTicket, a scope name or a shared ticket's text.
        session: the Session to fetch with (default: a new ``Session()``).
        height: pixel height of the view.
    """

    # The bundle is read per view in __init__, not named here: anywidget reads a class's
    # `_esm` file when the class is created, so a missing bundle would break the import.
    _esm: str

    kind = traitlets.Unicode("empty").tag(sync=True)
    status = traitlets.Unicode("loading").tag(sync=True)
    status_message = traitlets.Unicode("").tag(sync=True)
    label = traitlets.Unicode("").tag(sync=True)
    # the ticket's text (a scope name or "shared:<hex>"; "" for an export ticket): the HTTP
    # data source asks the server extension by it
    ticket = traitlets.Unicode("").tag(sync=True)
    # the broker the ticket is on: the front end asks the Jupyter server for rows only when
    # that server's broker is this one (the same name on another broker is another table)
    broker_id = traitlets.Unicode("").tag(sync=True)
    version = traitlets.Int(0).tag(sync=True)
    publisher_version = traitlets.Int(0).tag(sync=True)
    num_rows = traitlets.Int(0).tag(sync=True)
    columns: traitlets.List[dict[str, str]] = traitlets.List([]).tag(sync=True)
    sort: traitlets.List[dict[str, Any]] = traitlets.List([]).tag(sync=True)
    mimebundle = traitlets.Dict({}).tag(sync=True)
    height = traitlets.Int(360).tag(sync=True)
    # the first rows of version `first_rows_version` (Arrow IPC), sent with the view: the
    # grid paints them without asking
    first_rows = traitlets.Bytes(b"").tag(sync=True)
    first_rows_version = traitlets.Int(0).tag(sync=True)

    def __init__(self, ticket: Any, session: Any = None, *, height: int = 360) -> None:
        parsed = as_ticket(ticket)  # a bad ticket fails before any widget exists
        # a clear error when the JS build is missing; anywidget turns `_esm` into a trait
        self._esm = _bundle_path().read_text(encoding="utf-8")
        super().__init__(height=height)
        self._ticket = parsed
        # an export (a Table, a figure) is viewed through the session that holds it
        if session is None:
            session = _owner.owner_of(ticket) or default_session()
        self._session = session
        self.broker_id = str(getattr(self._session, "broker_id", ""))
        self._windows: TableWindows | None = None
        self._handle: Table | SharedObject | None = None
        self._loaded_version = 0
        self._viewport: tuple[int, int] | None = None  # the rows the front end asked for last
        self._lock = threading.RLock()
        self.label = str(self._ticket)
        # an export ticket belongs to this kernel's session: only the comm can reach it
        self.ticket = "" if isinstance(self._ticket, ExportTicket) else str(self._ticket)
        self.on_msg(self._on_request)
        self.observe(self._on_sort, names="sort")
        self._load()
        self._watch = self._session.watch(self._ticket)
        self._thread = threading.Thread(target=self._follow, name="ticketbooth-view", daemon=True)
        self._thread.start()

    # loading ---------------------------------------------------------------------------------
    def _load(self) -> None:
        try:
            handle = self._session.fetch_object(self._ticket)
        except TicketNotFoundError as exc:
            self.status, self.status_message = "loading", _waiting(self._ticket, exc)
            return
        except TicketboothError as exc:
            self.status, self.status_message = "error", str(exc)
            return
        with self._lock, self.hold_sync():
            old, self._handle = self._handle, handle
            self._loaded_version = handle.version
            self.publisher_version = handle.version
            shown_rows = self._viewport if self.kind == "table" else None
            if isinstance(handle, Table):
                note = self._show_table(handle)
            else:
                note = self._show_figure(handle)
            self.status, self.status_message = "live", note
            if shown_rows is not None and self.kind == "table":
                self._push(shown_rows, self.version + 1)  # sent now; the traits on exit
            if self.kind == "table" and self._windows is not None:
                self.first_rows = self._windows.window(0, FIRST_ROWS)
                self.first_rows_version = self.version + 1
            else:
                self.first_rows = b""
            self.version += 1
        if old is not None:
            self._release(old)

    def _show_table(self, table: Table) -> str:
        """Show `table`, keeping the sort when the columns are the same; returns a note."""
        windows = TableWindows(table.to_arrow())
        same_columns = self.kind == "table" and self.columns == column_specs(table.schema)
        note = ""
        if same_columns and self.sort:
            try:  # the columns are the same, so the keys are valid; the data may still fail
                windows.sort(list(self.sort))
            except Exception as exc:
                note = _sort_failure(self.sort, exc)
        self._windows = windows
        if self.sort != windows.sort_keys:
            self.sort = list(windows.sort_keys)
        self.columns = column_specs(table.schema)
        self.num_rows = table.num_rows
        self.mimebundle = {}
        self.kind = "table"
        return note

    def _push(self, rows: tuple[int, int], version: int) -> None:
        """Send the rows in view of the new version ahead of the version itself, so the
        front end repaints a republish without asking (it caches them for `version`)."""
        windows = self._windows
        if windows is None:
            return
        start = min(rows[0], windows.num_rows)
        end = min(rows[1], windows.num_rows)
        if end <= start:
            return
        try:
            data = windows.window(start, end)
            self.send(
                {"kind": "window-push", "version": version, "row_start": start, "row_end": end},
                [data],
            )
        except Exception as exc:  # the front end asks for the rows itself then
            log.debug("TicketView: no window push: %s", exc)

    def _show_figure(self, obj: SharedObject) -> str:
        self._windows = None
        self.mimebundle = obj.mimebundle
        self.kind = "figure"
        return ""

    def _release(self, handle: Table | SharedObject) -> None:
        with contextlib.suppress(TicketboothError):
            self._session.release(handle)

    def _follow(self) -> None:
        try:
            for event in self._watch:
                if event.kind in ("published", "updated"):
                    if event.version > self._loaded_version or self.status != "live":
                        self._load()
                elif event.kind == "released":
                    self.status = "publisher-gone" if event.publisher_gone else "released"
                    self.status_message = RELEASE_REASONS.get(event.reason, event.reason)
                    self._rewatch()
                    return
        except TicketboothError as exc:
            self.status, self.status_message = "error", f"lost the broker: {exc}"

    def _rewatch(self) -> None:
        """After a release, wait for the ticket to be published again."""
        self._watch = self._session.watch(self._ticket)
        self._thread = threading.Thread(target=self._follow, name="ticketbooth-view", daemon=True)
        self._thread.start()

    # requests from the front end ---------------------------------------------------------------
    def _on_request(self, _widget: Any, content: dict[str, Any], buffers: list[bytes]) -> None:
        kind, rid = content.get("kind"), content.get("id")
        if not isinstance(kind, str) or rid is None:
            return
        try:
            response, out = self._answer(kind, content)
            self.send({"kind": f"{kind}-response", "id": rid, "response": response}, out)
        except Exception as exc:
            self.send({"kind": f"{kind}-response", "id": rid, "error": str(exc)})

    def _answer(self, kind: str, content: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
        if kind == "window":
            with self._lock:
                windows, version = self._windows, self.version
            if windows is None:
                raise TicketboothError("no table is shown")
            start, end = int(content.get("row_start", 0)), int(content.get("row_end", 0))
            with self._lock:
                self._viewport = (start, end)  # pushed again with the next version
            data = windows.window(start, end)
            end = min(end, windows.num_rows)
            return {"row_start": start, "row_end": end, "version": version}, [data]
        if kind == "viewport":  # rows the front end got from the server: pushed with the next
            start, end = int(content.get("row_start", -1)), int(content.get("row_end", -1))
            if not 0 <= start <= end:
                raise TicketboothError(f"a viewport needs 0 <= row_start <= row_end, not {content}")
            with self._lock:
                self._viewport = (start, end)
            return {"row_start": start, "row_end": end}, []
        if kind == "renderer":
            name = content.get("name")
            if name not in RENDERERS:
                raise TicketboothError(f"unknown renderer {name!r}; known: {sorted(RENDERERS)}")
            return {"name": name}, [(STATIC / RENDERERS[str(name)]).read_bytes()]
        raise TicketboothError(f"unknown request kind {kind!r}")

    def _on_sort(self, change: dict[str, Any]) -> None:
        with self._lock:
            windows = self._windows
        if windows is None or change["new"] == windows.sort_keys:
            return
        try:
            windows.sort(list(change["new"]))
        except Exception as exc:  # any failure: pyarrow's own errors too
            with self.hold_sync():  # one message: the front end's "sorting…" ends with it
                self.sort = list(windows.sort_keys)  # back to the order actually shown
                self.status_message = _sort_failure(change["new"], exc)
            return
        self.status_message = ""
        self.version += 1

    def __repr__(self) -> str:
        shown = f"{self.num_rows:,} rows" if self.kind == "table" else self.kind
        version = f" v{self.publisher_version}" if self.publisher_version else ""
        return f"<ticketbooth.TicketView {self.label} {shown}{version} {self.status}>"

    # static output ----------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The widget view, plus a snapshot for where no widget runs (see _snapshot).

        text/html holds the table's first rows (or the figure), text/plain a short summary;
        a figure adds its own static images. Front ends with the widget manager and the model
        show the live view; an export without the widget's state shows the snapshot.
        """
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        try:
            with self._lock:
                handle, windows = self._handle, self._windows
                status, message = self.status, self.status_message
                figure = None
                if isinstance(handle, SharedObject) and self.kind == "figure":
                    figure = handle._repr_mimebundle_()
                static, static_meta = _snapshot.view_bundle(
                    status=status,
                    message=message,
                    ticket=self.label,
                    version=self.publisher_version,
                    windows=windows if self.kind == "table" else None,
                    figure=figure,
                )
        except Exception as exc:  # a display must not fail over its snapshot
            log.warning("TicketView: no static snapshot: %s", exc)
            static = _snapshot.status_bundle("error", f"no snapshot: {exc}", ticket=self.label)
            static_meta = {}
        data = {**static, **{k: v for k, v in data.items() if k != "text/plain"}}
        return data, {**metadata, **static_meta}

    def close(self) -> None:
        """Stop following the ticket and release what the view holds."""
        if hasattr(self, "_watch"):  # not when __init__ failed before watching
            self._watch.close()
        handle = getattr(self, "_handle", None)
        if handle is not None:
            self._release(handle)
            self._handle = None
        super().close()


def view(ticket: Any, session: Any = None, *, height: int = 360) -> TicketView:
    """Display the table or figure behind `ticket`, updating live (``tb.view("sales")``)."""
    return TicketView(ticket, session, height=height)

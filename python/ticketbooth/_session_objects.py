"""The Session calls for figures and rich objects, watches and plugin streams."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from . import _owner
from ._backend import Backend
from ._deephaven_plugin import BundleClient
from ._errors import TicketboothError
from ._info import ObjectInfo
from ._objects import FIGURE_TYPE, MimeBundle, to_mimebundle
from ._plugin import PluginClient, RequestHandler, RequestServer
from ._shared_object import SharedObject
from ._table import Table
from ._tickets import ExportTicket, Ticket, as_ticket, ticket_last
from ._watch import Watch


class ObjectCalls:
    """Mixed into `Session`; relies on its backend, closed check and pins."""

    _backend: Backend
    _pins: dict[bytes, Any]
    _key: str

    if TYPE_CHECKING:  # provided by Session

        def _check(self, what: str) -> None: ...
        def _on_collect(self, ticket: ExportTicket) -> None: ...
        def publish(self, source_ticket: Any, result_ticket: Any) -> None: ...
        def release(self, ticket: Any) -> None: ...
        def fetch_table(self, ticket: Any, *, version: int | None = None) -> Table: ...

        def info(self, ticket: Any, *, version: int | None = None) -> ObjectInfo: ...

    def import_figure(self, figure: Any) -> SharedObject:
        """Upload a figure or rich object as a MIME bundle; returns its handle in this session.

        Accepts matplotlib, plotly and altair figures and anything with
        ``_repr_mimebundle_``, ``_repr_html_``, ``_repr_svg_`` or ``_repr_png_``.

        Raises:
            InvalidInputError: the object cannot be shared (the message says what can).
            LimitExceededError: the bundle is larger than the broker accepts.
        """
        self._check("import figure")
        bundle = to_mimebundle(figure, max_bytes=self._backend.max_object_bytes)
        export = self._backend.import_object(FIGURE_TYPE, bundle.to_wire())
        return SharedObject(
            FIGURE_TYPE, _owner.stamp(export, self._key), bundle, 0, self._on_collect
        )

    def publish_figure(self, figure: Any, ticket: Any) -> None:
        """Publish a figure (or rich object) to a ticket; ``(ticket, figure)`` works too.

        The import is kept alive by the session until the ticket is republished, released,
        or the session closes; subscribers watching the ticket see each republish.
        """
        figure, ticket = ticket_last(figure, ticket)
        result = as_ticket(ticket)  # a bad ticket fails before the figure is rendered
        if isinstance(figure, SharedObject) and _owner.owner_of(figure) in (None, self):
            self.publish(figure.ticket, result)
        else:
            self._publish_pinned(self.import_figure(figure), result)

    def _publish_pinned(self, handle: Table | SharedObject, result: Ticket) -> None:
        """Publish an import the caller holds no handle to: the session keeps it alive until
        the ticket is republished (the previous import is released), released or closed."""
        self.publish(handle.ticket, result)  # releases the import published there before
        self._pins[result.bytes] = handle

    def fetch_object(self, ticket: Any, *, version: int | None = None) -> SharedObject | Table:
        """Fetch any published object: a `SharedObject` for figures, a `Table` for tables.

        version: an earlier version still kept by the broker (see `fetch_table`).

        Raises:
            TicketNotFoundError: nothing is published under the ticket (or that version is
                no longer kept).
        """
        t = _owner.mine(ticket, self._key, "fetch object")
        self._check("fetch object")
        info = self.info(t, version=version)
        if info.type == "Table":
            return self.fetch_table(t, version=version)
        fetched = self._backend.fetch(t.bytes, info.version if version else 0)
        export = _owner.stamp(fetched.ticket, self._key)
        try:
            wire = self._backend.get_object(export.bytes)
        except BaseException:
            with contextlib.suppress(TicketboothError):
                self.release(export)
            raise
        bundle = MimeBundle.from_wire(wire)
        return SharedObject(
            fetched.info.type, export, bundle, fetched.info.version, self._on_collect
        )

    def watch(self, ticket: Any = None) -> Watch:
        """Events for `ticket` (every scope ticket when None): published, updated, released.

        The current state comes first (a "published" event if the ticket is published).
        Iterate it (``for e in s.watch("sales")``) or ``async for``; it ends after the
        ticket is released, with ``event.reason`` saying why ("expired" = publisher gone).
        """
        raw = b"" if ticket is None else _owner.mine(ticket, self._key, "watch").bytes
        self._check("watch")
        return self._backend.watch(raw)

    def plugin_client(self, server_obj: Any) -> PluginClient | BundleClient:
        """A bidirectional message stream to an object (pydeephaven's plugin client).

        `server_obj` is a `ServerObject` (e.g. from ``exportable_objects``), a ticket or a
        name.
        ``next(client.resp_stream)`` gives ``(payload, references)``: for a figure the
        payload is its MIME bundle (``MimeBundle.from_wire``); then replies to
        ``client.req_stream.write(payload, references)`` and new payloads on republish.
        """
        self._check("open a plugin stream")
        return self._backend.plugin_client(server_obj)

    def view(self, ticket: Any, *, height: int = 360) -> Any:
        """A live widget showing the table or figure behind `ticket` (see `TicketView`)."""
        from ._widget import TicketView

        return TicketView(ticket, self, height=height)

    def serve_requests(
        self, ticket: Any, handler: RequestHandler, *, timeout: float = 30.0
    ) -> RequestServer:
        """Answer subscribers' plugin requests for an object this session published.

        `handler(payload: bytes, references: list[Ticket])` returns reply bytes; it runs in a
        background thread. Close the returned server to stop; subscribers then get an error
        saying the publisher is gone.
        """
        t = as_ticket(ticket)
        self._check("serve requests")
        return self._backend.serve_requests(t.bytes, handler, timeout)

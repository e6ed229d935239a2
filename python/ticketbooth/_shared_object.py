"""`SharedObject`: a figure or other rich object held by the broker, as a MIME bundle."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from ._objects import MimeBundle
from ._tickets import ExportTicket


class SharedObject:
    """A figure (or any rich display object) shared through the broker.

    It displays itself in Jupyter like the original: ``_repr_mimebundle_`` returns the
    bundle the publisher made (PNG + SVG for matplotlib, plotly JSON, vega-lite JSON, HTML...).
    Nothing in it is code: fetching never runs anything.
    """

    def __init__(
        self,
        type_: str,
        ticket: ExportTicket,
        bundle: MimeBundle,
        version: int,
        on_collect: Callable[[ExportTicket], None],
    ) -> None:
        self._type = type_
        self._ticket = ticket
        self._bundle = bundle
        self._version = version
        self._finalizer = weakref.finalize(self, on_collect, ticket)

    @property
    def type(self) -> str:
        """The object type, e.g. "Figure"."""
        return self._type

    @property
    def ticket(self) -> ExportTicket:
        """This session's export ticket of the object (publishable, releasable)."""
        return self._ticket

    @property
    def version(self) -> int:
        """The version of the published ticket this was fetched from (0 if none)."""
        return self._version

    @property
    def bundle(self) -> MimeBundle:
        return self._bundle

    @property
    def mimebundle(self) -> dict[str, Any]:
        """The Jupyter form of the bundle: MIME type -> data (PNG as base64 text)."""
        data, _ = self._bundle._repr_mimebundle_()
        return data

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return self._bundle._repr_mimebundle_(include, exclude)

    def _detach(self) -> None:
        self._finalizer.detach()

    def __repr__(self) -> str:
        kinds = ", ".join(self._bundle.data)
        return f"<ticketbooth.SharedObject {self._type} v{self._version} [{kinds}]>"

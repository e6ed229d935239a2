"""`SharedObject`: a figure or other rich object held by the broker, as a MIME bundle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._handle import Handle
from ._objects import MimeBundle
from ._tickets import ExportTicket


class SharedObject(Handle):
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
        super().__init__(ticket, version, on_collect)
        self._type = type_
        self._bundle = bundle

    @property
    def type(self) -> str:
        """The object type, e.g. "Figure"."""
        return self._type

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

    def __repr__(self) -> str:
        kinds = ", ".join(self._bundle.data)
        return f"<ticketbooth.SharedObject {self._type} v{self._version} [{kinds}]>"

"""ticketbooth: hand tables and figures from one notebook to another by ticket.

The API mirrors the Deephaven Python client (pydeephaven)::

    import ticketbooth as tb
    s = tb.Session()
    shared = tb.SharedTicket.random_ticket()
    s.publish_table(df, shared)          # or s.publish_table(df, "sales")
    tbl = tb.Session().fetch_table(shared)
"""

from typing import Any

from ._errors import (
    AuthenticationError,
    BrokerUnavailableError,
    IncompatibleBrokerError,
    InvalidInputError,
    LimitExceededError,
    PermissionDeniedError,
    SessionClosedError,
    TicketboothError,
    TicketNotFoundError,
)
from ._info import ObjectInfo
from ._limits import Limits
from ._plugin import PluginClient, PluginError, RequestServer
from ._session import Session
from ._shared_object import SharedObject
from ._table import Table
from ._tickets import ExportTicket, ScopeTicket, ServerObject, SharedTicket, Ticket
from ._version import __version__
from ._watch import Watch, WatchEvent


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab side panel (for `jupyter labextension develop`)."""
    return [{"src": "labextension", "dest": "ticketbooth"}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext ticketbooth``: the %publish and %fetch magics (see _magics)."""
    from ._magics import TicketboothMagics

    ipython.register_magics(TicketboothMagics)


def __getattr__(name: str) -> object:
    # the widget pulls in anywidget/ipywidgets: import it only when asked for
    if name in ("TicketView", "view"):
        from . import _widget

        return getattr(_widget, name)
    raise AttributeError(f"module 'ticketbooth' has no attribute {name!r}")


def __dir__() -> list[str]:
    # the lazy names too, so tab completion offers `tb.view`
    return sorted({*globals(), *__all__})


__all__ = [
    "AuthenticationError",
    "BrokerUnavailableError",
    "ExportTicket",
    "IncompatibleBrokerError",
    "InvalidInputError",
    "LimitExceededError",
    "Limits",
    "ObjectInfo",
    "PermissionDeniedError",
    "PluginClient",
    "PluginError",
    "RequestServer",
    "ScopeTicket",
    "ServerObject",
    "Session",
    "SessionClosedError",
    "SharedObject",
    "SharedTicket",
    "Table",
    "Ticket",
    "TicketNotFoundError",
    "TicketView",
    "TicketboothError",
    "Watch",
    "WatchEvent",
    "__version__",
    "view",
]

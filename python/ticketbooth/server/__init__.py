"""The Jupyter server extension: the broker runs with the server, objects served over HTTP.

Enabled on install (``etc/jupyter/jupyter_server_config.d/ticketbooth.json``); configured with
``c.Ticketbooth.<option>``; see docs/server.md.
"""

from __future__ import annotations

from typing import Any

from ._app import Ticketbooth

__all__ = ["Ticketbooth"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "ticketbooth.server", "app": Ticketbooth}]

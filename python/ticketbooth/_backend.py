"""The seam under `Session`: what a backend (the ticketbooth broker, a Deephaven server) does.

`Session` holds the logic every backend shares (ticket parsing, versions, pins, handles,
figures as MIME bundles, the closed state); a backend only moves bytes and tickets. Tickets
are Deephaven's bytes on both (``e``+int32 LE, ``h``+16 bytes, ``s/``+name).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa

from ._deephaven_plugin import BundleClient
from ._info import ObjectInfo
from ._plugin import PluginClient, RequestHandler, RequestServer
from ._watch import Watch


@dataclass(frozen=True)
class Features:
    """What a backend can do beyond the common calls.

    history: earlier versions can be fetched (``version=``). live: which tickets `watch`
    follows ("every" ticket, or "scope" tickets only). plugins: plugin streams and
    `serve_requests`. same_host: tables travel through shared memory. per_session_scope:
    a scope name is unpublished when its publishing session closes.
    """

    history: bool
    live: str
    plugins: bool
    same_host: bool
    per_session_scope: bool


@dataclass(frozen=True)
class Export:
    """An export of this session: its ticket, what it holds, and (tables) how to read it."""

    ticket: bytes
    info: ObjectInfo
    load: Callable[[], pa.Table] | None = None


class Backend(Protocol):
    """One connection to a server, opened by the constructor. Every call raises a
    `TicketboothError` subclass; `version` 0 means the current one."""

    url: str
    features: Features
    max_object_bytes: int

    @property
    def lost(self) -> str | None:
        """Why the server no longer holds this session (it restarted, expired us), or None."""

    def import_table(self, reader: pa.RecordBatchReader, source: pa.Table | None = None) -> Export:
        """`source`: the table `reader` reads, when the caller has it as one (a backend
        may then keep batches it holds already instead of writing them again)."""

    def import_object(self, type_name: str, wire: bytes) -> bytes: ...
    def publish(self, source: bytes, result: bytes) -> None: ...
    def fetch(self, ticket: bytes, version: int, what: str = "fetch") -> Export: ...
    def info(self, ticket: bytes, version: int) -> ObjectInfo: ...
    def release(self, ticket: bytes) -> None: ...
    def release_later(self, ticket: bytes) -> None:
        """Release from a garbage-collected handle: never blocks, never raises."""

    def list_objects(self, include_shared: bool) -> list[ObjectInfo]: ...
    def get_object(self, export: bytes) -> bytes:
        """The wire form of a rich object's MIME bundle (`MimeBundle.from_wire`)."""

    def watch(self, ticket: bytes) -> Watch: ...
    def plugin_client(self, obj: Any) -> PluginClient | BundleClient: ...
    def serve_requests(
        self, ticket: bytes, handler: RequestHandler, timeout: float
    ) -> RequestServer: ...
    def close(self) -> None:
        """End the session on the server (what it published is unpublished) and disconnect."""

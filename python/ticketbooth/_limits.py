"""Every limit the broker enforces, in one frozen dataclass, and the scope-name rule."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ._errors import InvalidInputError

MiB = 1 << 20
GiB = 1 << 30

NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")  # a Python variable's name fits
NAME_RULE = "letters, digits, '_', '.', '-', starting with a letter, digit or '_'"


@dataclass(frozen=True)
class Limits:
    """Broker limits. Every refusal names the limit it hit and what to do instead."""

    #: Largest gRPC message carrying table data (one record batch per message).
    max_message_bytes: int = 4 * MiB
    #: Longest scope-ticket name.
    max_name_length: int = 128
    #: Exports (fetched or imported objects) one session may hold at once.
    max_exports_per_session: int = 10_000
    #: Total bytes of all objects the broker holds. None: 90% of the free space of the
    #: broker's shared-memory filesystem when it starts (see `Limits.resolved`).
    max_store_bytes: int | None = None
    #: Largest single object (a table's IPC file, a figure's bundle).
    max_object_bytes: int = 8 * GiB
    #: Bytes one stream (plugin client, watch, a publisher's request queue) may hold for a
    #: reader that does not keep up; past it the reader is dropped with a reason.
    max_queue_bytes: int = 64 * MiB
    #: Concurrent sessions.
    max_sessions: int = 1_000
    #: Earlier versions kept per ticket for ``fetch_table(ticket, version=n)`` (0: none).
    history_versions: int = 3
    #: Bytes all kept earlier versions may hold (None: a quarter of `store_bytes`). They are
    #: dropped oldest first when over it, and before any new object is refused for space.
    max_history_bytes: int | None = None
    #: How often clients send heartbeats, and how long a silent session lives.
    heartbeat_interval_s: float = 2.0
    session_ttl_s: float = 10.0

    def __post_init__(self) -> None:
        if self.max_message_bytes < 64 * 1024:
            raise ValueError("max_message_bytes must be at least 64 KiB")
        if self.history_versions < 0:
            raise ValueError("history_versions must be 0 or more")
        if self.session_ttl_s <= self.heartbeat_interval_s:
            raise ValueError("session_ttl_s must be longer than heartbeat_interval_s")

    def resolved(self, free_bytes: int) -> Limits:
        """These limits with `max_store_bytes` fixed: 90% of `free_bytes` when it is None."""
        if self.max_store_bytes is not None:
            return self
        return replace(self, max_store_bytes=max(MiB, int(free_bytes * 0.9)))

    @property
    def store_bytes(self) -> int:
        """`max_store_bytes` of resolved limits (16 GiB when unresolved)."""
        return self.max_store_bytes if self.max_store_bytes is not None else 16 * GiB

    @property
    def history_bytes(self) -> int:
        """`max_history_bytes`, or a quarter of `store_bytes`."""
        if self.max_history_bytes is not None:
            return self.max_history_bytes
        return self.store_bytes // 4

    @property
    def chunk_bytes(self) -> int:
        """Table data per message sent: room is left for the framing, so every message
        stays under the limit (and under the 4 MiB that stock gRPC clients accept)."""
        return chunk_budget(self.max_message_bytes)

    @property
    def grpc_message_limit(self) -> int:
        """What the gRPC channels accept: a data message plus room for its framing."""
        return self.max_message_bytes + 64 * 1024


def chunk_budget(limit: int) -> int:
    """Table data per message under a message `limit` (room left for the framing)."""
    return max(32 * 1024, limit - 64 * 1024)


def check_name(name: str, max_length: int = Limits.max_name_length) -> str:
    """Return `name` if it is a valid scope name, else raise InvalidInputError saying why."""
    if not isinstance(name, str):
        raise InvalidInputError(f"a scope name must be a str, not {type(name).__name__}")
    if not name:
        raise InvalidInputError("a scope name cannot be empty")
    if len(name) > max_length:
        raise InvalidInputError(
            f"scope name {name[:20]!r}... is {len(name)} characters; the limit is {max_length}"
        )
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidInputError(f"invalid scope name {name!r}: use {NAME_RULE}")
    return name

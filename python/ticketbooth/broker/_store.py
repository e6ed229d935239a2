"""The broker's state: sessions, their exports, published tickets, and reference counts.

Pure bookkeeping with no I/O, so every lifetime rule is unit-testable without a server:
- an export holds one reference to its object; the object is freed at zero references;
- a published (shared or scope) ticket points at a source export and lives only as long as
  that export: release, session close or session expiry unpublish it;
- what another session fetched is its own export, so it stays valid after the publisher goes.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from .._limits import Limits
from .._tickets import ExportTicket, ScopeTicket, SharedTicket, Ticket, ticket_from_bytes
from ._refusals import BrokerError, not_found
from ._segrefs import Part, Segment, Segments


@dataclass(eq=False)
class StoredObject:
    oid: int
    type: str
    nbytes: int
    num_rows: int = 0
    num_columns: int = 0
    schema: bytes = b""
    shm_name: str = ""
    payload: bytes = b""
    refs: int = 0
    owner: str = ""  # the session that imported it: only it may serve requests for it
    # tables whose batches lie in several segments: the runs, in row order (see _segrefs)
    parts: tuple[Part, ...] = ()
    new_bytes: int = -1  # what storing it adds (its own file); -1: nbytes

    def __post_init__(self) -> None:
        if self.new_bytes < 0:
            self.new_bytes = self.nbytes

    def segment_names(self) -> set[str]:
        """The files holding its batches."""
        names = {name for name, _, _ in self.parts}
        if self.shm_name:
            names.add(self.shm_name)
        return names


@dataclass(eq=False)
class Binding:
    """A published ticket: the object, and the export that keeps it alive."""

    ticket: Ticket
    obj: StoredObject
    session_id: str
    export_id: int
    version: int
    published_at: float


@dataclass(eq=False)
class SessionState:
    sid: str
    name: str
    last_seen: float
    exports: dict[int, StoredObject] = field(default_factory=dict)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    attached: int = 0  # open Attach streams: while one is open the session cannot expire
    user: str = ""  # per-user tokens (--users-file): whose token opened it
    ttl_s: float | None = None  # its own TTL (Deephaven clients'); None: the broker's


class Budget:
    """The growing size of one upload: refused as soon as it would break a limit, and
    forgotten when the upload ends (the stored object is then counted by `add_object`)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.nbytes = 0

    def grow(self, nbytes: int) -> None:
        self._store.reserve(self.nbytes + nbytes, pending=self.nbytes)
        self.nbytes += nbytes
        self._store.pending_bytes += nbytes

    def __enter__(self) -> Budget:
        return self

    def __exit__(self, *exc: object) -> None:
        self._store.pending_bytes -= self.nbytes
        self.nbytes = 0


EventHook = Callable[[str, Binding, str], None]
"""(kind, binding, reason): kind is "published" | "updated" | "released"; reason says why a
ticket was released: "released", "closed" or "expired"."""


def _check_free(state: SessionState, export_id: int | None) -> None:
    """Refuse a client-chosen export id the session already uses."""
    if export_id is not None and export_id in state.exports:
        raise BrokerError(
            grpc.StatusCode.ALREADY_EXISTS,
            f"export {export_id} already exists in this session; release it or pick another id",
        )


class Store:
    def __init__(self, limits: Limits, on_free: Callable[[StoredObject, list[str]], None]) -> None:
        self.limits = limits
        self.sessions: dict[str, SessionState] = {}
        self.bindings: dict[bytes, Binding] = {}
        self.total_bytes = 0
        self.pending_bytes = 0  # uploads in progress (Budget)
        self._versions: dict[bytes, int] = {}
        # earlier versions of published tickets, oldest first; each holds a ref on its object
        self.history: dict[bytes, deque[Binding]] = {}
        self.history_bytes = 0
        self._oids = itertools.count(1)
        # (the freed object, the segment files no table holds any more: to remove)
        self._on_free = on_free
        self.segments = Segments()
        self.hooks: list[EventHook] = []
        self.closed_hooks: list[Callable[[str, str], None]] = []  # (sid, reason)

    # sessions -------------------------------------------------------------------------------
    def open_session(self, name: str, now: float | None = None, user: str = "") -> SessionState:
        if len(self.sessions) >= self.limits.max_sessions:
            raise BrokerError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the broker already has {len(self.sessions)} sessions (the limit); "
                "close unused sessions",
            )
        state = SessionState(
            secrets.token_hex(16), name, time.monotonic() if now is None else now, user=user
        )
        self.sessions[state.sid] = state
        return state

    def session(self, sid: str) -> SessionState:
        state = self.sessions.get(sid)
        if state is None:
            raise BrokerError(
                grpc.StatusCode.FAILED_PRECONDITION,
                "this session is closed (closed by the client, or expired after missed "
                "heartbeats); open a new Session",
            )
        return state

    def touch(self, sid: str, now: float | None = None) -> None:
        self.session(sid).last_seen = time.monotonic() if now is None else now

    def expired(self, now: float | None = None) -> list[str]:
        """Sessions with no open Attach stream and no call for longer than the TTL."""
        now = time.monotonic() if now is None else now
        ttl = self.limits.session_ttl_s
        return [
            s.sid
            for s in self.sessions.values()
            if not s.attached and now - s.last_seen > (s.ttl_s or ttl)
        ]

    def attach(self, sid: str) -> None:
        self.session(sid).attached += 1

    def detach(self, sid: str, now: float | None = None) -> None:
        """An Attach stream ended: the TTL counts from now (time to reconnect)."""
        state = self.sessions.get(sid)
        if state is not None:
            state.attached = max(0, state.attached - 1)
            state.last_seen = time.monotonic() if now is None else now

    def forgive(self, now: float | None = None) -> None:
        """The broker itself was paused (SIGSTOP, suspend): nobody missed a heartbeat, so
        every session gets a full TTL from now."""
        now = time.monotonic() if now is None else now
        for state in self.sessions.values():
            state.last_seen = now

    def close_session(self, sid: str, reason: str = "closed") -> None:
        state = self.sessions.get(sid)
        if state is None:
            return
        for export_id in list(state.exports):
            self._release_export(state, export_id, reason)
        del self.sessions[sid]
        for hook in list(self.closed_hooks):
            hook(sid, reason)

    # objects ---------------------------------------------------------------------------------
    def reserve(self, nbytes: int, pending: int = 0) -> None:
        """Refuse an object that would break the size limits (checked before it is stored).

        `pending` is the part of `nbytes` already counted in an open `Budget`."""
        lim = self.limits
        self.check_object_size(nbytes)
        held = self.total_bytes + self.pending_bytes - pending
        while held + nbytes > lim.store_bytes and self._drop_oldest_version():
            held = self.total_bytes + self.pending_bytes - pending
        if held + nbytes > lim.store_bytes:
            raise BrokerError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the broker holds {held} bytes; {nbytes} more would exceed its "
                f"{lim.store_bytes}-byte limit; release objects you no longer need",
            )

    def check_object_size(self, nbytes: int) -> None:
        if nbytes > self.limits.max_object_bytes:
            raise BrokerError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"object of {nbytes} bytes exceeds the broker's per-object limit of "
                f"{self.limits.max_object_bytes} bytes; publish a smaller slice or raise the limit",
            )

    def budget(self) -> Budget:
        """Bytes of an upload in progress, counted against the limits as they arrive."""
        return Budget(self)

    def add_object(self, sid: str, obj: StoredObject, export_id: int | None = None) -> int:
        """Store a new object as an export of `sid`; return the export id.

        `export_id`: the id the client chose (pydeephaven picks its own), refused if taken.
        """
        state = self.session(sid)
        _check_free(state, export_id)
        self.reserve(obj.new_bytes)
        obj.oid = next(self._oids)
        obj.owner = sid
        if obj.shm_name:  # a new file, and the ones whose batches it keeps
            self.segments.add(Segment(obj.shm_name, obj.new_bytes, obj.schema))
            self.segments.hold(obj.segment_names())
        self.total_bytes += obj.new_bytes
        return self._new_export(state, obj, export_id)

    def export_object(self, sid: str, obj: StoredObject) -> int:
        """A new export of an already stored object in session `sid`."""
        return self._new_export(self.session(sid), obj)

    def _new_export(self, state: SessionState, obj: StoredObject, chosen: int | None = None) -> int:
        try:
            _check_free(state, chosen)
        except BrokerError:
            if obj.refs == 0:
                self._free(obj)
            raise
        if len(state.exports) >= self.limits.max_exports_per_session:
            if obj.refs == 0:
                self._free(obj)
            raise BrokerError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"this session holds {len(state.exports)} exports (the limit); release "
                "tables and objects you no longer use",
            )
        export_id = chosen if chosen is not None else next(state.ids)
        while export_id in state.exports:  # taken by a client-chosen id
            export_id = next(state.ids)
        state.exports[export_id] = obj
        obj.refs += 1
        return export_id

    def _free(self, obj: StoredObject) -> None:
        if not obj.shm_name:
            self.total_bytes -= obj.new_bytes
            self._on_free(obj, [])
            return
        dead = self.segments.drop(obj.segment_names())
        self.total_bytes -= sum(seg.size for seg in dead)
        self._on_free(obj, [seg.name for seg in dead])

    # tickets ---------------------------------------------------------------------------------
    def resolve_shared(self, raw: bytes) -> tuple[StoredObject, Binding]:
        """The object behind a shared or scope ticket, for a caller without a session."""
        ticket = self.parse(raw)
        if isinstance(ticket, ExportTicket):
            raise BrokerError(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"export {ticket.id} exists only in the session that holds it: send that "
                "session's id as the x-ticketbooth-session header, or use a shared or scope "
                "ticket",
            )
        binding = self.bindings.get(ticket.bytes)
        if binding is None:
            raise not_found(ticket, self.scope_names())
        return binding.obj, binding

    def resolve(
        self, sid: str, raw: bytes, version: int = 0
    ) -> tuple[StoredObject, Binding | None]:
        """The object behind a ticket; `version` (0: the current one) of a published one."""
        state = self.session(sid)
        ticket = self.parse(raw)
        if isinstance(ticket, ExportTicket):
            if version:
                raise BrokerError(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "an export ticket has no versions: ask for a version of a shared or "
                    "scope ticket",
                )
            obj = state.exports.get(ticket.id)
            if obj is None:
                raise not_found(ticket)
            return obj, None
        binding = self.bindings.get(ticket.bytes)
        if binding is None:
            raise not_found(ticket, self.scope_names())
        binding = self._version(ticket, binding, version)
        return binding.obj, binding

    def fetch(
        self, sid: str, raw: bytes, version: int = 0, export_id: int | None = None
    ) -> tuple[int, StoredObject, Binding | None]:
        """A new export of what `raw` names (`export_id`: the id the client chose)."""
        obj, binding = self.resolve(sid, raw, version)
        return self._new_export(self.session(sid), obj, export_id), obj, binding

    def publish(self, sid: str, source: bytes, result: bytes, now: float | None = None) -> int:
        state = self.session(sid)
        src = self.parse(source)
        if not isinstance(src, ExportTicket):
            raise BrokerError(
                grpc.StatusCode.INVALID_ARGUMENT,
                "the source of publish must be an export ticket of this session; "
                "fetch the object first (session.fetch(ticket)) and publish what it returns",
            )
        obj = state.exports.get(src.id)
        if obj is None:
            raise not_found(src)
        dst = self.parse(result)
        if isinstance(dst, ExportTicket):
            raise BrokerError(
                grpc.StatusCode.INVALID_ARGUMENT,
                "cannot publish to an export ticket; use SharedTicket.random_ticket() or "
                "ScopeTicket.scope_ticket(name)",
            )
        version = self._versions.get(dst.bytes, 0) + 1
        self._versions[dst.bytes] = version
        previous = self.bindings.get(dst.bytes)
        binding = Binding(dst, obj, sid, src.id, version, time.time() if now is None else now)
        self.bindings[dst.bytes] = binding
        if previous is not None:
            self._keep_version(previous)
        self._emit("updated" if previous is not None else "published", binding, "")
        return version

    def release(self, sid: str, raw: bytes) -> None:
        state = self.session(sid)
        ticket = self.parse(raw)
        if isinstance(ticket, ExportTicket):
            if ticket.id not in state.exports:
                raise not_found(ticket)
            self._release_export(state, ticket.id, "released")
            return
        binding = self.bindings.get(ticket.bytes)
        if binding is None:
            raise not_found(ticket)
        if binding.session_id != sid and not self._same_user(binding.session_id, state):
            raise BrokerError(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{ticket} was published by another session; only its publisher (or, on a "
                "broker with per-user tokens, another session of the same user) can release it",
            )
        self._unbind(binding, "released")

    def _same_user(self, publisher_sid: str, state: SessionState) -> bool:
        publisher = self.sessions.get(publisher_sid)
        return bool(state.user) and publisher is not None and publisher.user == state.user

    def unpublish(self, raw: bytes) -> None:
        """Unpublish a shared or scope ticket whoever published it: for the broker's owner
        (the Jupyter server running it), not reachable over gRPC. The publisher keeps its
        export; watchers see a release with reason "released"."""
        ticket = self.parse(raw)
        binding = None if isinstance(ticket, ExportTicket) else self.bindings.get(ticket.bytes)
        if binding is None:
            raise not_found(ticket)
        self._unbind(binding, "released")

    def scope_bindings(self) -> list[Binding]:
        return [b for b in self.bindings.values() if isinstance(b.ticket, ScopeTicket)]

    def shared_bindings(self, user: str) -> list[Binding]:
        """Shared tickets published by sessions of `user` ("" = the broker's own token)."""
        return [
            b
            for b in self.bindings.values()
            if isinstance(b.ticket, SharedTicket)
            and (publisher := self.sessions.get(b.session_id)) is not None
            and publisher.user == user
        ]

    def scope_names(self) -> list[str]:
        return [b.ticket.name for b in self.scope_bindings() if isinstance(b.ticket, ScopeTicket)]

    def publisher_name(self, binding: Binding | None) -> str:
        if binding is None:
            return ""
        state = self.sessions.get(binding.session_id)
        if state is None:
            return ""
        return f"{state.user}: {state.name}" if state.user else state.name

    # internals -------------------------------------------------------------------------------
    def _release_export(self, state: SessionState, export_id: int, reason: str) -> None:
        obj = state.exports.pop(export_id)
        for binding in [b for b in self.bindings.values() if b.session_id == state.sid]:
            if binding.export_id == export_id:
                self._unbind(binding, reason)
        obj.refs -= 1
        if obj.refs == 0:
            self._free(obj)

    def _unbind(self, binding: Binding, reason: str) -> None:
        del self.bindings[binding.ticket.bytes]
        for old in self.history.pop(binding.ticket.bytes, ()):  # released: its history too
            self._drop_version(old)
        self._emit("released", binding, reason)

    # history ---------------------------------------------------------------------------------
    def _keep_version(self, old: Binding) -> None:
        """Keep a replaced version for fetches by version, within the history limits."""
        if self.limits.history_versions == 0:
            return
        kept = self.history.setdefault(old.ticket.bytes, deque())
        kept.append(old)
        old.obj.refs += 1
        self.history_bytes += old.obj.new_bytes
        while len(kept) > self.limits.history_versions:
            self._drop_version(kept.popleft())
        while self.history_bytes > self.limits.history_bytes and self._drop_oldest_version():
            pass

    def _drop_oldest_version(self) -> bool:
        """Drop the oldest kept version of any ticket; False when none is kept."""
        oldest = min(
            (kept for kept in self.history.values() if kept),
            key=lambda kept: kept[0].published_at,
            default=None,
        )
        if oldest is None:
            return False
        self._drop_version(oldest.popleft())
        return True

    def _drop_version(self, old: Binding) -> None:
        kept = self.history.get(old.ticket.bytes)
        if kept is not None and not kept:
            del self.history[old.ticket.bytes]
        self.history_bytes -= old.obj.new_bytes
        old.obj.refs -= 1
        if old.obj.refs == 0:
            self._free(old.obj)

    def kept_versions(self, ticket: bytes) -> list[int]:
        return [b.version for b in self.history.get(ticket, ())]

    def _version(self, ticket: Ticket, current: Binding, version: int) -> Binding:
        """The binding of `version` of a published ticket: the current one or a kept one."""
        if version in (0, current.version):
            return current
        for old in self.history.get(ticket.bytes, ()):
            if old.version == version:
                return old
        kept = self.kept_versions(ticket.bytes)
        if version > current.version or version < 0:
            why = f"there is no version {version} (the current one is {current.version})"
        elif kept:
            why = (
                f"version {version} is no longer kept (kept: {', '.join(map(str, kept))}; "
                f"current: {current.version}); the broker keeps {self.limits.history_versions} "
                "earlier versions within its history bytes (serve --history-versions)"
            )
        else:
            why = (
                f"version {version} is no longer kept: only the current version "
                f"({current.version}) is (serve --history-versions N keeps N earlier ones)"
            )
        raise BrokerError(grpc.StatusCode.NOT_FOUND, f"{ticket}: {why}")

    def _emit(self, kind: str, binding: Binding, reason: str) -> None:
        for hook in list(self.hooks):
            hook(kind, binding, reason)

    def parse(self, raw: bytes) -> Ticket:
        try:
            ticket = ticket_from_bytes(raw)
        except ValueError as exc:
            raise BrokerError(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from exc
        if isinstance(ticket, ScopeTicket) and len(ticket.name) > self.limits.max_name_length:
            raise BrokerError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"scope name is {len(ticket.name)} characters; the limit is "
                f"{self.limits.max_name_length}",
            )
        return ticket

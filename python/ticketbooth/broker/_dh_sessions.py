"""Deephaven clients' sessions on the broker: logging in, bearer tokens, and their lifetime.

A Deephaven client (pydeephaven) sends ``authorization: <auth type> <token>`` on its first
call; the reply's initial metadata carries ``authorization: Bearer <session token>``, which
the client sends on every later call (and on its Flight calls). Each Deephaven session is a
broker session like any other (one ticket space, one `ticketbooth ls`), with its own TTL:
pydeephaven's keep-alive refreshes it well within that, and a client that stops calling
(killed, or never_timeout=False) is closed after it, its exports released.

pydeephaven's import_table returns once the server acknowledges the first record batch, while
the upload goes on (its Flight stream ends when the writer is collected): an export being
imported is pending, and a call that names it waits for the import to end (as Deephaven's
export futures do), then finds it or the reason the import failed.

A name a Deephaven client binds (bind_table, or publish to a scope ticket) stays bound after
that client's session ends, as a variable does on a Deephaven server: it is held by a
broker-side session of the client's user (one per user, never expiring) until the name is
bound again (by either kind of client) or unpublished, or the broker stops.

Export ids the server chooses for a Deephaven session are negative (as Deephaven's own are),
so they never take an id the client will choose (pydeephaven counts up from 1).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets

import grpc

from .._cli_values import shown
from .._tickets import ExportTicket
from ._auth import TOKEN_HEADER, metadata_value, token_user
from ._refusals import BrokerError
from ._servicer import Core, Ctx
from ._store import Binding, StoredObject

log = logging.getLogger("ticketbooth.broker")
PSK = "io.deephaven.authentication.psk.PskAuthenticationHandler"
ANONYMOUS = "Anonymous"
IMPORT_WAIT_S = 300.0  # how long a call waits for the import of an export it names


def _refused(message: str) -> BrokerError:
    return BrokerError(grpc.StatusCode.UNAUTHENTICATED, message)


class DhSessions:
    def __init__(self, core: Core, ttl_s: float, anonymous: bool) -> None:
        self.core = core
        self.store = core.store
        self.ttl_s = ttl_s
        self.anonymous = anonymous
        self._sids: dict[str, str] = {}  # bearer -> session id
        self._bearers: dict[str, str] = {}  # session id -> bearer
        # imports in progress: (session, export id) -> "" when done, else why it failed
        self._imports: dict[tuple[str, int], asyncio.Future[str]] = {}
        self._failed: dict[tuple[str, int], str] = {}
        # exports fetched from a shared or scope ticket: (session, export id) -> that ticket
        # (pydeephaven's plugin_client streams on such an export; it follows the ticket)
        self.origins: dict[tuple[str, int], bytes] = {}
        self._holders: dict[str, str] = {}  # user -> the session holding their bound names
        self._bound: dict[bytes, tuple[str, int]] = {}  # name -> (holder, its export)
        self.store.closed_hooks.append(self._closed)
        self.store.hooks.append(self._changed)

    def _closed(self, sid: str, reason: str) -> None:
        bearer = self._bearers.pop(sid, None)
        if bearer is not None:
            self._sids.pop(bearer, None)
        for key in [k for k in (*self._imports, *self._failed, *self.origins) if k[0] == sid]:
            self._imports.pop(key, None)
            self._failed.pop(key, None)
            self.origins.pop(key, None)

    # names bound by Deephaven clients --------------------------------------------------------
    def bind(self, sid: str, obj: StoredObject, name: bytes) -> None:
        """Publish `obj` under the scope ticket `name`, held by the user's holder session."""
        holder = self._holder(self.store.session(sid).user)
        export_id = self.store.export_object(holder, obj)
        old = self._bound.get(name)
        self._bound[name] = (holder, export_id)
        try:
            self.store.publish(holder, ExportTicket.export_ticket(export_id).bytes, name)
        except BrokerError:
            if old is None:
                del self._bound[name]
            else:
                self._bound[name] = old
            self._release(holder, export_id)
            raise
        if old is not None:
            self._release(*old)

    def _holder(self, user: str) -> str:
        sid = self._holders.get(user)
        if sid is None or sid not in self.store.sessions:
            state = self.store.open_session("pydeephaven scope", user=user)
            state.ids = itertools.count(-1, -1)
            self.store.attach(state.sid)  # never expires
            sid = self._holders[user] = state.sid
        return sid

    def _changed(self, kind: str, binding: Binding, reason: str) -> None:
        """A bound name now names something else (or nothing): its holder's export goes."""
        held = self._bound.get(binding.ticket.bytes)
        if held is None or ((binding.session_id, binding.export_id) == held and kind != "released"):
            return
        del self._bound[binding.ticket.bytes]
        asyncio.get_running_loop().call_soon(self._release, *held)

    def _release(self, holder: str, export_id: int) -> None:
        state = self.store.sessions.get(holder)
        if state is not None and export_id in state.exports:
            self.store.release(holder, ExportTicket.export_ticket(export_id).bytes)

    # imports in progress -----------------------------------------------------------------------
    def begin_import(self, sid: str, export_id: int) -> asyncio.Future[str]:
        key = (sid, export_id)
        if key in self._imports:
            raise BrokerError(
                grpc.StatusCode.ALREADY_EXISTS,
                f"export {export_id} is already being imported in this session; pick another id",
            )
        self._failed.pop(key, None)
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._imports[key] = done
        return done

    def end_import(self, sid: str, export_id: int, failure: str = "") -> None:
        done = self._imports.pop((sid, export_id), None)
        if done is not None and not done.done():
            done.set_result(failure)
        state = self.store.sessions.get(sid)
        # only this import's own export fails: never one that exists (made another way)
        if failure and done is not None and state is not None and export_id not in state.exports:
            self._failed[(sid, export_id)] = failure

    async def ready(self, sid: str, *tickets: bytes) -> None:
        """Wait until the exports `tickets` name are imported; refuse a failed import."""
        for raw in tickets:
            try:
                key = (sid, ExportTicket(raw).id)
            except ValueError:  # not an export ticket: nothing is imported under it
                continue
            done = self._imports.get(key)
            if done is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(done), IMPORT_WAIT_S)
                except TimeoutError:
                    raise BrokerError(
                        grpc.StatusCode.DEADLINE_EXCEEDED,
                        f"export {key[1]} is still being imported after {IMPORT_WAIT_S:g}s "
                        "(its Flight DoPut stream is open); close the writer",
                    ) from None
            failure = self._failed.get(key)
            if failure:
                raise BrokerError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"the import of export {key[1]} failed: {failure}",
                )

    def _user(self, header: str) -> str:
        """Whose session a login header opens; refuses anything but the broker's token."""
        scheme, _, given = header.partition(" ")
        if scheme == PSK:
            user = token_user(given, self.core.token, self.core.users)
            if user is None:
                raise _refused(
                    "wrong token for this broker: pass the broker's token as auth_token "
                    "(it is in the broker's connection file, whose path `ticketbooth serve` "
                    "prints at start)"
                )
            return user
        if scheme == ANONYMOUS and self.anonymous:
            return ""
        if scheme == ANONYMOUS:
            raise _refused(
                "this broker does not accept anonymous Deephaven sessions; connect with "
                f"auth_type={PSK!r} and auth_token=<the broker's token> (or start it with "
                "--deephaven-anonymous, loopback only)"
            )
        raise _refused(
            f"unsupported auth type {shown(scheme[:60])!r}: the ticketbooth broker accepts "
            f"auth_type={PSK!r} with the broker's token as auth_token"
        )

    def _login(self, header: str, peer: str) -> tuple[str, str]:
        user = self._user(header)
        state = self.store.open_session(f"pydeephaven {peer}", user=user)
        state.ttl_s = self.ttl_s
        state.ids = itertools.count(-1, -1)
        bearer = secrets.token_urlsafe(24)
        self._sids[bearer] = state.sid
        self._bearers[state.sid] = bearer
        log.info("Deephaven session %s opened by %s", state.sid[:8], peer)
        return state.sid, bearer

    def admission(self, header: str) -> BrokerError | None:
        """Why a call with this authorization header is refused (None: it is not), without
        opening a session: checked before a call's request is read."""
        try:
            if not header:
                raise _refused(
                    f"no authorization: connect with auth_type={PSK!r} and the broker's token"
                )
            if header.startswith("Bearer "):
                bearer = header.removeprefix("Bearer ")
                if bearer in self._sids:
                    return None
                if token_user(bearer, self.core.token, self.core.users) is not None:
                    raise _refused(  # the main port's form, sent to this one
                        "a broker token was sent as a bearer: on this port log in with "
                        f"auth_type={PSK!r} and the token as auth_token; the bearer is the "
                        "session token the login answers with"
                    )
                raise _refused(
                    "this Deephaven session is closed or expired (no call for "
                    f"{self.ttl_s:g}s, or the broker restarted); open a new Session"
                )
            self._user(header)
        except BrokerError as refusal:
            return refusal
        return None

    def lookup(self, context: Ctx) -> tuple[str, str]:
        """(session id, bearer) of the caller: its bearer's session, or a new one for a
        login header. Refusals are UNAUTHENTICATED with what to do."""
        header = metadata_value(context, TOKEN_HEADER)
        refusal = self.admission(header)
        if refusal is not None:
            raise refusal
        if header.startswith("Bearer "):
            bearer = header.removeprefix("Bearer ")
            sid = self._sids[bearer]
            self.store.touch(sid)
            return sid, bearer
        return self._login(header, shown(context.peer() or "unknown")[:80])

    async def enter(self, context: Ctx, *tickets: bytes) -> str:
        """The caller's session, its bearer sent at once as initial metadata (pydeephaven
        reads the headers before the first message, on unary and streaming calls), once
        the exports among `tickets` are imported."""
        sid, bearer = self.lookup(context)
        await context.send_initial_metadata(((TOKEN_HEADER, f"Bearer {bearer}"),))
        await self.ready(sid, *tickets)
        return sid

    def close(self, sid: str) -> None:
        self.store.close_session(sid)

    def flight_caller(self, context: Ctx) -> str:
        """The session of a Flight call: it must carry a bearer pydeephaven got."""
        sid, _ = self.lookup(context)
        return sid

"""gRPC handlers: each checks the token, finds the session, and maps refusals to statuses."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
import pyarrow as pa

from .. import _parts
from .._cli_values import shown
from .._errors import InvalidInputError, LimitExceededError, TicketboothError
from .._limits import Limits
from .._proto.v1 import broker_pb2 as pb
from .._proto.v1 import broker_pb2_grpc as pb_grpc
from .._tickets import ExportTicket
from .._version import PROTOCOL, __version__
from ._auth import SESSION_HEADER, check_token, metadata_value
from ._refusals import BrokerError
from ._shm import ShmDir
from ._store import Binding, Store, StoredObject

log = logging.getLogger("ticketbooth.broker")
Ctx = grpc.aio.ServicerContext[Any, Any]
R = TypeVar("R")


async def _abort(context: Ctx, exc: Exception, where: str) -> None:
    """End the call with the status for `exc`: a refusal's own, or INTERNAL for a bug (logged;
    a bug must not take the broker down). Raises AbortError."""
    if isinstance(exc, grpc.aio.AbortError):
        raise exc
    if isinstance(exc, BrokerError):
        await context.abort(exc.code, exc.message)
    if isinstance(exc, (InvalidInputError, LimitExceededError)):
        await context.abort(refusal_code(exc), str(exc))
    log.exception("internal error in %s", where)
    await context.abort(grpc.StatusCode.INTERNAL, f"internal broker error: {exc!r}")


def refusals(
    fn: Callable[..., Awaitable[R]],
) -> Callable[..., Awaitable[R]]:
    """Turn refusals into statuses; log and report anything unexpected without dying."""

    @functools.wraps(fn)
    async def wrapper(self: Any, request: Any, context: Ctx) -> R:
        try:
            return await fn(self, request, context)
        except Exception as exc:
            await _abort(context, exc, fn.__name__)
        raise AssertionError("unreachable")

    return wrapper


def stream_refusals(
    fn: Callable[..., AsyncIterator[Any]],
) -> Callable[..., AsyncIterator[Any]]:
    """`refusals` for handlers that stream their responses."""

    @functools.wraps(fn)
    async def wrapper(self: Any, request: Any, context: Ctx) -> AsyncIterator[Any]:
        try:
            async for message in fn(self, request, context):
                yield message
        except Exception as exc:
            await _abort(context, exc, fn.__name__)

    return wrapper


def refusal_code(exc: TicketboothError) -> grpc.StatusCode:
    """The status for a refusal raised by shared code (decoding, validation, limits)."""
    if isinstance(exc, LimitExceededError):
        return grpc.StatusCode.RESOURCE_EXHAUSTED
    return grpc.StatusCode.INVALID_ARGUMENT


class Core:
    """What both services share: the store, the shm directory, the token."""

    def __init__(
        self, store: Store, shm: ShmDir, token: str, users: dict[str, str] | None = None
    ) -> None:
        self.store = store
        self.shm = shm
        self.token = token
        self.users = dict(users or {})  # per-user tokens: name -> token
        self.broker_id = secrets.token_hex(8)

    def authorize(self, context: Ctx) -> str:
        """The caller's user ("" for the broker's own token); refuses a wrong token."""
        return check_token(context, self.token, self.users)

    def session_id(self, context: Ctx) -> str:
        user = self.authorize(context)
        sid = metadata_value(context, SESSION_HEADER)
        if not sid:
            raise BrokerError(grpc.StatusCode.FAILED_PRECONDITION, "call OpenSession first")
        self.check_owner(user, sid)
        self.store.touch(sid)
        return sid

    def check_owner(self, user: str, sid: str) -> None:
        """Refuse a session id (from the x-ticketbooth-session header) opened with another
        user's token: a token reaches only its own user's sessions."""
        state = self.store.sessions.get(sid)
        if state is not None and state.user != user:
            raise BrokerError(
                grpc.StatusCode.PERMISSION_DENIED,
                "this session was opened with another user's token; open your own session",
            )

    def info(self, obj: StoredObject, binding: Binding | None) -> pb.ObjectInfo:
        return pb.ObjectInfo(
            type=obj.type,
            name=getattr(binding.ticket, "name", "") if binding else "",
            ticket=binding.ticket.bytes if binding else b"",
            version=binding.version if binding else 0,
            num_rows=obj.num_rows,
            num_columns=obj.num_columns,
            nbytes=obj.nbytes,
            publisher=self.store.publisher_name(binding),
            published_at=binding.published_at if binding else 0.0,
            schema=obj.schema,
            shm_name=obj.shm_name,
            parts=_parts.to_pb(obj.parts),
            kept_versions=self.store.kept_versions(binding.ticket.bytes) if binding else [],
        )

    def server_info(self) -> pb.ServerInfo:
        lim: Limits = self.store.limits
        return pb.ServerInfo(
            version=__version__,
            shm_dir=self.shm.path,
            host_nonce=self.shm.nonce,
            limits=pb.Limits(
                max_message_bytes=lim.max_message_bytes,
                max_name_length=lim.max_name_length,
                max_exports_per_session=lim.max_exports_per_session,
                max_store_bytes=lim.store_bytes,
                max_object_bytes=lim.max_object_bytes,
            ),
            heartbeat_interval_s=lim.heartbeat_interval_s,
            session_ttl_s=lim.session_ttl_s,
            broker_id=self.broker_id,
            protocol=PROTOCOL,
        )

    def table_object(self, shm_name: str, schema: pa.Schema, rows: int) -> StoredObject:
        return StoredObject(
            oid=0,
            type="Table",
            nbytes=self.shm.size(shm_name),
            num_rows=rows,
            num_columns=len(schema),
            schema=schema.serialize().to_pybytes(),
            shm_name=shm_name,
        )

    def import_response(
        self, sid: str, obj: StoredObject, export_id: int | None = None
    ) -> pb.ImportResponse:
        try:
            export_id = self.store.add_object(sid, obj, export_id)
        except BrokerError:
            self.shm.unlink(obj.shm_name)
            raise
        return pb.ImportResponse(
            export_ticket=ExportTicket.export_ticket(export_id).bytes, info=self.info(obj, None)
        )


def version_mismatch(client_protocol: int, client_version: str) -> str:
    client = f"ticketbooth {client_version}" if client_version else "an older ticketbooth"
    return (
        f"this broker runs ticketbooth {__version__} (protocol {PROTOCOL}); the client runs "
        f"{client} (protocol {client_protocol}); install the same version on both sides "
        f"(pip install 'ticketbooth=={__version__}')"
    )


class SessionServicer(pb_grpc.SessionServiceServicer):
    def __init__(self, core: Core) -> None:
        self.core = core
        self.store = core.store
        self._attached: dict[str, set[asyncio.Queue[str]]] = {}
        self.store.closed_hooks.append(self._session_closed)

    @refusals
    async def OpenSession(self, request: pb.OpenSessionRequest, context: Ctx) -> Any:
        user = self.core.authorize(context)
        if request.protocol != PROTOCOL:
            raise BrokerError(
                grpc.StatusCode.FAILED_PRECONDITION,
                version_mismatch(request.protocol, request.client_version),
            )
        # escaped: a client-chosen name must not rewrite a terminal or a log line
        name = shown(request.client_name[:200]) or "anonymous"
        state = self.store.open_session(name, user=user)
        who = f"{user}: {name}" if user else name
        log.info("session %s opened by %s", state.sid[:8], who)
        return pb.OpenSessionResponse(
            session_id=state.sid, server=self.core.server_info(), user=user
        )

    @stream_refusals
    async def Attach(self, request: pb.AttachRequest, context: Ctx) -> AsyncIterator[Any]:
        sid = self.core.session_id(context)
        closing: asyncio.Queue[str] = asyncio.Queue()
        self._attached.setdefault(sid, set()).add(closing)
        self.store.attach(sid)
        try:
            yield pb.AttachEvent(kind="attached", broker_id=self.core.broker_id)
            reason = await closing.get()
            yield pb.AttachEvent(kind="closing", broker_id=self.core.broker_id, reason=reason)
        finally:
            self._attached.get(sid, set()).discard(closing)
            self.store.detach(sid)

    def _session_closed(self, sid: str, reason: str) -> None:
        for closing in self._attached.pop(sid, ()):
            closing.put_nowait(f"the broker closed this session ({reason})")

    def shutdown(self) -> None:
        """Tell every attached client that the broker is going away."""
        for sid in list(self._attached):
            for closing in self._attached.pop(sid):
                closing.put_nowait("the broker shut down")

    @refusals
    async def Heartbeat(self, request: pb.HeartbeatRequest, context: Ctx) -> Any:
        self.core.session_id(context)
        return pb.HeartbeatResponse()

    @refusals
    async def CloseSession(self, request: pb.CloseSessionRequest, context: Ctx) -> Any:
        user = self.core.authorize(context)
        sid = metadata_value(context, SESSION_HEADER)
        self.core.check_owner(user, sid)
        self.store.close_session(sid)
        return pb.CloseSessionResponse()

    @refusals
    async def Publish(self, request: pb.PublishRequest, context: Ctx) -> Any:
        sid = self.core.session_id(context)
        version = self.store.publish(sid, request.source_ticket, request.result_ticket)
        return pb.PublishResponse(version=version)

    @refusals
    async def Fetch(self, request: pb.FetchRequest, context: Ctx) -> Any:
        sid = self.core.session_id(context)
        export_id, obj, binding = self.store.fetch(sid, request.ticket, request.version)
        return pb.FetchResponse(
            export_ticket=ExportTicket.export_ticket(export_id).bytes,
            info=self.core.info(obj, binding),
        )

    @refusals
    async def Release(self, request: pb.ReleaseRequest, context: Ctx) -> Any:
        sid = self.core.session_id(context)
        self.store.release(sid, request.ticket)
        return pb.ReleaseResponse()

    @refusals
    async def ListObjects(self, request: pb.ListObjectsRequest, context: Ctx) -> Any:
        user = self.core.authorize(context)
        bindings = self.store.scope_bindings()
        if request.include_shared:
            bindings += self.store.shared_bindings(user)
        infos = [self.core.info(b.obj, b) for b in bindings]
        return pb.ListObjectsResponse(objects=infos)

    @refusals
    async def GetInfo(self, request: pb.GetInfoRequest, context: Ctx) -> Any:
        sid = self.core.session_id(context)
        obj, binding = self.store.resolve(sid, request.ticket, request.version)
        return self.core.info(obj, binding)

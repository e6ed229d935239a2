"""The ticketbooth broker as a `Backend`: gRPC calls, shared memory on the same host, Arrow
Flight across hosts, and the keepalive that holds the session open."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from typing import Any

import grpc
import pyarrow as pa

from . import _discovery, _parts, _reuse, _segments
from ._backend import Export, Features
from ._connection import Connection
from ._deadline import Progress
from ._errors import (
    AuthenticationError,
    BrokerUnavailableError,
    IncompatibleBrokerError,
    SessionClosedError,
    TicketboothError,
    TicketNotFoundError,
)
from ._flight_client import FlightTransport
from ._info import ObjectInfo
from ._keepalive import FORGOTTEN, KeepAlive
from ._limits import chunk_budget
from ._plugin import PluginClient, RequestHandler, RequestServer
from ._proto.v1 import broker_pb2 as pb
from ._tickets import ticket_from_bytes
from ._version import PROTOCOL, __version__
from ._watch import Watch, broker_events
from .broker._janitor import lock_incoming

VALIDATION_BYTES_PER_S = 200e6  # a floor well below the measured rate (docs/performance.md)


def client_name() -> str:
    try:
        user = getpass.getuser()
    except Exception:
        user = "?"
    return f"{user}@{os.uname().nodename} pid {os.getpid()}"


class BrokerBackend:
    """A session on a ticketbooth broker at `endpoint`.

    Raises:
        AuthenticationError, BrokerUnavailableError, IncompatibleBrokerError.
    """

    def __init__(
        self,
        endpoint: _discovery.Endpoint,
        name: str | None,
        certs: bytes | None,
        timeout: float,
        force_remote: bool,
    ) -> None:
        self._timeout = timeout
        conn = Connection(endpoint.url, endpoint.token, certs)
        req = pb.OpenSessionRequest(
            client_name=name or client_name(), client_version=__version__, protocol=PROTOCOL
        )
        try:
            resp = conn.call("open session", conn.sessions.OpenSession, req, timeout)
            if resp.server.protocol != PROTOCOL:
                raise IncompatibleBrokerError(
                    f"the broker at {endpoint.url} runs ticketbooth {resp.server.version} "
                    f"(protocol {resp.server.protocol}); this client runs {__version__} "
                    f"(protocol {PROTOCOL}); install the same version on both sides"
                )
        except SessionClosedError as exc:  # the broker refused this client's protocol
            conn.close()
            raise IncompatibleBrokerError(str(exc)) from None
        except Exception:
            conn.close()
            raise
        conn.set_session(resp.session_id)
        self.conn = conn
        self.url = endpoint.url
        self.endpoint = endpoint
        self.session_id: str = resp.session_id
        self.user: str = resp.user
        self.server = resp.server
        self.broker_id: str = resp.server.broker_id
        self.max_object_bytes = int(resp.server.limits.max_object_bytes)
        self._flight = FlightTransport(
            endpoint.url, endpoint.token, resp.session_id, certs, timeout
        )
        self._keepalive = KeepAlive(
            resp.server.heartbeat_interval_s,
            resp.server.session_ttl_s,
            self._heartbeat,
            self._release_now,
            lambda: conn.sessions.Attach(pb.AttachRequest(), metadata=conn.md),
            resp.server.broker_id,
            self._replaced,
        )
        self._held = _reuse.HeldBatches()  # mapped batches of this session's tables
        same_host = not force_remote and self._sees_shm()
        self.features = Features(
            history=True, live="every", plugins=True, same_host=same_host, per_session_scope=True
        )

    def _sees_shm(self) -> bool:
        try:
            with open(os.path.join(self.server.shm_dir, "nonce")) as f:
                return f.read() == self.server.host_nonce
        except OSError:
            return False

    def _replaced(self) -> str | None:
        """Why the broker this session was opened on is known to be gone, else None."""
        path = self.endpoint.connection_file
        info = _discovery.read_connection_file(path) if path else None
        if info is not None and info.get("url") != self.endpoint.url:
            return (
                f"the broker this session was opened on is gone and a new one serves "
                f"{info.get('url')}; what this session held is gone: open a new Session"
            )
        return None

    # plumbing ------------------------------------------------------------------------------
    @property
    def lost(self) -> str | None:
        return self._keepalive.lost

    def call(self, what: str, method: Any, request: Any, extra_s: float = 0.0) -> Any:
        """A unary call with the session's timeout (plus `extra_s` for work that grows
        with the data, such as the broker validating a table)."""
        self._check(what)
        try:
            return self.conn.call(what, method, request, self._timeout + extra_s)
        except TicketboothError as exc:
            raise self._forgotten(exc, what) from None

    def _forgotten(self, exc: TicketboothError, what: str) -> TicketboothError:
        """`exc`, unless it means the broker forgot this session (it restarted, was
        replaced, or expired us: the token and session worked when opened); then the
        session is lost, said once."""
        if isinstance(exc, (SessionClosedError, AuthenticationError)):
            self._keepalive.lose(FORGOTTEN)
            return SessionClosedError(f"cannot {what}: {FORGOTTEN}")
        return exc

    def _check(self, what: str) -> None:
        if self._keepalive.lost:
            raise SessionClosedError(f"cannot {what}: {self._keepalive.lost}")

    def _upload(self, what: str, method: Any, requests: Iterator[Any]) -> Any:
        """A client-streaming call with a progress deadline (see `_deadline`); Ctrl+C or a
        stall cancels it, and the broker stores nothing of a cut-short stream."""
        self._check(what)
        with Progress(what, self._timeout) as progress:
            future = progress.watch(
                method.future(progress.ticking(requests), metadata=self.conn.md)
            )
            try:
                return future.result()
            except (grpc.RpcError, grpc.FutureCancelledError) as err:
                raise self._forgotten(progress.error(err), what) from None
            finally:
                future.cancel()

    def _download(self, what: str, method: Any, request: Any) -> Iterator[Any]:
        """A server-streaming call with a progress deadline; yields its messages."""
        self._check(what)
        with Progress(what, self._timeout) as progress:
            call = progress.watch(method(request, metadata=self.conn.md))
            try:
                yield from progress.ticking(call)
            except grpc.RpcError as err:
                raise self._forgotten(progress.error(err), what) from None
            finally:
                call.cancel()

    def _heartbeat(self) -> None:
        self.conn.call("heartbeat", self.conn.sessions.Heartbeat, pb.HeartbeatRequest(), 10)

    def _release_now(self, ticket: bytes) -> None:
        self._held.drop(ticket)
        self.conn.call("release", self.conn.sessions.Release, pb.ReleaseRequest(ticket=ticket))

    def release_later(self, ticket: bytes) -> None:
        self._held.drop(ticket)
        self._keepalive.queue_release(ticket)

    # tables --------------------------------------------------------------------------------
    def import_table(self, reader: pa.RecordBatchReader, source: pa.Table | None = None) -> Export:
        if not self.features.same_host:
            return self._export_of(self._put_table(reader))
        found = None if source is None else _reuse.plan(source, self._held)
        if found is not None:
            try:
                return self._export_of(self._import_shm(found))
            except (SessionClosedError, AuthenticationError, BrokerUnavailableError):
                raise
            except TicketboothError:  # a held table was released meanwhile, say
                pass
        return self._export_of(self._import_shm(reader))

    def _export_of(self, resp: Any) -> Export:
        return self._export(resp.export_ticket, resp.info)

    def _import_shm(self, data: pa.RecordBatchReader | _reuse.Plan) -> Any:
        """Write the table into the broker's shm dir and hand the file over. The file is
        locked until the broker has taken it, so if this process dies mid-way the broker
        knows the file is abandoned and removes it. A `Plan` writes only its new rows, and
        names the batches the broker holds already."""
        name = f"in-{os.urandom(16).hex()}.arrow"
        path = os.path.join(self.server.shm_dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            lock_incoming(fd)
            # in message-sized batches, so remote readers get the file's messages as they are
            chunk = chunk_budget(int(self.server.limits.max_message_bytes))
            if isinstance(data, _reuse.Plan):
                parts = _write_plan(data, path, chunk)
                req = pb.ImportShmRequest(shm_name=name, parts=_parts.to_pb(parts))
            else:
                _segments.write_segment(data, path, exists=True, max_batch_bytes=chunk)
                req = pb.ImportShmRequest(shm_name=name)
            # the broker validates every byte (>= 1 GB/s measured): allow for it
            validation_s = os.fstat(fd).st_size / VALIDATION_BYTES_PER_S
            return self.call("import table", self.conn.tables.ImportShm, req, validation_s)
        except BaseException:
            _segments.unlink_quietly(path)
            raise
        finally:
            os.close(fd)

    def _put_table(self, reader: pa.RecordBatchReader) -> Any:
        """Send a table over Arrow Flight (the remote path)."""
        self._check("import table")
        try:
            raw = self._flight.put(reader, int(self.server.limits.max_message_bytes))
        except TicketboothError as exc:
            raise self._forgotten(exc, "import table") from None
        return pb.ImportResponse.FromString(raw)

    def _export(self, export: bytes, msg: pb.ObjectInfo) -> Export:
        info = ObjectInfo.from_message(msg, export)
        if info.type != "Table":
            return Export(export, info)
        parts = _parts.from_pb(msg.parts)
        nbytes = msg.nbytes

        def load() -> pa.Table:
            if self.features.same_host:
                try:
                    table, placed = _parts.read_table(self.server.shm_dir, msg.shm_name, parts)
                except FileNotFoundError:  # the broker removed it: nothing holds it any more
                    raise TicketNotFoundError(
                        f"{ticket_from_bytes(export)}: the table was released before its data "
                        "was read; fetch it again (data read before a release stays valid)"
                    ) from None
                self._held.add(export, placed)  # batches a republish can name, not copy
                return table
            try:
                return self._flight.fetch(export, nbytes)
            except TicketboothError as exc:
                raise self._forgotten(exc, "fetch table data") from None

        return Export(export, info, load)

    # tickets -------------------------------------------------------------------------------
    def publish(self, source: bytes, result: bytes) -> None:
        req = pb.PublishRequest(source_ticket=source, result_ticket=result)
        self.call("publish", self.conn.sessions.Publish, req)

    def fetch(self, ticket: bytes, version: int, what: str = "fetch") -> Export:
        req = pb.FetchRequest(ticket=ticket, version=version)
        resp = self.call(what, self.conn.sessions.Fetch, req)
        return self._export(resp.export_ticket, resp.info)

    def info(self, ticket: bytes, version: int) -> ObjectInfo:
        req = pb.GetInfoRequest(ticket=ticket, version=version)
        resp = self.call("get info", self.conn.sessions.GetInfo, req)
        return ObjectInfo.from_message(resp, ticket)  # an export's info names no ticket

    def release(self, ticket: bytes) -> None:
        self._held.drop(ticket)
        self.call("release", self.conn.sessions.Release, pb.ReleaseRequest(ticket=ticket))

    def list_objects(self, include_shared: bool) -> list[ObjectInfo]:
        req = pb.ListObjectsRequest(include_shared=include_shared)
        resp = self.call("list objects", self.conn.sessions.ListObjects, req)
        return [ObjectInfo.from_message(o) for o in resp.objects]

    # rich objects, watches, plugin streams -------------------------------------------------
    def import_object(self, type_name: str, wire: bytes) -> bytes:
        step = int(self.server.limits.max_message_bytes)

        def chunks() -> Iterator[pb.ObjectChunk]:
            for start in range(0, max(1, len(wire)), step):
                kind = type_name if start == 0 else ""
                yield pb.ObjectChunk(type=kind, data=wire[start : start + step])

        resp = self._upload("import figure", self.conn.objects.PutObject, chunks())
        return bytes(resp.export_ticket)

    def get_object(self, export: bytes) -> bytes:
        req = pb.GetObjectRequest(ticket=export)
        return b"".join(
            c.data for c in self._download("fetch object", self.conn.objects.GetObject, req)
        )

    def _alive(self, what: str) -> None:
        """One round trip, so a dead broker fails here rather than on a stream."""
        self.call(what, self.conn.sessions.Heartbeat, pb.HeartbeatRequest())

    def watch(self, ticket: bytes) -> Watch:
        self._alive("watch")
        call = self.conn.objects.Watch(pb.WatchRequest(ticket=ticket), metadata=self.conn.md)
        return Watch(broker_events(call), call.cancel, ticket)

    def plugin_client(self, obj: Any) -> PluginClient:
        self._alive("check")
        return PluginClient(self.conn.objects, self.conn.md, obj)

    def serve_requests(
        self, ticket: bytes, handler: RequestHandler, timeout: float
    ) -> RequestServer:
        self._alive("serve")
        t = ticket_from_bytes(ticket)
        return RequestServer(self.conn.objects, self.conn.md, t, handler, timeout)

    def close(self) -> None:
        self._held.clear()
        lost = self._keepalive.lost
        self._keepalive.stop()
        try:
            if lost is None:
                req = pb.CloseSessionRequest()
                self.conn.call("close", self.conn.sessions.CloseSession, req, 5)
        except TicketboothError:
            pass  # the broker is gone or has forgotten us: nothing is left to close
        finally:
            self._flight.close()
            self.conn.close()


def _write_plan(plan: _reuse.Plan, path: str, chunk: int) -> list[_parts.Part]:
    """Write `plan`'s new rows to the (created, locked) file at `path`; its parts."""
    written = [0] * len(plan.runs)

    def batches() -> Iterator[pa.RecordBatch]:
        for k, batch in plan.new_batches(chunk):
            written[k] += 1
            yield batch

    reader = pa.RecordBatchReader.from_batches(plan.table.schema, batches())
    _segments.write_segment(reader, path, exists=True)
    return plan.parts(os.path.basename(path), written)

"""Malformed and unknown tickets, sent with raw gRPC and Flight calls where pydeephaven
would refuse them itself: each gets a clean error (a status that names the problem, not
INTERNAL/UNKNOWN), and the broker goes on serving what was published before."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import grpc
import pyarrow as pa
import pyarrow.flight as fl
import pytest
from deephaven_core.proto import (
    session_pb2,
    session_pb2_grpc,
    table_pb2_grpc,
    ticket_pb2,
)
from pydeephaven import DHError, Session
from pydeephaven.ticket import ExportTicket, SharedTicket

import ticketbooth as tb
from tests.pydeephaven_compat.conftest import Clients, same, sample_table

UNCLEAN = {
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.OK,
}


@dataclass
class Ref:
    """A table published before the bad call: (session, its table, the shared ticket)."""

    session: Session
    table: object
    shared: SharedTicket
    data: pa.Table

    @property
    def export(self) -> bytes:
        return self.table.ticket.bytes  # type: ignore[attr-defined,no-any-return]


def _t(raw: bytes) -> ticket_pb2.Ticket:
    return ticket_pb2.Ticket(ticket=raw)


def _unknown_shared() -> bytes:
    return b"h" + uuid.uuid4().bytes


def _unused_export(s: Session) -> bytes:
    return ExportTicket.export_ticket(s.next_export_ticket_number()).bytes


def _md(s: Session) -> dict[str, object]:
    return {"metadata": s.grpc_metadata, "timeout": 20}


def _etcr(raw: Callable[[Ref], bytes]) -> Callable[[Ref], object]:
    def call(r: Ref) -> object:
        stub = table_pb2_grpc.TableServiceStub(r.session.grpc_channel)
        resp = stub.GetExportedTableCreationResponse(_t(raw(r)), **_md(r.session))
        # a server may answer with success=False instead of a status: that is clean too
        if not resp.success:
            raise _Refused(resp.error_info)
        return resp

    return call


def _export_from(source: Callable[[Ref], bytes], result: Callable[[Ref], bytes]) -> Callable:
    def call(r: Ref) -> object:
        stub = session_pb2_grpc.SessionServiceStub(r.session.grpc_channel)
        req = session_pb2.ExportRequest(source_id=_t(source(r)), result_id=_t(result(r)))
        return stub.ExportFromTicket(req, **_md(r.session))

    return call


def _publish_from(source: Callable[[Ref], bytes], result: Callable[[Ref], bytes]) -> Callable:
    def call(r: Ref) -> object:
        stub = session_pb2_grpc.SessionServiceStub(r.session.grpc_channel)
        req = session_pb2.PublishRequest(source_id=_t(source(r)), result_id=_t(result(r)))
        return stub.PublishFromTicket(req, **_md(r.session))

    return call


def _release(raw: Callable[[Ref], bytes]) -> Callable[[Ref], object]:
    def call(r: Ref) -> object:
        stub = session_pb2_grpc.SessionServiceStub(r.session.grpc_channel)
        return stub.Release(session_pb2.ReleaseRequest(id=_t(raw(r))), **_md(r.session))

    return call


class _Refused(Exception):
    """An ExportedTableCreationResponse with success=False."""


def _garbage(r: Ref) -> bytes:
    return b"zz"


def _empty(r: Ref) -> bytes:
    return b""


def _short_export(r: Ref) -> bytes:
    return b"e\x01"


def _negative_export(r: Ref) -> bytes:
    return ExportTicket.export_ticket(-5).bytes


def _zero_export(r: Ref) -> bytes:
    """Export ids <= 0 are the server's (Deephaven: "reserved for server allocation only")."""
    return b"e" + bytes(4)


def _bare_h(r: Ref) -> bytes:
    return b"h"


def _bare_scope(r: Ref) -> bytes:
    return b"s/"


def _shared(r: Ref) -> bytes:
    return r.shared.bytes


def _new_shared(r: Ref) -> bytes:
    return _unknown_shared()


def _ref_export(r: Ref) -> bytes:
    return r.export


def _unused(r: Ref) -> bytes:
    return _unused_export(r.session)


GRPC_CALLS: dict[str, Callable[[Ref], object]] = {
    "etcr-garbage": _etcr(_garbage),
    "etcr-empty": _etcr(_empty),
    "etcr-short-export": _etcr(_short_export),
    "etcr-bare-h": _etcr(_bare_h),
    "etcr-bare-scope": _etcr(_bare_scope),
    "etcr-unknown-shared": _etcr(_new_shared),
    "export-result-garbage": _export_from(_shared, _garbage),
    "export-result-shared": _export_from(_shared, _new_shared),
    "export-result-negative": _export_from(_shared, _negative_export),
    "export-result-zero": _export_from(_shared, _zero_export),
    "export-result-in-use": _export_from(_shared, _ref_export),
    "export-source-unknown": _export_from(_new_shared, _unused),
    "export-source-garbage": _export_from(_garbage, _unused),
    "publish-result-garbage": _publish_from(_ref_export, _garbage),
    "publish-result-empty": _publish_from(_ref_export, _empty),
    "publish-source-garbage": _publish_from(_garbage, _new_shared),
    "release-garbage": _release(_garbage),
    "release-empty": _release(_empty),
}


def still_serving(clients: Clients, ref: Ref) -> None:
    """What was published before is intact; new sessions and the same one work."""
    same(clients.read(clients.pdh(), ref.shared), ref.data)
    same(clients.tbs().fetch_table(tb.SharedTicket(ref.shared.bytes)).to_arrow(), ref.data)
    fresh = sample_table(7, seed=99)
    t = ref.session.import_table(fresh)
    clients.keep(t)
    same(t.to_arrow(), fresh)


@pytest.fixture
def ref(clients: Clients) -> Ref:
    data = sample_table(500)
    s = clients.pdh()
    t = s.import_table(data)
    clients.keep(t)
    shared = SharedTicket.random_ticket()
    s.publish_table(shared, t)
    return Ref(s, t, shared, data)


@pytest.mark.parametrize("call", list(GRPC_CALLS))
def test_raw_grpc_call_is_refused_cleanly(clients: Clients, ref: Ref, call: str) -> None:
    with pytest.raises((grpc.RpcError, _Refused)) as err:
        GRPC_CALLS[call](ref)
    if isinstance(err.value, grpc.RpcError):
        code = err.value.code()  # type: ignore[attr-defined]
        assert code not in UNCLEAN, f"{code}: {err.value.details()}"  # type: ignore[attr-defined]
        assert err.value.details(), code  # type: ignore[attr-defined]
    else:
        assert str(err.value)
    still_serving(clients, ref)


def _flight(r: Ref) -> tuple[fl.FlightClient, fl.FlightCallOptions]:
    return r.session._flight_client, fl.FlightCallOptions(
        headers=r.session.grpc_metadata, timeout=20
    )


def _do_get(raw: Callable[[Ref], bytes]) -> Callable[[Ref], object]:
    def call(r: Ref) -> object:
        client, options = _flight(r)
        return client.do_get(fl.Ticket(raw(r)), options).read_all()

    return call


def _do_put(*path: str | Callable[[Ref], str]) -> Callable[[Ref], object]:
    def call(r: Ref) -> object:
        client, options = _flight(r)
        parts = [p(r) if callable(p) else p for p in path]
        descriptor = fl.FlightDescriptor.for_path(*parts)
        data = pa.table({"x": [1, 2, 3]})
        writer, _reader = client.do_put(descriptor, data.schema, options)
        writer.write_table(data)
        writer.close()
        return None

    return call


def _ref_export_id(r: Ref) -> str:
    return str(int.from_bytes(r.export[1:5], "little", signed=True))


FLIGHT_CALLS: dict[str, Callable[[Ref], object]] = {
    "doget-garbage": _do_get(_garbage),
    "doget-unknown-shared": _do_get(_new_shared),
    "doget-short-export": _do_get(_short_export),
    "doput-not-a-number": _do_put("export", "abc"),
    "doput-negative": _do_put("export", "-3"),
    "doput-zero": _do_put("export", "0"),
    "doput-in-use": _do_put("export", _ref_export_id),
    "doput-other-path": _do_put("nope", "1"),
    "doput-long-path": _do_put("export", "1", "2"),
}


@pytest.mark.parametrize("call", list(FLIGHT_CALLS))
def test_raw_flight_call_is_refused_cleanly(clients: Clients, ref: Ref, call: str) -> None:
    with pytest.raises((pa.ArrowException, KeyError, NotImplementedError)) as err:
        FLIGHT_CALLS[call](ref)
    assert not isinstance(
        err.value, (fl.FlightInternalError, fl.FlightUnavailableError, fl.FlightTimedOutError)
    ), err
    assert str(err.value)
    still_serving(clients, ref)


@pytest.mark.parametrize(
    "ticket",
    [SharedTicket(b"h"), SharedTicket.random_ticket(), SharedTicket(b"h" + bytes(100))],
    ids=["bare-h", "never-published", "long"],
)
def test_fetch_table_of_a_bad_shared_ticket(
    clients: Clients, ref: Ref, ticket: SharedTicket
) -> None:
    with pytest.raises(DHError):
        clients.keep(ref.session.fetch_table(ticket))
    with pytest.raises(DHError):
        ref.session.fetch(ticket)
    still_serving(clients, ref)

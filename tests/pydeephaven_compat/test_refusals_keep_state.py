"""Refused calls on the Deephaven port leave what was stored alone: a DoPut to an export id
that is taken, a call with a bad token before any body is read, a Flight method the broker
does not serve, a plugin stream on a session at its export limit."""

from __future__ import annotations

import grpc
import pyarrow as pa
import pyarrow.flight as fl
import pytest
from deephaven_core.proto import object_pb2, ticket_pb2

from tests.pydeephaven_compat.conftest import Clients
from ticketbooth._tickets import ExportTicket

TABLE = pa.table({"a": pa.array([1, 2, 3], pa.int64())})


def test_doput_to_a_taken_export_id_keeps_the_export(clients: Clients) -> None:
    s = clients.pdh()
    t = s.import_table(TABLE)
    clients.keep(t)
    eid = ExportTicket(t.ticket.bytes).id
    opts = fl.FlightCallOptions(headers=s.grpc_metadata, timeout=15)
    flight = s.flight_service._flight_client
    with pytest.raises(pa.ArrowException, match="already exists") as info:
        writer, reader = flight.do_put(
            fl.FlightDescriptor.for_path("export", str(eid)), TABLE.schema, opts
        )
        writer.write_table(pa.table({"a": pa.array([9], pa.int64())}))
        writer.done_writing()
        reader.read()
        writer.close()
    assert "pick another id" in str(info.value)
    # the export is still there, unchanged, for every call that names it
    assert t.to_arrow().to_pydict() == {"a": [1, 2, 3]}
    assert flight.do_get(fl.Ticket(t.ticket.bytes), opts).read_all().to_pydict() == {"a": [1, 2, 3]}
    s.bind_table(f"kept_{eid}_{id(s)}", t)


def _peak_rss_mib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) // 1024
    raise AssertionError("no VmHWM")


@pytest.mark.parametrize(
    "method",
    [
        "/io.deephaven.proto.backplane.grpc.ConfigService/GetConfigurationConstants",
        "/io.deephaven.proto.backplane.grpc.SessionService/Release",
        "/arrow.flight.protocol.FlightService/GetFlightInfo",
        "/arrow.flight.protocol.FlightService/DoPut",
        "/io.deephaven.proto.backplane.grpc.ConfigService/GetAuthenticationConstants",
    ],
)
def test_a_large_body_without_a_login_is_not_received(clients: Clients, method: str) -> None:
    """The port takes messages up to the per-object limit, but only from callers that
    logged in: without a login, a 40 MiB request is refused before it is read."""
    broker = clients.broker
    assert broker.deephaven_port
    body = b"\x0a" + b"\xff" * 5 + b"\x00" * (40 << 20)
    options = [("grpc.max_send_message_length", -1)]
    before = _peak_rss_mib(broker.proc.pid)
    with grpc.insecure_channel(f"127.0.0.1:{broker.deephaven_port}", options=options) as ch:
        call = ch.unary_unary(method, request_serializer=None, response_deserializer=None)
        for md in ([], [("authorization", "Bearer not-a-session")]):
            if method.endswith("GetAuthenticationConstants"):  # served to anyone, unread
                assert call(body, metadata=md, timeout=30) == b""
                continue
            with pytest.raises(grpc.RpcError) as info:
                call(body, metadata=md, timeout=30)
            assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
    assert _peak_rss_mib(broker.proc.pid) - before < 30, "the broker took the body in"
    assert clients.pdh().tables is not None  # still serving


@pytest.mark.parametrize(
    ("method", "kind"),
    [
        ("Handshake", "stream_stream"),
        ("DoExchange", "stream_stream"),
        ("DoAction", "unary_stream"),
        ("ListActions", "unary_stream"),
        ("PollFlightInfo", "unary_unary"),
    ],
)
def test_unserved_flight_methods_with_a_deephaven_bearer(
    clients: Clients, method: str, kind: str
) -> None:
    s = clients.pdh()
    stub = getattr(s.grpc_channel, kind)(
        f"/arrow.flight.protocol.FlightService/{method}",
        request_serializer=None,
        response_deserializer=None,
    )
    request: object = iter([b""]) if kind.startswith("stream") else b""
    with pytest.raises(grpc.RpcError) as info:
        result = stub(request, metadata=s.grpc_metadata, timeout=10)
        if kind != "unary_unary":
            list(result)
    err = info.value
    assert err.code() == grpc.StatusCode.UNIMPLEMENTED, err.details()  # type: ignore[attr-defined]
    assert f"{method} is not served by the ticketbooth broker" in err.details()  # type: ignore[attr-defined]


def test_message_stream_at_the_export_limit(tmp_path: object) -> None:
    """MessageStream on a table exports it to the caller's session: a session at its export
    limit gets RESOURCE_EXHAUSTED and the reason, not UNKNOWN."""
    from pathlib import Path

    from tests.pydeephaven_compat.conftest import close_quietly, connect, start_dh_broker

    assert isinstance(tmp_path, Path)
    b = start_dh_broker(tmp_path / "rt", "--max-exports-per-session", "3")
    try:
        s = connect(b)
        try:
            s.bind_table("t", s.import_table(TABLE))
            tables = [s.import_table(TABLE) for _ in range(3)]
            connect_request = object_pb2.StreamRequest(
                connect=object_pb2.ConnectRequest(
                    source_id=ticket_pb2.TypedTicket(
                        ticket=ticket_pb2.Ticket(ticket=b"s/t"), type="Table"
                    )
                )
            ).SerializeToString()
            stream = s.grpc_channel.stream_stream(
                "/io.deephaven.proto.backplane.grpc.ObjectService/MessageStream",
                request_serializer=None,
                response_deserializer=None,
            )
            with pytest.raises(grpc.RpcError) as info:
                list(stream(iter([connect_request]), metadata=s.grpc_metadata, timeout=5))
            err = info.value
            assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err.details()  # type: ignore[attr-defined]
            assert "3 exports" in err.details()  # type: ignore[attr-defined]
            assert len(tables) == 3
        finally:
            close_quietly(s)
        log = (b.runtime_dir / "ticketbooth-broker.log").read_text()
        assert "Traceback" not in log, log[-2000:]
    finally:
        b.stop()

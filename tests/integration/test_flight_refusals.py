"""Flight refusals found by a hostile audit: batches that do not match their schema,
numbers that are not ASCII or far too long, methods the broker does not serve, and a
DoPut to a name after its previous import was released. Each gets a clean status that
names the problem; nothing is stored short or wrong; the broker keeps serving."""

from __future__ import annotations

from typing import Any

import grpc
import pyarrow as pa
import pyarrow.flight as flight
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess
from tests.integration.conftest import (
    FLIGHT,
    Published,
    RawClient,
    assert_intact,
    assert_no_export,
    flight_frames,
    rpc_error,
)
from ticketbooth._proto.flight import flight_pb2 as fl
from ticketbooth._proto.v1 import broker_pb2 as pb

INTS = pa.table({"a": pa.array([1, 2, 3], pa.int64())})


def _path(*parts: str) -> fl.FlightDescriptor:
    return fl.FlightDescriptor(type=fl.FlightDescriptor.PATH, path=list(parts))


# batches that do not match the stream's schema ---------------------------------------------
def test_batch_of_another_layout_is_refused(published: Published, raw: RawClient) -> None:
    strings = pa.record_batch({"a": pa.array(["x"])})
    frames = flight_frames(
        INTS.schema,
        [INTS.to_batches()[0].serialize().to_pybytes(), strings.serialize().to_pybytes()],
        descriptor=_path("mismatched"),
    )
    err = rpc_error(raw.do_put, frames)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    assert "batch 2 of the table stream does not match the stream's schema" in err.details()
    assert "3 buffers where the schema needs 1 and 2" in err.details()
    assert_no_export(raw, 1, "the mismatched upload was stored")
    with tb.Session(published.broker.url, token=published.broker.token) as s:
        assert "mismatched" not in s.tables
    assert_intact(published)


def test_dictionary_batches_and_nested_types_still_pass(raw: RawClient) -> None:
    table = pa.table(
        {
            "d": pa.array(["a", "b", "a"]).dictionary_encode(),
            "l": pa.array([[1], [2, 3], None]),
            "st": pa.array([{"x": 1, "y": "a"}] * 3),
            "v": pa.array(["a" * 20, "b", None], pa.string_view()),
        }
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    reader = pa.ipc.MessageReader.open_stream(sink.getvalue())
    messages = [m.serialize().to_pybytes() for m in reader]
    frames = flight_frames(messages[0], messages[1:], rows=3)
    response = raw.do_put(frames)
    assert response.info.num_rows == 3


# numbers: ASCII digits only, bounded ---------------------------------------------------------
@pytest.mark.parametrize("given", ["\u00b2", "1" * 5000, "\u0661\u0662", "+1", " 1", "0", "-1"])
def test_export_ids_that_are_not_plain_numbers(raw: RawClient, given: str) -> None:
    batch = INTS.to_batches()[0].serialize().to_pybytes()
    err = rpc_error(
        raw.do_put, flight_frames(INTS.schema, [batch], descriptor=_path("export", given))
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    assert "is not a number from 1 to 2**31-1" in err.details()
    assert_no_export(raw, 12, "an export id in other digits was taken as 12")


@pytest.mark.parametrize("count", [b"3" * 5000, "\u0663".encode(), b"", b"-3"])
def test_malformed_end_markers(raw: RawClient, count: bytes) -> None:
    frames = flight_frames(INTS.schema, [INTS.to_batches()[0].serialize().to_pybytes()])
    frames.append(fl.FlightData(app_metadata=b"ticketbooth:end:" + count).SerializeToString())
    err = rpc_error(raw.do_put, frames)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    assert "malformed end marker" in err.details()
    assert_no_export(raw, 1, "an upload with a malformed end marker was stored")


# methods the broker does not serve -------------------------------------------------------------
UNSERVED = [
    ("Handshake", "stream_stream"),
    ("DoExchange", "stream_stream"),
    ("DoAction", "unary_stream"),
    ("ListActions", "unary_stream"),
    ("PollFlightInfo", "unary_unary"),
]


@pytest.mark.parametrize(("method", "kind"), UNSERVED)
def test_unserved_flight_methods(broker: BrokerProcess, method: str, kind: str) -> None:
    with grpc.insecure_channel(broker.url) as channel:
        stub = getattr(channel, kind)(
            FLIGHT + method, request_serializer=None, response_deserializer=None
        )

        def call(md: list[tuple[str, str]]) -> Any:
            request: Any = iter([b""]) if kind.startswith("stream") else b""
            result = stub(request, metadata=md, timeout=10)
            return result if kind == "unary_unary" else list(result)

        for md in ([], [("authorization", "Bearer nope")]):
            err = rpc_error(call, md)
            assert err.code() == grpc.StatusCode.UNAUTHENTICATED, err.details()
            assert "token" in err.details()
        err = rpc_error(call, [("authorization", f"Bearer {broker.token}")])
        assert err.code() == grpc.StatusCode.UNIMPLEMENTED, err.details()
        assert f"{method} is not served by the ticketbooth broker" in err.details()
    assert "Traceback" not in (broker.runtime_dir / "ticketbooth-broker.log").read_text()


# a DoPut to a name whose previous import the session released ----------------------------
def test_put_to_a_name_after_releasing_its_previous_import(broker: BrokerProcess) -> None:
    with tb.Session(broker.url, token=broker.token) as s:
        client = flight.FlightClient(f"grpc+tcp://{broker.tcp_url}")
        md = [
            (b"authorization", f"Bearer {broker.token}".encode()),
            (b"x-ticketbooth-session", s.session_id.encode()),
        ]
        opts = flight.FlightCallOptions(headers=md, timeout=10)

        def put(table: pa.Table) -> pb.ImportResponse:
            writer, reader = client.do_put(
                flight.FlightDescriptor.for_path("pinned"), table.schema, opts
            )
            writer.write_table(table)
            writer.done_writing()
            buf = reader.read()
            writer.close()
            return pb.ImportResponse.FromString(buf.to_pybytes())

        first = put(INTS)
        s.release(tb.ExportTicket(first.export_ticket))  # the session lets go of the import
        put(pa.table({"a": pa.array([7, 8], pa.int64())}))  # must not fail
        assert s.fetch_table("pinned").to_arrow().to_pydict() == {"a": [7, 8]}
        put(pa.table({"a": pa.array([9], pa.int64())}))  # and again: the pin moves on
        assert s.fetch_table("pinned").to_arrow().to_pydict() == {"a": [9]}
        client.close()


# a DoGet cancelled mid-stream ends quietly ------------------------------------------------------
def test_cancelled_doget_leaves_no_error_in_the_log(broker: BrokerProcess) -> None:
    import numpy as np

    with tb.Session(broker.url, token=broker.token) as pub:
        pub.publish_table(pa.table({"x": np.arange(3_000_000, dtype=np.int64)}), "big")
        with grpc.insecure_channel(broker.tcp_url) as channel:
            call = channel.unary_stream(
                FLIGHT + "DoGet", request_serializer=None, response_deserializer=None
            )
            md = [("authorization", f"Bearer {broker.token}")]
            for _ in range(40):
                stream = call(
                    fl.Ticket(ticket=b"s/big").SerializeToString(), metadata=md, timeout=10
                )
                next(stream)
                stream.cancel()
        got = pub.fetch_table("big").to_arrow()
        assert got.num_rows == 3_000_000
    import time

    time.sleep(1)
    log = (broker.runtime_dir / "ticketbooth-broker.log").read_text()
    assert "ExecuteBatchError" not in log and "Traceback" not in log, log[-3000:]


def test_put_to_a_taken_export_id_is_refused_and_keeps_the_export(raw: RawClient) -> None:
    batch = INTS.to_batches()[0].serialize().to_pybytes()
    raw.do_put(flight_frames(INTS.schema, [batch], descriptor=_path("export", "5")))
    other = pa.record_batch({"a": pa.array([9], pa.int64())}).serialize().to_pybytes()
    err = rpc_error(
        raw.do_put, flight_frames(INTS.schema, [other], descriptor=_path("export", "5"))
    )
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS, err.details()
    assert "export 5 already exists" in err.details()
    info = raw.call(
        raw.sessions.GetInfo, pb.GetInfoRequest(ticket=tb.ExportTicket.export_ticket(5).bytes)
    )
    assert info.num_rows == 3

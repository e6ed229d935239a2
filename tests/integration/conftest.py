"""Helpers and fixtures for the bad-input tests (test_bad_input.py, test_bad_streams.py).

A published reference table that must stay intact, a broker with a small message limit,
and raw gRPC stubs that send what the client library never would."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.certs import self_signed_cert
from tests.conftest import BrokerProcess, start_broker
from ticketbooth import _framing
from ticketbooth._proto.flight import flight_pb2 as fl
from ticketbooth._proto.v1 import broker_pb2 as pb
from ticketbooth._proto.v1 import broker_pb2_grpc as pb_grpc
from ticketbooth._tickets import as_ticket
from ticketbooth._version import PROTOCOL

MiB = 1 << 20
SMALL_LIMIT = 65536


def reference_table() -> pa.Table:
    n = 1000
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "name": [f"row-{i}" for i in range(n)],
            "x": np.linspace(0.0, 1.0, n),
        }
    )


@dataclass
class Published:
    """Objects published before a bad call, which must survive it unchanged."""

    broker: BrokerProcess
    session: tb.Session
    data: pa.Table
    shared: tb.SharedTicket
    name: str = "sales"


def publish_reference(broker: BrokerProcess) -> Published:
    session = tb.Session(broker.url, token=broker.token, name="reference-publisher")
    data = reference_table()
    shared = tb.SharedTicket.random_ticket()
    session.publish_table(data, "sales")
    session.publish_table(data, shared)
    return Published(broker, session, data, shared)


def assert_intact(pub: Published) -> None:
    """The broker is alive, serves a new session, and the reference objects are unchanged."""
    assert pub.broker.proc.poll() is None, "the broker process died"
    assert pub.session.is_alive, "the publisher's session was lost"
    for force_remote in (False, True):
        with tb.Session(pub.broker.url, token=pub.broker.token, force_remote=force_remote) as s:
            assert pub.name in s.tables
            for ticket in (pub.name, pub.shared, str(pub.shared)):
                got = s.fetch_table(ticket).to_arrow()
                assert got.equals(pub.data), f"{ticket} changed (force_remote={force_remote})"


@pytest.fixture
def published(broker: BrokerProcess) -> Iterator[Published]:
    pub = publish_reference(broker)
    yield pub
    pub.session.close()


@pytest.fixture
def small_broker(tmp_path: Path) -> Iterator[BrokerProcess]:
    """A broker whose gRPC messages may carry at most 64 KiB of table data."""
    b = start_broker(tmp_path / "rt2", "--max-message-bytes", str(SMALL_LIMIT))
    yield b
    b.stop()


@pytest.fixture
def small_published(small_broker: BrokerProcess) -> Iterator[Published]:
    pub = publish_reference(small_broker)
    yield pub
    pub.session.close()


class RawClient:
    """Plain generated stubs with the right metadata, bypassing every client-side check."""

    def __init__(self, broker: BrokerProcess) -> None:
        self.channel = grpc.insecure_channel(
            broker.url,
            options=[
                ("grpc.max_send_message_length", -1),
                ("grpc.max_receive_message_length", -1),
            ],
        )
        self.sessions = pb_grpc.SessionServiceStub(self.channel)
        self.tables = pb_grpc.TableServiceStub(self.channel)
        self.objects = pb_grpc.ObjectServiceStub(self.channel)
        self.metadata: list[tuple[str, str]] = [("authorization", f"Bearer {broker.token}")]
        resp = self.sessions.OpenSession(
            pb.OpenSessionRequest(client_name="raw-test-client", protocol=PROTOCOL),
            metadata=self.metadata,
            timeout=10,
        )
        self.metadata.append(("x-ticketbooth-session", resp.session_id))
        self.server = resp.server

    def call(self, method: Any, request: Any) -> Any:
        return method(request, metadata=self.metadata, timeout=10)

    def do_put(self, frames: Iterable[bytes], timeout: float = 20) -> pb.ImportResponse:
        """A Flight DoPut of hand-built FlightData frames; the broker's ImportResponse."""
        call = self.channel.stream_stream(
            FLIGHT + "DoPut", request_serializer=None, response_deserializer=fl.PutResult.FromString
        )
        results = list(call(iter(frames), metadata=self.metadata, timeout=timeout))
        return pb.ImportResponse.FromString(results[0].app_metadata)

    def do_get(self, ticket: bytes, timeout: float = 20) -> list[bytes]:
        """The raw FlightData messages of a DoGet."""
        call = self.channel.unary_stream(
            FLIGHT + "DoGet",
            request_serializer=fl.Ticket.SerializeToString,
            response_deserializer=None,
        )
        return list(call(fl.Ticket(ticket=ticket), metadata=self.metadata, timeout=timeout))

    def close(self) -> None:
        try:
            self.call(self.sessions.CloseSession, pb.CloseSessionRequest())
        finally:
            self.channel.close()


@pytest.fixture
def raw(broker: BrokerProcess) -> Iterator[RawClient]:
    client = RawClient(broker)
    yield client
    client.close()


FLIGHT = "/arrow.flight.protocol.FlightService/"
IMPORT = fl.FlightDescriptor(type=fl.FlightDescriptor.CMD, cmd=b"ticketbooth:import")
Message = bytes | tuple[bytes, bytes]


def flight_frames(
    schema: pa.Schema | Message,
    messages: Iterable[Message] = (),
    rows: int | None = None,
    descriptor: fl.FlightDescriptor | None = IMPORT,
) -> list[bytes]:
    """A DoPut stream built with the generated FlightData class (not the broker's framing):
    the schema with the descriptor, then each message (an encapsulated IPC message, or a
    raw (header, body) pair), then ticketbooth's end marker when `rows` is given."""

    def parts(message: Message) -> tuple[bytes, bytes]:
        if isinstance(message, tuple):
            return message
        header, body = _framing.ipc_parts(message)
        return bytes(header), bytes(body)

    first = schema.serialize().to_pybytes() if isinstance(schema, pa.Schema) else schema
    header, _ = parts(first)
    frames = [fl.FlightData(flight_descriptor=descriptor, data_header=header)]
    for message in messages:
        header, body = parts(message)
        frames.append(fl.FlightData(data_header=header, data_body=body))
    if rows is not None:
        frames.append(fl.FlightData(app_metadata=b"ticketbooth:end:%d" % rows))
    return [f.SerializeToString() for f in frames]


def rpc_error(fn: Any, *args: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        fn(*args)
    return info.value


def assert_no_export(raw: RawClient, export_id: int, why: str) -> None:
    """The raw client's session holds no export `export_id`."""
    ticket = tb.ExportTicket.export_ticket(export_id).bytes
    try:
        info = raw.call(raw.sessions.GetInfo, pb.GetInfoRequest(ticket=ticket))
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.NOT_FOUND, err.details()
    else:
        pytest.fail(f"{why} ({info.num_rows} rows, segment {info.shm_name})")


def segment_name(session: tb.Session, ticket: object) -> str:
    """The file in the shm dir that holds the table behind `ticket` (the broker's own
    message: ObjectInfo keeps it out of the public API)."""
    req = pb.GetInfoRequest(ticket=as_ticket(ticket).bytes)
    name: str = session._backend.call(
        "get info", session._backend.conn.sessions.GetInfo, req
    ).shm_name
    return name


def shm_files(session: tb.Session) -> set[str]:
    return set(os.listdir(session._backend.server.shm_dir))


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[BrokerProcess, Path]]:
    """A broker serving TCP with TLS (a self-signed certificate); yields it and the cert."""
    cert, key = self_signed_cert(tmp_path / "certs")
    b = start_broker(
        tmp_path / "rt-tls", "--port", "0", "--tls-cert", str(cert), "--tls-key", str(key)
    )
    yield b, cert
    b.stop()

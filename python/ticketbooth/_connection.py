"""One gRPC channel to a broker: stubs, auth metadata, and error translation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from ._errors import from_rpc_error
from ._proto.v1 import broker_pb2 as pb
from ._proto.v1 import broker_pb2_grpc as pb_grpc

T = TypeVar("T")
CLIENT_MESSAGE_LIMIT = 256 * 1024 * 1024


def grpc_target(url: str) -> tuple[str, bool]:
    """Map a ticketbooth URL to (gRPC target, use TLS)."""
    if url.startswith("unix:"):
        return url, False
    if url.startswith("grpcs://"):
        return url[len("grpcs://") :], True
    return url.removeprefix("grpc://"), False


class Connection:
    def __init__(self, url: str, token: str, root_certs: bytes | None = None) -> None:
        target, tls = grpc_target(url)
        options = [
            ("grpc.max_receive_message_length", CLIENT_MESSAGE_LIMIT),
            ("grpc.max_send_message_length", CLIENT_MESSAGE_LIMIT),
            ("grpc.enable_retries", 0),
        ]
        if tls or root_certs is not None:
            creds = grpc.ssl_channel_credentials(root_certificates=root_certs)
            self.channel = grpc.secure_channel(target, creds, options=options)
        else:
            self.channel = grpc.insecure_channel(target, options=options)
        self.url = url
        self.metadata: list[tuple[str, str]] = [("authorization", f"Bearer {token}")]
        self.sessions = pb_grpc.SessionServiceStub(self.channel)
        self.tables = pb_grpc.TableServiceStub(self.channel)
        self.objects = pb_grpc.ObjectServiceStub(self.channel)
        # the bulk table streams skip protobuf objects: chunks are framed by hand (_framing)
        self.get_table = self.channel.unary_stream(
            "/ticketbooth.v1.TableService/GetTable",
            request_serializer=pb.GetTableRequest.SerializeToString,
            response_deserializer=None,
        )
        self.put_table = self.channel.stream_unary(
            "/ticketbooth.v1.TableService/PutTable",
            request_serializer=None,
            response_deserializer=pb.ImportResponse.FromString,
        )

    def set_session(self, session_id: str) -> None:
        self.metadata = [self.metadata[0], ("x-ticketbooth-session", session_id)]

    def call(self, what: str, method: Callable[..., T], request: Any, timeout: float = 30.0) -> T:
        """Call a unary (or client-streaming) method, raising TicketboothError on failure."""
        try:
            return method(request, metadata=self.metadata, timeout=timeout)
        except grpc.RpcError as err:
            raise from_rpc_error(err, what) from None

    @property
    def md(self) -> tuple[tuple[str, str], ...]:
        return tuple(self.metadata)

    def close(self) -> None:
        self.channel.close()

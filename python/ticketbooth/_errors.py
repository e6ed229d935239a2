"""The exception hierarchy: one base, one subclass per thing a caller can act on."""

from __future__ import annotations

import grpc


class TicketboothError(Exception):
    """Base class of every error ticketbooth raises on purpose."""


class TicketNotFoundError(TicketboothError, LookupError):
    """The ticket names nothing: never published, released, or its publisher is gone."""


class AuthenticationError(TicketboothError, PermissionError):
    """The broker refused the token (or no token was given)."""


class PermissionDeniedError(TicketboothError, PermissionError):
    """The call is authenticated but not allowed (e.g. releasing another session's ticket)."""


class BrokerUnavailableError(TicketboothError, ConnectionError):
    """No broker answers at the address, or it went away during the call.

    `timed_out` is True when a broker was reached but did not answer in time (it may be
    busy or stopped), False when none answered at all.
    """

    timed_out: bool = False


class LimitExceededError(TicketboothError):
    """A broker limit was hit: message or object size, exports per session, memory."""


class InvalidInputError(TicketboothError, ValueError):
    """The arguments cannot be used: malformed ticket, bad name, data that is not a table."""


class IncompatibleBrokerError(TicketboothError):
    """The broker runs a ticketbooth whose protocol differs from this client's."""


class SessionClosedError(TicketboothError):
    """The session was closed (by `close()`, or by the broker after missed heartbeats)."""


_BY_CODE: dict[grpc.StatusCode, type[TicketboothError]] = {
    grpc.StatusCode.NOT_FOUND: TicketNotFoundError,
    grpc.StatusCode.UNAUTHENTICATED: AuthenticationError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAVAILABLE: BrokerUnavailableError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: LimitExceededError,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidInputError,
    grpc.StatusCode.FAILED_PRECONDITION: SessionClosedError,
}


def from_rpc_error(err: grpc.RpcError, what: str) -> TicketboothError:
    """Translate a gRPC failure of the call `what` into the matching TicketboothError."""
    code = err.code() if isinstance(err, grpc.Call) else grpc.StatusCode.UNKNOWN
    detail = (err.details() if isinstance(err, grpc.Call) else None) or str(err)
    cls = _BY_CODE.get(code, TicketboothError)
    if code == grpc.StatusCode.UNAVAILABLE:
        detail = f"broker unavailable during {what}: {detail}"
    elif code == grpc.StatusCode.RESOURCE_EXHAUSTED and "message larger than max" in detail:
        detail = (
            f"{what}: a message exceeded the broker's size limit ({detail}); "
            "send smaller record batches or raise the broker's --max-message-bytes"
        )
    elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
        late = BrokerUnavailableError(f"broker did not answer {what} in time: {detail}")
        late.timed_out = True
        return late
    elif cls is TicketboothError:
        detail = f"{what} failed ({code.name}): {detail}"
    return cls(detail)

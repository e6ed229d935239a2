"""Deephaven server failures as `TicketboothError`s a person can act on."""

from __future__ import annotations

import grpc
import pyarrow as pa
import pyarrow.flight as fl

from ._errors import (
    AuthenticationError,
    BrokerUnavailableError,
    InvalidInputError,
    LimitExceededError,
    PermissionDeniedError,
    SessionClosedError,
    TicketboothError,
    TicketNotFoundError,
)

RESTARTED = (
    "the Deephaven server no longer knows this session (it restarted, or expired the "
    "session): what this session published or fetched there is gone; open a new Session"
)


def _not_found(detail: str) -> bool:
    text = detail.lower()
    return any(
        s in text
        for s in (
            "not found",
            "could not resolve",
            "unknown export",
            "no such",
            "does not exist",
            "dependency_failed",
            "dependency_released",
            "state released",
            "state cancelled",
        )
    )


def dh_error(
    url: str, what: str, code: grpc.StatusCode, detail: str, opened: bool
) -> TicketboothError:
    """The error for a call `what` that failed with gRPC `code`; `opened`: the session
    worked before (so a refused token means the server forgot the session)."""
    if code == grpc.StatusCode.UNAVAILABLE and "CERTIFICATE_VERIFY_FAILED" in detail:
        return BrokerUnavailableError(
            f"the Deephaven server at {url} uses a TLS certificate this client does not "
            f"trust ({detail}): pass tls_root_certs= (the PEM of the CA that signed it)"
        )
    if code == grpc.StatusCode.UNAVAILABLE and "Socket closed" in detail and not opened:
        return BrokerUnavailableError(
            f"the Deephaven server at {url} closed the connection at once ({detail}): "
            "if it serves TLS, use deephavens://host:port"
        )
    plain = ("WRONG_VERSION_NUMBER", "Tls handshake failed")
    if code == grpc.StatusCode.UNAVAILABLE and any(p in detail for p in plain) and not opened:
        return BrokerUnavailableError(
            f"the Deephaven server at {url} does not answer TLS ({detail}): if it serves "
            "plain gRPC, use deephaven://host:port"
        )
    if code == grpc.StatusCode.UNAVAILABLE:
        return BrokerUnavailableError(
            f"the Deephaven server at {url} is unreachable during {what} ({detail}): "
            "is it running, and is the host:port right?"
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return BrokerUnavailableError(
            f"the Deephaven server at {url} did not answer {what} in time; it may be "
            "overloaded or stuck (raise Session(timeout=...) for very large tables)"
        )
    if code == grpc.StatusCode.UNAUTHENTICATED:
        if opened:
            return SessionClosedError(f"cannot {what}: {RESTARTED}")
        return AuthenticationError(
            f"the Deephaven server at {url} refused the credentials ({detail}): give its "
            "pre-shared key as token=... (auth_type='PSK'), or auth_type='Anonymous' for a "
            "server started with AnonymousAuthenticationHandler"
        )
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return PermissionDeniedError(f"{what}: the Deephaven server refused it ({detail})")
    if code == grpc.StatusCode.NOT_FOUND or _not_found(detail):
        return TicketNotFoundError(
            f"{what}: nothing is held under that ticket on the Deephaven server (never "
            f"published, or released by its publisher) ({detail})"
        )
    if code == grpc.StatusCode.ALREADY_EXISTS:
        return InvalidInputError(
            f"{what}: a shared ticket on a Deephaven server is published once ({detail}); "
            "publish to a new SharedTicket.random_ticket(), or to a scope name to republish"
        )
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return LimitExceededError(f"{what}: the Deephaven server refused it ({detail})")
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
        if "is not a table" in detail.lower():  # e.g. a deephaven.plot Figure a script made
            return InvalidInputError(
                f"{what}: this is a Deephaven server-side object, not a table or a figure a "
                f"ticketbooth Session published ({detail}); open it with pydeephaven's "
                "plugin_client and the Deephaven plugin for its type"
            )
        return InvalidInputError(f"{what}: the Deephaven server refused it ({detail})")
    return TicketboothError(f"{what} failed on the Deephaven server ({code.name}): {detail}")


def from_rpc(url: str, what: str, err: grpc.RpcError, opened: bool = True) -> TicketboothError:
    code = err.code() if isinstance(err, grpc.Call) else grpc.StatusCode.UNKNOWN
    detail = (err.details() if isinstance(err, grpc.Call) else None) or str(err)
    return dh_error(url, what, code, detail, opened)


_FLIGHT_CODES: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (fl.FlightUnauthenticatedError, grpc.StatusCode.UNAUTHENTICATED),
    (fl.FlightUnauthorizedError, grpc.StatusCode.PERMISSION_DENIED),
    (fl.FlightTimedOutError, grpc.StatusCode.DEADLINE_EXCEEDED),
    (fl.FlightUnavailableError, grpc.StatusCode.UNAVAILABLE),
    (fl.FlightCancelledError, grpc.StatusCode.CANCELLED),
    (KeyError, grpc.StatusCode.NOT_FOUND),
)


def from_flight(url: str, what: str, exc: BaseException) -> TicketboothError:
    """The error for a failed Arrow Flight call (pyarrow raises its own classes)."""
    detail = str(exc).split(". Detail:")[0].strip()
    for cls, code in _FLIGHT_CODES:
        if isinstance(exc, cls):
            return dh_error(url, what, code, detail, True)
    text = str(exc).lower()
    if isinstance(exc, pa.ArrowInvalid) and "deadline" in text:
        return dh_error(url, what, grpc.StatusCode.DEADLINE_EXCEEDED, detail, True)
    if isinstance(exc, pa.ArrowInvalid) and "resource exhausted" in text:
        return dh_error(url, what, grpc.StatusCode.RESOURCE_EXHAUSTED, detail, True)
    return dh_error(url, what, grpc.StatusCode.UNKNOWN, detail, True)

"""Token and session checks applied to every call."""

from __future__ import annotations

import hmac
from typing import Any

import grpc

from ._refusals import BrokerError

TOKEN_HEADER = "authorization"
SESSION_HEADER = "x-ticketbooth-session"


def metadata_value(context: grpc.aio.ServicerContext[Any, Any], key: str) -> str:
    for k, v in context.invocation_metadata() or ():
        if k == key:
            return v if isinstance(v, str) else v.decode("utf-8", "replace")
    return ""


def check_token(
    context: grpc.aio.ServicerContext[Any, Any], token: str, users: dict[str, str] | None = None
) -> str:
    """The caller's user: "" for the broker's token, a name for a per-user token (`users`:
    name -> token); anything else is refused as UNAUTHENTICATED."""
    given = metadata_value(context, TOKEN_HEADER).removeprefix("Bearer ")
    if not given:
        raise BrokerError(
            grpc.StatusCode.UNAUTHENTICATED,
            "no token given: pass token=... (the CLI: --token-file FILE) or set "
            "TICKETBOOTH_TOKEN; the token is in the broker's connection file, whose path "
            "`ticketbooth serve` prints",
        )
    user = token_user(given, token, users)
    if user is not None:
        return user
    raise BrokerError(
        grpc.StatusCode.UNAUTHENTICATED,
        "wrong token for this broker: its token is in the broker's connection file "
        "(mode 0600; `ticketbooth serve` prints its path); pass it as token=..., set "
        "TICKETBOOTH_TOKEN, or use --token-file FILE (on a shared broker: the token its "
        "admin gave you)",
    )


def token_user(given: str, token: str, users: dict[str, str] | None = None) -> str | None:
    """Whose token `given` is: "" for the broker's own, a user's name, or None (neither)."""
    if hmac.compare_digest(given.encode(), token.encode()):
        return ""
    for user, user_token in (users or {}).items():
        if hmac.compare_digest(given.encode(), user_token.encode()):
            return user
    return None

"""The store's refusals: `BrokerError` (a gRPC status and a message a person can act on),
and the wording of "not found" for each kind of ticket."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

import grpc

from .._tickets import ExportTicket, ScopeTicket, Ticket


class BrokerError(Exception):
    """A refusal: a gRPC status code and a message a person can act on."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def not_found(ticket: Ticket, names: Iterable[str] = ()) -> BrokerError:
    if isinstance(ticket, ExportTicket):
        what = f"export {ticket.id} does not exist in this session (released, or never created)"
    elif isinstance(ticket, ScopeTicket):
        what = f"nothing is published under the name {ticket.name!r}" + known(ticket.name, names)
        if re.fullmatch(r"[0-9a-fA-F]{32}", ticket.name):
            what += f"; to fetch a shared ticket, write shared:{ticket.name}"
    else:
        what = f"shared ticket {ticket} is not published (released, or its publisher is gone)"
    return BrokerError(grpc.StatusCode.NOT_FOUND, what)


def known(name: str, names: Iterable[str], shown: int = 8) -> str:
    """ "; did you mean 'sales'? published: a, b, ..." for a scope name that does not exist."""
    ordered = sorted(names)
    if not ordered:
        return "; no names are published yet"
    close = difflib.get_close_matches(name, ordered, n=1)
    more = f" and {len(ordered) - shown} more" if len(ordered) > shown else ""
    listed = f"{', '.join(ordered[:shown])}{more}"
    if close:
        return f"; did you mean {close[0]!r}? Published: {listed}"
    return f"; published: {listed}"

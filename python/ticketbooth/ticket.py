"""Tickets under pydeephaven's module name, so ``from pydeephaven.ticket import ...`` becomes
``from ticketbooth.ticket import ...`` and nothing else changes."""

from ._tickets import ExportTicket, ScopeTicket, ServerObject, SharedTicket, Ticket

__all__ = ["ExportTicket", "ScopeTicket", "ServerObject", "SharedTicket", "Ticket"]

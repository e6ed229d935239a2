import struct

import pytest

import ticketbooth as tb
from ticketbooth._tickets import as_ticket, ticket_from_bytes


def test_bytes_match_pydeephaven() -> None:
    assert tb.ExportTicket.export_ticket(7).bytes == b"e" + struct.pack("<i", 7)
    assert tb.ScopeTicket.scope_ticket("sales").bytes == b"s/sales"
    shared = tb.SharedTicket.random_ticket()
    assert len(shared.bytes) == 17 and shared.bytes[:1] == b"h"
    assert shared != tb.SharedTicket.random_ticket()


def test_shared_text_round_trip() -> None:
    shared = tb.SharedTicket.random_ticket()
    text = str(shared)
    assert text.startswith("shared:") and len(text) == len("shared:") + 32
    assert tb.SharedTicket.from_str(text) == shared
    assert tb.SharedTicket.from_str(text[len("shared:") :]) == shared
    assert tb.SharedTicket.from_str(f"  {text}\n") == shared
    assert eval(repr(shared), {"SharedTicket": tb.SharedTicket}) == shared


@pytest.mark.parametrize("text", ["nope", "shared:", "shared:abcd", "shared:" + "zz" * 16, ""])
def test_malformed_shared_text(text: str) -> None:
    with pytest.raises(tb.InvalidInputError, match="malformed shared ticket"):
        tb.SharedTicket.from_str(text)


@pytest.mark.parametrize("name", ["", "has space", "a/b", "x" * 200, "-lead", "é"])
def test_bad_scope_names(name: str) -> None:
    with pytest.raises(tb.InvalidInputError):
        tb.ScopeTicket.scope_ticket(name)


def test_good_scope_names() -> None:
    for name in ["sales", "revenue-chart", "a.b_c-1", "X" * 128]:
        assert tb.ScopeTicket.scope_ticket(name).name == name


@pytest.mark.parametrize(
    "raw", [b"", b"x123", b"e12", b"h" + b"0" * 3, b"s/", b"s/bad name", b"s/\xff\xfe"]
)
def test_malformed_bytes(raw: bytes) -> None:
    with pytest.raises(tb.InvalidInputError):
        ticket_from_bytes(raw)


def test_as_ticket_accepts_every_spelling() -> None:
    shared = tb.SharedTicket.random_ticket()
    assert as_ticket("sales") == tb.ScopeTicket.scope_ticket("sales")
    assert as_ticket("s/sales") == tb.ScopeTicket.scope_ticket("sales")
    assert as_ticket(str(shared)) == shared
    assert as_ticket(shared.bytes) == shared
    assert as_ticket(tb.ServerObject(type="Table", ticket=shared)) == shared
    with pytest.raises(tb.InvalidInputError, match="expected a ticket"):
        as_ticket(3.5)


def test_tickets_hash_by_bytes() -> None:
    a = tb.ScopeTicket.scope_ticket("x")
    assert {a: 1}[tb.ScopeTicket(b"s/x")] == 1
    assert a != tb.SharedTicket.random_ticket()
    assert tb.ExportTicket.export_ticket(3).id == 3


def test_loopback_spellings_find_the_local_broker_token() -> None:
    from ticketbooth._discovery import _same_address

    assert _same_address("localhost:10000", "127.0.0.1:10000")
    assert _same_address("grpc://[::1]:10000", "127.0.0.1:10000")
    assert not _same_address("localhost:10001", "127.0.0.1:10000")
    assert not _same_address("example.org:10000", "127.0.0.1:10000")

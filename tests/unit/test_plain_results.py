"""Plain-Python results: ObjectInfo from the broker's message, reprs, tab completion, the
pydeephaven-named `ticketbooth.ticket` module, and the magics' argument parsing."""

from __future__ import annotations

import datetime

import pyarrow as pa
import pytest

import ticketbooth as tb
from ticketbooth._magics import FetchArgs, parse_fetch, parse_publish, result_ticket
from ticketbooth._proto.v1 import broker_pb2 as pb


def test_object_info_from_message() -> None:
    schema = pa.schema([("a", pa.int64()), ("b", pa.string())])
    msg = pb.ObjectInfo(
        type="Table",
        name="sales",
        ticket=b"s/sales",
        version=3,
        num_rows=10,
        num_columns=2,
        nbytes=1234,
        publisher="ann@host pid 1",
        published_at=0.0,
        schema=schema.serialize().to_pybytes(),
        shm_name="internal.arrow",
    )
    info = tb.ObjectInfo.from_message(msg)
    assert info.ticket == tb.ScopeTicket.scope_ticket("sales")
    assert (info.type, info.name, info.version, info.num_rows, info.nbytes) == (
        "Table",
        "sales",
        3,
        10,
        1234,
    )
    assert info.schema is not None and info.schema.equals(schema)
    assert info.is_table
    assert info.published == datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
    assert "shm" not in repr(info) and "sales" in repr(info)
    # a figure has no schema
    fig = tb.ObjectInfo.from_message(pb.ObjectInfo(type="Figure", ticket=b"h" + bytes(16)))
    assert fig.schema is None and not fig.is_table
    assert isinstance(fig.ticket, tb.SharedTicket)


def test_ticket_module_has_the_pydeephaven_names() -> None:
    from ticketbooth.ticket import ScopeTicket, ServerObject, SharedTicket

    assert SharedTicket is tb.SharedTicket and ScopeTicket is tb.ScopeTicket
    obj = ServerObject(type="Figure", ticket=SharedTicket.random_ticket())
    assert obj.type == "Figure"


def test_lazy_names_are_completed() -> None:
    names = dir(tb)
    assert {"view", "TicketView", "Session", "ObjectInfo", "load_ipython_extension"} <= set(names)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("df as sales", ("df", "sales")),
        ("df", ("df", "df")),
        ("  frames[0].head(3)  as  top ", ("frames[0].head(3)", "top")),
        ("x.cast('as') as y", ("x.cast('as')", "y")),
        ("fig as shared", ("fig", "shared")),
    ],
)
def test_parse_publish(line: str, expected: tuple[str, str]) -> None:
    assert parse_publish(line) == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", "usage: %publish <expression> \\[as <name>\\|shared\\]"),
        ("1 + 2", "say under which name to publish '1 + 2'"),
        ("df as ", "usage: %publish"),
    ],
)
def test_parse_publish_errors(line: str, message: str) -> None:
    with pytest.raises(tb.InvalidInputError, match=message.replace("+", r"\+")):
        parse_publish(line)


def test_parse_fetch() -> None:
    assert parse_fetch("sales") == FetchArgs("sales", "sales", "")
    assert parse_fetch("sales as t --pandas") == FetchArgs("sales", "t", "pandas")
    assert parse_fetch("--arrow shared:ab as t") == FetchArgs("shared:ab", "t", "arrow")
    for bad, message in [
        ("", "usage: %fetch"),
        ("a b", "usage: %fetch"),
        ("shared:ab", "is not a Python name"),
        ("sales --csv", "unknown or repeated option --csv"),
        ("sales --pandas --arrow", "unknown or repeated option"),
        ("'sales", 'cannot read "\'sales": No closing quotation'),
    ]:
        with pytest.raises(tb.InvalidInputError, match=message):
            parse_fetch(bad)


def test_result_ticket() -> None:
    assert isinstance(result_ticket("shared"), tb.SharedTicket)
    assert result_ticket("shared") != result_ticket("shared")
    assert result_ticket("sales") == tb.ScopeTicket.scope_ticket("sales")

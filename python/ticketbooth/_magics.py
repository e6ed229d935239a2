"""IPython magics, loaded by ``%load_ext ticketbooth``::

    %publish df as sales          # a table or figure, under a scope name
    %publish df                   # under the variable's name ("df")
    %publish fig as shared        # under a new SharedTicket (printed)
    %%publish sales               # the cell's last expression, under "sales"
    %fetch sales                  # into the variable `sales` (a Table or SharedObject)
    %fetch sales as t --pandas    # into `t`, as a pandas DataFrame (--arrow: a pyarrow Table)
    %%fetch sales regions         # fetch both into variables of their names, then run the cell
                                  # (--pandas or --arrow: each as that)

All of them use the kernel's default Session (the one `tb.view` uses).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, line_cell_magic, magics_class

from ._default import default_session
from ._errors import InvalidInputError, TicketboothError
from ._inputs import is_table_like
from ._table import Table
from ._tickets import ScopeTicket, SharedTicket, Ticket, as_ticket

_AS = re.compile(r"^(?P<expr>.+)\s+as(?:\s+(?P<name>\S+))?\s*$")
_PUBLISH_USAGE = "usage: %publish <expression> [as <name>|shared], or %%publish <name> on a cell"
_FETCH_USAGE = "usage: %fetch <name or shared:...> [as <variable>] [--pandas|--arrow]"
_CELL_FETCH_USAGE = "usage: %%fetch <name> [<name> ...] [--pandas|--arrow] above the cell"


@dataclass(frozen=True)
class FetchArgs:
    ticket: str
    variable: str
    convert: str  # "", "pandas" or "arrow"


def parse_publish(line: str) -> tuple[str, str]:
    """``"df as sales"`` -> ("df", "sales"); ``"df"`` -> ("df", "df")."""
    text = line.strip()
    if not text:
        raise InvalidInputError(_PUBLISH_USAGE)
    match = _AS.match(text)
    if match is None:
        if " as " in f" {text} ":
            raise InvalidInputError(f"the name after 'as' is one word: {_PUBLISH_USAGE}")
        if not text.isidentifier():
            raise InvalidInputError(
                f"say under which name to publish {text!r}: "
                f"%publish {text or '<expression>'} as <name>"
            )
        return text, text
    if not match["name"]:
        raise InvalidInputError(_PUBLISH_USAGE)
    return match["expr"].strip(), match["name"]


def _words(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:  # an unclosed quote
        raise InvalidInputError(f"cannot read {line.strip()!r}: {exc}") from None


def _options(line: str, usage: str) -> tuple[list[str], str]:
    """The words of `line` without its option, and the option ("", "pandas" or "arrow")."""
    words = _words(line)
    flags = [w for w in words if w.startswith("--")]
    words = [w for w in words if not w.startswith("--")]
    unknown = [f for f in flags if f not in ("--pandas", "--arrow")]
    if unknown or len(flags) > 1:
        raise InvalidInputError(f"unknown or repeated option {(unknown or flags)[-1]}: {usage}")
    return words, flags[0][2:] if flags else ""


def parse_fetch(line: str) -> FetchArgs:
    words, convert = _options(line, _FETCH_USAGE)
    if len(words) == 3 and words[1] == "as":
        ticket, variable = words[0], words[2]
    elif len(words) == 1:
        ticket = variable = words[0]
    else:
        raise InvalidInputError(_FETCH_USAGE)
    if not variable.isidentifier():
        raise InvalidInputError(f"{variable!r} is not a Python name: %fetch {ticket} as <variable>")
    return FetchArgs(ticket, variable, convert)


def parse_cell_fetch(line: str) -> list[FetchArgs]:
    """``"sales regions --pandas"`` -> each name into a variable of that name."""
    names, convert = _options(line, _CELL_FETCH_USAGE)
    if not names:
        raise InvalidInputError(_CELL_FETCH_USAGE)
    for name in names:
        if not name.isidentifier():
            raise InvalidInputError(
                f"{name!r} is not a Python name: fetch it with %fetch {name} as <variable>"
            )
    return [FetchArgs(name, name, convert) for name in names]


def result_ticket(name: str) -> Ticket:
    """ "shared" makes a new SharedTicket; anything else is a scope name or a ticket's text."""
    return SharedTicket.random_ticket() if name == "shared" else as_ticket(name)


def publish(obj: Any, name: str) -> str:
    """Publish a table or figure under `name`; returns the line the magic prints."""
    session = default_session()
    ticket = result_ticket(name)
    if obj is None:
        raise InvalidInputError(
            "nothing to publish: the value is None (a %%publish cell must end with the "
            "table or figure as an expression)"
        )
    if isinstance(obj, Table) or is_table_like(obj):
        session.publish_table(obj, ticket)
    else:
        session.publish_figure(obj, ticket)
    info = session.info(ticket)
    shape = (
        f"{_count(info.num_rows, 'row')} \N{MULTIPLICATION SIGN} "
        f"{_count(info.num_columns, 'column')}"
        if info.is_table
        else info.type
    )
    where = repr(name) if isinstance(ticket, ScopeTicket) else str(ticket)
    return f"published {where} (v{info.version}, {shape})"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def fetch(args: FetchArgs) -> Any:
    obj = default_session().fetch_object(args.ticket)
    if isinstance(obj, Table) and args.convert == "pandas":
        return obj.to_pandas()
    if isinstance(obj, Table) and args.convert == "arrow":
        return obj.to_arrow()
    if args.convert and not isinstance(obj, Table):
        raise InvalidInputError(
            f"{args.ticket!r} is a {obj.type}, not a table: drop --{args.convert}"
        )
    return obj


@magics_class
class TicketboothMagics(Magics):
    """Errors show as one line (IPython's UsageError), not a traceback into ticketbooth."""

    @line_cell_magic
    def publish(self, line: str, cell: str | None = None) -> None:
        """%publish <expression> [as <name>|shared]; %%publish <name> publishes the cell's
        last expression."""
        try:
            self._publish(line, cell)
        except TicketboothError as exc:
            raise UsageError(f"%publish: {exc}") from None

    @line_cell_magic
    def fetch(self, line: str, cell: str | None = None) -> Any:
        """%fetch <name> [as <variable>] [--pandas|--arrow]; %%fetch <name> [<name>...] fetches
        each into a variable of its name, then runs the cell."""
        try:
            return self._fetch(line, cell)
        except TicketboothError as exc:
            raise UsageError(f"%fetch: {exc}") from None

    @property
    def _shell(self) -> InteractiveShell:
        assert self.shell is not None, "the magics are registered with a shell"
        return self.shell

    def _publish(self, line: str, cell: str | None) -> None:
        if cell is None:
            expression, name = parse_publish(line)
            try:
                obj = self._shell.ev(expression)  # type: ignore[no-untyped-call]
            except Exception as exc:  # a typo in the expression: one line, like the rest
                raise UsageError(
                    f"%publish: cannot evaluate {expression!r}: {type(exc).__name__}: {exc}"
                ) from None
        else:
            name = line.strip()
            if not name or " " in name:
                raise InvalidInputError("usage: %%publish <name> (or shared) above the cell")
            result = self._shell.run_cell(cell, store_history=False)  # type: ignore[no-untyped-call]
            if not result.success:  # its traceback is shown above
                raise UsageError(
                    f"%%publish: the cell failed, so nothing was published to {name!r}"
                )
            obj = result.result
        print(publish(obj, name))

    def _fetch(self, line: str, cell: str | None) -> Any:
        if cell is None:
            args = parse_fetch(line)
            value = fetch(args)
            self._shell.user_ns[args.variable] = value
            return value
        for args in parse_cell_fetch(line):
            self._shell.user_ns[args.variable] = fetch(args)
        self._shell.run_cell(cell, store_history=False)  # type: ignore[no-untyped-call]
        return None

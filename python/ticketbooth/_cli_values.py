"""Values of the `ticketbooth` command's options: sizes, counts, seconds, ports; the
refusal of a token on the command line; terminal-safe output of client-chosen text."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

TOKEN_ON_COMMAND_LINE = (
    "--token is not accepted: a token on the command line is visible to every user of this "
    "machine (ps); put it in a file only you can read (chmod 600 FILE) and pass "
    "--token-file FILE, or set TICKETBOOTH_TOKEN"
)

_UNITS = {
    "": 1,
    "b": 1,
    **{f"{p}{b}": 1000**i for i, p in enumerate("kmgt", 1) for b in ("", "b")},
    **{f"{p}i{b}": 1024**i for i, p in enumerate("kmgt", 1) for b in ("", "b")},
}
_SIZE = re.compile(r"([0-9][0-9_]*(?:\.[0-9]*)?(?:e[+-]?[0-9]{1,2})?)\s*([a-z]*)")
MAX_SIZE = 2**63 - 1  # what the wire (int64) carries
MAX_COUNT = 2**31 - 1  # int32


def parse_size(text: str) -> int:
    """Parse a byte count: ``1000000``, ``1e9``, ``512MiB``, ``4GiB``, ``2GB``, ``1.5GiB``.

    Args:
        text: digits (``_`` allowed), an optional fraction or exponent, and an optional
            unit: B, K/KB, M/MB, G/GB, T/TB (powers of 1000) or KiB, MiB, GiB, TiB (of 1024),
            in any case.

    Returns:
        The number of bytes, at least 1.

    Raises:
        argparse.ArgumentTypeError: not a size, an unknown unit, not a whole number of
            bytes, zero, or more than an int64 holds.
    """
    match = _SIZE.fullmatch(text.strip().lower())
    if match is None or match[2] not in _UNITS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size: use a number of bytes (1000000, 1e9) "
            "or a number and a unit (512MiB, 4GiB, 2GB)"
        )
    value = Fraction(match[1].replace("_", "")) * _UNITS[match[2]]
    if value.denominator != 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of bytes")
    if not 1 <= value <= MAX_SIZE:
        raise argparse.ArgumentTypeError(f"{text!r}: a size must be 1 to {MAX_SIZE} bytes")
    return int(value)


def parse_count_or_zero(text: str) -> int:
    """`parse_count`, and 0."""
    if text.strip() == "0":
        return 0
    try:
        return parse_count(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number from 0 to {MAX_COUNT}"
        ) from None


def parse_size_or_zero(text: str) -> int:
    """`parse_size`, and 0 (for limits where 0 means none)."""
    if text.strip() == "0":
        return 0
    try:
        return parse_size(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("must be 1 to", "must be 0 to")) from None


def parse_count(text: str) -> int:
    """Parse a positive whole number: ``1000``, ``10_000`` or ``1e4``.

    Raises:
        argparse.ArgumentTypeError: not a whole number from 1 to 2**31 - 1.
    """
    match = _SIZE.fullmatch(text.strip().lower())
    value = Fraction(match[1].replace("_", "")) if match and not match[2] else None
    if value is None or value.denominator != 1 or not 1 <= value <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to {MAX_COUNT}")
    return int(value)


def parse_seconds(text: str) -> float:
    """Parse a positive, finite number of seconds (``10``, ``0.5``).

    Raises:
        argparse.ArgumentTypeError: not a number, or not above zero.
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the number of seconds must be above 0")
    return value


def parse_port(text: str) -> int:
    """Parse a TCP port, 0..65535 (0 picks any free port).

    Raises:
        argparse.ArgumentTypeError: not a whole number in range.
    """
    from ._connection import check_port

    try:
        return check_port(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a TCP port: use 0..65535 (0 picks a free port)"
        ) from None


class _RefuseToken(argparse.Action):
    """``--token VALUE``: refused, saying to use --token-file or TICKETBOOTH_TOKEN."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs="?", help=argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        parser.error(TOKEN_ON_COMMAND_LINE)


def refuse_token() -> type[argparse.Action]:
    """The action of a ``--token`` option: refused, saying what to use instead."""
    return _RefuseToken


def shown(text: str) -> str:
    """`text` safe for a terminal: each non-printable character escaped as in a repr.

    Names and publishers are chosen by clients; an ANSI escape or a newline in one must
    not reach the terminal of whoever lists them.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class UsageError(Exception):
    """A bad option or option value: one line on stderr and exit code 2."""

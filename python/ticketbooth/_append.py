"""`appended`: a published table with more rows, for `Session.append_table`."""

from __future__ import annotations

import pyarrow as pa

from ._errors import InvalidInputError


def appended(current: pa.Table, rows: pa.Table, what: str) -> pa.Table:
    """`current` followed by `rows`, whose columns must be the same (in any order) and of
    types that convert to the current ones without loss (ints into a float column, say)."""
    have, want = set(rows.column_names), current.column_names
    if have != set(want):
        missing = [c for c in want if c not in have]
        extra = [c for c in rows.column_names if c not in set(want)]
        parts = [f"missing {missing}" if missing else "", f"unknown {extra}" if extra else ""]
        raise InvalidInputError(
            f"the rows do not fit {what}: {', '.join(p for p in parts if p)}; "
            f"give the columns {want}"
        )
    rows = rows.select(want)
    converted = []
    for field, column in zip(current.schema, rows.columns, strict=True):
        if column.type == field.type:
            converted.append(column)
            continue
        try:
            converted.append(column.cast(field.type, safe=True))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            reason = str(exc).splitlines()[0]
            raise InvalidInputError(
                f"column {field.name!r} of the rows is {column.type}, and {what} holds "
                f"{field.type}: {reason}; convert it first"
            ) from None
    return pa.concat_tables([current, pa.Table.from_arrays(converted, schema=current.schema)])

"""Table inputs: turn what a user hands to `import_table` into an Arrow RecordBatchReader.

Every failure is an InvalidInputError that names the problem and what would work; no
pyarrow (or pandas, polars, duckdb) exception escapes, even one raised while the data is
read later.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa

from ._errors import InvalidInputError, TicketboothError
from ._objects import is_table_type

_NOT_A_TABLE = (
    "{what} is not a table: pass a pyarrow Table/RecordBatch/RecordBatchReader, a pandas or "
    "polars DataFrame, a duckdb relation, a dict of columns, or any object with "
    "__arrow_c_stream__"
)

#: (module, type name) of one-column objects, and what to pass instead.
_COLUMNS = {
    ("pandas", "Series"): "series.to_frame()",
    ("polars", "Series"): "series.to_frame()",
    ("pyarrow", "ChunkedArray"): "pa.table({'name': array})",
    ("numpy", "ndarray"): "pa.table({'name': array}) or pandas.DataFrame(array)",
}


def as_reader(data: Any) -> pa.RecordBatchReader:
    """Turn any supported table-like object into a RecordBatchReader without copying.

    Args:
        data: a pyarrow Table/RecordBatch/RecordBatchReader, a pandas or polars DataFrame,
            a duckdb relation, a dict of columns (``{"a": [1, 2]}``), or any object with
            ``__arrow_c_stream__``.

    Returns:
        A reader of the same rows. Errors raised while it is read (a lazy query that fails
        half-way) also surface as InvalidInputError.

    Raises:
        InvalidInputError: `data` is not a table, is a single column, has duplicate column
            names, or cannot be converted (e.g. a pandas column mixing ints and strings).
    """
    if isinstance(data, pa.Table):
        return _checked(pa.RecordBatchReader.from_batches(data.schema, data.to_batches()))
    if isinstance(data, pa.RecordBatch):
        return _checked(pa.RecordBatchReader.from_batches(data.schema, [data]))
    if isinstance(data, pa.RecordBatchReader):
        return _guarded(_checked(data))
    return _guarded(_checked(_convert(data)))


def is_table_like(data: Any) -> bool:
    """Whether `data` goes to `as_reader` as a table (which names what to pass instead of a
    single column) rather than to the figure path: a dict of columns, or a table type."""
    return isinstance(data, dict) or is_table_type(data)


def _convert(data: Any) -> pa.RecordBatchReader:
    """The reader of anything that is not already pyarrow."""
    if isinstance(data, (str, bytes, bytearray, int, float)) or data is None:
        raise InvalidInputError(_NOT_A_TABLE.format(what=type(data).__name__))
    module, name = type(data).__module__.split(".")[0], type(data).__name__
    if isinstance(data, pa.Array) or (module, name) in _COLUMNS:
        instead = _COLUMNS.get((module, name), "pa.table({'name': array})")
        raise InvalidInputError(
            f"a {module} {name} is a single column, not a table: pass {instead}"
        )
    if module == "pandas" and name == "DataFrame":
        return _from_pandas(data)
    if isinstance(data, dict):
        return _from_dict(data)
    if hasattr(data, "__arrow_c_stream__"):
        try:
            return pa.RecordBatchReader.from_stream(data)
        except Exception as exc:
            raise InvalidInputError(f"{name}.__arrow_c_stream__ failed: {exc}") from exc
    for method in ("to_arrow", "arrow"):  # older polars / duckdb
        fn = getattr(data, method, None)
        if callable(fn) and module in ("polars", "duckdb"):
            try:
                converted = fn()
            except Exception as exc:
                raise InvalidInputError(f"{name}.{method}() failed: {exc}") from exc
            return as_reader(converted)
    raise InvalidInputError(_NOT_A_TABLE.format(what=name))


def _from_pandas(df: Any) -> pa.RecordBatchReader:
    """A pandas DataFrame as a reader; a column pyarrow cannot convert is named."""
    names = [str(c) for c in df.columns]
    _check_unique(names, "df.columns = [...] or df.rename(columns={...})")
    try:
        table = pa.Table.from_pandas(df)
    except Exception as exc:
        raise _pandas_error(df, exc) from exc
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


def _from_dict(columns: dict[Any, Any]) -> pa.RecordBatchReader:
    """``{"name": values, ...}``: each value a list, numpy array, pyarrow array or Series."""
    if not columns:
        raise InvalidInputError("an empty dict is not a table: give it at least one column")
    bad = [k for k in columns if not isinstance(k, str)]
    if bad:
        raise InvalidInputError(
            f"column names must be strings, not {type(bad[0]).__name__} ({bad[0]!r})"
        )
    lengths = {}
    for key, values in columns.items():
        if isinstance(values, (str, bytes, int, float)) or values is None:
            raise InvalidInputError(
                f"column {key!r} is a single {type(values).__name__}, not a list of values: "
                f"write {{{key!r}: [{values!r}]}}"
            )
        if isinstance(values, (Mapping, set, frozenset)):  # len() works, the values would not
            raise InvalidInputError(
                f"column {key!r} is a {type(values).__name__}, not a list of values: a dict of "
                f"columns maps each name to a list (a column of dicts: {{{key!r}: [{{...}}, ...]}})"
            )
        try:
            lengths[key] = len(values)
        except TypeError:
            raise InvalidInputError(
                f"column {key!r} is not a list of values (got {type(values).__name__})"
            ) from None
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k!r}: {n}" for k, n in lengths.items())
        raise InvalidInputError(f"the columns have different lengths ({shown}): make them equal")
    try:
        table = pa.table(columns)
    except Exception as exc:
        for key, values in columns.items():
            if isinstance(values, (pa.Array, pa.ChunkedArray)):
                continue
            try:
                pa.array(values)
            except Exception as col_exc:
                raise InvalidInputError(
                    f"column {key!r} cannot be converted to Arrow: {_first_line(col_exc)} "
                    "(give it values of one type)"
                ) from exc
        raise InvalidInputError(f"the dict cannot be made a table: {_first_line(exc)}") from exc
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


def _pandas_error(df: Any, exc: Exception) -> InvalidInputError:
    """Find the column that made `pa.Table.from_pandas` fail, and say how to fix it."""
    for i, name in enumerate(df.columns):
        column = df.iloc[:, i]
        try:
            pa.Array.from_pandas(column)
        except Exception as col_exc:
            kinds = sorted({type(v).__name__ for v in column.dropna()})
            mixes = f" mixes {', '.join(kinds)} values and" if len(kinds) > 1 else ""
            return InvalidInputError(
                f"column {str(name)!r}{mixes} cannot be converted to an Arrow column "
                f"({_first_line(col_exc)}): give it one consistent type, e.g. "
                f"df[{name!r}] = df[{name!r}].astype(str)"
            )
    return InvalidInputError(f"the DataFrame cannot be converted to a table: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    """An exception's message on one line (pyarrow's args are tuples of messages)."""
    first = exc.args[0] if exc.args else exc
    return str(first).splitlines()[0] if str(first) else type(exc).__name__


def _check_unique(names: list[str], rename: str) -> None:
    duplicates = sorted(n for n, count in Counter(names).items() if count > 1)
    if duplicates:
        listed = ", ".join(repr(n) for n in duplicates)
        raise InvalidInputError(
            f"duplicate column names {listed}: every column needs its own name; "
            f"rename them first ({rename})"
        )


def _checked(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """`reader`, after checking its column names are unique."""
    _check_unique(reader.schema.names, "table.rename_columns([...]) for pyarrow")
    return reader


def _guarded(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """`reader`, with an exception raised while reading it turned into InvalidInputError."""

    def batches() -> Iterator[pa.RecordBatch]:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (TicketboothError, MemoryError):
                raise
            except Exception as exc:
                raise InvalidInputError(f"reading the table data failed: {exc}") from exc
            yield batch

    return pa.RecordBatchReader.from_batches(reader.schema, batches())

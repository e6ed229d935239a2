"""Table inputs: turn what a user hands to `import_table` into an Arrow RecordBatchReader.

Every failure is an InvalidInputError that names the problem and what would work.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from ._errors import InvalidInputError

_NOT_A_TABLE = (
    "{what} is not a table: pass a pyarrow Table/RecordBatch/RecordBatchReader, a pandas or "
    "polars DataFrame, a duckdb relation, or any object with __arrow_c_stream__"
)


def as_reader(data: Any) -> pa.RecordBatchReader:
    """Turn any supported table-like object into a RecordBatchReader without copying."""
    if isinstance(data, pa.RecordBatchReader):
        return data
    if isinstance(data, pa.Table):
        return pa.RecordBatchReader.from_batches(data.schema, data.to_batches())
    if isinstance(data, pa.RecordBatch):
        return pa.RecordBatchReader.from_batches(data.schema, [data])
    if isinstance(data, (str, bytes, bytearray, int, float)) or data is None:
        raise InvalidInputError(_NOT_A_TABLE.format(what=type(data).__name__))
    module = type(data).__module__.split(".")[0]
    if module == "pandas" and type(data).__name__ == "DataFrame":
        return as_reader(pa.Table.from_pandas(data))
    if hasattr(data, "__arrow_c_stream__"):
        try:
            return pa.RecordBatchReader.from_stream(data)
        except Exception as exc:
            raise InvalidInputError(
                f"{type(data).__name__}.__arrow_c_stream__ failed: {exc}"
            ) from exc
    for method in ("to_arrow", "arrow"):  # older polars / duckdb
        fn = getattr(data, method, None)
        if callable(fn) and module in ("polars", "duckdb"):
            return as_reader(fn())
    raise InvalidInputError(_NOT_A_TABLE.format(what=type(data).__name__))

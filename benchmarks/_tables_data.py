"""The table of bench_tables.py: rows x 4 numeric columns, one batch or independent chunks."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def make_columns(rows: int) -> dict[str, tuple[np.ndarray, pa.DataType]]:
    """rows x 4 columns, 32 bytes a row: int64, float64, timestamp[ns] (int64), float64."""
    rng = np.random.default_rng(42)
    start = np.datetime64("2024-01-01T00:00:00", "ns").astype(np.int64)
    return {
        "id": (np.arange(rows, dtype=np.int64), pa.int64()),
        "price": (rng.random(rows) * 100.0, pa.float64()),
        "ts": (start + np.arange(rows, dtype=np.int64) * 1_000_000, pa.timestamp("ns")),
        "qty": (rng.standard_normal(rows), pa.float64()),
    }


def make_table(rows: int, chunk_rows: int | None = None) -> pa.Table:
    """One record batch, or independent batches of `chunk_rows` rows (own buffers each)."""
    cols = make_columns(rows)
    if chunk_rows is None:
        return pa.table({k: pa.array(v, t) for k, (v, t) in cols.items()})
    batches = [
        pa.record_batch(
            {k: pa.array(v[s : s + chunk_rows].copy(), t) for k, (v, t) in cols.items()}
        )
        for s in range(0, rows, chunk_rows)
    ]
    return pa.Table.from_batches(batches)


def chunk_rows_for(max_bytes: int, row_bytes: int = 32) -> int:
    """Rows per message the client aims at (ticketbooth._arrow._fitted: 90% of the limit)."""
    return max(1, int(max_bytes * 0.9 / row_bytes))

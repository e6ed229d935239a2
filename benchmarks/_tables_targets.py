"""Ratios between the transfer rows of bench_tables.py, and its targets (PASS/MISS).

Every ratio is throughput over throughput (= the other row's median time / this row's), from
the same run, so > 1 means faster than the reference. A row killed at its budget before one
run finished has only a lower bound on its time; its ratios are then upper bounds.
"""

from __future__ import annotations

from typing import Any

FETCH_VS_PICKLE_MIN = 100.0  # same-host fetch at least 100x faster than a pickle round trip
FETCH_MAX_S = 0.005  # same-host fetch within 5 ms
PUBLISH_VS_IPC_MAX = 1.5  # same-host publish within 1.5x of a plain IPC file write
VS_RAW_TCP_MIN = 0.85  # ticketbooth fetch/publish over TCP vs raw TCP
VS_FLIGHT_MIN = 0.9  # ticketbooth fetch/publish over TCP vs pyarrow's Flight server
VS_RAW_TLS_MIN = 0.75  # ticketbooth fetch/publish over TLS vs raw TLS

# (ticketbooth row, reference, minimum)
TRANSFER_TARGETS = [
    ("tb_fetch_tcp", "vs_raw_tcp", VS_RAW_TCP_MIN),
    ("tb_publish_tcp", "vs_raw_tcp", VS_RAW_TCP_MIN),
    ("tb_fetch_tcp", "vs_flight", VS_FLIGHT_MIN),
    ("tb_publish_tcp", "vs_flight", VS_FLIGHT_MIN),
    ("tb_fetch_tls", "vs_raw_tls", VS_RAW_TLS_MIN),
    ("tb_publish_tls", "vs_raw_tls", VS_RAW_TLS_MIN),
]
REFERENCE_NAMES = {
    "vs_raw_tcp": "raw TCP",
    "vs_raw_tls": "raw TLS",
    "vs_flight": "pyarrow Flight server",
}


def _ratio(r: dict[str, dict[str, Any]], ref_key: str, key: str) -> float | None:
    ref, row = r.get(ref_key, {}), r[key]
    if not ref.get("median_s") or not row.get("median_s") or ref.get("timed_out_after_s"):
        return None  # a reference that never finished gives no ratio
    return float(ref["median_s"] / row["median_s"])


def add_ratios(r: dict[str, dict[str, Any]]) -> None:
    """vs_raw_tcp on every transfer; vs_raw_tls on TLS rows; vs_flight on ticketbooth rows."""
    for key, row in r.items():
        if row["group"] != "transfer":
            continue
        row["vs_raw_tcp"] = _ratio(r, "raw_tcp", key)
        if row["transport"] == "tls":
            row["vs_raw_tls"] = _ratio(r, "raw_tls", key)
        if row["peer"] == "ticketbooth":
            flight = f"flight_{row['direction']}_{row['transport']}"
            row["vs_flight"] = _ratio(r, flight, key)
            row["vs_flight_row"] = flight


def targets(r: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []

    def median(key: str) -> float | None:
        return r.get(key, {}).get("median_s") if not r.get(key, {}).get("error") else None

    fetch, pickle5 = median("fetch"), median("pickle5")
    publish, ipc = median("publish"), median("ipc_write")
    ratio_pickle = pickle5 / fetch if fetch and pickle5 else None
    ratio_publish = publish / ipc if publish and ipc else None
    same_host = [
        ("same-host fetch vs pickle round trip (protocol 5)", ratio_pickle, "x faster",
         f">= {FETCH_VS_PICKLE_MIN:.0f}x", lambda v: v >= FETCH_VS_PICKLE_MIN),
        ("same-host fetch, absolute", fetch * 1e3 if fetch else None, "ms",
         f"<= {FETCH_MAX_S * 1e3:.0f} ms", lambda v: v <= FETCH_MAX_S * 1e3),
        ("same-host publish / plain IPC file write", ratio_publish, "x",
         f"<= {PUBLISH_VS_IPC_MAX}x", lambda v: v <= PUBLISH_VS_IPC_MAX),
    ]  # fmt: skip
    for name, value, unit, target, ok in same_host:
        out.append(
            {"name": name, "value": value, "unit": unit, "target": target,
             "pass": value is not None and ok(value)}
        )  # fmt: skip
    for key, ref, minimum in TRANSFER_TARGETS:
        row = r.get(key)
        if row is None:
            continue
        value = row.get(ref)
        bound = row.get("timed_out_after_s") is not None
        out.append(
            {
                "name": f"{row['label']} / {REFERENCE_NAMES[ref]}",
                "value": value,
                "unit": "x",
                "target": f">= {minimum}",
                "upper_bound": bound,
                "error": row.get("error"),
                "pass": value is not None and not bound and not row.get("error")
                and value >= minimum,
            }
        )  # fmt: skip
    return out

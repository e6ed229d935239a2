"""The text report of bench_tables.py."""

from __future__ import annotations

from typing import Any

from _util import fmt_s


def report(data: dict[str, Any]) -> str:
    m, r = data["meta"], data["results"]
    lines = [
        f"ticketbooth {m['ticketbooth']} table benchmark, {m['date']}",
        f"  table: {m['rows']:,} rows x {m['columns']} columns ({', '.join(m['schema'])}), "
        f"{m['nbytes'] / 1e6:,.1f} MB (table.nbytes), {m['record_batches']} record batch(es); "
        f"'chunked' = same data as batches of {m['chunked_rows_per_batch']:,} rows",
        f"  python {m['python']}, pyarrow {m['pyarrow']}, grpcio {m['grpcio']}, numpy {m['numpy']}",
        f"  CPUs: os.cpu_count()={m['cpu_count']} (usable {m['cpu_affinity']}), "
        f"{m['cpu_model']}, RAM {m['mem_total_gib']} GiB, {m['platform']}",
        f"  median of {m['repeat']} runs; broker found by {m['broker_via']}; "
        f"remote budget {m['remote_timeout_s']:.0f} s per measurement",
        f"  load average at start {m['loadavg_start'][0]:.2f}, at end {m['loadavg_end'][0]:.2f}; "
        f"ticketbooth checkout {m['git']}",
        "",
        f"  {'measurement':<50} {'median':>10} {'min':>10} {'max':>10} {'runs':>4} {'GB/s':>8}",
        f"  {'-' * 50} {'-' * 10} {'-' * 10} {'-' * 10} {'-' * 4} {'-' * 8}",
    ]
    notes = []
    for res in r.values():
        if res.get("error"):
            notes.append(f"  ! {res['label'].strip()}: {res['error']}")
        med = fmt_s(res["median_s"])
        g = f"{res['gbps']:8.3f}" if res["gbps"] else ""
        if res["timed_out_after_s"] is not None:
            med, g = "> " + med, "<" + g.strip()
        if res["gbps_is_one_column"]:
            g += "*"
        lines.append(
            f"  {res['label']:<50} {med:>10} {fmt_s(res['min_s']):>10} "
            f"{fmt_s(res['max_s']):>10} {res['runs']:>4} {g:>8}"
        )
    lines.append("  (GB/s = table.nbytes / median; * = bytes of the one int64 column summed;")
    lines.append("   '>' = killed at the time budget before one run finished: a lower bound)")
    lines += notes
    if "fetch" in r:
        lines.append(
            f"  Arrow memory pool growth in the subscriber after its fetch: "
            f"{r['fetch']['arrow_pool_bytes']:,} bytes (0 = nothing copied, the file is mapped)"
        )
    for p in (5, 4, 2):
        if f"pickle{p}" in r:
            lines.append(
                f"  pickle protocol {p} payload: {r[f'pickle{p}']['pickle_bytes'] / 1e6:,.1f} MB"
            )
    for key in ("remote_fetch", "remote_fetch_chunked"):
        if r.get(key, {}).get("batches_received"):
            lines.append(
                f"  {r[key]['label']}: {r[key]['batches_received']:,} record batches received"
            )
    lines += ["", "  targets:"]
    if m["rows"] < 10_000_000:
        lines.append(
            "  (the targets are set for the default 10M-row table; with fewer rows fixed per-call"
            " costs dominate and the ratios and GB/s say little)"
        )
    for t in data["targets"]:
        v = "-" if t["value"] is None else f"{'<' if t.get('upper_bound') else ''}{t['value']:.3g}"
        lines.append(
            f"  {'PASS' if t['pass'] else 'MISS'}  {t['name']:<50} {v:>9} {t['unit']:<9} "
            f"(target {t['target']})"
        )
    return "\n".join(lines)

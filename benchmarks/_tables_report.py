"""The text report of bench_tables.py."""

from __future__ import annotations

from typing import Any

from _util import fmt_s

HEAD = f"  {'measurement':<48} {'median':>10} {'min':>10} {'max':>10} {'runs':>4} {'GB/s':>7}"
RULE = f"  {'-' * 48} {'-' * 10} {'-' * 10} {'-' * 10} {'-' * 4} {'-' * 7}"
RATIOS = [("vs_raw_tcp", "/rawTCP"), ("vs_raw_tls", "/rawTLS"), ("vs_flight", "/Flight")]


def _ratio(res: dict[str, Any], key: str) -> str:
    v = res.get(key)
    if v is None:
        return ""
    return f"{'<' if res['timed_out_after_s'] is not None else ''}{v:.2f}"


def _line(res: dict[str, Any], ratios: bool) -> str:
    med = fmt_s(res["median_s"])
    g = f"{res['gbps']:.3f}" if res["gbps"] else ""
    if res["timed_out_after_s"] is not None:
        med, g = "> " + med, "<" + g
    if res["gbps_is_one_column"]:
        g += "*"
    line = (
        f"  {res['label']:<48} {med:>10} {fmt_s(res['min_s']):>10} "
        f"{fmt_s(res['max_s']):>10} {res['runs']:>4} {g:>7}"
    )
    if ratios:
        line += "".join(f" {_ratio(res, k):>7}" for k, _ in RATIOS)
    return line.rstrip()


def header(m: dict[str, Any]) -> list[str]:
    loads = ", ".join(f"{x['loadavg_start'][0]:.2f}" for x in m["rounds"])
    durations = ", ".join(f"{x['seconds']:.0f} s" for x in m["rounds"])
    return [
        f"ticketbooth {m['ticketbooth']} table benchmark, {m['date']}",
        f"  table: {m['rows']:,} rows x {m['columns']} columns ({', '.join(m['schema'])}), "
        f"{m['nbytes'] / 1e6:,.1f} MB (table.nbytes), {m['record_batches']} record batch(es)",
        f"  python {m['python']}, pyarrow {m['pyarrow']}, grpcio {m['grpcio']}, "
        f"numpy {m['numpy']}, {m['openssl']}, cryptography {m['cryptography']}",
        f"  CPUs: os.cpu_count()={m['cpu_count']} (usable {m['cpu_affinity']}), "
        f"{m['cpu_model']}, RAM {m['mem_total_gib']} GiB, {m['platform']}",
        f"  median of {m['repeat']} runs, interleaved: {m['repeat']} rounds, each running every "
        f"measurement once ({durations})",
        f"  budget {m['remote_timeout_s']:.0f} s per measurement in other processes; "
        f"broker found by {m['broker_via']}; whole run {m['wall_s']:.0f} s",
        f"  load average at start {m['loadavg_start'][0]:.2f}, at each round {loads}, at end "
        f"{m['loadavg_end'][0]:.2f}; ticketbooth checkout {m['git']}",
        f"  TLS: self-signed RSA-2048 certificate made with {m['cert_made_by']}; "
        f"raw TLS negotiated {m.get('raw_tls_cipher') or '-'}",
        "  Flight peers send the table "
        + (
            f"in batches of <= {m['flight_batch_rows']:,} rows (--flight-batch-rows)"
            if m.get("flight_batch_rows")
            else f"as built ({m['record_batches']} record batch(es); see --flight-batch-rows)"
        ),
    ]


def report(data: dict[str, Any]) -> str:
    m, r = data["meta"], data["results"]
    same = [x for x in r.values() if x["group"] == "same-host"]
    transfer = [x for x in r.values() if x["group"] == "transfer"]
    lines = [*header(m), "", "  same host (shared memory), and pickle for comparison", HEAD, RULE]
    lines += [_line(x, False) for x in same]
    lines += [
        "",
        "  between processes "
        + (
            f"across an emulated {m['link_gbit']:g} Gbit/s link (--link: veth, MTU 1500, tc tbf)"
            if m.get("link_gbit")
            else "over loopback"
        )
        + ": a server process holds the data; a fresh client process per run",
        HEAD + "".join(f" {name:>7}" for _, name in RATIOS),
        RULE + " -------" * len(RATIOS),
    ]
    lines += [_line(x, True) for x in transfer]
    lines += [
        "  (GB/s = table.nbytes / median, 1 GB = 1e9 B; * = bytes of the one int64 column summed;",
        "   '>' = killed at its budget before one run finished: a lower bound; /X = throughput",
        "   relative to row X of this run (X's median time / this row's); get/fetch = server ->",
        "   client, put/publish = client -> server; raw rows move the same number of bytes)",
    ]
    lines += [f"  ! {x['label'].strip()}: {x['error']}" for x in r.values() if x.get("error")]
    lines += notes(r)
    lines += ["", "  targets:"]
    if m["rows"] < 10_000_000:
        lines.append(
            "  (the targets are set for the default 10M-row table; with fewer rows fixed per-call"
            " costs dominate and the ratios and GB/s say little)"
        )
    for t in data["targets"]:
        v = "-" if t["value"] is None else f"{'<' if t.get('upper_bound') else ''}{t['value']:.3g}"
        lines.append(
            f"  {'PASS' if t['pass'] else 'MISS'}  {t['name']:<62} {v:>7} {t['unit']:<8} "
            f"(target {t['target']})"
        )
    return "\n".join(lines)


def notes(r: dict[str, Any]) -> list[str]:
    out = []
    if r.get("fetch", {}).get("arrow_pool_bytes") is not None:
        out.append(
            f"  Arrow memory pool growth in the same-host subscriber after its fetch: "
            f"{r['fetch']['arrow_pool_bytes']:,} bytes (0 = nothing copied, the file is mapped)"
        )
    for p in (5, 4, 2):
        if r.get(f"pickle{p}", {}).get("pickle_bytes"):
            out.append(
                f"  pickle protocol {p} payload: {r[f'pickle{p}']['pickle_bytes'] / 1e6:,.1f} MB"
            )
    raw = r.get("raw_tcp", {})
    if raw.get("first_touch_s"):
        touch, pool = fmt_s(raw["first_touch_s"]), fmt_s(raw.get("pool_touch_s"))
        out.append(
            f"  raw receivers fault their buffer in before the clock starts: {touch} (numpy, huge"
            f" pages); the same bytes fresh from pyarrow's pool, as an Arrow receiver gets them,"
        )
        out.append(f"  took {pool} to write once (last raw TCP run, after its clock stopped)")
    for x in r.values():
        if x.get("batches"):
            out.append(f"  {x['label'].strip()}: {x['batches']:,} record batch(es) received")
    return out

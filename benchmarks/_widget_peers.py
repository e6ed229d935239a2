"""bench_widget.py's peer run: ticketbooth's ``tb.view("big")`` against Perspective, interleaved.

One notebook (P), one kernel, one page. Per round, in alternating order, each system is
displayed by its own cell and measured, then closed by an untimed cell:

  * "tb"      ``tb.view("big")``: first paint, jumps, republish -> repaint;
  * "pre"     ``PerspectiveWidget(t)`` of a Perspective table loaded before any timing (cell 1,
              indexed by id): first paint, jumps, ``table.update`` -> repaint;
  * "default" ``PerspectiveWidget(arrow_table)``: first paint with the ingest (then deleted).

What is measured is described in benchmarks/README.md and _widget_peers_report.py.
"""

from __future__ import annotations

import json
import random
import re
import socket
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
from _lab import (
    cell_text,
    clock_skew,
    code_cell,
    open_notebook,
    run_cell,
    start_cell,
    wait_cell_done,
)
from _perspective import (
    CLOSE,
    PEER_SETUP,
    PSP_GEOM_JS,
    PSP_JUMP_JS,
    PSP_PAINT_JS,
    PSP_PREINGEST,
    PSP_RELEASE_JS,
    PSP_TOP_JS,
    REPAINT_JS,
    SHOW,
    TB_GEOM_JS,
)
from _util import log
from _widget_probe import FIRST_PAINT_JS, JUMP_JS

SYSTEMS = ("tb", "pre", "default")
SETTLE_S = 0.8  # after a jump or a repaint: prefetches land, the kernel is idle again


def peer_cells(rounds: int) -> list[str]:
    cells = [PEER_SETUP, PSP_PREINGEST]
    for _ in range(rounds):
        for s in SYSTEMS:
            cells += [SHOW[s], CLOSE[s]]
    return cells


def _cell_index(r: int, system: str, close: bool = False) -> int:
    return 2 + r * 2 * len(SYSTEMS) + SYSTEMS.index(system) * 2 + int(close)


def kernel_rss(pid: int) -> dict[str, int]:
    """VmRSS, RssAnon, RssFile, RssShmem of the kernel process, bytes."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[key] = int(line.split()[1]) * 1024
    return out


def ws_window(page: Any, lo: float, hi: float) -> dict[str, Any]:
    """What the widget exchanged with page time in [lo, hi]: kernel websocket messages, and
    requests to the server extension (`ticketbooth/api/`, counted as a message each way, their
    bytes as Resource Timing's transferSize: headers and body). Bytes and messages per
    direction, and a count per kind ("in:comm_msg", "in:http window", ...)."""
    rows = page.evaluate(
        "([lo, hi]) => (window.__kWs || []).filter((m) => m[1] >= lo && m[1] <= hi)", [lo, hi]
    )
    out: dict[str, Any] = {"bytes_in": 0, "bytes_out": 0, "msgs_in": 0, "msgs_out": 0, "types": {}}

    def count(direction: str, n: int, kind: str) -> None:
        out[f"bytes_{direction}"] += n
        out[f"msgs_{direction}"] += 1
        key = f"{direction}:{kind}"
        out["types"][key] = out["types"].get(key, 0) + 1

    for direction, _t, n, _chan, kind in rows:
        count(direction, n, kind)
    for name, size in page.evaluate(SERVER_REQUESTS_JS, [lo, hi]):
        count("out", 0, f"http {name}")
        count("in", int(size or 0), f"http {name}")
    return out


# requests to the server extension started in [lo, hi] (page time): endpoint and bytes received
SERVER_REQUESTS_JS = """([lo, hi]) => performance.getEntriesByType('resource')
  .filter((e) => e.name.includes('/ticketbooth/api/') && e.startTime >= lo && e.startTime <= hi)
  .map((e) => [new URL(e.name).pathname.split('/ticketbooth/api/')[1], e.transferSize])"""
# set in every page: Resource Timing keeps 250 entries by default, and a JupyterLab page
# loads more than that
RESOURCE_BUFFER_JS = "performance.setResourceTimingBufferSize(100000);"


def _now(page: Any) -> float:
    return float(page.evaluate("() => performance.now()"))


def with_label(table: pa.Table, text: str) -> pa.Table:
    """`table` with row 0's label replaced (the other rows' buffers are shared)."""
    col = table.column("label")
    new = pa.chunked_array([pa.array([text], pa.string()), *col.slice(1).chunks], pa.string())
    return table.set_column(table.schema.get_field_index("label"), "label", new)


class _PeerLab:
    """`lab` whose notebook URLs open in a reset workspace of their own ("peers")."""

    def __init__(self, lab: Any) -> None:
        self.lab = lab

    def page_url(self, path: str) -> str:
        return f"{self.lab.url}/lab/workspaces/peers/tree/{path}?reset&token={self.lab.token}"


class PeerRun:
    def __init__(self, context: Any, lab: Any, args: Any, pub: Any, table: pa.Table) -> None:
        self.context, self.lab, self.args, self.pub, self.table = context, lab, args, pub, table
        self.page: Any = None
        self.clock: dict[str, float] = {}
        self.skew = self.origin = 0.0
        self.pid = 0
        self.udp_port = 0

    def fresh_page(self) -> None:
        """Notebook P in a newly loaded page (same kernel): every measurement starts there.

        Perspective 5.6's widget renders once per page: anywidget imports each model's ESM
        afresh, and the second import throws (customElements.define("regular-layout") again),
        so each system gets a fresh page, ticketbooth too, for the same conditions."""
        if self.page is not None:
            self.page.close()
        # its own workspace, reset: notebook B (the run before, its kernel shut down) stays shut
        self.page = open_notebook(self.context, _PeerLab(self.lab), "P.ipynb")
        time.sleep(2.0)
        self.clock = clock_skew(self.page)
        self.skew, self.origin = self.clock["skew_s"], self.clock["origin_ms"]

    def shot(self, name: str) -> Path:
        base = Path(self.args.screenshot)
        base.parent.mkdir(parents=True, exist_ok=True)
        return base.with_name(f"{base.stem}-peers-{name}.png")

    def wall(self, t_ms: float) -> float:
        """A page time (ms) on the host's time.time() clock."""
        return (self.origin + t_ms) / 1e3 - self.skew

    # setup ------------------------------------------------------------------------------
    def setup(self) -> dict[str, Any]:
        run_cell(self.page, 0, 300_000)
        text = cell_text(self.page, 0)
        m = re.search(r"PID=(\d+) UDP=(\d+)", text)
        if not m:
            raise RuntimeError(f"peer setup cell failed: {text[-2000:]}")
        self.pid, self.udp_port = int(m.group(1)), int(m.group(2))
        rss0 = kernel_rss(self.pid)
        log("Perspective: loading the pre-ingested table (not timed)")
        run_cell(self.page, 1, 1_800_000)
        text1 = cell_text(self.page, 1)
        m1 = re.search(r"INGEST=([\d.]+)s", text1)
        if not m1:
            raise RuntimeError(f"Perspective pre-ingest cell failed: {text1[-2000:]}")
        return {
            "setup_output": text.strip(),
            "preingest_output": text1.strip(),
            "preingest_s": float(m1.group(1)),
            "preingest_rss_delta": kernel_rss(self.pid)["VmRSS"] - rss0["VmRSS"],
        }

    # one system, one round ----------------------------------------------------------------
    def measure(self, r: int, system: str, targets: list[tuple[str, dict[str, Any]]]) -> dict:
        self.fresh_page()
        page, k = self.page, _cell_index(r, system)
        cell = code_cell(page, k)
        cell.scroll_into_view_if_needed()
        time.sleep(1.0)
        rss0 = kernel_rss(self.pid)
        if system == "tb":
            cell.evaluate(FIRST_PAINT_JS, {"kind": "view"})
        else:
            cell.evaluate(PSP_PAINT_JS, {"firstId": 0})
        start_cell(page, k)
        timeout = 1_800_000 if system == "default" else 120_000
        page.wait_for_function(
            "() => window.__tbPaint && window.__tbPaint.frame !== null", timeout=timeout
        )
        st = page.evaluate("() => window.__tbPaint")
        wait_cell_done(page, k, timeout)
        time.sleep(1.5)
        rss1 = kernel_rss(self.pid)
        end = _now(page)
        if r == 0:  # what the first paint showed, for the eye
            cell.scroll_into_view_if_needed()
            page.screenshot(path=str(self.shot(system)))
        out: dict[str, Any] = {
            "round": r,
            "first_paint_s": (st["row"] - st["t0"]) / 1e3,
            "root_to_row_s": (st["row"] - st["root"]) / 1e3 if st["root"] is not None else None,
            "to_next_frame_s": (st["frame"] - st["t0"]) / 1e3,
            "key_presses": st["keys"],
            "display_ws_to_paint": ws_window(page, st["t0"] - 1, st["row"]),
            "display_ws": ws_window(page, st["t0"] - 1, end),
            "rss_before": rss0,
            "rss_after": rss1,
            "rss_delta": {key: rss1[key] - rss0[key] for key in rss0},
            "clock": self.clock,
        }
        if system != "default":
            out["jumps"] = self.jumps(system, cell, targets)
            out["republish"] = self.republish(r, system, cell)
        if system != "tb":
            cell.evaluate(PSP_RELEASE_JS)
            time.sleep(0.5)
        close = _cell_index(r, system, close=True)
        run_cell(page, close, 600_000)
        out["close_output"] = cell_text(page, close)[-500:]
        if "closed" not in out["close_output"]:
            log(f"{system}: the clean-up cell failed: {out['close_output']}")
        time.sleep(1.0)
        return out

    def jumps(self, system: str, cell: Any, targets: list[tuple[str, dict[str, Any]]]) -> list:
        page, rows = self.page, self.args.rows
        out = []
        for name, target in targets:
            if system == "tb":
                g = cell.evaluate(TB_GEOM_JS)
                if "target" in target:
                    max_top = max(0.0, rows - g["vh"] / g["rowH"])
                    top = round((target["target"] + 0.5) * g["maxScroll"] / max_top)
                    frac = min(1.0, top / g["maxScroll"])
                else:
                    frac = target["frac"]
                cell.locator(".tb-scroller").first.evaluate(JUMP_JS, {"frac": frac, "rows": rows})
            else:
                g = cell.evaluate(PSP_GEOM_JS)
                cell.evaluate(PSP_JUMP_JS, {"rows": rows, "geom": g, **target})
            try:
                page.wait_for_function("() => window.__tbJump.done !== null", timeout=15_000)
            except Exception:
                state = page.evaluate("() => window.__tbJump")
                log(f"{system} jump {name}: not done after 15 s: {state}")
            st = page.evaluate("() => window.__tbJump")
            time.sleep(SETTLE_S)
            end = _now(page)
            out.append(
                {
                    "name": name,
                    "target_row": target.get("target"),
                    "expected_row": st["expected"],
                    "first_row_seen": st["firstSeen"],
                    "expected_row_at_top": st.get("atTop"),
                    "rows_visible": st["shown"],
                    "total_s": None if st["done"] is None else (st["done"] - st["t0"]) / 1e3,
                    "ws_to_done": ws_window(page, st["t0"], st["done"] or end),
                    "ws": ws_window(page, st["t0"], end),
                    "geometry": g,
                }
            )
        return out

    def _to_top(self, system: str, cell: Any) -> None:
        if system == "tb":
            cell.locator(".tb-scroller").first.evaluate("el => { el.scrollTop = 0; }")
            sel = ".tb-row[data-row='0']:not(.tb-placeholder)"
            cell.locator(sel).first.wait_for(timeout=15_000)
        else:
            cell.evaluate(PSP_TOP_JS)
            self.page.wait_for_function(
                "(c) => { const dg = c.querySelector('perspective-viewer-datagrid');"
                " const rt = dg.shadowRoot.querySelector('regular-table');"
                " const td = rt.querySelector('tbody tr td');"
                " return td && td.textContent === '0'; }",
                arg=cell.element_handle(),
                timeout=15_000,
            )
        time.sleep(1.0)

    def republish(self, r: int, system: str, cell: Any) -> list[dict[str, Any]]:
        page = self.page
        self._to_top(system, cell)
        out = []
        for i in range(self.args.republish):
            text = f"{system}-r{r}-{i}"
            if system == "tb":
                new = with_label(self.table, text)
                cell.evaluate(
                    REPAINT_JS, {"text": text, "sel": ".tb-row:not(.tb-placeholder) .tb-cell"}
                )
                t0 = time.time()
                self.pub.publish_table(new, "big")
                t1 = time.time()
                del new
            else:
                rt = cell.evaluate_handle(
                    "(c) => c.querySelector('perspective-viewer-datagrid')"
                    ".shadowRoot.querySelector('regular-table')"
                )
                rt.evaluate(REPAINT_JS, {"text": text, "sel": "tbody td"})
                t0, t1 = self._psp_update(0, text)
            try:
                page.wait_for_function("() => window.__tbRepaint.done !== null", timeout=30_000)
            except Exception:
                log(f"{system} republish {i}: not shown after 30 s")
            st = page.evaluate("() => window.__tbRepaint")
            time.sleep(SETTLE_S)
            end = _now(page)
            done = None if st["done"] is None else self.wall(st["done"])
            out.append(
                {
                    "text": text,
                    "total_s": None if done is None else done - t0,
                    "source_call_s": t1 - t0,
                    "after_call_s": None if done is None else done - t1,
                    "ws": ws_window(page, st["t0"], end),
                }
            )
            time.sleep(0.5)
        return out

    def _psp_update(self, row: int, text: str) -> tuple[float, float]:
        """Ask the kernel's update thread to set row `row`'s label; its time.time() stamps."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(60)
            s.sendto(json.dumps({"row": row, "label": text}).encode(), ("127.0.0.1", self.udp_port))
            reply = json.loads(s.recv(65536))
        if reply.get("error"):
            raise RuntimeError(f"Perspective update failed in the kernel: {reply['error']}")
        return float(reply["t0"]), float(reply["t1"])


def jump_targets(rows: int, n_random: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    """mid (row rows/2 at the top), end (scrollTop at its maximum) and n random far rows."""
    rng = random.Random(seed)
    out: list[tuple[str, dict[str, Any]]] = [
        ("mid", {"target": rows // 2}),
        ("end", {"frac": 1.0}),
    ]
    for _ in range(n_random):
        out.append(("random", {"target": int(rng.uniform(0.02, 0.98) * rows)}))
    return out


def run_peers(context: Any, lab: Any, args: Any, pub: Any, table: pa.Table) -> dict[str, Any]:
    run = PeerRun(context, lab, args, pub, table)
    run.fresh_page()
    log("peers: setup cell (imports, fetch, update thread)")
    data: dict[str, Any] = {"setup": run.setup(), "rounds": []}
    results: dict[str, list[dict[str, Any]]] = {s: [] for s in SYSTEMS}
    for r in range(args.rounds):
        order = list(SYSTEMS) if r % 2 == 0 else ["pre", "default", "tb"]
        targets = jump_targets(args.rows, args.peer_jumps, args.seed + r)
        data["rounds"].append({"order": order, "targets": targets})
        for s in order:
            log(f"round {r + 1}/{args.rounds}: {s}")
            results[s].append(run.measure(r, s, targets))
    data["results"] = results
    data["kernel_pid"] = run.pid
    data["screenshots"] = [str(run.shot(s)) for s in SYSTEMS]
    run.page.close()
    return data

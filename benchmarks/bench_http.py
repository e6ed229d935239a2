"""Table windows over the Jupyter server extension's HTTP API (what a view without a kernel,
and the Tickets panel, ask for), next to the floor: the same window cut in-process from the
same table, with no HTTP, no server and no gRPC.

    python benchmarks/bench_http.py [--rows N] [--jumps J]

A `jupyter server` process runs the broker in itself (the extension's default); this process
publishes an N-row x 4-column table over shared memory, then asks for 200-row windows at J
random rows: unsorted, and sorted by a float column (the first sorted window pays for the
sort index, later ones reuse it). Prints p50/p95 per case and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _tables_data import make_table
from _util import percentile

import ticketbooth as tb
from ticketbooth._windows import TableWindows

WINDOW = 200
SORT = json.dumps([{"column": "price", "descending": True}])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(runtime: str, port: int, token: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBOOTH_")}
    env["JUPYTER_RUNTIME_DIR"] = runtime
    cmd = [
        sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
        "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={runtime}", "--log-level=WARN",
    ]  # fmt: skip
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Client:
    """One keep-alive connection, as a browser tab keeps one."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"token {token}"}

    def get(self, path: str, **query: object) -> tuple[int, bytes, float]:
        url = f"/ticketbooth/api/{path}?{urllib.parse.urlencode(query)}"
        t0 = time.perf_counter()
        self.conn.request("GET", url, headers=self.headers)
        resp = self.conn.getresponse()
        body = resp.read()
        return resp.status, body, time.perf_counter() - t0


def wait_ready(client: Client, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if client.get("status")[0] == 200:
                return
        except OSError:
            client.conn.close()
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    raise SystemExit("jupyter server did not start")


def stats(samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return f"p50 {percentile(ms, 50):7.2f} ms  p95 {percentile(ms, 95):7.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--jumps", type=int, default=50)
    args = ap.parse_args()
    token, port = secrets.token_hex(16), free_port()
    with tempfile.TemporaryDirectory() as runtime:
        os.chmod(runtime, 0o700)
        proc = start_server(runtime, port, token)
        try:
            client = Client(port, token)
            wait_ready(client, proc)
            os.environ["JUPYTER_RUNTIME_DIR"] = runtime
            table = make_table(args.rows)
            with tb.Session(start_broker=False) as s:
                s.publish_table(table, "big")
                run(client, s, args)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def run(client: Client, s: tb.Session, args: argparse.Namespace) -> None:
    rng = random.Random(7)
    starts = [rng.randrange(0, args.rows - WINDOW) for _ in range(args.jumps)]
    print(f"{args.rows:,} rows x 4 columns; {WINDOW}-row windows at {args.jumps} random rows")

    status, _, first = client.get("window", ticket="big", start=0, end=WINDOW)
    assert status == 200
    http_plain = [client.get("window", ticket="big", start=a, end=a + WINDOW)[2] for a in starts]
    _, _, first_sorted = client.get("window", ticket="big", start=0, end=WINDOW, sort=SORT)
    http_sorted = [
        client.get("window", ticket="big", start=a, end=a + WINDOW, sort=SORT)[2] for a in starts
    ]

    local = TableWindows(s.fetch_table("big").to_arrow())  # the floor: same mapped table
    floor_plain = []
    for a in starts:
        t0 = time.perf_counter()
        local.window(a, a + WINDOW)  # the Arrow IPC bytes the endpoint sends
        floor_plain.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    local.sort([{"column": "price", "descending": True}])
    floor_sort = time.perf_counter() - t0
    floor_sorted = []
    for a in starts:
        t0 = time.perf_counter()
        local.window(a, a + WINDOW)
        floor_sorted.append(time.perf_counter() - t0)

    print(f"first window (fetch + map the table):  {first * 1000:8.1f} ms")
    print(f"first sorted window (builds the index): {first_sorted * 1000:8.1f} ms"
          f"   in-process sort alone: {floor_sort * 1000:.1f} ms")  # fmt: skip
    p_http, p_floor = percentile(http_plain, 50), percentile(floor_plain, 50)
    s_http, s_floor = percentile(http_sorted, 50), percentile(floor_sorted, 50)
    print(f"HTTP window, unsorted:        {stats(http_plain)}")
    print(
        f"in-process window, unsorted:  {stats(floor_plain)}   HTTP/floor {p_http / p_floor:.1f}x"
    )
    print(f"HTTP window, sorted (cached): {stats(http_sorted)}")
    print(
        f"in-process window, sorted:    {stats(floor_sorted)}   HTTP/floor {s_http / s_floor:.1f}x"
    )


if __name__ == "__main__":
    main()

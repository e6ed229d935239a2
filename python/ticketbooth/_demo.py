"""`ticketbooth demo`: one process publishes a table, another fetches it by ticket."""

from __future__ import annotations

import subprocess
import sys
import textwrap

PUBLISHER = """
import sys, time
import pyarrow as pa, pyarrow.compute as pc
import ticketbooth as tb

rows = {rows}
s = tb.Session(name="demo publisher")
ids = pa.array(range(rows), pa.int64())
table = pa.table({{
    "order_id": ids,
    "region": pc.take(pa.array(["north", "south", "east", "west"]), pc.bit_wise_and(ids, 3)),
    "amount": pc.multiply(pc.cast(pc.bit_wise_and(ids, 1023), pa.float64()), 0.25),
}})
t0 = time.perf_counter()
t = s.import_table(table)
shared = tb.SharedTicket.random_ticket()
s.publish(t.ticket, shared)
s.publish_table(table.slice(0, 1000), "sales")
print(f"[publisher pid {{__import__('os').getpid()}}] published {{rows:,}} rows in "
      f"{{(time.perf_counter() - t0) * 1e3:.1f}} ms", flush=True)
print(shared, flush=True)
sys.stdin.readline()
s.close()
"""

SUBSCRIBER = """
import os, sys, time
import pyarrow.compute as pc
import ticketbooth as tb

s2 = tb.Session(name="demo subscriber")
t0 = time.perf_counter()
tbl = s2.fetch_table(tb.SharedTicket.from_str(sys.argv[1]))
data = tbl.to_arrow()
ms = (time.perf_counter() - t0) * 1e3
path = "shared memory" if s2.same_host else "gRPC stream"
print(f"[subscriber pid {os.getpid()}] fetched {tbl.num_rows:,} rows via {path} in {ms:.1f} ms")
for row in data.slice(0, 5).to_pylist():
    print("   ", row)
print("sum(amount) =", pc.sum(data.column("amount")).as_py())
print("named objects:", {k: v.type for k, v in s2.exportable_objects.items()})
s2.close()
"""


def run_demo(rows: int = 1_000_000) -> int:
    """Run a publisher and a subscriber as two separate Python processes."""
    pub = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(PUBLISHER.format(rows=rows))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert pub.stdout is not None and pub.stdin is not None
    try:
        print(pub.stdout.readline().rstrip(), flush=True)
        ticket = pub.stdout.readline().strip()
        if not ticket.startswith("shared:"):
            print("publisher failed", file=sys.stderr)
            return 1
        print(f"[demo] the publisher printed the ticket {ticket}", flush=True)
        sub = subprocess.run([sys.executable, "-c", textwrap.dedent(SUBSCRIBER), ticket])
        return sub.returncode
    finally:
        pub.communicate("\n", timeout=30)

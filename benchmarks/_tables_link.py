"""bench_tables.py --link GBIT: the transfers between processes cross an emulated network
link instead of loopback.

On loopback nothing limits a transfer but the two processes' CPU, so every ratio to raw TCP
measures how much CPU a protocol spends per byte. Between hosts a link usually limits it
first; this emulates one on this machine: a veth pair (MTU 1500, like Ethernet) between
this network namespace and a throwaway one, with a token-bucket filter (`tc tbf`) shaping
each direction to GBIT gigabits per second. The servers (raw sockets, pyarrow's Flight
server, the brokers) listen on this side's address; every client process runs in the other
namespace (``ip netns exec``), so each of its bytes crosses the shaped link. No delay is
added (this kernel has no netem): it is a LAN's bandwidth, not a WAN's round trips.

Needs root and iproute2 (``ip``, ``tc``). Everything made here is removed on exit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

NETNS = "tbbench"
HOST_IP, PEER_IP = "10.77.0.1", "10.77.0.2"  # this side (servers), the clients' side
_DEV, _PEER_DEV = "tbb0", "tbb1"


def _run(*args: str, ns: bool = False) -> None:
    """Run a command (in the clients' namespace with `ns`); raise with its message."""
    cmd = (["ip", "netns", "exec", NETNS] if ns else []) + list(args)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if res.returncode != 0:
        raise RuntimeError(f"`{' '.join(cmd)}` failed: {res.stderr.strip()}")


def _shape(dev: str, gbit: float, ns: bool) -> None:
    # a burst of a few ms at the rate: above the kernel's timer granularity and a GSO segment
    burst = max(256 * 1024, int(gbit * 1e9 / 8 * 0.004))
    rate = ("rate", f"{gbit}gbit", "burst", str(burst), "latency", "50ms")
    _run("tc", "qdisc", "replace", "dev", dev, "root", "tbf", *rate, ns=ns)


def _teardown() -> None:
    subprocess.run(["ip", "netns", "del", NETNS], capture_output=True, timeout=30)
    subprocess.run(["ip", "link", "del", _DEV], capture_output=True, timeout=30)


@contextmanager
def emulated_link(gbit: float) -> Iterator[str]:
    """Set up the link; yield the servers' address; set TB_BENCH_HOST and TB_BENCH_NETNS for
    this process and its children (_tables_procs reads them). Removed again on exit.

    Raises:
        RuntimeError: not root, no iproute2, or a step failed (its command and message).
    """
    if os.geteuid() != 0:
        raise RuntimeError("--link needs root: it creates a network namespace and a veth pair")
    if not (shutil.which("ip") and shutil.which("tc")):
        raise RuntimeError("--link needs iproute2 (`ip` and `tc`): apt-get install iproute2")
    _teardown()  # a previous run killed before it cleaned up
    try:
        _run("ip", "netns", "add", NETNS)
        _run("ip", "link", "add", _DEV, "type", "veth", "peer", "name", _PEER_DEV)
        _run("ip", "link", "set", _PEER_DEV, "netns", NETNS)
        _run("ip", "addr", "add", f"{HOST_IP}/30", "dev", _DEV)
        _run("ip", "link", "set", _DEV, "up")
        _run("ip", "addr", "add", f"{PEER_IP}/30", "dev", _PEER_DEV, ns=True)
        _run("ip", "link", "set", _PEER_DEV, "up", ns=True)
        _run("ip", "link", "set", "lo", "up", ns=True)
        _shape(_DEV, gbit, ns=False)  # servers -> clients (fetch, get)
        _shape(_PEER_DEV, gbit, ns=True)  # clients -> servers (publish, put)
        os.environ["TB_BENCH_HOST"], os.environ["TB_BENCH_NETNS"] = HOST_IP, NETNS
        yield HOST_IP
    finally:
        os.environ.pop("TB_BENCH_HOST", None)
        os.environ.pop("TB_BENCH_NETNS", None)
        _teardown()

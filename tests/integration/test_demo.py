"""`ticketbooth demo` (the README's first command) hands a table between two processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo(runtime_dir: Path) -> None:
    env = dict(os.environ, TICKETBOOTH_IDLE_TIMEOUT="2")
    res = subprocess.run(
        [sys.executable, "-m", "ticketbooth", "demo", "--rows", "5000"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "published 5,000 rows" in out
    assert "fetched 5,000 rows via shared memory" in out
    assert "{'order_id': 4, 'region': 'north', 'amount': 1.0}" in out
    expected = sum((i & 1023) * 0.25 for i in range(5000))
    assert f"sum(amount) = {expected}" in out
    assert "named objects: {'sales': 'Table'}" in out
    pids = {line.split("pid ")[1].split("]")[0] for line in out.splitlines() if "pid " in line}
    assert len(pids) == 2  # publisher and subscriber are different processes

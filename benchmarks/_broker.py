"""A broker in its own process for the benchmarks (the package's launcher).

``start_broker(runtime_dir)`` runs ``python -m ticketbooth serve`` with its connection file in
`runtime_dir` and waits until it is up; ``Broker.stop()`` ends it (SIGTERM, then kill).
``broker_in_temp_runtime()`` does both around a temporary JUPYTER_RUNTIME_DIR that this
process and its children inherit (nothing else in the environment is touched).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ticketbooth.broker import BrokerProcess, start_process

Broker = BrokerProcess


def start_broker(runtime_dir: Path, *extra: str, timeout: float = 30.0) -> Broker:
    return start_process(runtime_dir, *extra, timeout=timeout)


def explicit_session_kwargs(broker: Broker) -> dict[str, str]:
    """Session kwargs naming `broker` when $TICKETBOOTH_URL is set (discovery would prefer
    it over the runtime dir); {} otherwise, so sessions find the broker by discovery."""
    if os.environ.get("TICKETBOOTH_URL") is None:
        return {}
    return {"url": broker.url, "token": broker.token}


@contextmanager
def broker_in_temp_runtime(*extra: str, prefix: str = "ticketbooth-bench-") -> Iterator[Broker]:
    """A temporary JUPYTER_RUNTIME_DIR (set for this process and its children) and a broker."""
    runtime = Path(tempfile.mkdtemp(prefix=prefix))
    old = os.environ.get("JUPYTER_RUNTIME_DIR")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime)
    broker = start_broker(runtime, *extra)
    try:
        yield broker
    finally:
        broker.stop()
        if old is None:
            os.environ.pop("JUPYTER_RUNTIME_DIR", None)
        else:
            os.environ["JUPYTER_RUNTIME_DIR"] = old
        shutil.rmtree(runtime, ignore_errors=True)

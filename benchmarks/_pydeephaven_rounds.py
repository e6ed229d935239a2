"""bench_pydeephaven.py's connect timer: a fresh process that opens and closes N sessions.

    connect    imports pydeephaven (untimed), then N times: ``Session(host, port, PSK)``
               timed (the constructor connects: a Flight client, the gRPC channel, the
               configuration call that authenticates), then ``close()`` timed apart; says
               ``{"connect_s": [...], "close_s": [...]}``

The imports and transfers run in _deephaven_rounds.py's publisher and fetcher (path "dh":
plain pydeephaven, PSK when the configuration has a token), which serve both servers alike.
Configuration comes as a JSON line on stdin (see _tables_procs.py), never on argv.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from _deephaven_rounds import open_session
from _tables_procs import emit, read_cfg


def connect(cfg: dict[str, Any]) -> None:
    import pydeephaven  # noqa: F401  # the import is no part of a connect

    opened, closed = [], []
    for _ in range(cfg["connects"]):
        t0 = time.perf_counter()
        s = open_session({**cfg, "path": "dh"})
        t1 = time.perf_counter()
        s.close()
        closed.append(time.perf_counter() - t1)
        opened.append(t1 - t0)
    emit(connect_s=opened, close_s=closed)


def main() -> None:
    cfg = read_cfg()
    started = time.perf_counter()
    try:
        connect(cfg)
    except Exception as exc:
        emit(error=f"{type(exc).__name__}: {exc}", after_s=time.perf_counter() - started)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # as _deephaven_rounds.py: no teardown of pydeephaven's channels and threads


if __name__ == "__main__":
    main()

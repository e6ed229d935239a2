"""bench_deephaven.py's processes: one long-lived publisher per path, a fresh fetcher per run.

    publisher  builds the table as its path is given it, opens its session once, says
               ``{"ready": ...}``, then answers one JSON command a line on stdin: "import"
               (``import_table`` timed, then publishing it to a new shared ticket timed
               apart; answers the ticket as hex), "release" (frees the export and the shared
               ticket); it exits when its stdin closes
    fetch      a fresh process with its own session: ``fetch_table(shared).to_arrow()``
               timed, then checked (rows, sum of id) and released, untimed

Paths: "dh" raw pydeephaven (the table in batches of at most 524,288 rows: pydeephaven given
one 320 MB batch appears to import it and then hangs the next fetch), "tb_dh" ticketbooth on
Deephaven and "tb"/"tb_remote" ticketbooth on its broker (all three given one record batch).
Configuration comes as a JSON line on stdin (see _tables_procs.py), never on argv. `Publisher`
(at the end) drives a publisher from the benchmark process.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc
from _tables_data import make_columns
from _tables_procs import _argv, _readline, clock_starts, emit, read_cfg

DH_BATCH_ROWS = 524_288  # 16 MiB of these 32-byte rows: the message size ticketbooth sends
PSK = "io.deephaven.authentication.psk.PskAuthenticationHandler"


def make_bench_table(rows: int, path: str) -> pa.Table:
    """bench_tables.py's columns, all numeric (ts as plain int64: 32 bytes a row)."""
    cols = make_columns(rows)
    one = pa.table({k: pa.array(v, pa.int64() if k == "ts" else t) for k, (v, t) in cols.items()})
    if path == "dh":
        return pa.Table.from_batches(one.to_batches(max_chunksize=DH_BATCH_ROWS))
    return one


def open_session(cfg: dict[str, Any]) -> Any:
    if cfg["path"] == "dh":
        import pydeephaven

        u = urlsplit(cfg["url"])
        kw = {"auth_type": PSK, "auth_token": cfg["token"]} if cfg.get("token") else {}
        return pydeephaven.Session(host=u.hostname, port=u.port, **kw)
    import ticketbooth as tb

    return tb.Session(
        url=cfg["url"],
        token=cfg.get("token"),
        force_remote=cfg.get("remote", False),
        name=f"bench-{cfg['path']}-{cfg['role']}",
        timeout=cfg["timeout"],
    )


def new_shared(path: str) -> Any:
    if path == "dh":
        from pydeephaven.ticket import SharedTicket
    else:
        from ticketbooth import SharedTicket
    return SharedTicket.random_ticket()


def as_shared(path: str, hexed: str) -> Any:
    if path == "dh":
        from pydeephaven.ticket import SharedTicket

        return SharedTicket(bytes.fromhex(hexed))
    from ticketbooth import SharedTicket

    return SharedTicket(bytes.fromhex(hexed))


def publisher(cfg: dict[str, Any]) -> None:
    path = cfg["path"]
    table = make_bench_table(cfg["rows"], path)
    s = open_session(cfg)
    emit(
        ready=True,
        nbytes=table.nbytes,
        batches=len(table.to_batches()),
        same_host=getattr(s, "same_host", None),
    )
    held: list[Any] = []
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "import":
            t0 = time.perf_counter()
            t = s.import_table(table)
            t1 = time.perf_counter()
            shared = new_shared(path)
            if path == "dh":
                s.publish_table(shared, t)
            else:
                s.publish(t.ticket, shared)
            t2 = time.perf_counter()
            held[:] = [t, shared]
            emit(import_s=t1 - t0, publish_s=t2 - t1, ticket=shared.bytes.hex())
        elif cmd == "release":
            release(s, path, *held)
            held.clear()
            emit(released=True)
    if held:
        release(s, path, *held)
    s.close()


def release(s: Any, path: str, t: Any, shared: Any) -> None:
    with contextlib.suppress(Exception):  # already gone with its source, on some servers
        s.release(shared)
    if path == "dh":
        t.close()
    else:
        s.release(t)


def fetch(cfg: dict[str, Any]) -> None:
    s = open_session(cfg)
    shared = as_shared(cfg["path"], cfg["ticket"])
    t0 = clock_starts()
    t = s.fetch_table(shared)
    data = t.to_arrow()
    seconds = time.perf_counter() - t0
    total = pc.sum(data.column("id")).as_py()
    rows, batches = data.num_rows, len(data.to_batches())
    del data
    freed = None
    try:  # untimed; pydeephaven's fetched Table wraps the shared ticket itself (no export
        # of this session), so there is nothing of its own to release
        if cfg["path"] != "dh":
            s.release(t)
    except Exception as exc:
        freed = f"{type(exc).__name__}: {exc}"
    s.close()
    emit(seconds=seconds, rows=rows, sum=total, batches=batches, release_failed=freed)


def main() -> None:
    cfg = read_cfg()
    started = time.perf_counter()
    try:
        publisher(cfg) if cfg["role"] == "publisher" else fetch(cfg)
    except Exception as exc:
        emit(error=f"{type(exc).__name__}: {exc}", after_s=time.perf_counter() - started)
    # skip interpreter teardown: pydeephaven's Table.__del__ then releases over a new gRPC
    # channel thread, which hangs the exit (seen with 42.7)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()


# --------------------------------------------------------------------------------------
# in the benchmark process
# --------------------------------------------------------------------------------------
class Publisher:
    """A _deephaven_rounds.py publisher: started with `cfg`, then one command at a time."""

    def __init__(self, cfg: dict[str, Any], timeout: float, log_path: Path) -> None:
        self.log_path = log_path
        with open(log_path, "a") as err:
            self.proc = subprocess.Popen(
                _argv("_deephaven_rounds.py"),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        self.ready = self._send(json.dumps(cfg), timeout)

    def ask(self, cmd: str, timeout: float) -> dict[str, Any]:
        return self._send(cmd, timeout)

    def _send(self, line: str, timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except OSError:
            pass  # it died: the read below says how
        out = _readline(self.proc.stdout, timeout)
        if not out:
            alive = self.proc.poll() is None
            self.kill()
            tail = " | ".join(self.log_path.read_text(errors="replace").strip().splitlines()[-3:])
            raise RuntimeError(f"timed out after {timeout:.0f} s" if alive else f"died: {tail}")
        answer = dict(json.loads(out))
        if "error" in answer:
            self.kill()
            raise RuntimeError(answer["error"])
        return answer

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # type: ignore[union-attr]  # its cue to exit
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

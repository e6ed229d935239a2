"""bench_live.py's subscriber process: ``python _live_child.py '<json config>'``.

Modes (each with its own Session, found by discovery unless the config names a url):
  watch   ``for e in s.watch(ticket)``: records ``time.time()`` at receipt of every event
  poll    ``s.info(ticket).version`` every `poll_s` seconds: records when a change is seen
  fetch   ``s.fetch_object(ticket)`` `reps` times, timed; then ``MimeBundle.from_wire`` of
          the bundle's wire bytes (read from `wire_path`) timed alone

watch/poll print {"ready": true} once they see the first version (the publisher waits for it),
then one JSON line {"records": [...]} when they have seen version `last` (or `timeout_s`).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import ticketbooth as tb


def emit(**kw: Any) -> None:
    print(json.dumps(kw), flush=True)


def watch(s: tb.Session, cfg: dict[str, Any]) -> None:
    records: list[list[Any]] = []
    deadline = time.monotonic() + cfg["timeout_s"]
    with s.watch(cfg["ticket"]) as events:
        for e in events:
            t = time.time()
            if not records:
                emit(ready=True, version=e.version)
            records.append([e.version, t, e.sent_at, e.kind])
            if e.version >= cfg["last"] or e.kind == "released" or time.monotonic() > deadline:
                break
    emit(records=records)


def poll(s: tb.Session, cfg: dict[str, Any]) -> None:
    seen = s.info(cfg["ticket"]).version
    emit(ready=True, version=seen)
    records: list[list[Any]] = []
    deadline = time.monotonic() + cfg["timeout_s"]
    step = cfg["poll_s"]
    next_poll = time.monotonic() + step
    while time.monotonic() < deadline:
        time.sleep(max(0.0, next_poll - time.monotonic()))
        next_poll += step
        t0 = time.time()
        version = s.info(cfg["ticket"]).version
        t1 = time.time()
        if version != seen:
            records.append([version, t1, t0])
            seen = version
        if version >= cfg["last"]:
            break
    emit(records=records)


def fetch(s: tb.Session, cfg: dict[str, Any]) -> None:
    from ticketbooth._objects import MimeBundle

    for _ in range(cfg["reps"]):
        t0 = time.perf_counter()
        obj = s.fetch_object(cfg["ticket"])
        t1 = time.perf_counter()
        emit(seconds=t1 - t0, type=obj.type, version=obj.version)
        s.release(obj)
        del obj
    with open(cfg["wire_path"], "rb") as f:
        wire = f.read()
    for _ in range(cfg["reps"]):
        t0 = time.perf_counter()
        MimeBundle.from_wire(wire)
        emit(from_wire_s=time.perf_counter() - t0)


def main() -> None:
    cfg = json.loads(sys.argv[1])
    kw = {"url": cfg["url"], "token": cfg["token"]} if cfg.get("url") else {}
    with tb.Session(name=f"bench-live-{cfg['mode']}", **kw) as s:
        {"watch": watch, "poll": poll, "fetch": fetch}[cfg["mode"]](s, cfg)


if __name__ == "__main__":
    main()

"""Nothing a broker or a publisher leaves behind outlives its owner.

Ownership is an exclusive `flock` held for the owner's lifetime: the kernel drops it when the
process dies, however it dies (kill -9 included), so "can I take the lock?" is "is the owner
gone?". The broker holds one on its shared-memory dir, its socket dir and its connection
file; a publisher holds one on an incoming segment until the broker has claimed it. A new
broker sweeps what dead brokers left, and every broker periodically sweeps incoming segments
whose writer died mid-write.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import stat
import time

log = logging.getLogger("ticketbooth.broker")

OWNER_LOCK = "owner.lock"
DIR_PREFIXES = ("ticketbooth-",)  # shm dirs; socket dirs are "ticketbooth-sock-*"
INCOMING = re.compile(r"in-[0-9a-f]{32}\.arrow")


class OwnerLock:
    """An exclusive lock on `path` (created 0600), held until `release()` or process exit."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise

    def write(self, text: str) -> None:
        """Record who holds the lock (read by `holder`)."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, text.encode(), 0)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def is_held(path: str) -> bool:
    """True when a live process holds the lock on `path` (False if it does not exist)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def holder(path: str) -> str:
    """What the holder of the lock on `path` wrote about itself ("" if nothing)."""
    try:
        with open(path) as f:
            return f.read(4096).strip()
    except OSError:
        return ""


OWNER_MARK = "ticketbooth broker pid"


def claim_dir(path: str) -> OwnerLock:
    """Take ownership of a directory this process just created."""
    lock = OwnerLock(os.path.join(path, OWNER_LOCK))
    lock.write(f"{OWNER_MARK} {os.getpid()}")
    return lock


def sweep_dead_dirs(base: str, keep: tuple[str, ...] = ()) -> list[str]:
    """Remove ticketbooth dirs in `base` whose owner died; return what was removed.

    Only this user's directories holding an owner lock nobody holds are touched (a dir
    without the lock file may be one being created right now, so it is left alone).
    """
    removed: list[str] = []
    try:
        names = os.listdir(base)
    except OSError:
        return removed
    for name in names:
        path = os.path.join(base, name)
        if not name.startswith(DIR_PREFIXES) or path in keep:
            continue
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
            continue
        lock = os.path.join(path, OWNER_LOCK)
        if holder(lock).startswith(OWNER_MARK) and not is_held(lock):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    if removed:
        log.info("removed %d directories left by dead brokers: %s", len(removed), removed)
    return removed


def lock_incoming(fd: int) -> None:
    """A publisher marks the segment it is writing as alive (held until it closes `fd`)."""
    fcntl.flock(fd, fcntl.LOCK_EX)


def sweep_incoming(shm_dir: str, older_than_s: float) -> list[str]:
    """Remove incoming segments whose writer is gone: unlocked and older than the grace."""
    removed: list[str] = []
    now = time.time()
    with contextlib.suppress(OSError):
        for name in os.listdir(shm_dir):
            path = os.path.join(shm_dir, name)
            if not INCOMING.fullmatch(name):
                continue
            try:
                if now - os.lstat(path).st_mtime < older_than_s or is_held(path):
                    continue
                os.unlink(path)
            except OSError:
                continue
            removed.append(name)
    if removed:
        log.warning("removed %d incoming segments abandoned by their writers", len(removed))
    return removed

"""The broker's shared-memory directory: private Arrow IPC files that readers memory-map."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import tempfile

from ._janitor import INCOMING, claim_dir

NONCE_FILE = "nonce"


def default_base() -> str:
    """/dev/shm when it exists (memory-backed), else the temp dir."""
    return "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()


class ShmDir:
    """A 0700 directory of 0600 segment files, removed with the broker (or, if the broker
    is killed, by the next broker's sweep: the directory's owner lock says it is orphaned)."""

    def __init__(self, base: str | None = None) -> None:
        self.base = base or default_base()
        self.path = tempfile.mkdtemp(prefix="ticketbooth-", dir=self.base)
        os.chmod(self.path, 0o700)
        self._owner = claim_dir(self.path)
        self.nonce = secrets.token_hex(16)
        fd = os.open(os.path.join(self.path, NONCE_FILE), os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.nonce)

    def claim_incoming(self, name: str) -> str:
        """Validate a client-written file name and move it under a broker-owned name.

        Raises ValueError naming the problem (bad name, missing, not a regular private file).
        """
        if not INCOMING.fullmatch(name):
            raise ValueError(f"{name!r} is not an incoming segment name (in-<32 hex>.arrow)")
        src = os.path.join(self.path, name)
        try:
            st = os.lstat(src)
        except FileNotFoundError:
            raise ValueError(f"segment {name!r} does not exist in the broker's directory") from None
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
            raise ValueError(f"segment {name!r} is not a regular file owned by the broker's user")
        dst = self.new_name("obj")
        os.rename(src, os.path.join(self.path, dst))
        return dst

    def new_name(self, prefix: str) -> str:
        return f"{prefix}-{secrets.token_hex(16)}.arrow"

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def size(self, name: str) -> int:
        return os.stat(self.file(name)).st_size

    def unlink(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.file(name))

    def free_bytes(self) -> int:
        """Bytes still free on the filesystem that holds the segments."""
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        self._owner.release()

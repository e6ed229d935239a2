"""The kernel's default Session: shared by views and magics that are given none."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._session import Session

_DEFAULT: list[Session] = []
_LOCK = threading.Lock()


def default_session() -> Session:
    """One Session per process, opened on first use and reopened if it was closed."""
    from ._session import Session

    with _LOCK:
        if not _DEFAULT or not _DEFAULT[0].is_alive:
            _DEFAULT[:] = [Session()]
        return _DEFAULT[0]

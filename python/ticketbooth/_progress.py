"""Progress of long transfers: a bar that appears only after a second (tqdm: a text bar in a
terminal, a widget in a notebook), and never when TICKETBOOTH_PROGRESS=0."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator

DELAY_S = 1.0


@contextlib.contextmanager
def progress_bar(total: int, label: str) -> Iterator[Callable[[int], None]]:
    """Yields `advance(nbytes)`; the bar shows once the transfer has taken `DELAY_S`."""
    if os.environ.get("TICKETBOOTH_PROGRESS") == "0":
        yield lambda _n: None
        return
    from tqdm.auto import tqdm

    bar = tqdm(
        total=total or None,
        desc=label,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        delay=DELAY_S,
        leave=False,
        mininterval=0.2,
    )

    def advance(nbytes: int) -> None:
        bar.update(nbytes)

    try:
        yield advance
    finally:
        bar.close()

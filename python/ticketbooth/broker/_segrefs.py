"""The broker's segment files, counted by the tables that hold them.

A table's record batches lie in one segment, or, after a republish that kept batches of an
earlier version, in runs of several (`StoredObject.parts`). A segment is removed when the
last table holding it is freed, so an old version's batches live on in the new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Part = tuple[str, int, int]
"""(segment name, first batch, number of batches): a run of one segment's record batches."""


@dataclass(eq=False)
class Segment:
    name: str
    size: int
    schema: bytes  # the Arrow IPC schema message of the table it was written for
    batch_rows: list[int] = field(default_factory=list)
    batch_bytes: list[int] = field(default_factory=list)
    refs: int = 0


class Segments:
    """Segments by file name, each with the number of stored tables that hold it."""

    def __init__(self) -> None:
        self._by_name: dict[str, Segment] = {}

    def get(self, name: str) -> Segment | None:
        return self._by_name.get(name)

    def __len__(self) -> int:
        return len(self._by_name)

    def hold(self, names: set[str]) -> None:
        """One more holder of each named segment (all registered with `add` first)."""
        for name in names:
            self._by_name[name].refs += 1

    def add(self, segment: Segment) -> None:
        self._by_name[segment.name] = segment

    def drop(self, names: set[str]) -> list[Segment]:
        """One holder fewer for each; returns the segments nobody holds any more (forgotten
        here: their files are to be removed)."""
        dead = []
        for name in names:
            seg = self._by_name.get(name)
            if seg is None:
                continue
            seg.refs -= 1
            if seg.refs <= 0:
                dead.append(self._by_name.pop(name))
        return dead

"""Earlier versions of a ticket, fetched by version from a broker process (shm and remote)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.conftest import BrokerProcess, start_broker


def version_table(v: int) -> pa.Table:
    return pa.table({"v": [v] * (v + 1), "label": [f"version {v}"] * (v + 1)})


@pytest.mark.parametrize("remote", [False, True], ids=["shm", "remote"])
def test_fetch_table_by_version(broker: BrokerProcess, remote: bool) -> None:
    with tb.Session(name="pub") as pub, tb.Session(force_remote=remote) as sub:
        for v in range(1, 6):
            pub.publish_table(version_table(v), "sales")
        info = sub.info("sales")
        assert info.version == 5 and info.kept_versions == (2, 3, 4)  # the default: 3
        for v in (2, 3, 4, 5):
            t = sub.fetch_table("sales", version=v)
            assert t.version == v and t.to_arrow().equals(version_table(v)), v
        assert sub.fetch_table("sales").to_arrow().equals(version_table(5))
        old = sub.info("sales", version=3)
        assert (old.version, old.num_rows) == (3, 4)
        with pytest.raises(tb.TicketNotFoundError, match=r"version 1 is no longer kept"):
            sub.fetch_table("sales", version=1)
        with pytest.raises(tb.TicketNotFoundError, match="there is no version 6"):
            sub.fetch_table("sales", version=6)
        for bad in (0, -1, "3", 2.0, True):
            with pytest.raises(tb.InvalidInputError, match="version must be a whole number"):
                sub.fetch_table("sales", version=bad)  # type: ignore[arg-type]
        # the publisher goes: its versions go with the ticket; fetched tables stay readable
        kept = sub.fetch_table("sales", version=2)
        pub.release(tb.ScopeTicket.scope_ticket("sales"))
        with pytest.raises(tb.TicketNotFoundError):
            sub.fetch_table("sales", version=3)
        assert kept.to_arrow().equals(version_table(2))


def test_watch_events_name_the_version_to_fetch(broker: BrokerProcess) -> None:
    with tb.Session() as pub, tb.Session() as sub:
        shared = tb.SharedTicket.random_ticket()
        pub.publish_table(version_table(1), shared)
        with sub.watch(shared) as events:
            first = next(events)
            pub.publish_table(version_table(2), shared)
            second = next(events)
            pub.publish_table(version_table(3), shared)
            third = next(events)
        assert [e.version for e in (first, second, third)] == [1, 2, 3]
        assert third.info is not None and third.info.kept_versions == (1, 2)
        for e in (first, second):
            data = sub.fetch_table(shared, version=e.version).to_arrow()
            assert data.equals(version_table(e.version))


def test_figure_versions(broker: BrokerProcess) -> None:
    with tb.Session() as pub, tb.Session() as sub:
        for title in ("one", "two"):
            fig, ax = plt.subplots()
            ax.set_title(title)
            pub.publish_figure(fig, "chart")
            plt.close(fig)
        old = sub.fetch_object("chart", version=1)
        new = sub.fetch_object("chart")
        assert isinstance(old, tb.SharedObject) and isinstance(new, tb.SharedObject)
        assert (old.version, new.version) == (1, 2)
        assert old.mimebundle["image/png"] != new.mimebundle["image/png"]


@pytest.mark.parametrize("option", ["--history-versions", "--history-bytes"])
def test_history_can_be_turned_off(runtime_dir: Path, option: str) -> None:
    b = start_broker(runtime_dir, option, "0")
    try:
        with tb.Session(b.url, token=b.token) as s:
            s.publish_table(version_table(1), "t")
            s.publish_table(version_table(2), "t")
            assert s.info("t").kept_versions == ()
            with pytest.raises(tb.TicketNotFoundError, match="only the current version"):
                s.fetch_table("t", version=1)
    finally:
        b.stop()

"""What the broker does not do (scripts, server-side tables and table operations) is refused
with UNIMPLEMENTED and a message saying what it supports; the session goes on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pyarrow as pa
import pytest
from pydeephaven import DHError, Session

from tests.pydeephaven_compat.conftest import Clients, rpc_error, same, sample_table

SUPPORTED_WORDS = ("import_table", "fetch_table", "publish", "open_table", "bind_table")


def _imported(s: Session) -> Any:
    return s.import_table(pa.table({"a": [1, 2, 3], "b": [4.0, 5.0, 6.0]}))


CALLS: dict[str, Callable[[Session], object]] = {
    "run_script": lambda s: s.run_script("t = 1"),
    "empty_table": lambda s: s.empty_table(10),
    "time_table": lambda s: s.time_table("PT1S"),
    "merge_tables": lambda s: s.merge_tables([_imported(s), _imported(s)]),
    "input_table": lambda s: s.input_table(schema=pa.schema([("a", pa.int64())])),
    "update": lambda s: _imported(s).update(["c = a + 1"]),
    "where": lambda s: _imported(s).where("a > 1"),
    "sort": lambda s: _imported(s).sort("a"),
    "head": lambda s: _imported(s).head(1),
    "query": lambda s: s.query(_imported(s)).update(["c = a"]).exec(),
}


@pytest.mark.parametrize("call", list(CALLS))
def test_unimplemented_with_a_helpful_message(clients: Clients, call: str) -> None:
    s = clients.pdh()
    with pytest.raises(DHError) as err:
        result = CALLS[call](s)
        clients.keep(result)
    rpc = rpc_error(err.value)
    assert rpc is not None, f"no gRPC status in {err.value!r} (cause {err.value.__cause__!r})"
    assert rpc.code() == grpc.StatusCode.UNIMPLEMENTED, rpc  # type: ignore[attr-defined]
    details = rpc.details() or ""  # type: ignore[attr-defined]
    assert "ticketbooth" in details.lower(), details
    assert any(word in details for word in SUPPORTED_WORDS), details

    # the session goes on
    data = sample_table(20)
    t = s.import_table(data)
    clients.keep(t)
    same(t.to_arrow(), data)

"""A real deephaven-server for the Deephaven backend's tests: one for this package of tests (PSK
auth), started from PyPI's deephaven-server on the machine's Java 17."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.deephaven_server import DeephavenServer, missing, new_psk

WHY = missing()
#: set by .ci/run, which installs Java and the server: there these tests never skip
REQUIRED = os.environ.get("TICKETBOOTH_REQUIRE_DEEPHAVEN") == "1"


@pytest.fixture(scope="package")
def dh() -> Iterator[DeephavenServer]:
    if WHY is not None:
        if REQUIRED:
            pytest.fail(f"TICKETBOOTH_REQUIRE_DEEPHAVEN=1 but no Deephaven server: {WHY}")
        pytest.skip(f"no Deephaven server here: {WHY}")
    with DeephavenServer(psk=new_psk()) as server:
        yield server

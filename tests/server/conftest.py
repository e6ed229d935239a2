"""jupyter_server's own pytest fixtures (pytest-jupyter), for these tests only: they come with
autouse fixtures (an event loop and a ServerApp per test) the other tests do not want."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from pytest_jupyter.jupyter_core import *  # noqa: F403
from pytest_jupyter.jupyter_core import pytest_pycollect_makeitem, pytest_pyfunc_call  # noqa: F401
from pytest_jupyter.jupyter_server import *  # noqa: F403

import ticketbooth as tb

T = TypeVar("T")


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"ticketbooth.server": True}}}


async def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking ticketbooth call in a thread: the broker answers on this test's loop."""
    return await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(fn, *args, **kwargs)
    )


@pytest.fixture
def server(jp_serverapp: Any, jp_asyncio_loop: Any) -> Any:
    """The server with its extensions started, as `jupyter server` does once its loop runs
    (pytest-jupyter only initializes them); stopped by pytest-jupyter's cleanup."""
    jp_asyncio_loop.run_until_complete(jp_serverapp.extension_manager.start_all_extensions())
    return jp_serverapp


@pytest.fixture
def publisher(server: Any, jp_asyncio_loop: Any) -> Iterator[tb.Session]:
    """A kernel-like session on the server's broker (found through the environment the
    extension sets for kernels); made while the loop runs, since the broker answers on it."""
    assert os.environ["TICKETBOOTH_URL"].startswith("unix://")
    run = jp_asyncio_loop.run_until_complete
    session = run(off_loop(tb.Session, name="publisher", start_broker=False))
    yield session
    run(off_loop(session.close))

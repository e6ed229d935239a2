"""Installed without the JS build (HATCH_BUILD_NO_HOOKS=true): the package still imports,
and showing a view says how to get the widget's bundle instead of a bare FileNotFoundError."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import ticketbooth

CHILD = """
import pathlib, sys
import ticketbooth as tb

here = pathlib.Path(tb.__file__).parent
assert here == pathlib.Path(sys.argv[1]), (here, sys.argv[1])  # the copy, not the repo
assert not (here / "static" / "widget.js").exists()
assert tb.TicketView.__name__ == "TicketView"  # the class is there, only a view fails
for make in (lambda: tb.view("sales"), lambda: tb.TicketView("sales", height=200)):
    try:
        make()
    except tb.TicketboothError as exc:
        print("TicketboothError:", exc)
    else:
        raise SystemExit("a view was made without the widget's bundle")
"""


def test_import_and_view_without_the_js_bundle(tmp_path: Path) -> None:
    package = Path(ticketbooth.__file__).parent
    site = tmp_path / "site"
    shutil.copytree(
        package, site / "ticketbooth", ignore=shutil.ignore_patterns("static", "__pycache__")
    )
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETBOOTH_")}
    env.update(PYTHONPATH=str(site), JUPYTER_RUNTIME_DIR=str(runtime))
    res = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(site / "ticketbooth")],
        env=env,
        cwd=tmp_path,  # not the repository: its python/ must not be importable from here
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, f"{res.stdout}\n{res.stderr}"
    lines = res.stdout.splitlines()
    assert len(lines) == 2, res.stdout
    for line in lines:
        assert "the widget's JavaScript bundle is missing" in line
        assert "npm run build" in line and str(site / "ticketbooth" / "static") in line
    assert list(runtime.iterdir()) == []  # failed before looking for (or starting) a broker

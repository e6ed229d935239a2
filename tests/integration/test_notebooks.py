"""The demo notebooks in binder/ run as written, in two real kernels."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tests.conftest import BrokerProcess

BINDER = Path(__file__).resolve().parents[2] / "binder"


def test_publisher_and_subscriber_notebooks(broker: BrokerProcess, tmp_path: Path) -> None:
    pub = nbformat.read(BINDER / "publisher.ipynb", as_version=4)
    sub = nbformat.read(BINDER / "subscriber.ipynb", as_version=4)
    publisher = NotebookClient(pub, timeout=120, kernel_name="python3")
    publisher.km = publisher.create_kernel_manager()
    with publisher.setup_kernel(env=broker.env):  # its kernel stays up while B runs
        for index, cell in enumerate(pub.cells):
            publisher.execute_cell(cell, index)
        NotebookClient(
            sub, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
        ).execute(env=broker.env)
    outputs = [o for c in sub.cells if c.cell_type == "code" for o in c.outputs]
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 3
    text = "".join(o.get("text", "") for o in outputs)
    assert "1000000 ['order', 'region', 'amount', 'at']" in text
    listing = sub.cells[1].outputs[0]["data"]["text/plain"]
    assert "'sales': ServerObject(type='Table'" in listing
    assert "'revenue-chart': ServerObject(type='Figure'" in listing

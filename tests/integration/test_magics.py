"""%publish / %fetch (and the %% forms) in two real kernels sharing a broker process."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.conftest import BrokerProcess
from tests.kernels import Kernel

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Kernel, Kernel]]:
    from tests.conftest import start_broker

    broker: BrokerProcess = start_broker(tmp_path_factory.mktemp("magics") / "runtime")
    a, b = Kernel(broker.env), Kernel(broker.env)
    try:
        for k in (a, b):
            k.run("%load_ext ticketbooth")
        yield a, b
    finally:
        a.shutdown()
        b.shutdown()
        broker.stop()


def error(kernel: Kernel, code: str) -> str:
    return ANSI.sub("", kernel.run_failing(code))


def test_publish_and_fetch_tables_and_figures(kernels: tuple[Kernel, Kernel]) -> None:
    a, b = kernels
    out = a.run(
        "import pandas as pd\n"
        'df = pd.DataFrame({"city": ["Oslo", "Lima"], "sales": [3.5, 7.25]})\n'
        "%publish df as sales"
    )
    assert out.strip() == "published 'sales' (v1, 2 rows \N{MULTIPLICATION SIGN} 2 columns)"
    # the variable's name when no "as"; a dict of columns is a table too
    assert "published 'cols' (v1, 3 rows" in a.run('cols = {"x": [1, 2, 3]}\n%publish cols')
    # a figure (any rich display object) and an unlisted shared ticket
    shared = a.run(
        "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots(); ax.plot([1, 2, 3])\n%publish fig as shared"
    )
    ticket = re.search(r"published (shared:[0-9a-f]+) \(v1, Figure\)", shared)
    assert ticket, shared

    out = b.run(
        "%fetch sales\n"
        "print(type(sales).__name__, sales.num_rows, sales.to_pandas()['sales'].sum())\n"
        "t = %fetch sales as frame --pandas\n"
        "print(type(frame).__name__, frame['city'].tolist(), t is frame)\n"
        "%fetch cols as c --arrow\n"
        "print(c.column('x').to_pylist())\n"
        f"%fetch {ticket.group(1)} as f\n"
        "print(type(f).__name__, f.type, 'image/png' in f.mimebundle)"
    )
    assert out.splitlines() == [
        "Table 2 10.75",
        "DataFrame ['Oslo', 'Lima'] True",
        "[1, 2, 3]",
        "SharedObject Figure True",
    ], out


def test_cell_magics(kernels: tuple[Kernel, Kernel]) -> None:
    a, b = kernels
    out = a.run(
        "%%publish squares\nimport pyarrow as pa\npa.table({'n': [i * i for i in range(5)]})"
    )
    assert out.strip().endswith("published 'squares' (v1, 5 rows \N{MULTIPLICATION SIGN} 1 column)")
    out = a.run("%%publish squares\npa.table({'n': [0, 1]})")  # republish: version 2
    assert "(v2, 2 rows" in out
    out = b.run("%%fetch squares sales\nprint(squares.version, squares.num_rows, sales.num_rows)")
    assert out.strip() == "2 2 2"
    out = b.run("%%fetch squares --arrow\nprint(type(squares).__name__, squares.num_rows)")
    assert out.strip() == "Table 2" and "pyarrow" in b.run("print(type(squares).__module__)")


def test_magic_errors_say_what_to_do(kernels: tuple[Kernel, Kernel]) -> None:
    a, b = kernels
    msg = error(a, "%publish 1 + 2")
    assert "UsageError" in msg and "%publish 1 + 2 as <name>" in msg, msg
    msg = error(a, "%publish undefined_name as x")  # one line, no traceback
    assert "UsageError: %publish: cannot evaluate 'undefined_name': NameError" in msg, msg
    assert "Traceback" not in msg and "_magics.py" not in msg, msg
    msg = error(a, "%publish")
    assert "usage: %publish <expression> [as <name>|shared]" in msg, msg
    msg = error(a, "%publish df as sales extra")
    assert "the name after 'as' is one word" in msg, msg
    msg = error(a, "%publish 42 as answer")  # not a table, and no rich display of its own
    assert "UsageError: %publish: cannot share int: it has no rich display" in msg, msg
    msg = error(b, "%fetch slaes")
    assert "nothing is published under the name 'slaes'; did you mean 'sales'?" in msg, msg
    msg = error(b, "%fetch shared:00 ")
    assert "UsageError: %fetch" in msg, msg
    msg = error(b, "%fetch sales as 1x")
    assert "'1x' is not a Python name" in msg, msg
    msg = error(b, "%fetch sales --csv")
    assert "unknown or repeated option --csv" in msg, msg
    msg = error(b, "%%fetch sales --csv\npass")
    assert "unknown or repeated option --csv: usage: %%fetch <name> [<name> ...]" in msg, msg
    msg = error(b, "%%fetch shared:00\npass")
    assert "'shared:00' is not a Python name: fetch it with %fetch shared:00 as" in msg, msg
    msg = error(a, "%%publish broken\n1 / 0")
    assert "ZeroDivisionError" in msg and "nothing was published to 'broken'" in msg, msg
    # nothing half-published: the earlier objects are intact
    assert b.run("%fetch sales\nprint(sales.num_rows)").strip() == "2"
    msg = error(b, "%fetch sales --pandas\n%fetch fig_missing")
    assert "fig_missing" in msg, msg

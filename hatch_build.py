"""Build hook: builds the JupyterLab side panel (labextension/), and stops early, with a short
message, when a build needs npm and there is none.

hatch-jupyter-builder (the next hook, see pyproject.toml) runs `npm install && npm run build`
in js/ for an editable install, and for any build where python/ticketbooth/static/widget.js is
missing (its skip-if-exists; the sdist ships the built files, so installing it never gets
here). This hook does the same for the second npm package, labextension/ (the prebuilt
JupyterLab extension, output python/ticketbooth/labextension/, shipped as
share/jupyter/labextensions/ticketbooth): built for an editable install or when its output is
missing. Without npm, hatch-jupyter-builder fails with a long traceback ending in "Could not
find cmd (npm)"; this hook makes the same decision first and exits with the message below
instead; when npm is there, or everything is prebuilt, it builds nothing.
HATCH_BUILD_NO_HOOKS=true skips it too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUNDLE = "python/ticketbooth/static/widget.js"  # the jupyter-builder hook's skip-if-exists
LABEXTENSION = "python/ticketbooth/labextension/package.json"  # written last by its build

MESSAGE = """
ticketbooth: building the widget's JavaScript and the JupyterLab side panel from source needs
npm (Node.js), and npm is not on PATH. Either
  - install Node.js with npm (e.g. apt-get install nodejs npm) and run the install again, or
  - install a built wheel or sdist instead (`pip install ticketbooth`, or files made by
    `python -m build` on a machine with npm): they carry the built widget, no npm needed, or
  - for Python-only work skip the widget build:  HATCH_BUILD_NO_HOOKS=true pip install -e .
"""


class NpmCheckHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        editable = version == "editable"
        skipped = os.environ.get("SKIP_JUPYTER_BUILDER") or (
            os.environ.get("HATCH_JUPYTER_BUILDER_SKIP_NPM") == "1"
        )
        if self.target_name not in ("wheel", "sdist") or skipped:
            return
        builds_js = editable or not (root / BUNDLE).exists()
        builds_lab = editable or not (root / LABEXTENSION).exists()
        npm = shutil.which("npm")
        if (builds_js or builds_lab) and npm is None:
            # SystemExit, not an exception: pip then shows this message, not a traceback
            raise SystemExit(MESSAGE)
        if builds_lab and npm is not None:
            cwd = root / "labextension"
            subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=cwd, check=True)
            subprocess.run([npm, "run", "build"], cwd=cwd, check=True)

"""Build hook: stop early, with a short message, when the widget needs npm and there is none.

hatch-jupyter-builder (the next hook, see pyproject.toml) runs `npm install && npm run build`
in js/ for an editable install, and for any build where python/ticketbooth/static/widget.js is
missing (its skip-if-exists; the sdist ships the built files, so installing it never gets
here). Without npm it fails with a long traceback ending in "Could not find cmd (npm)". This
hook makes the same decision first and exits with the message below instead; when npm is
there, or the bundle is prebuilt, it does nothing. HATCH_BUILD_NO_HOOKS=true skips it too.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUNDLE = "python/ticketbooth/static/widget.js"  # the jupyter-builder hook's skip-if-exists

MESSAGE = """
ticketbooth: building the widget's JavaScript from source needs npm (Node.js), and npm is not
on PATH. Either
  - install Node.js with npm (e.g. apt-get install nodejs npm) and run the install again, or
  - install a built wheel or sdist instead (`pip install ticketbooth`, or files made by
    `python -m build` on a machine with npm): they carry the built widget, no npm needed, or
  - for Python-only work skip the widget build:  HATCH_BUILD_NO_HOOKS=true pip install -e .
"""


class NpmCheckHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        builds_js = version == "editable" or not (Path(self.root) / BUNDLE).exists()
        skipped = os.environ.get("SKIP_JUPYTER_BUILDER") or (
            os.environ.get("HATCH_JUPYTER_BUILDER_SKIP_NPM") == "1"
        )
        needs_npm = self.target_name in ("wheel", "sdist") and builds_js and not skipped
        if needs_npm and shutil.which("npm") is None:
            # SystemExit, not an exception: pip then shows this message, not a traceback
            raise SystemExit(MESSAGE)

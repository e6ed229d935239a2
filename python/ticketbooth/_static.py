"""Where the built front-end files live: the widget bundle and its lazily sent renderers."""

from __future__ import annotations

import pathlib

STATIC = pathlib.Path(__file__).parent / "static"
#: renderer name -> module file in STATIC (sent once, by the kernel or the server extension)
RENDERERS = {"plotly": "plotly.js", "vega": "vega.js"}

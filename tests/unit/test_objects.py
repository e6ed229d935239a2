import base64
import json
import math
import struct
import types
import xml.etree.ElementTree as ET

import altair as alt
import duckdb
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import polars as pl
import pyarrow as pa
import pytest
from matplotlib.figure import Figure

from ticketbooth._objects import (
    BundleTooLargeError,
    MimeBundle,
    UnshareableObjectError,
    to_mimebundle,
)

matplotlib.use("Agg")  # no display; must not need one

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A valid 1x1 PNG.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def roundtrip(bundle: MimeBundle) -> MimeBundle:
    return MimeBundle.from_wire(bundle.to_wire())


# --- matplotlib ---------------------------------------------------------------------------------


def test_matplotlib_full_bleed_figure_is_figsize_times_dpi_plus_tight_padding() -> None:
    fig = Figure(figsize=(4, 3), dpi=50)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xticks([])
    ax.set_yticks([])
    bundle = to_mimebundle(fig)
    png = bundle.data["image/png"]
    assert isinstance(png, bytes)
    # bbox_inches="tight" pads 0.1 inch on each side: (4 + 0.2) * 50 x (3 + 0.2) * 50.
    assert png_size(png) == (210, 160)
    assert bundle.metadata["image/png"] == {"width": 210, "height": 160}
    assert bundle.metadata["source"] == "matplotlib"


def test_matplotlib_png_follows_the_figure_dpi() -> None:
    sizes = []
    for dpi in (50, 100):
        fig = Figure(figsize=(4, 3), dpi=dpi)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.add_patch(matplotlib.patches.Rectangle((0, 0), 1, 1))  # something to bound
        sizes.append(png_size(to_mimebundle(fig).data["image/png"]))  # type: ignore[arg-type]
    (w50, h50), (w100, h100) = sizes
    assert abs(w100 - 2 * w50) <= 2 and abs(h100 - 2 * h50) <= 2
    assert w100 <= (4 + 0.2) * 100 + 1 and h100 <= (3 + 0.2) * 100 + 1


def test_matplotlib_svg_is_xml_and_metadata_matches_png() -> None:
    fig, ax = plt.subplots(figsize=(4, 3), dpi=72)
    ax.plot([1, 2, 3], [3, 1, 2], label="line")
    bundle = to_mimebundle(fig)
    svg = bundle.data["image/svg+xml"]
    assert isinstance(svg, str)
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    width, height = png_size(bundle.data["image/png"])  # type: ignore[arg-type]
    assert bundle.metadata["image/png"] == {"width": width, "height": height}
    assert 0 < width <= 4 * 72 + 15 and 0 < height <= 3 * 72 + 15  # tight bbox + 0.1in pads
    assert bundle.data["text/plain"] == repr(fig)
    plt.close(fig)


def test_matplotlib_leaves_the_users_pyplot_figure_open_and_unchanged() -> None:
    fig, ax = plt.subplots(figsize=(5, 2), dpi=80)
    ax.plot([0, 1])
    to_mimebundle(fig)
    assert plt.fignum_exists(fig.number)
    assert fig.dpi == 80
    assert tuple(fig.get_size_inches()) == (5, 2)
    plt.close(fig)


def test_matplotlib_axes_and_subfigure_render_their_root_figure() -> None:
    fig = Figure(figsize=(4, 3), dpi=40)
    left = fig.add_subfigure(fig.add_gridspec(1, 2)[0])
    ax = left.subplots()
    ax.plot([1, 2])
    whole = to_mimebundle(fig)
    for part in (ax, left):
        bundle = to_mimebundle(part)
        assert bundle.metadata["source"] == "matplotlib"
        assert bundle.metadata["image/png"] == whole.metadata["image/png"]


def test_matplotlib_bundle_roundtrips_and_keeps_raw_png_bytes_on_the_wire() -> None:
    fig = Figure(figsize=(3, 3), dpi=60)
    fig.add_subplot().imshow(np.random.default_rng(0).random((40, 40)))
    bundle = to_mimebundle(fig)
    wire = bundle.to_wire()
    assert roundtrip(bundle) == bundle
    png = bundle.data["image/png"]
    assert isinstance(png, bytes) and png in wire  # not base64-inflated
    assert len(wire) < bundle.nbytes + 1000


def test_matplotlib_drops_svg_when_only_the_png_fits() -> None:
    fig = Figure(figsize=(3, 3), dpi=30)
    xs = np.random.default_rng(1).random((2, 1500))
    fig.add_subplot().scatter(xs[0], xs[1], s=1)
    full = to_mimebundle(fig)
    png_len = len(full.data["image/png"])
    svg_len = len(full.data["image/svg+xml"])
    assert svg_len > png_len
    limit = png_len + 1000
    assert limit < png_len + svg_len
    bundle = to_mimebundle(fig, max_bytes=limit)
    assert "image/svg+xml" not in bundle.data
    assert bundle.data["image/png"] == full.data["image/png"]
    assert "image/svg+xml" in bundle.metadata["omitted"]
    with pytest.raises(BundleTooLargeError, match=r"lower the figure's dpi"):
        to_mimebundle(fig, max_bytes=png_len // 2)


# --- plotly -------------------------------------------------------------------------------------


def test_plotly_figure_gives_plotly_json_and_roundtrips() -> None:
    fig = go.Figure(go.Scatter(x=np.arange(5), y=[1.0, math.nan, 3.0, 4.0, 5.0], name="s"))
    fig.update_layout(title="t")
    bundle = to_mimebundle(fig)
    assert set(bundle.data) == {"application/vnd.plotly.v1+json", "text/plain"}
    spec = bundle.data["application/vnd.plotly.v1+json"]
    assert isinstance(spec, dict)
    assert set(spec) == {"data", "layout"}
    trace = spec["data"][0]
    assert trace["type"] == "scatter" and trace["name"] == "s"
    assert trace["y"] == [1.0, None, 3.0, 4.0, 5.0]  # NaN -> null
    assert spec["layout"]["title"]["text"] == "t"
    assert bundle.metadata["source"] == "plotly"
    json.dumps(spec, allow_nan=False)  # strictly JSON
    assert roundtrip(bundle) == bundle


def test_plotly_like_object_without_to_json() -> None:
    class Plotish:
        def to_plotly_json(self) -> dict[str, object]:
            return {"data": [{"type": "bar", "y": (1, 2)}], "layout": {}, "extra": 1}

    spec = to_mimebundle(Plotish()).data["application/vnd.plotly.v1+json"]
    assert spec == {"data": [{"type": "bar", "y": [1, 2]}], "layout": {}}


# --- altair -------------------------------------------------------------------------------------


def test_altair_chart_gives_vegalite_with_the_schema_major_version() -> None:
    df = pd.DataFrame({"a": [1, 2, 3], "b": [3, 1, 2]})
    chart = alt.Chart(df).mark_point().encode(x="a", y="b")
    bundle = to_mimebundle(chart)
    major = alt.SCHEMA_VERSION.split(".")[0]  # e.g. "v6"
    mime = f"application/vnd.vegalite.{major}+json"
    assert set(bundle.data) == {mime, "text/plain"}
    spec = bundle.data[mime]
    assert isinstance(spec, dict)
    assert spec["$schema"] == alt.SCHEMA_URL
    assert spec["mark"] in ("point", {"type": "point"})
    assert bundle.metadata["source"] == "altair"
    assert roundtrip(bundle) == bundle


@pytest.mark.parametrize(
    ("schema", "mime"),
    [
        (
            "https://vega.github.io/schema/vega-lite/v4.17.0.json",
            "application/vnd.vegalite.v4+json",
        ),
        (
            "https://vega.github.io/schema/vega-lite/v5.20.1.json",
            "application/vnd.vegalite.v5+json",
        ),
        (None, "application/vnd.vegalite.v5+json"),
    ],
)
def test_altair_mime_version_comes_from_schema(schema: str | None, mime: str) -> None:
    class FakeChart:
        def to_dict(self) -> dict[str, object]:
            return {"mark": "bar"} if schema is None else {"$schema": schema, "mark": "bar"}

    FakeChart.__module__ = "altair.vegalite.fake"
    assert mime in to_mimebundle(FakeChart()).data


# --- generic display protocol -------------------------------------------------------------------


class HtmlOnly:
    def _repr_html_(self) -> str:
        return "<b>hi</b>"

    def __repr__(self) -> str:
        return "HtmlOnly()"


def test_object_with_only_repr_html() -> None:
    bundle = to_mimebundle(HtmlOnly())
    assert bundle.data == {"text/html": "<b>hi</b>", "text/plain": "HtmlOnly()"}
    assert bundle.metadata == {"source": "repr"}


def test_repr_mimebundle_tuple_with_base64_png_and_metadata() -> None:
    class Rich:
        def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> object:
            data = {
                "image/png": base64.b64encode(TINY_PNG).decode(),
                "text/plain": "Rich!",
                "application/json": {"x": [1, 2]},
            }
            return data, {"image/png": {"width": 1, "height": 1}}

        def _repr_html_(self) -> str:
            return "<i>rich</i>"

    bundle = to_mimebundle(Rich())
    assert bundle.data["image/png"] == TINY_PNG  # base64 str decoded to raw bytes
    assert bundle.data["text/plain"] == "Rich!"  # the bundle's own text/plain wins over repr
    assert bundle.data["application/json"] == {"x": [1, 2]}
    assert bundle.data["text/html"] == "<i>rich</i>"  # _repr_*_ fill in what the bundle lacks
    assert bundle.metadata["image/png"] == {"width": 1, "height": 1}
    assert roundtrip(bundle) == bundle


def test_repr_mimebundle_dict_wins_over_repr_methods() -> None:
    class Both:
        def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> object:
            return {"text/html": "<p>bundle</p>"}

        def _repr_html_(self) -> str:
            raise AssertionError("not called: the bundle already has text/html")

    assert to_mimebundle(Both()).data["text/html"] == "<p>bundle</p>"


def test_repr_png_bytes_tuple_and_other_repr_methods() -> None:
    class Pic:
        def _repr_png_(self) -> tuple[bytes, dict[str, int]]:
            return TINY_PNG, {"width": 10}

        def _repr_svg_(self) -> bytes:
            return b"<svg xmlns='http://www.w3.org/2000/svg'/>"

        def _repr_json_(self) -> str:
            return '{"a": 1}'

        def _repr_latex_(self) -> None:
            return None

    bundle = to_mimebundle(Pic())
    assert bundle.data["image/png"] == TINY_PNG
    assert bundle.metadata["image/png"] == {"width": 10}
    assert bundle.data["image/svg+xml"] == "<svg xmlns='http://www.w3.org/2000/svg'/>"
    assert bundle.data["application/json"] == {"a": 1}
    assert "text/latex" not in bundle.data
    text = bundle.data["text/plain"]
    assert isinstance(text, str) and text.startswith("<")


def test_long_repr_is_truncated() -> None:
    class Long(HtmlOnly):
        def __repr__(self) -> str:
            return "x" * 50_000

    assert len(to_mimebundle(Long()).data["text/plain"]) == 10_000


def test_bad_payloads_are_rejected() -> None:
    class BadPng:
        def _repr_png_(self) -> str:
            return "not base64 !!"

    class BadJson:
        def _repr_json_(self) -> object:
            return {"when": object()}

    class BadType:
        def _repr_html_(self) -> int:
            return 42

    with pytest.raises(UnshareableObjectError, match=r"image/png payload is not valid base64"):
        to_mimebundle(BadPng())
    with pytest.raises(UnshareableObjectError, match="not JSON serializable"):
        to_mimebundle(BadJson())
    with pytest.raises(UnshareableObjectError, match="text/html payload is a int"):
        to_mimebundle(BadType())


# --- rejections ---------------------------------------------------------------------------------


class CStream:
    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return pa.table({"a": [1]}).__arrow_c_stream__(requested_schema)


@pytest.mark.parametrize(
    ("obj", "type_name"),
    [
        (pd.DataFrame({"a": [1]}), "DataFrame"),
        (pd.Series([1]), "Series"),
        (pa.table({"a": [1]}), "Table"),
        (pl.DataFrame({"a": [1]}), "DataFrame"),
        (duckdb.sql("select 1 as a"), "DuckDBPyRelation"),
        (CStream(), "CStream"),
    ],
    ids=["pandas", "pandas-series", "pyarrow", "polars", "duckdb", "c-stream"],
)
def test_tables_are_rejected_towards_publish_table(obj: object, type_name: str) -> None:
    with pytest.raises(UnshareableObjectError) as info:
        to_mimebundle(obj)
    message = str(info.value)
    assert type_name in message
    assert "it is a table" in message
    assert "publish_table" in message


@pytest.mark.parametrize(
    ("obj", "type_name"),
    [
        (object(), "object"),
        (42, "int"),
        (None, "NoneType"),
        (len, "builtin_function_or_method"),
        (lambda: 1, "function"),
        (types, "module"),
        (HtmlOnly, "type"),  # the class itself, not an instance
    ],
    ids=["object", "int", "none", "builtin", "lambda", "module", "class"],
)
def test_plain_objects_are_rejected(obj: object, type_name: str) -> None:
    with pytest.raises(UnshareableObjectError) as info:
        to_mimebundle(obj)
    message = str(info.value)
    assert f"cannot share {type_name}:" in message
    assert "publish_table for tables" in message
    assert "_repr_html_" in message and "matplotlib/plotly/altair figure" in message
    assert isinstance(info.value, TypeError)


def test_size_limit() -> None:
    class Big:
        def _repr_html_(self) -> str:
            return "x" * 5000

    assert to_mimebundle(Big(), max_bytes=6000).nbytes > 5000
    with pytest.raises(BundleTooLargeError) as info:
        to_mimebundle(Big(), max_bytes=4000)
    message = str(info.value)
    assert "over the limit of 4000 bytes" in message
    assert f"{to_mimebundle(Big()).nbytes} bytes" in message
    assert "dpi" in message and "fewer points" in message and "publish_table" in message
    assert isinstance(info.value, ValueError)

"""Figures and rich display objects as MIME bundles: shared without pickle, displayed again.

`to_mimebundle`: matplotlib Figure/Axes -> PNG (at the figure's dpi) + SVG; plotly -> plotly JSON;
altair -> Vega-Lite JSON; anything else via `_repr_mimebundle_`/`_repr_*_`. None, tables and
objects with only a text repr raise UnshareableObjectError; over `max_bytes`, BundleTooLargeError.

A bundle holds only str, bytes and JSON payloads, so decoding one never runs code. Wire form:
b"TBMB", a version byte, a big-endian uint32 header length, a JSON header (parts as mime/kind/
length, and the metadata), then the raw parts back to back (PNG bytes are not base64-inflated).
"""

from __future__ import annotations

import base64
import io
import json
import re
import struct
import sys
from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import InvalidInputError, LimitExceededError

FIGURE_TYPE = "Figure"
WIRE_MAGIC = b"TBMB"
WIRE_VERSION = 1
DEFAULT_MAX_BYTES = 64 * 2**20
Payload = str | bytes | dict[str, Any] | list[Any]

_PREAMBLE = struct.Struct(">4sBI")
MAX_HEADER_BYTES = 1 << 20
_ALTERNATIVES = (
    "publish_table for tables (pyarrow/pandas/polars/duckdb), or an object with "
    "_repr_mimebundle_/_repr_html_/_repr_png_/_repr_svg_, a matplotlib/plotly/altair figure"
)
# IPython's formatters in its order: _repr_html_ gives text/html, _repr_svg_ image/svg+xml, ...
_REPR_MIMES = (
    "text/html image/svg+xml image/png image/jpeg text/markdown text/latex application/json"
)
_TABLE_TYPES = {  # top-level package -> class names; anything with __arrow_c_stream__ too
    "pandas": ("DataFrame", "Series"),
    "polars": ("DataFrame", "LazyFrame", "Series"),
    "pyarrow": ("Table", "RecordBatch", "RecordBatchReader", "ChunkedArray"),
    "duckdb": ("DuckDBPyRelation",),
}


class InvalidBundleError(InvalidInputError):
    """Bytes given to `MimeBundle.from_wire` are not a well-formed bundle."""


class UnshareableObjectError(InvalidInputError, TypeError):
    """The object has no representation that can be shared as a figure."""


class BundleTooLargeError(LimitExceededError, ValueError):
    """The rendered bundle is larger than the allowed size."""


def _jsonable(value: object, what: str) -> Any:
    """A plain-JSON copy of `value`: tuples become lists, NaN and infinities None."""
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError, RecursionError) as exc:
        raise UnshareableObjectError(f"{what} is not JSON serializable: {exc}") from exc
    return json.loads(text, parse_constant=lambda _constant: None)


def _reject_constant(constant: str) -> Any:
    raise ValueError(f"non-standard JSON constant {constant}")


def _decode(raw: bytes, what: str, kind: str = "json") -> Any:
    """A wire part (or the header) back to str or JSON; InvalidBundleError if malformed."""
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_constant=_reject_constant) if kind == "json" else text
    except (ValueError, RecursionError) as exc:
        raise InvalidBundleError(f"invalid MIME bundle: {what} is not UTF-8 {kind}: {exc}") from exc


def _require(ok: object, message: str) -> None:
    if not ok:
        raise InvalidBundleError(f"invalid MIME bundle: {message}")


def _encode(value: Payload) -> tuple[str, bytes]:
    if isinstance(value, (str, bytes)):
        return ("bytes", value) if isinstance(value, bytes) else ("text", value.encode("utf-8"))
    return "json", json.dumps(value, separators=(",", ":"), allow_nan=False).encode("ascii")


def _payload(mime: object, value: object) -> Payload:
    if not isinstance(mime, str) or not mime:
        raise UnshareableObjectError(f"MIME types must be non-empty str, got {mime!r}")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (dict, list, tuple)):
        return _jsonable(value, f"the {mime} payload")  # type: ignore[no-any-return]
    if not isinstance(value, (str, bytes)):
        kind = type(value).__name__
        raise UnshareableObjectError(f"the {mime} payload is a {kind}, not str/bytes/dict/list")
    return value


@dataclass(frozen=True, repr=False)
class MimeBundle:
    """MIME type -> payload (str, raw bytes for binary types, JSON dict/list), plus metadata.

    JSON payloads and metadata are copied to plain JSON (NaN/inf -> None) on construction.
    """

    data: dict[str, Payload]
    metadata: dict[str, Any]

    def __post_init__(self) -> None:
        data = {mime: _payload(mime, value) for mime, value in dict(self.data).items()}
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "metadata", _jsonable(dict(self.metadata), "bundle metadata"))

    @property
    def nbytes(self) -> int:
        """Total size of the encoded payloads (what `to_wire` carries besides its header)."""
        return sum(len(_encode(value)[1]) for value in self.data.values())

    def __repr__(self) -> str:
        sizes = "".join(f", {m}: {len(_encode(v)[1])} B" for m, v in self.data.items())
        return f"MimeBundle(source={self.metadata.get('source')!r}{sizes})"

    def to_wire(self) -> bytes:
        """Serialize to the versioned binary container described in the module docstring."""
        parts = [(mime, *_encode(value)) for mime, value in self.data.items()]
        heads = [{"mime": m, "kind": k, "length": len(b)} for m, k, b in parts]
        header = _encode({"parts": heads, "metadata": self.metadata})[1]
        preamble = _PREAMBLE.pack(WIRE_MAGIC, WIRE_VERSION, len(header))
        return b"".join([preamble, header, *(b for _, _, b in parts)])

    @staticmethod
    def wire_size(prefix: bytes | bytearray | memoryview) -> int | None:
        """The total size a bundle announces in its first bytes, or None until its header
        is complete; lets a receiver refuse a bundle before buffering it.

        Raises:
            InvalidBundleError: the prefix cannot start a bundle.
        """
        if len(prefix) < _PREAMBLE.size:
            return None
        magic, version, header_len = _PREAMBLE.unpack_from(prefix)
        _require(magic == WIRE_MAGIC, f"bad magic {bytes(magic)!r}, expected {WIRE_MAGIC!r}")
        _require(version == WIRE_VERSION, f"version {version}; this reads {WIRE_VERSION}")
        _require(header_len <= MAX_HEADER_BYTES, f"a {header_len}-byte header is too large")
        end = _PREAMBLE.size + header_len
        if len(prefix) < end:
            return None
        header = _decode(bytes(prefix[_PREAMBLE.size : end]), "the header")
        parts = header.get("parts") if isinstance(header, dict) else None
        _require(isinstance(parts, list), "the header has no list of parts")
        lengths = [p.get("length") if isinstance(p, dict) else None for p in parts or []]
        sizes: list[int] = [n for n in lengths if type(n) is int and n >= 0]
        _require(len(sizes) == len(lengths), "bad part lengths")
        return int(end) + sum(sizes)

    @classmethod
    def from_wire(cls, raw: bytes | bytearray | memoryview) -> MimeBundle:
        """Parse `to_wire` output; anything malformed or truncated raises InvalidBundleError."""
        _require(isinstance(raw, (bytes, bytearray, memoryview)), f"got {type(raw).__name__}")
        raw = bytes(raw)
        _require(len(raw) >= _PREAMBLE.size, f"truncated to {len(raw)} bytes")
        magic, version, header_len = _PREAMBLE.unpack_from(raw)
        _require(magic == WIRE_MAGIC, f"bad magic {magic!r}, expected {WIRE_MAGIC!r}")
        _require(
            version == WIRE_VERSION, f"version {version}; this ticketbooth reads {WIRE_VERSION}"
        )
        pos = _PREAMBLE.size + header_len
        _require(pos <= len(raw), f"truncated inside its {header_len}-byte header")
        header = _decode(raw[_PREAMBLE.size : pos], "the header")
        ok = isinstance(header, dict) and set(header) == {"parts", "metadata"}
        ok = ok and isinstance(header["parts"], list) and isinstance(header["metadata"], dict)
        _require(ok, "the header must be {'parts': [...], 'metadata': {...}}")
        data: dict[str, Payload] = {}
        for i, part in enumerate(header["parts"]):
            ok = isinstance(part, dict) and set(part) == {"mime", "kind", "length"}
            _require(ok, f"part {i} must have exactly the keys mime, kind, length")
            mime, kind, length = part["mime"], part["kind"], part["length"]
            what = f"part {i} ({mime!r})"
            _require(isinstance(mime, str) and mime and mime not in data, f"{what}: bad mime")
            _require(kind in ("bytes", "text", "json"), f"{what}: unknown kind {kind!r}")
            _require(type(length) is int and length >= 0, f"{what}: bad length {length!r}")
            chunk, pos = raw[pos : pos + length], pos + length
            _require(len(chunk) == length, f"truncated: {what} has {len(chunk)} of {length} bytes")
            data[mime] = chunk if kind == "bytes" else _decode(chunk, what, kind)
            _require(kind != "json" or isinstance(data[mime], (dict, list)), f"{what}: not JSON")
        _require(pos == len(raw), f"{len(raw) - pos} unexpected trailing bytes")
        return cls(data, header["metadata"])

    def _repr_mimebundle_(
        self, include: Container[str] | None = None, exclude: Container[str] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The Jupyter form: binary payloads base64-encoded, JSON payloads as dicts."""
        data = {
            mime: base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
            for mime, value in self.data.items()
            if (include is None or mime in include) and (exclude is None or mime not in exclude)
        }
        metadata = {k: v for k, v in self.metadata.items() if k in data or k not in self.data}
        return data, metadata


def _type_name(obj: object) -> str:
    module, name = type(obj).__module__, type(obj).__qualname__
    return name if module == "builtins" else f"{module}.{name}"


def _plain(obj: object) -> str:
    text = repr(obj)
    return text if len(text) <= 10_000 else text[:9_999] + "…"


def _from_matplotlib(fig: Any, max_bytes: int) -> tuple[dict[str, Any], dict[str, Any]]:
    images = []
    for fmt in ("png", "svg"):
        fig.savefig(buf := io.BytesIO(), format=fmt, dpi=fig.dpi, bbox_inches="tight")
        images.append(buf.getvalue())
    png, svg = images
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk follows the signature
    data = {"image/png": png, "image/svg+xml": svg.decode("utf-8"), "text/plain": _plain(fig)}
    metadata: dict[str, Any] = {"image/png": {"width": width, "height": height}}
    if len(png) + len(svg) > max_bytes:  # share the PNG alone rather than fail over the SVG
        del data["image/svg+xml"]
        metadata["omitted"] = {"image/svg+xml": f"{len(svg)} bytes, over max_bytes"}
    return data, metadata


def _from_reprs(obj: object) -> tuple[dict[str, Any], dict[str, Any]]:
    """What IPython's display would collect: `_repr_mimebundle_` first, then `_repr_*_`."""
    data: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    if isinstance(obj, type) or hasattr(obj, "_ipython_canary_method_should_not_exist_"):
        return data, metadata  # classes, and objects that answer every attribute lookup
    if callable(method := getattr(obj, "_repr_mimebundle_", None)):
        result = method(include=None, exclude=None)
        bundle, md = result if isinstance(result, tuple) and len(result) == 2 else (result, None)
        if not isinstance(bundle, Mapping | None):
            raise UnshareableObjectError(f"{_type_name(obj)}._repr_mimebundle_ gave no dict")
        data.update(bundle or {})
        metadata.update(md if isinstance(md, Mapping) else {})
    for mime in _REPR_MIMES.split():
        name = f"_repr_{mime.split('/')[1].split('+')[0]}_"
        if mime not in data and callable(method := getattr(obj, name, None)):
            data[mime] = method()
            if isinstance(data[mime], tuple) and len(data[mime]) == 2:  # (data, metadata)
                data[mime], md = data[mime]
                metadata.update({mime: dict(md)} if isinstance(md, Mapping) and md else {})
    return data, metadata


def _coerce(mime: str, value: Any) -> Any:
    """Normalise one display payload: Jupyter gives binary images as base64 str."""
    binary = mime == "application/pdf" or (mime[:6] == "image/" and mime[:9] != "image/svg")
    if isinstance(value, (bytes, bytearray)) and not binary:
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return value  # an unknown binary type: keep the bytes
    try:
        if binary and isinstance(value, str):
            return base64.b64decode("".join(value.split()), validate=True)
        if isinstance(value, str) and (mime == "application/json" or mime.endswith("+json")):
            return json.loads(value)
    except ValueError as exc:
        kind = "base64" if binary else "JSON"
        raise UnshareableObjectError(f"the {mime} payload is not valid {kind}: {exc}") from exc
    return value


def _render(obj: Any, max_bytes: int) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(source, data, metadata) of a non-table object, by duck typing; imports nothing."""
    figure_mod, axes_mod = sys.modules.get("matplotlib.figure"), sys.modules.get("matplotlib.axes")
    fig = obj.figure if axes_mod is not None and isinstance(obj, axes_mod.Axes) else obj
    if figure_mod is not None and isinstance(fig, figure_mod.FigureBase):
        root = fig if isinstance(fig, figure_mod.Figure) else fig.figure  # SubFigure -> root
        return "matplotlib", *_from_matplotlib(root, max_bytes)
    if callable(getattr(obj, "to_plotly_json", None)):
        if callable(getattr(obj, "to_json", None)):  # plotly's encoder: numpy, dates, NaN
            fig = json.loads(obj.to_json(), parse_constant=lambda _constant: None)
        else:
            fig = _jsonable(obj.to_plotly_json(), "the plotly figure")
        keep = {k: v for k, v in fig.items() if k in ("data", "layout", "frames")}
        spec = {"data": [], "layout": {}, **keep}
        return "plotly", {"application/vnd.plotly.v1+json": spec, "text/plain": _plain(obj)}, {}
    altair = any(c.__module__.split(".")[0] == "altair" for c in type(obj).__mro__)
    if altair and callable(getattr(obj, "to_dict", None)):
        spec = obj.to_dict()
        found = re.search(r"/vega-lite/v(\d+)", str(spec.get("$schema", "")))
        mime = f"application/vnd.vegalite.v{found[1] if found else 5}+json"
        return "altair", {mime: spec, "text/plain": _plain(obj)}, {}
    data, metadata = _from_reprs(obj)
    data = {mime: _coerce(mime, value) for mime, value in data.items() if value is not None}
    if not set(data) - {"text/plain"}:
        raise UnshareableObjectError(
            f"cannot share {_type_name(obj)}: it has no rich display representation, "
            f"only a text repr. Use {_ALTERNATIVES}"
        )
    return "repr", {"text/plain": _plain(obj), **data}, metadata


def is_table_type(obj: object) -> bool:
    """A table (or a single column) of pandas, polars, pyarrow or duckdb, or anything with
    the Arrow stream or dataframe interchange protocol: publish_table's, not a figure."""
    mro = [((c.__module__ or "").split(".")[0], c.__name__) for c in type(obj).__mro__]
    return any(name in _TABLE_TYPES.get(top, ()) for top, name in mro) or any(
        hasattr(type(obj), attr) for attr in ("__arrow_c_stream__", "__dataframe__")
    )


def to_mimebundle(obj: object, *, max_bytes: int = DEFAULT_MAX_BYTES) -> MimeBundle:
    """Render a figure or rich display object (see the module docstring) into a MimeBundle."""
    if obj is None or is_table_type(obj):
        why = "it is None" if obj is None else "it is a table; tables go through publish_table"
        raise UnshareableObjectError(f"cannot share {_type_name(obj)}: {why}. Use {_ALTERNATIVES}")
    source, data, metadata = _render(obj, max_bytes)
    bundle = MimeBundle(data, {**metadata, "source": source})
    if (size := bundle.nbytes) > max_bytes:
        raise BundleTooLargeError(
            f"the {source} bundle of {_type_name(obj)} is {size} bytes, over the limit of "
            f"{max_bytes} bytes; lower the figure's dpi or size, plot fewer points, or publish "
            "the underlying data as a table with publish_table"
        )
    return bundle

"""The MIME bundle wire format and the MimeBundle class (rendering: test_objects.py)."""

import base64
import json
import math
import struct

import pytest

from ticketbooth._objects import (
    WIRE_MAGIC,
    WIRE_VERSION,
    InvalidBundleError,
    MimeBundle,
    UnshareableObjectError,
    to_mimebundle,
)

# A valid 1x1 PNG.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


# --- wire format --------------------------------------------------------------------------------


def sample_bundle() -> MimeBundle:
    return MimeBundle(
        {
            "image/png": TINY_PNG,
            "text/plain": "héllo ✓",
            "application/json": {"a": [1, 2.5, None, "x"], "b": {"c": True}},
            "application/vnd.custom+json": [1, 2, 3],
        },
        {"image/png": {"width": 1, "height": 1}, "source": "repr"},
    )


def test_wire_roundtrip_preserves_types() -> None:
    bundle = sample_bundle()
    wire = bundle.to_wire()
    assert wire[:4] == WIRE_MAGIC and wire[4] == WIRE_VERSION
    back = MimeBundle.from_wire(wire)
    assert back == bundle
    assert isinstance(back.data["image/png"], bytes)
    assert isinstance(back.data["text/plain"], str)
    assert MimeBundle.from_wire(bytearray(wire)) == bundle
    assert MimeBundle.from_wire(memoryview(wire)) == bundle
    assert bundle.nbytes == len(TINY_PNG) + len("héllo ✓".encode()) + len(
        json.dumps(bundle.data["application/json"], separators=(",", ":"))
    ) + len("[1,2,3]")


def test_wire_rejects_every_truncation() -> None:
    wire = sample_bundle().to_wire()
    for cut in range(len(wire)):
        with pytest.raises(InvalidBundleError):
            MimeBundle.from_wire(wire[:cut])


def test_wire_rejects_garbage_magic_version_and_trailing_bytes() -> None:
    wire = sample_bundle().to_wire()
    with pytest.raises(InvalidBundleError, match="bad magic"):
        MimeBundle.from_wire(b"hello world, not a bundle")
    with pytest.raises(InvalidBundleError, match="bad magic"):
        MimeBundle.from_wire(b"XXXX" + wire[4:])
    with pytest.raises(InvalidBundleError, match="version 2"):
        MimeBundle.from_wire(wire[:4] + bytes([WIRE_VERSION + 1]) + wire[5:])
    with pytest.raises(InvalidBundleError, match="trailing"):
        MimeBundle.from_wire(wire + b"\x00")
    with pytest.raises(InvalidBundleError, match="truncated"):
        MimeBundle.from_wire(b"")
    with pytest.raises(InvalidBundleError):
        MimeBundle.from_wire("not bytes")  # type: ignore[arg-type]


def forge(header: object, body: bytes = b"", raw_header: bytes | None = None) -> bytes:
    head = json.dumps(header).encode() if raw_header is None else raw_header
    return WIRE_MAGIC + bytes([WIRE_VERSION]) + struct.pack(">I", len(head)) + head + body


@pytest.mark.parametrize(
    ("wire", "match"),
    [
        (forge(None, raw_header=b"{not json"), "header is not"),
        (forge(None, raw_header=b"\xff\xfe"), "header is not"),
        (forge([1, 2]), "header must be"),
        (forge({"parts": [], "metadata": {}, "x": 1}), "header must be"),
        (forge({"parts": {}, "metadata": {}}), "header must be"),
        (forge({"parts": [], "metadata": []}), "header must be"),
        (forge({"parts": [{"mime": "a/b", "kind": "text"}], "metadata": {}}), "exactly the keys"),
        (forge({"parts": [{"mime": "", "kind": "text", "length": 0}], "metadata": {}}), "bad mime"),
        (forge({"parts": [{"mime": 3, "kind": "text", "length": 0}], "metadata": {}}), "bad mime"),
        (
            forge(
                {
                    "parts": [
                        {"mime": "a/b", "kind": "text", "length": 1},
                        {"mime": "a/b", "kind": "text", "length": 1},
                    ],
                    "metadata": {},
                },
                b"xy",
            ),
            "bad mime",
        ),
        (
            forge({"parts": [{"mime": "a/b", "kind": "pickle", "length": 0}], "metadata": {}}),
            "kind",
        ),
        (
            forge({"parts": [{"mime": "a/b", "kind": "text", "length": -1}], "metadata": {}}),
            "length",
        ),
        (
            forge({"parts": [{"mime": "a/b", "kind": "text", "length": 1.0}], "metadata": {}}),
            "length",
        ),
        (
            forge({"parts": [{"mime": "a/b", "kind": "text", "length": True}], "metadata": {}}),
            "length",
        ),
        (
            forge({"parts": [{"mime": "a/b", "kind": "text", "length": 5}], "metadata": {}}, b"ab"),
            "truncated",
        ),
        (
            forge(
                {"parts": [{"mime": "a/b", "kind": "text", "length": 2}], "metadata": {}},
                b"\xff\xfe",
            ),
            "UTF-8",
        ),
        (
            forge(
                {"parts": [{"mime": "a/json", "kind": "json", "length": 3}], "metadata": {}}, b"NaN"
            ),
            "JSON constant",
        ),
        (
            forge(
                {"parts": [{"mime": "a/json", "kind": "json", "length": 2}], "metadata": {}}, b"42"
            ),
            "not JSON",
        ),
        (
            forge(
                {"parts": [{"mime": "a/json", "kind": "json", "length": 2}], "metadata": {}}, b"{]"
            ),
            "not UTF-8 json",
        ),
        (forge({"parts": [], "metadata": {"x": float("nan")}}), "JSON constant"),
    ],
)
def test_wire_rejects_malformed_headers_and_parts(wire: bytes, match: str) -> None:
    with pytest.raises(InvalidBundleError, match=match):
        MimeBundle.from_wire(wire)


def test_wire_header_length_beyond_the_data_is_truncation() -> None:
    wire = WIRE_MAGIC + bytes([WIRE_VERSION]) + struct.pack(">I", 2**32 - 1) + b"{}"
    with pytest.raises(InvalidBundleError, match="truncated"):
        MimeBundle.from_wire(wire)


def test_deeply_nested_json_is_rejected_not_crashing() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    header = {"parts": [{"mime": "a/json", "kind": "json", "length": len(body)}], "metadata": {}}
    with pytest.raises(InvalidBundleError):
        MimeBundle.from_wire(forge(header, body))


# --- MimeBundle itself --------------------------------------------------------------------------


def test_repr_mimebundle_gives_base64_png_and_filters() -> None:
    bundle = sample_bundle()
    data, metadata = bundle._repr_mimebundle_()
    assert data["image/png"] == base64.b64encode(TINY_PNG).decode("ascii")
    assert base64.b64decode(data["image/png"]) == TINY_PNG
    assert data["application/json"] == {"a": [1, 2.5, None, "x"], "b": {"c": True}}
    assert data["text/plain"] == "héllo ✓"
    assert metadata["image/png"] == {"width": 1, "height": 1}
    json.dumps(data)  # what Jupyter will send must be JSON
    data, metadata = bundle._repr_mimebundle_(include={"image/png", "text/plain"})
    assert set(data) == {"image/png", "text/plain"}
    data, metadata = bundle._repr_mimebundle_(exclude={"image/png"})
    assert "image/png" not in data and "image/png" not in metadata
    assert metadata["source"] == "repr"


def test_constructor_normalises_and_validates() -> None:
    bundle = MimeBundle(
        {"image/png": bytearray(TINY_PNG), "application/json": {"x": (1, math.nan, math.inf)}},  # type: ignore[dict-item]
        {"k": (1, 2)},
    )
    assert bundle.data["image/png"] == TINY_PNG and isinstance(bundle.data["image/png"], bytes)
    assert bundle.data["application/json"] == {"x": [1, None, None]}
    assert bundle.metadata == {"k": [1, 2]}
    with pytest.raises(UnshareableObjectError, match="payload is a int"):
        MimeBundle({"text/plain": 3}, {})  # type: ignore[dict-item]
    with pytest.raises(UnshareableObjectError, match="non-empty str"):
        MimeBundle({"": "x"}, {})
    with pytest.raises(UnshareableObjectError, match="not JSON serializable"):
        MimeBundle({"application/json": {"x": {1, 2}}}, {})


def test_repr_is_short() -> None:
    bundle = MimeBundle({"image/png": b"\x00" * 1_000_000}, {"source": "matplotlib"})
    assert repr(bundle) == "MimeBundle(source='matplotlib', image/png: 1000000 B)"


def test_mimebundle_is_accepted_by_to_mimebundle() -> None:
    bundle = sample_bundle()
    again = to_mimebundle(bundle)
    assert again.data == bundle.data

"""What Deephaven holds for ticketbooth: figures as small Arrow tables, the schema sent (and
the column names and types refused before sending), and schemas without Deephaven's own
metadata.

A figure's MIME bundle (`MimeBundle.to_wire`) is a one-column binary table, one row per
chunk; the column's metadata marks it (Deephaven keeps field metadata, not schema metadata),
so `fetch_object` and the widget tell it from a user's table.
"""

from __future__ import annotations

import re

import pyarrow as pa
from pydeephaven._arrow import map_arrow_type
from pydeephaven.dherror import DHError

from ._errors import InvalidInputError
from ._info import ObjectInfo

BUNDLE_COLUMN = "ticketbooth_bundle"
KIND_KEY = b"ticketbooth:kind"
TYPE_KEY = b"ticketbooth:type"
BUNDLE_KIND = b"mimebundle"
_DH_PREFIX = b"deephaven:"


def bundle_table(type_name: str, wire: bytes, chunk_bytes: int) -> pa.Table:
    """`wire` as a table of binary chunks of at most `chunk_bytes` each."""
    field = pa.field(
        BUNDLE_COLUMN,
        pa.binary(),
        nullable=False,
        metadata={KIND_KEY: BUNDLE_KIND, TYPE_KEY: type_name.encode()},
    )
    chunks = [wire[i : i + chunk_bytes] for i in range(0, len(wire), chunk_bytes)] or [b""]
    return pa.table([pa.array(chunks, pa.binary())], schema=pa.schema([field]))


def bundle_type(schema: pa.Schema) -> str | None:
    """The object type a bundle table holds ("Figure"...), or None for a user's table."""
    if len(schema) != 1 or schema[0].name != BUNDLE_COLUMN:
        return None
    meta = schema[0].metadata or {}
    if meta.get(KIND_KEY) != BUNDLE_KIND:
        return None
    kind: bytes = meta.get(TYPE_KEY, b"Figure")
    return kind.decode(errors="replace")


def bundle_wire(table: pa.Table) -> bytes:
    """The MIME bundle's wire bytes back from its table."""
    return b"".join(v.as_py() for v in table.column(0))


def _clean(meta: dict[bytes, bytes] | None) -> dict[bytes, bytes] | None:
    kept = {k: v for k, v in (meta or {}).items() if not k.startswith(_DH_PREFIX)}
    return kept or None


def user_schema(schema: pa.Schema) -> pa.Schema:
    """`schema` without the ``deephaven:`` metadata the server adds."""
    fields = [pa.field(f.name, f.type, f.nullable, _clean(f.metadata)) for f in schema]
    return pa.schema(fields, metadata=_clean(schema.metadata))


def user_table(table: pa.Table) -> pa.Table:
    """`table` with `user_schema` (the same buffers)."""
    return pa.Table.from_arrays(table.columns, schema=user_schema(table.schema))


_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_JAVA_WORDS = frozenset(
    [
        "abstract",
        "assert",
        "boolean",
        "break",
        "byte",
        "case",
        "catch",
        "char",
        "class",
        "const",
        "continue",
        "default",
        "do",
        "double",
        "else",
        "enum",
        "extends",
        "final",
        "finally",
        "float",
        "for",
        "goto",
        "if",
        "implements",
        "import",
        "instanceof",
        "int",
        "interface",
        "long",
        "native",
        "new",
        "package",
        "private",
        "protected",
        "public",
        "return",
        "short",
        "static",
        "strictfp",
        "super",
        "switch",
        "synchronized",
        "this",
        "throw",
        "throws",
        "transient",
        "try",
        "void",
        "volatile",
        "while",
        "true",
        "false",
        "null",
        "_",
    ]
)
#: names Deephaven's query language keeps for itself (row index, keywords)
_QUERY_WORDS = frozenset({"i", "ii", "k", "in", "not"})


def column_problem(name: str) -> str | None:
    """Why a Deephaven server cannot take `name` as a column name, or None."""
    if not _IDENTIFIER.fullmatch(name):
        return "is not a Java identifier (ASCII letters, digits, '_', '$'; no digit first)"
    if name in _JAVA_WORDS or name in _QUERY_WORDS:
        return "is a word Deephaven reserves ('i', 'ii', 'k', 'in', 'not', Java keywords)"
    return None


def estimate(info: ObjectInfo) -> int:
    """A table's size from its schema: fixed widths exact, 64 bytes a variable value."""
    if info.schema is None:
        return 0
    width = sum(
        max(1, f.type.bit_width // 8) if pa.types.is_primitive(f.type) else 64 for f in info.schema
    )
    return width * info.num_rows


#: types Deephaven holds in their plain form (polars hands over large and view strings)
_PLAIN = {
    pa.large_string(): pa.string(),
    pa.string_view(): pa.string(),
    pa.large_binary(): pa.binary(),
    pa.binary_view(): pa.binary(),
}


def as_sent(piece: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """A message-sized batch in the schema sent (its large strings made plain)."""
    columns = [
        c.cast(f.type) if c.type != f.type else c
        for c, f in zip(piece.columns, schema, strict=True)
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def sent_schema(schema: pa.Schema) -> pa.Schema:
    """`schema` with the ``deephaven:type`` each column needs (large and view strings and
    binaries as plain ones); a name or type Deephaven cannot hold is refused here, before
    any data is sent."""
    fields = []
    for f in (pa.field(f.name, _PLAIN.get(f.type, f.type), f.nullable, f.metadata) for f in schema):
        problem = column_problem(f.name)
        if problem is not None:
            raise InvalidInputError(
                f"column {f.name!r} {problem}, so a Deephaven server cannot hold it; rename "
                "it first (e.g. table.rename_columns([...]) or df.rename(columns={...}))"
            )
        try:
            if pa.types.is_map(f.type):  # taken, then never given back (42.7)
                raise DHError("a map column cannot be read back from a Deephaven server")
            dh = map_arrow_type(f.type)
        except DHError:
            raise InvalidInputError(
                f"column {f.name!r} has type {f.type}, which a Deephaven server cannot hold; "
                f"cast it first ({_cast_hint(f.type)})"
            ) from None
        fields.append(pa.field(f.name, f.type, f.nullable, {**(f.metadata or {}), **_b(dh)}))
    return pa.schema(fields, metadata=schema.metadata)


def _cast_hint(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        return f"to its values' type, {t.value_type}"
    if pa.types.is_large_list(t):
        return f"to list<{t.value_type}>"
    if pa.types.is_map(t):
        return "e.g. to two list columns of keys and values, or a string of JSON"
    return "to a type listed in docs/deephaven.md"


def _b(meta: dict[str, str]) -> dict[bytes, bytes]:
    return {k.encode(): v.encode() for k, v in meta.items()}

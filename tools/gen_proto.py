"""Regenerate the committed gRPC stubs in python/ticketbooth/_proto from proto/.

Run ``python tools/gen_proto.py``; CI runs it and fails when the result differs from git.
The proto package stays ``ticketbooth.v1`` on the wire; the Python module path is mapped to
``ticketbooth._proto.v1`` so the stubs import each other from inside the package.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "python"
#: (proto source dir, Python package it maps to, gRPC stubs too?). The Flight subset keeps
#: Arrow's package name on the wire; the broker registers its handlers itself, so it needs
#: only the messages.
SOURCES = (
    (ROOT / "proto" / "ticketbooth" / "v1", "ticketbooth/_proto/v1", True),
    (ROOT / "proto" / "arrow" / "flight" / "protocol", "ticketbooth/_proto/flight", False),
)


def generate(src: Path, package: str, grpc_stubs: bool) -> int:
    include = Path(protoc.__file__).parent / "_proto"
    args = ["protoc", f"-I{package}={src}", f"-I{include}"]
    args += [f"--python_out={OUT}", f"--mypy_out={OUT}"]
    if grpc_stubs:
        args += [f"--grpc_python_out={OUT}", f"--mypy_grpc_out={OUT}"]
    args += [f"{package}/{p.name}" for p in sorted(src.glob("*.proto"))]
    rc = int(protoc.main(args))
    init = OUT / package / "__init__.py"
    if not init.exists():
        init.write_text('"""Generated protobuf and gRPC stubs (do not edit)."""\n')
    return rc


def main() -> int:
    init = OUT / "ticketbooth" / "_proto" / "__init__.py"
    if not init.exists():
        init.write_text('"""Generated protobuf and gRPC stubs (do not edit)."""\n')
    return max(generate(*source) for source in SOURCES)


if __name__ == "__main__":
    sys.exit(main())

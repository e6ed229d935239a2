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
SRC = ROOT / "proto" / "ticketbooth" / "v1"
OUT = ROOT / "python"


def main() -> int:
    files = sorted(p.name for p in SRC.glob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-Iticketbooth/_proto/v1={SRC}",
        f"-I{include}",
        f"--python_out={OUT}",
        f"--grpc_python_out={OUT}",
        f"--mypy_out={OUT}",
        f"--mypy_grpc_out={OUT}",
    ] + [f"ticketbooth/_proto/v1/{name}" for name in files]
    rc = protoc.main(args)
    for pkg in (OUT / "ticketbooth" / "_proto", OUT / "ticketbooth" / "_proto" / "v1"):
        init = pkg / "__init__.py"
        if not init.exists():
            init.write_text('"""Generated protobuf and gRPC stubs (do not edit)."""\n')
    return int(rc)


if __name__ == "__main__":
    sys.exit(main())

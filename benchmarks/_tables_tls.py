"""A self-signed certificate for bench_tables.py's TLS rows, made at run time (the tests'
maker, tests/certs.py: the cryptography package, else the openssl CLI)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests/
from tests.certs import make_cert


def self_signed_cert(directory: Path, ips: tuple[str, ...] = ()) -> tuple[Path, Path, str]:
    """(cert.pem, key.pem, what made them) for CN=localhost, SAN localhost, 127.0.0.1 and
    `ips` (the server's address on an emulated link, --link)."""
    return make_cert(directory, ips)

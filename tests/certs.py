"""Self-signed certificates for the TLS tests: with the openssl CLI, or the cryptography
package (both are tried, so each source is exercised where it is available)."""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
from pathlib import Path


def cert_with_openssl(directory: Path, ips: tuple[str, ...] = ()) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("openssl")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost," + ",".join(f"IP:{ip}" for ip in ("127.0.0.1", *ips)),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


def cert_with_cryptography(directory: Path, ips: tuple[str, ...] = ()) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    *(x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", *ips)),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def make_cert(directory: Path, ips: tuple[str, ...] = ()) -> tuple[Path, Path, str]:
    """(cert.pem, key.pem, what made them), CN=localhost with SAN localhost, 127.0.0.1 and
    `ips`: the cryptography package, else the openssl CLI (also used by the benchmarks).

    Raises:
        RuntimeError: neither is available.
    """
    directory.mkdir(parents=True, exist_ok=True)
    try:
        return (*cert_with_cryptography(directory, ips), "cryptography")
    except ImportError:
        pass
    try:
        return (*cert_with_openssl(directory, ips), "openssl")
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        raise RuntimeError("a certificate needs the cryptography package or openssl") from exc


def self_signed_cert(directory: Path, tool: str | None = None) -> tuple[Path, Path]:
    """A self-signed certificate for the tests: openssl, else cryptography (skips the test
    when the one asked for, or both, are missing)."""
    import pytest

    directory.mkdir(parents=True, exist_ok=True)
    if tool in (None, "openssl"):
        try:
            return cert_with_openssl(directory)
        except (FileNotFoundError, subprocess.CalledProcessError):
            if tool == "openssl":
                pytest.skip("the openssl CLI is missing or cannot make the certificate")
    try:
        return cert_with_cryptography(directory)
    except ImportError:
        pytest.skip("neither the openssl CLI nor the cryptography package is available")

"""Who can reach the broker and its data: file modes, loopback-only TCP, tokens, TLS."""

from __future__ import annotations

import ipaddress
import os
import stat
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import ticketbooth as tb
from tests.certs import self_signed_cert
from tests.conftest import BrokerProcess, start_broker
from tests.integration.conftest import segment_name


def mode(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def sample_table(n: int = 5000) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "label": [f"item-{i}" for i in range(n)],
            "value": np.random.default_rng(7).random(n),
        }
    )


# files and directories -------------------------------------------------------------------------
def test_connection_file_is_private(broker: BrokerProcess) -> None:
    assert mode(broker.connection_file) == 0o600
    assert os.stat(broker.connection_file).st_uid == os.getuid()
    assert broker.token in broker.connection_file.read_text()


def test_shm_dir_and_segments_are_private(broker: BrokerProcess) -> None:
    with tb.Session() as s, tb.Session(force_remote=True) as remote:
        shm_dir = Path(s._backend.server.shm_dir)
        assert s.same_host
        assert mode(shm_dir) == 0o700
        assert shm_dir.stat().st_uid == os.getuid()

        s.publish_table(sample_table(), "sales")  # written by the client, claimed by the broker
        remote.publish_table(sample_table(), "remote-sales")  # written by the broker
        for name in ("sales", "remote-sales"):
            segment = shm_dir / segment_name(s, name)
            assert segment.parent == shm_dir
            assert segment.is_file()
            assert mode(segment) == 0o600, (name, oct(mode(segment)))
        for entry in shm_dir.iterdir():
            assert mode(entry) == 0o600, (entry.name, oct(mode(entry)))


def test_unix_socket_dir_is_private(broker: BrokerProcess) -> None:
    assert broker.url.startswith("unix://")
    sock = Path(broker.url.removeprefix("unix://"))
    assert stat.S_ISSOCK(os.stat(sock).st_mode)
    assert mode(sock.parent) == 0o700
    assert sock.parent.stat().st_uid == os.getuid()


# TCP -------------------------------------------------------------------------------------------
def _decode(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address as /proc/net/tcp{,6} prints it: 32-bit words in host (little-endian) order."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words)


def listening_addresses(port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Local addresses of LISTEN sockets on `port`, from /proc/net/tcp and tcp6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A = LISTEN
                found.append(_decode(address))
    return found


def is_loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def test_tcp_listens_on_loopback_only(broker: BrokerProcess) -> None:
    assert broker.tcp_url is not None
    assert broker.tcp_url.startswith("127.0.0.1:")
    port = int(broker.tcp_url.rsplit(":", 1)[1])
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp to inspect listening sockets")
    addresses = listening_addresses(port)
    assert addresses, f"nothing listens on port {port}"
    # 127.0.0.1 (possibly as ::ffff:127.0.0.1), never 0.0.0.0 or ::
    assert all(is_loopback(a) for a in addresses), addresses


def test_tcp_session_with_token(broker: BrokerProcess) -> None:
    assert broker.tcp_url is not None
    data = sample_table()
    with tb.Session(broker.url, token=broker.token) as local:
        local.publish_table(data, "sales")
        shared = tb.SharedTicket.random_ticket()
        local.publish_table(data, shared)
        with tb.Session(broker.tcp_url, token=broker.token, force_remote=True) as remote:
            assert not remote.same_host
            assert remote.fetch_table("sales").to_arrow().equals(data)
            assert remote.fetch_table(shared).to_arrow().equals(data)
            # and the other direction: published over TCP, fetched over the unix socket
            remote.publish_table(data.slice(0, 10), "from-tcp")
            assert local.fetch_table("from-tcp").to_arrow().equals(data.slice(0, 10))
    with pytest.raises(tb.AuthenticationError, match="wrong token"):
        tb.Session(broker.tcp_url, token=broker.token + "x")


# TLS -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tool", ["openssl", "cryptography"])
def test_tls_round_trip(tmp_path: Path, tool: str) -> None:
    cert, key = self_signed_cert(tmp_path / "certs", tool)
    b = start_broker(
        tmp_path / "rt-tls", "--port", "0", "--tls-cert", str(cert), "--tls-key", str(key)
    )
    try:
        assert b.tcp_url is not None
        assert b.tcp_url.startswith("grpcs://127.0.0.1:")
        data = sample_table()
        with tb.Session(
            b.tcp_url, token=b.token, tls_root_certs=str(cert), force_remote=True
        ) as publisher:
            publisher.publish_table(data, "secure")
            shared = tb.SharedTicket.random_ticket()
            publisher.publish_table(data, shared)
            # root certs as bytes, and the DNS name instead of the IP address
            port = b.tcp_url.rsplit(":", 1)[1]
            for url in (b.tcp_url, f"grpcs://localhost:{port}"):
                with tb.Session(
                    url, token=b.token, tls_root_certs=cert.read_bytes(), force_remote=True
                ) as reader:
                    assert reader.fetch_table("secure").to_arrow().equals(data)
                    assert reader.fetch_table(shared).to_arrow().equals(data)
    finally:
        b.stop()


def test_plaintext_client_against_tls_port(tls_broker: tuple[BrokerProcess, Path]) -> None:
    b, _cert = tls_broker
    assert b.tcp_url is not None
    plain_url = b.tcp_url.removeprefix("grpcs://")
    with pytest.raises(tb.BrokerUnavailableError) as info:
        tb.Session(plain_url, token=b.token, timeout=5)
    assert "broker" in str(info.value)


def test_tls_client_without_the_ca_is_refused(tls_broker: tuple[BrokerProcess, Path]) -> None:
    b, _cert = tls_broker
    assert b.tcp_url is not None
    with pytest.raises(tb.BrokerUnavailableError):
        tb.Session(b.tcp_url, token=b.token, timeout=5)


def test_tls_wrong_token(tls_broker: tuple[BrokerProcess, Path]) -> None:
    b, cert = tls_broker
    assert b.tcp_url is not None
    with pytest.raises(tb.AuthenticationError, match="wrong token"):
        tb.Session(b.tcp_url, token="wrong", tls_root_certs=str(cert), timeout=5)

"""Raw loopback sockets for bench_tables.py: the ceiling for moving N bytes between two
processes, over TCP or over TLS (Python's ssl module, the certificate of the run).

    server  holds a prebuilt buffer of N bytes (every page written); for each connection:
            the TLS handshake (TLS only), a 1-byte request, ``sendall`` of the whole
            buffer, then it waits for the client to close
    client  (a fresh process per run) allocates an N-byte buffer and writes every page of it
            (timed apart: ``first_touch_s``), connects and finishes the handshake, then
            times: send the request -> ``recv_into`` the buffer until all N bytes are in

Nothing is parsed or copied beyond what the kernel (and TLS) must do, and the receiver's
pages are already faulted in: no table path can beat this.

With ``bio`` (TLS only) both ends drive the same ssl module through ``ssl.MemoryBIO``
instead of an ``SSLSocket``: the server encrypts 1 MiB at a time and sends the records in
one ``sendall``; the client reads the socket 4 MiB at a time and decrypts from there into
its buffer. That is one more copy, but it takes ~60 times fewer system calls than an
SSLSocket, which sends and reads one 16 KiB record at a time.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from typing import Any

import numpy as np
from _tables_procs import HOST, clock_starts, emit, exit_when_stdin_closes, run_role

PATTERN = 251  # byte i of the payload is i % 251 (a prime: no alignment hides a misplaced chunk)


def payload(n: int) -> np.ndarray:
    return np.tile(np.arange(PATTERN, dtype=np.uint8), n // PATTERN + 1)[:n].copy()


def serve(cfg: dict[str, Any]) -> None:
    data = memoryview(payload(cfg["nbytes"]))
    ctx = None
    if cfg.get("cert"):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cfg["cert"], cfg["key"])
    listener = socket.create_server((HOST, 0))
    threading.Thread(target=exit_when_stdin_closes, daemon=True).start()
    emit(port=listener.getsockname()[1])
    while True:
        conn, _ = listener.accept()
        try:
            if ctx and cfg.get("bio"):
                with conn:
                    _serve_bio(ctx, conn, data)
                continue
            sock = ctx.wrap_socket(conn, server_side=True) if ctx else conn
            with sock:
                if sock.recv(1) == b"g":
                    sock.sendall(data)
                    sock.recv(1)  # returns when the client closes
        except (OSError, ssl.SSLError):
            pass  # a client killed at its budget: serve the next one


def _serve_bio(ctx: ssl.SSLContext, conn: socket.socket, data: memoryview) -> None:
    tls, incoming, outgoing = _bio(ctx, conn, server_side=True)
    if _pull(tls, incoming, conn, lambda: tls.read(1)) != b"g":
        return
    for i in range(0, len(data), 1 << 20):
        tls.write(data[i : i + (1 << 20)])
        conn.sendall(outgoing.read())
    conn.recv(1)  # returns when the client closes


def _bio(ctx: ssl.SSLContext, conn: socket.socket, **kw: Any) -> Any:
    """An SSLObject over `conn` through memory BIOs, its handshake done."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, **kw)
    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            conn.sendall(outgoing.read())
            _feed(incoming, conn, 1 << 16)
    conn.sendall(outgoing.read())
    return tls, incoming, outgoing


def _feed(incoming: ssl.MemoryBIO, conn: socket.socket, size: int) -> None:
    chunk = conn.recv(size)
    if not chunk:
        raise ConnectionError("the peer closed the connection")
    incoming.write(chunk)


def _pull(tls: Any, incoming: ssl.MemoryBIO, conn: socket.socket, fn: Any) -> Any:
    while True:
        try:
            return fn()
        except ssl.SSLWantReadError:
            _feed(incoming, conn, 1 << 16)


def _receive_bio(ctx: ssl.SSLContext, sock: socket.socket, view: memoryview) -> tuple[Any, ...]:
    """Handshake, then time: request -> every byte decrypted into `view`."""
    tls, incoming, outgoing = _bio(ctx, sock, server_hostname=HOST)
    n, got = len(view), 0
    raw = bytearray(4 << 20)
    t0 = clock_starts()
    tls.write(b"g")
    sock.sendall(outgoing.read())
    while got < n:
        try:
            got += tls.read(n - got, view[got:])
        except ssl.SSLWantReadError:
            k = sock.recv_into(raw)
            if not k:
                raise ConnectionError(f"the server closed after {got:,} of {n:,} bytes") from None
            incoming.write(memoryview(raw)[:k])
    return time.perf_counter() - t0, got, tls.cipher()


def client(cfg: dict[str, Any]) -> None:
    n = cfg["nbytes"]
    buf = np.empty(n, dtype=np.uint8)
    t0 = time.perf_counter()
    buf.fill(1)  # fault every page in before the clock starts
    touch_s = time.perf_counter() - t0
    view = memoryview(buf)
    sock = socket.create_connection((HOST, cfg["port"]))
    if cfg.get("cert") and cfg.get("bio"):
        with sock:
            ctx = ssl.create_default_context(cafile=cfg["cert"])
            seconds, got, cipher = _receive_bio(ctx, sock, view)
        _check(buf, n)
        emit(seconds=seconds, bytes=got, first_touch_s=touch_s, cipher=cipher)
        return
    if cfg.get("cert"):
        ctx = ssl.create_default_context(cafile=cfg["cert"])
        sock = ctx.wrap_socket(sock, server_hostname=HOST)  # handshake now
    with sock:
        t0 = clock_starts()
        sock.sendall(b"g")
        got = 0
        while got < n:
            k = sock.recv_into(view[got:], n - got)
            if not k:
                raise ConnectionError(f"the server closed after {got:,} of {n:,} bytes")
            got += k
        seconds = time.perf_counter() - t0
        cipher = sock.cipher() if isinstance(sock, ssl.SSLSocket) else None
    _check(buf, n)
    del buf, view
    pool_s = _pool_touch(n) if cfg.get("probe_pool") else None
    emit(seconds=seconds, bytes=got, first_touch_s=touch_s, pool_touch_s=pool_s, cipher=cipher)


def _pool_touch(n: int) -> float:
    """Seconds to write every page of n fresh bytes from pyarrow's default memory pool: the
    memory an Arrow receiver fills (numpy asks for transparent huge pages; the pool not)."""
    import pyarrow as pa

    t0 = time.perf_counter()
    buf = pa.allocate_buffer(n)
    np.frombuffer(buf, dtype=np.uint8).fill(1)  # type: ignore[call-overload]
    return time.perf_counter() - t0


def _check(buf: np.ndarray, n: int) -> None:
    probe = np.array([0, 1, n // 3, n // 2, n - 1])
    if not np.array_equal(buf[probe], (probe % PATTERN).astype(np.uint8)):
        raise ValueError("the received bytes are not the payload")


if __name__ == "__main__":
    run_role(serve, client)

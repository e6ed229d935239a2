"""One gRPC channel to a broker: stubs, auth metadata, and error translation.

Also the address and TLS checks both ends share: what a TCP address looks like, whether a
host is loopback, why a listening address could not be bound, and why nothing answered.
"""

from __future__ import annotations

import errno
import ipaddress
import re
import socket
import ssl
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from . import _discovery
from ._errors import (
    AuthenticationError,
    BrokerUnavailableError,
    InvalidInputError,
    TicketboothError,
    from_rpc_error,
)
from ._proto.v1 import broker_pb2_grpc as pb_grpc

T = TypeVar("T")
CLIENT_MESSAGE_LIMIT = 256 * 1024 * 1024
PROBE_TIMEOUT_S = 3.0


def grpc_target(url: str) -> tuple[str, bool]:
    """Map a ticketbooth URL to (gRPC target, use TLS)."""
    if url.startswith("unix:"):
        return url, False
    if url.startswith("grpcs://"):
        return url[len("grpcs://") :], True
    return url.removeprefix("grpc://"), False


# addresses -------------------------------------------------------------------------------------
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}")


def check_url(url: object) -> str:
    """`url` if it has the shape of a broker address, else a clear error.

    Raises:
        InvalidInputError: not ``unix:...``, ``host:port``, ``grpc://`` or ``grpcs://host:port``.
    """
    if isinstance(url, str) and url.startswith("unix:"):
        return url
    if not isinstance(url, str) or _HOST_PORT.fullmatch(grpc_target(url)[0]) is None:
        raise InvalidInputError(
            f"{url!r} is not a broker address: use host:port (localhost:10000), "
            "grpcs://host:port for TLS, or unix:///path/broker.sock"
        )
    return url


def tcp_address(host: str, port: int) -> str:
    """``host:port``, with an IPv6 host in brackets (``[::1]:10000``)."""
    host = host.strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_loopback(host: str) -> bool:
    """True when `host` names this machine only: ``localhost`` or a loopback address."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port(port: int) -> int:
    """Return `port` if it is a TCP port number (0 picks a free one), else raise.

    Raises:
        InvalidInputError: outside 0..65535.
    """
    if not 0 <= port <= 65535:
        raise InvalidInputError(f"{port} is not a TCP port: use 0..65535 (0 picks a free port)")
    return port


def bind_problem(host: str, port: int) -> str | None:
    """Why listening on `host`:`port` would fail, as one sentence saying what to do.

    Checked before the broker starts (the gRPC server only says "Failed to bind", and logs
    a line of its own), and again when the gRPC server refused the address.

    Returns:
        The reason, or None when a socket can be bound there now.
    """
    address = tcp_address(host, port)
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return f"cannot listen on {address}: {host!r} is not a known host name or IP address"
    for family, kind, proto, _name, sockaddr in infos:
        with socket.socket(family, kind, proto) as sock:
            # as gRPC binds: a port whose last broker just exited (TIME_WAIT) is free
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(sockaddr)
            except OSError as exc:
                return _bind_error(address, exc)
    return None


def _bind_error(address: str, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"cannot listen on {address}: the port is already in use (another broker?); "
            "choose another --port, or --port 0 for any free port"
        )
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"cannot listen on {address}: the address is not one of this machine's; "
            "use one of its addresses, 127.0.0.1, or 0.0.0.0 for all"
        )
    if exc.errno == errno.EACCES:
        return f"cannot listen on {address}: permission denied; use a port above 1023"
    return f"cannot listen on {address}: {exc.strerror}"


def read_tls_pair(cert: str | None, key: str | None) -> tuple[bytes, bytes]:
    """Read and check a PEM certificate and its private key for a TLS server.

    Args:
        cert: path of the PEM certificate (chain).
        key: path of the matching unencrypted PEM private key.

    Returns:
        (key bytes, certificate bytes), the order ``grpc.ssl_server_credentials`` takes.

    Raises:
        InvalidInputError: one of the two is missing, a file cannot be read, is not PEM,
            the key is encrypted, or the key does not belong to the certificate.
    """
    if not cert or not key:
        given, missing = ("--tls-cert", "--tls-key") if cert else ("--tls-key", "--tls-cert")
        raise InvalidInputError(f"{given} needs {missing}: TLS takes a certificate and its key")
    pem = {name: read_file(name, path) for name, path in (("--tls-cert", cert), ("--tls-key", key))}
    if b"-----BEGIN CERTIFICATE-----" not in pem["--tls-cert"]:
        raise InvalidInputError(f"--tls-cert {cert} holds no PEM certificate")
    if b"PRIVATE KEY-----" not in pem["--tls-key"]:
        raise InvalidInputError(f"--tls-key {key} holds no PEM private key")
    _check_pair(cert, key)
    return pem["--tls-key"], pem["--tls-cert"]


def read_file(option: str, path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise InvalidInputError(f"cannot read {option} {path}: {exc.strerror}") from None


def _no_password() -> bytes:
    raise InvalidInputError("the key is encrypted")


def _check_pair(cert: str, key: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key, password=_no_password)
    except InvalidInputError:
        raise InvalidInputError(
            f"--tls-key {key} is encrypted: give the broker an unencrypted key "
            "(e.g. `openssl pkey -in KEY -out PLAIN`, then `chmod 600 PLAIN`)"
        ) from None
    except ssl.SSLError as exc:
        why = "the key does not belong to the certificate" if "MISMATCH" in str(exc) else exc
        raise InvalidInputError(
            f"--tls-cert {cert} and --tls-key {key} are not a usable certificate and key: {why}"
        ) from None


# why nothing answered ---------------------------------------------------------------------------
def _probe(target: str) -> str:
    """What listens at a gRPC target: "nothing", "tls", "plaintext" or "unknown"."""
    if target.startswith("unix:"):
        path = target.removeprefix("unix:").removeprefix("//")
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(PROBE_TIMEOUT_S)
            try:
                sock.connect(path)
            except OSError:
                return "nothing"
        return "plaintext"
    host, _, port = target.rpartition(":")
    if not port.isdigit():
        return "unknown"
    try:
        sock = socket.create_connection((host.strip("[]"), int(port)), PROBE_TIMEOUT_S)
    except OSError:
        return "nothing"
    return _tls_handshake(sock, host.strip("[]"))


def _tls_handshake(sock: socket.socket, host: str) -> str:
    """Return "tls" if a TLS handshake (any certificate) succeeds on `sock`, else "plaintext"."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    try:
        with context.wrap_socket(sock, server_hostname=host or None):
            return "tls"
    except TimeoutError:
        return "unknown"
    except (ssl.SSLError, OSError):
        return "plaintext"
    finally:
        sock.close()


def unavailable_hint(url: str, detail: str) -> str | None:
    """What to do when the first call to `url` found no broker, or None if unclear.

    Looks at what listens there: nothing, a TLS port reached without TLS (use grpcs://),
    a plaintext port reached with TLS (drop the s), or a certificate this client distrusts.
    """
    target, tls = grpc_target(url)
    found = _probe(target)
    if found == "nothing":
        return _nothing_there(url, target)
    if found == "tls" and not tls:
        return (
            f"the broker at {target} uses TLS: connect to grpcs://{target} instead (with "
            "tls_root_certs=... if its certificate is self-signed)"
        )
    if found == "plaintext" and tls and not target.startswith("unix:"):
        return f"the broker at {target} does not use TLS: connect to {target} (drop the s)"
    if tls and "CERTIFICATE_VERIFY_FAILED" in detail:
        return (
            f"this client does not trust the certificate of {target}: pass the PEM of the CA "
            "that signed it (or the self-signed certificate) as tls_root_certs=... "
            "(--tls-root-certs for the CLI)"
        )
    return None


def _nothing_there(url: str, target: str) -> str:
    if target.startswith("unix:"):
        return (
            f"nothing answers at {url}: the broker that listened there has exited; "
            "start one with `ticketbooth serve`, or use Session() to start one"
        )
    port = target.rpartition(":")[2]
    return (
        f"nothing answers at {url}: check the address, or start a broker there with "
        f"`ticketbooth serve --port {port}` (add --host and --tls-cert/--tls-key "
        "to reach it from other machines)"
    )


def _where_the_token_is(url: str) -> str:
    """Where the token of the broker at `url` can be found, as a phrase."""
    local = _discovery.local_connection_file(url)
    if local is not None:
        return f"its connection file {local[0]}"
    return (
        f"its connection file ({_discovery.CONNECTION_FILE} in the Jupyter runtime dir of the "
        "broker's machine, unless `ticketbooth serve --connection-file` put it elsewhere; "
        "`ticketbooth serve` prints the path)"
    )


def token_advice(url: str, has_token: bool, detail: str) -> str:
    """The message for a refused token: what was wrong and where the right token is."""
    use = (
        f"pass it as token=..., set {_discovery.ENV_TOKEN}, or give the CLI --token-file FILE "
        "(a file only you can read)"
    )
    where = _where_the_token_is(url)
    if not has_token:
        return f"a token is required to connect to {url}: the token is in {where}; {use}"
    if detail.startswith("wrong token"):
        return f"wrong token for the broker at {url}: the right one is in {where}; {use}"
    return f"the broker at {url} refused the token ({detail}): the right one is in {where}; {use}"


class Connection:
    """A channel to one broker, with the token (and later the session) sent on every call.

    Args:
        url: the broker's address (``unix://...``, ``host:port``, ``grpcs://host:port``).
        token: the broker's token; "" sends none (the broker then says one is needed).
        root_certs: PEM of the CA to trust for TLS (None: the system's).

    Raises:
        InvalidInputError: the token is malformed (see `_discovery.check_token`).
    """

    def __init__(self, url: str, token: str, root_certs: bytes | None = None) -> None:
        if token:
            _discovery.check_token(token, "the token=... argument")
        target, tls = grpc_target(url)
        options = [
            ("grpc.max_receive_message_length", CLIENT_MESSAGE_LIMIT),
            ("grpc.max_send_message_length", CLIENT_MESSAGE_LIMIT),
            ("grpc.enable_retries", 0),
        ]
        if tls or root_certs is not None:
            creds = grpc.ssl_channel_credentials(root_certificates=root_certs)
            self.channel = grpc.secure_channel(target, creds, options=options)
        else:
            self.channel = grpc.insecure_channel(target, options=options)
        self.url = url
        self._auth: list[tuple[str, str]] = [("authorization", f"Bearer {token}")] if token else []
        self.metadata: list[tuple[str, str]] = list(self._auth)
        self._opened = False
        self.sessions = pb_grpc.SessionServiceStub(self.channel)
        self.tables = pb_grpc.TableServiceStub(self.channel)
        self.objects = pb_grpc.ObjectServiceStub(self.channel)

    def set_session(self, session_id: str) -> None:
        """Send `session_id` with every later call (after OpenSession succeeded)."""
        self.metadata = [*self._auth, ("x-ticketbooth-session", session_id)]
        self._opened = True

    def call(self, what: str, method: Callable[..., T], request: Any, timeout: float = 30.0) -> T:
        """Call a unary (or client-streaming) method, raising TicketboothError on failure."""
        try:
            return method(request, metadata=self.metadata, timeout=timeout)
        except grpc.RpcError as err:
            raise self.error(err, what) from None

    def error(self, err: grpc.RpcError, what: str) -> TicketboothError:
        """Translate a failed call like `from_rpc_error`, adding what this connection knows.

        A refused token names where the right one is; a first call that found no broker
        says whether nothing listens, or TLS is used on one side only.
        """
        code = err.code() if isinstance(err, grpc.Call) else grpc.StatusCode.UNKNOWN
        detail = (err.details() if isinstance(err, grpc.Call) else None) or str(err)
        if code == grpc.StatusCode.UNAUTHENTICATED:
            return AuthenticationError(token_advice(self.url, bool(self._auth), detail))
        if code == grpc.StatusCode.UNAVAILABLE and not self._opened:
            hint = unavailable_hint(self.url, detail)
            if hint is not None:
                return BrokerUnavailableError(f"{hint} ({what}: {detail})")
        return from_rpc_error(err, what)

    @property
    def md(self) -> tuple[tuple[str, str], ...]:
        return tuple(self.metadata)

    def close(self) -> None:
        self.channel.close()

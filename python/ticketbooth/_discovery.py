"""Finding a broker: explicit address, environment, connection file, or an embedded one."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ._errors import InvalidInputError

CONNECTION_FILE = "ticketbooth-broker.json"
ENV_URL = "TICKETBOOTH_URL"
ENV_TOKEN = "TICKETBOOTH_TOKEN"
ENV_IDLE = "TICKETBOOTH_IDLE_TIMEOUT"
DEFAULT_IDLE_TIMEOUT_S = 300.0
TOKEN_RULE = "printable ASCII characters without spaces, at most 1024 of them"
MAX_TOKEN_LENGTH = 1024
MAX_TOKEN_FILE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Endpoint:
    """Where a broker listens and how to authenticate; `source` says how it was found.

    An empty `token` means none was found: the broker's answer says whether it needs one.
    The token is left out of the repr, so printing an endpoint does not leak it.
    """

    url: str
    token: str = field(repr=False)
    source: str
    connection_file: str | None = None


# tokens ----------------------------------------------------------------------------------------
def new_token() -> str:
    """A random broker token: 43 URL-safe characters that never start with '-'.

    A token starting with '-' is taken for an option when it is passed on a command line,
    so such draws are discarded.

    Returns:
        The token (about 256 random bits).
    """
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def check_token(token: object, source: str) -> str:
    """Return `token` if gRPC can carry it, else raise InvalidInputError naming `source`.

    Args:
        token: the candidate token.
        source: where it came from, for the message (e.g. "TICKETBOOTH_TOKEN").

    Returns:
        The token unchanged.

    Raises:
        InvalidInputError: not a str, empty, too long, or a character outside printable
            ASCII (a space, a newline, a non-ASCII letter). The token itself is never quoted.
    """
    if not isinstance(token, str):
        raise InvalidInputError(
            f"the token from {source} must be a str, not {type(token).__name__}"
        )
    if not token:
        raise InvalidInputError(f"the token from {source} is empty; a token is {TOKEN_RULE}")
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidInputError(
            f"the token from {source} is {len(token)} characters long; a token is {TOKEN_RULE}"
        )
    for i, char in enumerate(token):
        if not "!" <= char <= "~":
            raise InvalidInputError(
                f"the token from {source} has {char!r} at position {i + 1}; a token is "
                f"{TOKEN_RULE} (a file or variable often ends with a stray newline or space)"
            )
    return token


def _read_private(path: str, what: str, max_bytes: int = MAX_TOKEN_FILE_BYTES) -> str:
    """The text of a regular file only its owner can read (tokens live in it).

    Raises:
        InvalidInputError: unreadable, not a regular file, open to the group or others (the
            message says ``chmod 600``), or larger than `max_bytes`.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise InvalidInputError(f"cannot read {what} {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInputError(f"{what} {path} is not a regular file")
        if st.st_mode & 0o077:
            raise InvalidInputError(
                f"{what} {path} is accessible to other users (mode "
                f"{stat.S_IMODE(st.st_mode):o}): run `chmod 600 {path}` and keep it private"
            )
        raw = f.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise InvalidInputError(f"{what} {path} is larger than {max_bytes} bytes")
    return raw.decode("latin-1")


def read_token_file(path: str) -> str:
    """Read a token from a file only its owner can read; surrounding whitespace is ignored.

    Args:
        path: the file (``ticketbooth serve --token-file``, ``ticketbooth ls --token-file``).

    Returns:
        The token.

    Raises:
        InvalidInputError: the file cannot be read, is not a regular file, is open to the
            group or others (the message says ``chmod 600``), or holds an invalid token.
    """
    text = _read_private(path, "token file").strip()
    return check_token(text, f"token file {path}")


def read_users_file(path: str) -> dict[str, str]:
    """Per-user tokens for a shared broker: one ``<user> <token>`` per line, ``#`` comments.

    Returns:
        user name -> token.

    Raises:
        InvalidInputError: the file is not private (see `read_token_file`), a line is not
            ``<user> <token>``, a user name breaks the scope-name rule, a token is invalid,
            or a user or token appears twice; the message names the line.
    """
    from ._limits import NAME_PATTERN, NAME_RULE

    users: dict[str, str] = {}
    text = _read_private(path, "users file", 16 * 1024 * 1024)
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"users file {path}, line {number}"
        parts = line.split()
        if len(parts) != 2:
            raise InvalidInputError(f"{where}: expected `<user> <token>`, got {len(parts)} words")
        user, token = parts
        if not NAME_PATTERN.fullmatch(user) or len(user) > 64:
            raise InvalidInputError(f"{where}: user names are {NAME_RULE}, at most 64 of them")
        check_token(token, where)
        if user in users:
            raise InvalidInputError(f"{where}: user {user} appears twice")
        if token in users.values():
            raise InvalidInputError(f"{where}: this token is already another user's")
        users[user] = token
    if not users:
        raise InvalidInputError(f"users file {path} names no users (`<user> <token>` lines)")
    return users


def runtime_dir() -> str:
    """The Jupyter runtime directory (created 0700 if missing)."""
    from jupyter_core.paths import jupyter_runtime_dir

    path = str(jupyter_runtime_dir())
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def connection_file_path() -> str:
    """The default connection file, in the Jupyter runtime dir (created if missing)."""
    return os.path.join(runtime_dir(), CONNECTION_FILE)


def write_connection_file(path: str, info: dict[str, Any]) -> None:
    """Write `info` as JSON readable by this user only, atomically."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(info, f, indent=1)
    os.replace(tmp, path)


def read_connection_file(path: str) -> dict[str, Any] | None:
    """The file's content if it describes a broker whose process is alive, else None."""
    try:
        with open(path) as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("url"), str):
        return None
    pid = info.get("pid")
    if isinstance(pid, int) and info.get("hostname") == os.uname().nodename:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
    return info


def remove_stale(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


LOOPBACK = {"localhost", "127.0.0.1", "::1", "[::1]"}


def _same_address(a: str, b: str) -> bool:
    """True for the same URL, or host:port pairs naming the same loopback port."""
    if a == b:
        return True
    a, b = a.split("://")[-1], b.split("://")[-1]
    (ha, _, pa), (hb, _, pb) = a.rpartition(":"), b.rpartition(":")
    return pa == pb and pa.isdigit() and ha in LOOPBACK and hb in LOOPBACK


def local_connection_file(url: str) -> tuple[str, dict[str, Any]] | None:
    """The default connection file and its content, if it describes the broker at `url`.

    Unlike `connection_file_path`, this never creates the runtime directory.
    """
    from jupyter_core.paths import jupyter_runtime_dir

    path = os.path.join(str(jupyter_runtime_dir()), CONNECTION_FILE)
    info = read_connection_file(path)
    if not info:
        return None
    known = [u for u in (info.get("url"), info.get("tcp_url")) if isinstance(u, str)]
    if any(_same_address(url, u) for u in known):
        return path, info
    return None


def explicit(url: str, token: str | None) -> Endpoint:
    """The endpoint for a given address; its token from `token`, the environment or a file.

    Args:
        url: the broker's address.
        token: the token given by the caller; None or "" to look for one.

    Returns:
        An Endpoint whose token is "" when none was found: whether the broker needs one
        (it always does) or answers at all is then told by the broker, not guessed here.

    Raises:
        InvalidInputError: the token found is malformed (see `check_token`).
    """
    if token:
        return Endpoint(url, check_token(token, "the token=... argument"), "argument")
    env = os.environ.get(ENV_TOKEN)
    if env:
        return Endpoint(url, check_token(env, ENV_TOKEN), "argument")
    local = local_connection_file(url)
    if local is not None and isinstance(local[1].get("token"), str):
        path, info = local
        return Endpoint(
            url, check_token(info["token"], f"connection file {path}"), "argument", path
        )
    return Endpoint(url, "", "argument")


def _from_file(path: str, info: dict[str, Any]) -> Endpoint:
    """The endpoint a connection file describes (its token checked)."""
    token = info.get("token")
    checked = check_token(token, f"connection file {path}") if token else ""
    return Endpoint(info["url"], checked, "connection file", path)


def from_env_or_file() -> Endpoint | None:
    """The broker named by ``$TICKETBOOTH_URL``, else by the connection file, else None.

    Raises:
        InvalidInputError: the token found is malformed.
    """
    url = os.environ.get(ENV_URL)
    if url:
        return explicit(url, None)
    path = connection_file_path()
    info = read_connection_file(path)
    if info is None:
        return None
    return _from_file(path, info)


@contextlib.contextmanager
def _start_lock() -> Iterator[None]:
    """Serialize broker start-up between processes sharing the runtime dir."""
    lock_path = os.path.join(runtime_dir(), "ticketbooth-broker.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def start_embedded(timeout: float = 30.0, failed: Endpoint | None = None) -> Endpoint:
    """Start a background broker that exits when idle, unless another process just did.

    `failed` is an endpoint that did not answer; its connection file is replaced.
    """
    path = connection_file_path()
    with _start_lock():
        info = read_connection_file(path)
        if info is not None and (failed is None or info["url"] != failed.url):
            return _from_file(path, info)
        remove_stale(path)
        from .broker._process import start_process

        idle = os.environ.get(ENV_IDLE, str(DEFAULT_IDLE_TIMEOUT_S))
        broker = start_process(
            runtime_dir(),
            "--idle-timeout",
            idle,
            connection_file=path,
            detach=True,  # outlives the kernel that started it
            timeout=timeout,
        )
        return Endpoint(broker.url, broker.token, "embedded", path)

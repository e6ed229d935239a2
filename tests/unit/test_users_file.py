"""`--users-file`: per-user tokens for a shared broker, read strictly."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticketbooth import InvalidInputError
from ticketbooth._discovery import read_users_file

ALICE, BOB = "a" * 43, "b" * 43


def write(tmp_path: Path, text: str, mode: int = 0o600) -> str:
    path = tmp_path / "users"
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def test_users_and_comments(tmp_path: Path) -> None:
    text = f"# who may use the team broker\nalice {ALICE}\n\n  bob   {BOB}  # added later\n"
    assert read_users_file(write(tmp_path, text)) == {"alice": ALICE, "bob": BOB}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (f"alice {ALICE} extra\n", "line 1: expected `<user> <token>`, got 3 words"),
        (f"alice\nbob {BOB}\n", "line 1: expected `<user> <token>`, got 1 words"),
        (f"al/ice {ALICE}\n", "line 1: user names are letters"),
        (f"alice {ALICE}\nalice {BOB}\n", "line 2: user alice appears twice"),
        (f"alice {ALICE}\nbob {ALICE}\n", "line 2: this token is already another user's"),
        ("alice tok\u00e9n\n", "line 1 has"),
        ("# nobody yet\n", "names no users"),
    ],
)
def test_bad_files_name_the_line(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(InvalidInputError, match="users file") as err:
        read_users_file(write(tmp_path, text))
    assert words in str(err.value)
    assert ALICE not in str(err.value) and BOB not in str(err.value)  # tokens never echoed


def test_a_file_others_can_read_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="chmod 600"):
        read_users_file(write(tmp_path, f"alice {ALICE}\n", 0o644))

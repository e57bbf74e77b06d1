"""Password hashing (argon2id, argon2-cffi's RFC 9106 defaults) and the password policy.

A login for a username that does not exist still verifies the password against
:func:`dummy_hash` (also available as the lazy module attribute ``DUMMY_HASH``), so that the
answer takes as long as for a real account and timing does not reveal which usernames exist.
"""

from __future__ import annotations

import secrets
import string
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from silkguard.core.errors import InvalidInput

__all__ = [
    "MAX_PASSWORD_CHARS",
    "MIN_PASSWORD_CHARS",
    "check_password_policy",
    "dummy_hash",
    "hash_password",
    "needs_rehash",
    "verify_password",
]

MIN_PASSWORD_CHARS = 12
# Hashing cost does not depend much on length, but nobody needs more, and it bounds the work a
# hostile request can ask for.
MAX_PASSWORD_CHARS = 1024

_CLASSES = (
    ("lower-case letters", frozenset(string.ascii_lowercase)),
    ("upper-case letters", frozenset(string.ascii_uppercase)),
    ("digits", frozenset(string.digits)),
)


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (PHC string with its salt and parameters)."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``. False for a mismatch or a hash that is
    not an argon2 hash; never raises for either."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's and should be renewed
    at the next successful login."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


@cache
def dummy_hash() -> str:
    """A hash of a random password, made once per process with the current parameters."""
    return hash_password(secrets.token_urlsafe(24))


def __getattr__(name: str) -> str:
    # ``DUMMY_HASH`` is computed on first use (hashing costs ~0.1 s; imports must stay cheap).
    if name == "DUMMY_HASH":
        return dummy_hash()
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def _character_class(char: str) -> str:
    for label, chars in _CLASSES:
        if char in chars:
            return label
    return "other characters"


def check_password_policy(password: str, *, username: str | None = None) -> None:
    """Raise :class:`InvalidInput` unless ``password`` is at least 12 characters long, mixes
    at least two kinds of character (lower-case, upper-case, digits, others such as spaces or
    punctuation) and does not contain the username. The message never repeats the password."""
    advice = "a passphrase of three or four unrelated words with a digit or space works well"
    if len(password) < MIN_PASSWORD_CHARS:
        msg = (
            f"password is {len(password)} characters long; use at least "
            f"{MIN_PASSWORD_CHARS} ({advice})"
        )
        raise InvalidInput(msg)
    if len(password) > MAX_PASSWORD_CHARS:
        msg = f"password is {len(password)} characters long; use at most {MAX_PASSWORD_CHARS}"
        raise InvalidInput(msg)
    kinds = {_character_class(c) for c in password}
    if len(kinds) < 2:
        (only,) = kinds
        msg = (
            f"password uses only {only}; mix in at least one other kind (lower-case, "
            f"upper-case, digits, spaces or punctuation) - {advice}"
        )
        raise InvalidInput(msg)
    if username and username.strip().lower() in password.lower():
        msg = "password contains the username; choose one that does not"
        raise InvalidInput(msg)

"""Password hashing with Argon2id (argon2-cffi defaults, RFC 9106 low-memory profile)."""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_LENGTH = 8


def hash_password(password: str) -> str:
    """Hash a password for storage; refuses passwords shorter than MIN_LENGTH."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"password must be at least {MIN_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``."""
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_dummy: tuple[PasswordHasher, str] | None = None


def dummy_hash() -> str:
    """A hash of a random secret made with the current parameters.

    Sign-in checks a password against it when the username is unknown, so an unknown
    username takes as long as a known one and timing does not tell which usernames exist.
    """
    global _dummy
    hasher = _hasher
    if _dummy is None or _dummy[0] is not hasher:  # tests swap the hasher's parameters
        _dummy = (hasher, hasher.hash(secrets.token_urlsafe(24)))
    return _dummy[1]


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)

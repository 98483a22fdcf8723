"""Password hashing with Argon2id (argon2-cffi defaults, RFC 9106 low-memory profile),
and the policy for new passwords.

Policy (README "Passwords"; messages in Vietnamese and English): a new password
- has at least MIN_LENGTH characters (and at most MAX_LENGTH);
- is not the username and does not contain it;
- is not one of the 30,000 most common leaked passwords (zxcvbn's list, any case);
- is not easy to guess: zxcvbn (dictionary words, names, dates, keyboard
  patterns, repeats, sequences, the username and a few Vietnamese words) must
  estimate at least a million guesses (score 2 of 4).
It applies wherever a person chooses a password (API, `saola users add`);
existing passwords keep working.
"""
from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from protocols.i18n import N_

_hasher = PasswordHasher()

MIN_LENGTH = 10
MAX_LENGTH = 256
MIN_SCORE = 2  # zxcvbn: >= 10^6 guesses
# Words people here build passwords from, which zxcvbn's English lists lack.
LOCAL_WORDS = ["saola", "matkhau", "anhyeuem", "emyeuanh", "vietnam", "hanoi", "saigon", "kiemlam",
               "baoton", "rung", "admin", "quantri"]

class WeakPassword(ValueError):
    """A new password the policy refuses: ``reason`` (machine code), ``text`` (English, a
    catalogue key: translate with ``gettext(text, **params)``)."""

    def __init__(self, reason: str, text: str, params: dict | None = None):
        self.reason, self.text, self.params = reason, text, params or {}
        super().__init__(text.format(**self.params))


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_new_password(password: str, username: str | None = None) -> None:
    """Raise WeakPassword when ``password`` breaks the policy above."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword("too_short", N_("The password must have at least {n} characters."), {"n": MIN_LENGTH})
    if len(password) > MAX_LENGTH:
        raise WeakPassword("too_long", N_("The password must have at most {n} characters."), {"n": MAX_LENGTH})
    low = password.casefold()
    name = (username or "").casefold()
    if name and (low == name or (len(name) >= 3 and name in low)):
        raise WeakPassword("contains_username", N_("The password must not be or contain the username."))
    if low in _common():
        raise WeakPassword("common", N_("This password is one of the most common passwords; choose another."))
    from zxcvbn import zxcvbn

    # zxcvbn's cost grows with length; 72 characters are plenty to judge.
    result = zxcvbn(password[:72], user_inputs=[u for u in (username,) if u] + LOCAL_WORDS)
    if result["score"] < MIN_SCORE:
        raise WeakPassword("guessable", N_("This password is too easy to guess (a common word, name, date, "
                                           "keyboard pattern or sequence); add more words or characters."))


def hash_password(password: str) -> str:
    """Hash a password for storage; refuses passwords shorter than MIN_LENGTH
    (the full policy for chosen passwords is :func:`check_new_password`)."""
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

"""Bearer tokens for scripts (kind ``api``) and tablets (kind ``device``).

A token is shown once; the database keeps only its SHA-256, so a leaked
database does not leak usable tokens. Tokens expire and can be revoked.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlmodel import Session, select

from ..models import DeviceToken, User, utcnow

PREFIX = "saola_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def check_days(days: int, max_days: int) -> None:
    """Refuse a token lifetime outside 1..``max_days`` (SAOLA_TOKEN_MAX_DAYS): a leaked
    long-lived token is a long-lived key to the installation."""
    if not 1 <= days <= max_days:
        raise ValueError(f"a token lives between 1 and {max_days} days (SAOLA_TOKEN_MAX_DAYS), not {days}")


def issue_token(session: Session, user: User, *, kind: str = "api", name: str | None = None,
                days: int = 90, device_id: str | None = None) -> tuple[str, DeviceToken]:
    """Create a token for ``user``; returns (raw token, row). The caller commits."""
    if kind not in ("api", "device"):
        raise ValueError(f"unknown token kind {kind!r}")
    raw = PREFIX + secrets.token_urlsafe(32)
    row = DeviceToken(user_id=user.id, kind=kind, name=name, device_id=device_id,
                      token_hash=hash_token(raw), prefix=raw[:12],
                      expires_at=utcnow() + timedelta(days=days) if days else None)
    session.add(row)
    return raw, row


class TokenProblem(Exception):
    """Why a presented token was refused (unknown, expired, revoked, user inactive)."""


def resolve_token(session: Session, raw: str) -> tuple[User, DeviceToken]:
    """The user and token row behind ``raw``, or TokenProblem saying why not."""
    row = session.exec(select(DeviceToken).where(DeviceToken.token_hash == hash_token(raw))).first()
    if row is None:
        raise TokenProblem("unknown token")
    if row.revoked_at is not None:
        raise TokenProblem("token has been revoked")
    if row.expires_at is not None and row.expires_at <= utcnow():
        raise TokenProblem("token has expired")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise TokenProblem("the token's user is inactive")
    return user, row

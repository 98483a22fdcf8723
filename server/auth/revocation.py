"""Ending a user's sign-ins: browser sessions (session version) and bearer tokens.

Browser sessions are signed cookies, so the server cannot delete them; instead
each carries the user's ``session_version`` from sign-in, and a session whose
version is not the user's current one is refused (server/auth/__init__.py).

What ends what:
- sign-out: every browser session of the user (the version is per user);
- password change: every browser session and every bearer token of the user,
  except the one making the change (the caller just proved the current
  password; a browser session is re-stamped with the new version, a token is
  kept) — an administrator resetting someone else's password ends them all;
- deactivation: every browser session and every bearer token.
"""
from __future__ import annotations

from flask import g, has_request_context, session as cookie
from sqlmodel import Session, col, select

from .. import audit
from ..models import DeviceToken, User, utcnow


def end_sessions(user: User) -> None:
    """Invalidate every browser session of ``user`` (the caller commits)."""
    user.session_version = (user.session_version or 0) + 1


def revoke_tokens(s: Session, user: User, keep: DeviceToken | None = None) -> int:
    """Revoke every live bearer token of ``user`` but ``keep``; audited; returns how many."""
    rows = s.exec(select(DeviceToken).where(DeviceToken.user_id == user.id, col(DeviceToken.revoked_at).is_(None)))
    n = 0
    for row in rows:
        if keep is not None and row.id == keep.id:
            continue
        before = audit.snapshot(row)
        row.revoked_at = utcnow()
        s.add(row)
        audit.record(s, "update", "device_token", row.id, area_id=None, before=before, after=audit.snapshot(row))
        n += 1
    return n


def _acting_as(user: User) -> tuple[bool, DeviceToken | None]:
    """(the request is signed in as ``user`` with a browser session, the token it uses if any)."""
    if not has_request_context() or g.get("user") is None or g.user.id != user.id:
        return False, None
    return g.get("auth_method") == "session", g.get("token")


def password_changed(s: Session, user: User) -> None:
    """End the other sign-ins of ``user`` after a password change (the caller commits)."""
    by_session, token = _acting_as(user)
    end_sessions(user)
    revoke_tokens(s, user, keep=token)
    if by_session:
        cookie["sv"] = user.session_version  # the browser that changed it stays signed in


def deactivated(s: Session, user: User) -> None:
    """End every sign-in of a deactivated user (the caller commits)."""
    end_sessions(user)
    revoke_tokens(s, user)

"""Revoking bearer tokens (API and administration pages)."""
from __future__ import annotations

from sqlmodel import Session

from ..models import DeviceToken, utcnow
from . import crud


def revoke(session: Session, token: DeviceToken) -> DeviceToken:
    """Revoke ``token`` now (audited); revoking a revoked token changes nothing."""
    if token.revoked_at is None:
        crud.update(session, token, {"revoked_at": utcnow()}, None)
    return token

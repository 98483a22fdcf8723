"""Audit trail: every create/update/delete records who, when, what, before and after."""
from __future__ import annotations

import getpass
from typing import Any

from flask import g, has_request_context
from sqlmodel import Session, SQLModel

from .models import AuditLog

# Never copied into the audit log.
_SECRET_FIELDS = {"password_hash", "token_hash"}


def snapshot(obj: SQLModel | None) -> dict[str, Any] | None:
    """A JSON-able copy of a row, secrets removed."""
    if obj is None:
        return None
    data = obj.model_dump(mode="json")
    return {k: v for k, v in data.items() if k not in _SECRET_FIELDS}


def _actor() -> tuple[str | None, str]:
    if has_request_context() and g.get("user") is not None:
        user = g.user
        tok = g.get("token")
        suffix = f" (device {tok.device_id})" if tok is not None and tok.kind == "device" and tok.device_id else ""
        return user.id, user.username + suffix
    try:
        who = getpass.getuser()
    except Exception:  # pragma: no cover - no login name (containers)
        who = "unknown"
    return None, f"cli:{who}"


def record(session: Session, action: str, entity: str, entity_id: str, *, area_id: str | None,
           before: dict | None = None, after: dict | None = None, actor: str | None = None) -> AuditLog:
    """Add an audit entry to ``session`` (committed with the change itself)."""
    user_id, default_actor = _actor()
    row = AuditLog(user_id=user_id, actor=actor or default_actor, area_id=area_id, action=action,
                   entity=entity, entity_id=str(entity_id), before=before, after=after)
    session.add(row)
    return row

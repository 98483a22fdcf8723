"""Audit trail: every create/update/delete records who, when, what, before and after."""
from __future__ import annotations

import getpass
from contextvars import ContextVar, Token
from typing import Any

from flask import g, has_request_context
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session, SQLModel

from .models import AuditLog

# Never copied into the audit log.
_SECRET_FIELDS = {"password_hash", "token_hash"}
# Who a background job works for while it runs (server/jobs/core.py): its changes are audited in
# that person's name, "mgr (job detect)", not in the worker process's login.
_job_actor: ContextVar[tuple[str | None, str] | None] = ContextVar("saola_job_actor", default=None)


def acting_for_job(user_id: str | None, name: str) -> Token:
    """Audit what this thread writes as ``(user_id, name)`` until :func:`end_job` with the token."""
    return _job_actor.set((user_id, name))


def end_job(token: Token) -> None:
    """Stop auditing in a job's name (see :func:`acting_for_job`)."""
    _job_actor.reset(token)


def snapshot(obj: SQLModel | None) -> dict[str, Any] | None:
    """A JSON-able copy of a row, secrets removed."""
    if obj is None:
        return None
    state = sa_inspect(obj, raiseerr=False)
    if state is not None and state.persistent:
        # A column left out of the query (deferred, e.g. a JSON column the grid does not read) or
        # expired is not in the object's dict, and model_dump would copy it as missing: load it.
        for key in state.unloaded & set(state.mapper.column_attrs.keys()):
            getattr(obj, key)
    data = obj.model_dump(mode="json")
    return {k: v for k, v in data.items() if k not in _SECRET_FIELDS}


def snapshot_values(values: dict[str, Any]) -> dict[str, Any]:
    """:func:`snapshot` of a row given as column values (rows written with SQL Core, e.g. sync push)."""
    from pydantic_core import to_jsonable_python

    return {k: to_jsonable_python(v) for k, v in values.items() if k not in _SECRET_FIELDS}


def actor() -> tuple[str | None, str]:
    """(user id, name) of whoever makes the change: the signed-in user (and device), the person a running
    job works for, or the CLI's login."""
    if has_request_context() and g.get("user") is not None:
        user = g.user
        tok = g.get("token")
        suffix = f" (device {tok.device_id})" if tok is not None and tok.kind == "device" and tok.device_id else ""
        return user.id, user.username + suffix
    job = _job_actor.get()
    if job is not None:
        return job
    try:
        who = getpass.getuser()
    except Exception:  # pragma: no cover - no login name (containers)
        who = "unknown"
    return None, f"cli:{who}"


def record(session: Session, action: str, entity: str, entity_id: str, *, area_id: str | None,
           before: dict | None = None, after: dict | None = None, actor: str | None = None) -> AuditLog:
    """Add an audit entry to ``session`` (committed with the change itself)."""
    row = AuditLog(**entry_values(action, entity, entity_id, area_id=area_id, before=before, after=after,
                                  actor_name=actor))
    session.add(row)
    return row


def entry_values(action: str, entity: str, entity_id: str, *, area_id: str | None, before: dict | None = None,
                 after: dict | None = None, actor_name: str | None = None,
                 who: tuple[str | None, str] | None = None) -> dict[str, Any]:
    """The columns of an audit entry, for callers that insert many at once (``who``: :func:`actor`)."""
    from .models import utcnow

    user_id, default_actor = who or actor()
    return {"user_id": user_id, "actor": actor_name or default_actor, "area_id": area_id, "action": action,
            "entity": entity, "entity_id": str(entity_id), "before": before, "after": after, "at": utcnow()}

"""Create / update / delete with an audit entry in the same transaction."""
from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from sqlmodel import Session, SQLModel

from .. import audit
from ..errors import NotFound
from ..models import utcnow

T = TypeVar("T", bound=SQLModel)


def get_or_404(session: Session, cls: type[T], ident: str, what: str | None = None) -> T:
    row = session.get(cls, ident)
    if row is None:
        raise NotFound(f"no {what or cls.__tablename__} with id {ident!r}")
    return row


def create(session: Session, row: T, area_id: str | None, *, commit: bool = True) -> T:
    """Insert ``row`` and audit it."""
    session.add(row)
    session.flush()
    audit.record(session, "create", row.__tablename__, row.id, area_id=area_id, after=audit.snapshot(row))
    if commit:
        session.commit()
    return row


def update(session: Session, row: T, patch: BaseModel | dict[str, Any], area_id: str | None,
           *, commit: bool = True) -> T:
    """Apply the fields the client sent and audit before/after."""
    before = audit.snapshot(row)
    changes = patch.model_dump(exclude_unset=True) if isinstance(patch, BaseModel) else dict(patch)
    for k, v in changes.items():
        setattr(row, k, v)
    if hasattr(row, "updated_at"):
        row.updated_at = utcnow()
    session.add(row)
    session.flush()
    after = audit.snapshot(row)
    if after != before:
        audit.record(session, "update", row.__tablename__, row.id, area_id=area_id, before=before, after=after)
    if commit:
        session.commit()
    return row


def delete(session: Session, row: SQLModel, area_id: str | None, *, commit: bool = True) -> None:
    before = audit.snapshot(row)
    session.delete(row)
    session.flush()
    audit.record(session, "delete", row.__tablename__, row.id, area_id=area_id, before=before)
    if commit:
        session.commit()

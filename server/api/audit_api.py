"""The audit log of a protected area (managers)."""
from __future__ import annotations

from sqlmodel import select

from ..auth.permissions import require_area
from ..db import get_session
from ..models import AuditLog
from ..timeutil import to_utc
from .core import endpoint, paginate
from .schemas import AuditOut, AuditQuery


@endpoint("/areas/<area_id>/audit", summary="Who changed what in a protected area, newest first (managers)",
          tags=["audit"], query=AuditQuery, response=AuditOut)
def area_audit(area_id: str, query: AuditQuery):
    s = get_session()
    require_area(s, area_id, "manager")
    stmt = select(AuditLog).where(AuditLog.area_id == area_id)
    if query.entity:
        stmt = stmt.where(AuditLog.entity == query.entity)
    if query.entity_id:
        stmt = stmt.where(AuditLog.entity_id == query.entity_id)
    if query.action:
        stmt = stmt.where(AuditLog.action == query.action)
    if query.since:
        stmt = stmt.where(AuditLog.at >= to_utc(query.since))
    return paginate(s, stmt, query, [AuditLog.at.desc(), AuditLog.id.desc()])

"""Creating and changing protected areas, shared by the API and the administration pages.

Both validate the fields with the API's schemas (``AreaIn`` / ``AreaPatch``), then come
here: the code must be free, and a boundary is normalised by
:func:`server.services.boundary.normalise` (an invalid polygon repaired, coordinates
rounded) whether it came as GeoJSON in a request or from an uploaded file. Every change
is audited in the same transaction.
"""
from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from ..errors import Conflict, ValidationError
from ..i18n import gettext as _
from ..models import ProtectedArea
from . import crud
from .boundary import BoundaryError, normalise


def _boundary(values: dict[str, Any]) -> None:
    if values.get("boundary") is None:
        return
    try:
        values["boundary"], _reason = normalise(values["boundary"])
    except BoundaryError as e:
        raise ValidationError(e.message, code=e.code, details=[{"field": "boundary", "message": e.message}]) from None


def create_area(session: Session, values: dict[str, Any]) -> ProtectedArea:
    """A new protected area from validated fields (``AreaIn``); 409 when the code is taken."""
    values = dict(values)
    if session.exec(select(ProtectedArea.id).where(ProtectedArea.code == values["code"])).first():
        msg = _("The code {code} is already used by another protected area.", code=values["code"])
        raise Conflict(msg, details=[{"field": "code", "message": "already used"}])
    _boundary(values)
    area = ProtectedArea(**values)
    return crud.create(session, area, area.id)


def update_area(session: Session, area: ProtectedArea, changes: dict[str, Any]) -> ProtectedArea:
    """Apply validated changes (``AreaPatch``, only the fields sent) to ``area``, audited."""
    changes = dict(changes)
    _boundary(changes)
    return crud.update(session, area, changes, area.id)

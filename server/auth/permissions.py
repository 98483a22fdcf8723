"""Who may do what, per protected area: the one access-scope helper.

Roles are ordered (viewer < ranger < biologist < manager); an installation
administrator (``User.is_admin``) may do everything everywhere. A user sees a
protected area only through a membership in it.

Every API route and web page that takes an object id goes through this module:

* :func:`load_in_area` loads a row by id, finds its protected area
  (media -> deployment -> program -> area; detection -> media -> ...; see
  :func:`area_of`) and checks the signed-in user's role there;
* :func:`check_row` does the same for a row already loaded (e.g. found by SHA-256);
* :func:`require_area` checks an area id given in a body or query;
* :func:`load_area` loads a protected area for a page;
* :func:`scope_query` restricts a list query to the areas the user may see.

The answers are always the same: **404** when the object does not exist *or*
the user has no role in its area (so ids of other areas never leak: "yours,
not yours" and "exists, does not exist" look alike), **403** naming the role
needed when the user has a lower role there.

Objects outside every protected area: media not attached to a deployment
(field photos, unsorted imports) are for administrators here (members reach
field photos only through the field records of their area, see
server/auth/policy.py); a job without an area, an upload and a token belong to
the user who made them (and to administrators).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, TypeVar

from flask import g, has_request_context, request
from sqlmodel import Session, select

from ..errors import Forbidden, NotFound, Unauthorized
from ..models import (ROLES, AcousticIndex, Alert, CardUpload, Deployment, Device, DeviceToken, Detection,
                      FieldObservation, Job, Location, Media, Membership, Observation, OperatingInterval, Program,
                      ProtectedArea, Sequence, SurveyWalk, SyncConflict, Transect, Upload, User, CameraLogin)

RANK = {r: i for i, r in enumerate(ROLES)}
#: The role of a user on an object they own that lies outside every area (their upload, their job).
OWNER = "owner"

T = TypeVar("T")

# What a 404 calls each kind of object ("no <name> with id ...").
_NAMES: dict[type, str] = {ProtectedArea: "protected area", SyncConflict: "sync conflict",
                           OperatingInterval: "operating interval", AcousticIndex: "acoustic index",
                           FieldObservation: "field record", SurveyWalk: "survey walk", Media: "media",
                           CardUpload: "card upload"}
# Objects outside every area that belong to the user in this column.
_OWNER_COLUMN: dict[type, str] = {Upload: "user_id", Job: "created_by", DeviceToken: "user_id"}


@dataclass
class Access:
    """A row the current user may reach, its protected area and the user's role there.

    ``role`` is a role name, ``"admin"`` for installation administrators, or
    :data:`OWNER` for a user's own object outside every area.
    """

    row: Any
    area_id: Optional[str]
    role: str

    def at_least(self, minimum: str) -> bool:
        """Whether the role reaches ``minimum`` (owners and administrators reach every role)."""
        return self.role == OWNER or RANK[self.role] >= RANK[minimum]


# ---- the signed-in user ----------------------------------------------------------------------
def current_user() -> User:
    """The signed-in user, or 401."""
    user = g.get("user")
    if user is None:
        raise Unauthorized("sign in or send a bearer token (Authorization: Bearer ...)")
    return user


def require_admin() -> User:
    """The signed-in user if an installation administrator, else 403."""
    user = current_user()
    if not user.is_admin:
        raise Forbidden("only an administrator may do this")
    return user


def can_see_nation(user: User | None) -> bool:
    """Whether ``user`` may read the national views (dashboard, inventories, synthesis report,
    network exports) across every area: administrators and national viewers (``User.is_national``)."""
    return user is not None and (user.is_admin or user.is_national)


def require_national() -> User:
    """The signed-in user if an administrator or national viewer, else 403 (401 when not signed in).

    A manager of one area is not a national viewer: the national views show every area's
    figures, which a role in one area does not open.
    """
    user = current_user()
    if not can_see_nation(user):
        raise Forbidden("only national viewers and administrators may see the national views")
    return user


# ---- roles -----------------------------------------------------------------------------------
def _memo(name: str) -> dict | None:
    """A cache for this request only (a page or the review queue checks the same area many
    times); kept on the request object, as ``g`` may outlive one request in tests."""
    if not has_request_context():
        return None
    req = request._get_current_object()
    memo = req.__dict__.setdefault("_saola_memo", {})
    return memo.setdefault(name, {})


def role_in_area(session: Session, user: User, area_id: str) -> str | None:
    """The user's role in ``area_id`` ('admin' for installation admins), or None."""
    if user.is_admin:
        return "admin"
    memo = _memo("_saola_roles")
    key = (user.id, area_id)
    if memo is not None and key in memo:
        return memo[key]
    m = session.exec(select(Membership.role).where(Membership.user_id == user.id,
                                                   Membership.area_id == area_id)).first()
    if memo is not None:
        memo[key] = m
    return m


def forget_roles() -> None:
    """Drop the request's cached roles (after changing a membership within the request)."""
    memo = _memo("_saola_roles")
    if memo is not None:
        memo.clear()


def visible_area_ids(session: Session, user: User, minimum: str = "viewer") -> list[str] | None:
    """Areas where the user holds at least ``minimum``; None means all (administrator)."""
    if user.is_admin:
        return None
    rows = session.exec(select(Membership.area_id, Membership.role).where(Membership.user_id == user.id))
    return [a for a, r in rows if RANK[r] >= RANK[minimum]]


def has_role(session: Session, user: User, area_id: str, minimum: str) -> bool:
    """Whether ``user`` holds at least ``minimum`` in ``area_id`` (no error raised)."""
    role = role_in_area(session, user, area_id)
    return role is not None and RANK[role] >= RANK[minimum]


def _check_role(role: str | None, minimum: str, not_found: str) -> str:
    if role is None:
        raise NotFound(not_found)
    if RANK[role] < RANK[minimum]:
        raise Forbidden(f"this needs the {minimum} role in this protected area (you are {role})")
    return role


def require_area(session: Session, area_id: str, minimum: str = "viewer") -> str:
    """Check the current user holds at least ``minimum`` in ``area_id``; returns the role.

    A user with no role at all gets 404, not 403, so other areas' ids do not leak.
    """
    role = role_in_area(session, current_user(), area_id)
    if role == "admin" and session.get(ProtectedArea, area_id) is None:
        role = None
    return _check_role(role, minimum, "no such protected area")


def load_area(session: Session, area_id: str, minimum: str = "viewer") -> tuple[ProtectedArea, str]:
    """The protected area and the user's role there (404 / 403 as :func:`require_area`)."""
    role = require_area(session, area_id, minimum)
    area = session.get(ProtectedArea, area_id)
    if area is None:  # deleted meanwhile
        raise NotFound("no such protected area")
    return area, role


# ---- the area of an object --------------------------------------------------------------------
def _program_area(session: Session, program_id: str | None) -> str | None:
    if program_id is None:
        return None
    memo = _memo("_saola_program_area")
    if memo is not None and program_id in memo:
        return memo[program_id]
    p = session.get(Program, program_id)
    area_id = p.area_id if p is not None else None
    if memo is not None:
        memo[program_id] = area_id
    return area_id


def deployment_area(session: Session, deployment_id: str | None) -> str | None:
    """The protected area of a deployment (None when there is no such deployment)."""
    if deployment_id is None:
        return None
    memo = _memo("_saola_deployment_area")
    if memo is not None and deployment_id in memo:
        return memo[deployment_id]
    d = session.get(Deployment, deployment_id)
    area_id = _program_area(session, d.program_id) if d is not None else None
    if memo is not None:
        memo[deployment_id] = area_id
    return area_id


def area_of(session: Session, row: Any) -> str | None:
    """The protected area ``row`` belongs to, or None when it lies outside every area.

    Areas, programs, locations, transects, alerts, conflicts, jobs, devices and
    memberships carry it; deployments, field records and walks through their
    program; sequences, operating intervals, observations, media and card
    uploads through their deployment; detections and acoustic indices through
    their media.
    """
    if isinstance(row, ProtectedArea):
        return row.id
    if isinstance(row, (Program, Location, Transect, Alert, SyncConflict, Job, Membership, Device, CameraLogin)):
        return row.area_id
    if isinstance(row, (Deployment, FieldObservation, SurveyWalk)):
        return _program_area(session, row.program_id)
    if isinstance(row, (Sequence, OperatingInterval, Observation, Media, CardUpload)):
        return deployment_area(session, row.deployment_id)
    if isinstance(row, (Detection, AcousticIndex)):
        media = session.get(Media, row.media_id)
        return deployment_area(session, media.deployment_id) if media is not None else None
    if isinstance(row, (Upload, DeviceToken)):
        return None
    raise TypeError(f"no protected-area rule for {type(row).__name__}")


# ---- objects ------------------------------------------------------------------------------------
def _not_found(row_type: type, ident: Any, what: str | None) -> str:
    name = what or _NAMES.get(row_type) or row_type.__tablename__.replace("_", " ")
    return f"no {name} with id {ident!r}"


def check_row(session: Session, row: Any, minimum: str = "viewer", *, what: str | None = None,
              ident: Any = None) -> Access:
    """Check the current user may reach ``row`` (None = missing) with at least ``minimum``.

    404 when the row is missing or the user has no role in its area, 403 with
    the needed role when the role is lower. Rows outside every area: their
    owner (uploads, area-less jobs) and administrators pass, others get 404.
    """
    if row is None:
        raise NotFound(_not_found(type(None), ident, what or "object"))
    user = current_user()
    msg = _not_found(type(row), ident if ident is not None else getattr(row, "id", "?"), what)
    area_id = area_of(session, row)
    if area_id is None:
        if user.is_admin:
            return Access(row, None, "admin")
        column = _OWNER_COLUMN.get(type(row))
        if column is not None and getattr(row, column) == user.id:
            return Access(row, None, OWNER)
        raise NotFound(msg)
    return Access(row, area_id, _check_role(role_in_area(session, user, area_id), minimum, msg))


def load_in_area(session: Session, model: type[T], ident: Any, minimum: str = "viewer", *,
                 what: str | None = None) -> Access:
    """Load ``model`` row ``ident`` and check the current user's role in its area (see :func:`check_row`).

    Returns an :class:`Access` (``.row``, ``.area_id``, ``.role``)::

        acc = load_in_area(s, Deployment, deployment_id, "ranger")
        crud.update(s, acc.row, body, acc.area_id)
    """
    row = session.get(model, ident) if isinstance(ident, str) and ident else None
    if row is None:
        raise NotFound(_not_found(model, ident, what))
    return check_row(session, row, minimum, what=what, ident=ident)


def scope_query(session: Session, stmt, area_column, area_id: str | None = None, minimum: str = "viewer", *,
                owner_column=None):
    """Restrict a list query to areas where the current user holds at least ``minimum``.

    ``area_column`` is the column holding the area id in ``stmt`` (join up to
    it first). With ``area_id`` the query is narrowed to that area after
    :func:`require_area` (404 / 403). Administrators see every area. With
    ``owner_column``, rows outside every area (``area_column`` NULL) that the
    user owns are listed too (area-less jobs of their creator).
    """
    if area_id is not None:
        require_area(session, area_id, minimum)
        return stmt.where(area_column == area_id)
    user = current_user()
    visible = visible_area_ids(session, user, minimum)
    if visible is None:
        return stmt
    cond = area_column.in_(visible)
    if owner_column is not None:
        cond = cond | (area_column.is_(None) & (owner_column == user.id))
    return stmt.where(cond)

"""Who may do what, per protected area.

Roles are ordered (viewer < ranger < biologist < manager); an installation
administrator (``User.is_admin``) may do everything everywhere. A user sees a
protected area only through a membership in it.
"""
from __future__ import annotations

from flask import g
from sqlmodel import Session, select

from ..errors import Forbidden, NotFound, Unauthorized
from ..models import ROLES, Membership, User

RANK = {r: i for i, r in enumerate(ROLES)}


def role_in_area(session: Session, user: User, area_id: str) -> str | None:
    """The user's role in ``area_id`` ('admin' for installation admins), or None."""
    if user.is_admin:
        return "admin"
    m = session.exec(select(Membership).where(Membership.user_id == user.id,
                                              Membership.area_id == area_id)).first()
    return m.role if m else None


def visible_area_ids(session: Session, user: User) -> list[str] | None:
    """Areas the user may see; None means all (administrator)."""
    if user.is_admin:
        return None
    return list(session.exec(select(Membership.area_id).where(Membership.user_id == user.id)))


def has_role(session: Session, user: User, area_id: str, minimum: str) -> bool:
    role = role_in_area(session, user, area_id)
    return role is not None and RANK[role] >= RANK[minimum]


def current_user() -> User:
    """The signed-in user, or 401."""
    user = g.get("user")
    if user is None:
        raise Unauthorized("sign in or send a bearer token (Authorization: Bearer ...)")
    return user


def require_admin() -> User:
    user = current_user()
    if not user.is_admin:
        raise Forbidden("only an administrator may do this")
    return user


def require_area(session: Session, area_id: str, minimum: str = "viewer") -> str:
    """Check the current user holds at least ``minimum`` in ``area_id``; returns the role.

    A user with no role at all gets 404, not 403, so other areas' ids do not leak.
    """
    from ..models import ProtectedArea

    user = current_user()
    role = role_in_area(session, user, area_id)
    if role == "admin" and session.get(ProtectedArea, area_id) is None:
        role = None
    if role is None:
        raise NotFound("no such protected area")
    if RANK[role] < RANK[minimum]:
        raise Forbidden(f"this needs the {minimum} role in this protected area (you are {role})")
    return role

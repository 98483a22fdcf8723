"""Users (administrators manage them) and memberships (roles per protected area)."""
from __future__ import annotations

from sqlmodel import or_, select

from protocols.text import fold

from ..auth.permissions import current_user, load_area, require_admin, require_area
from ..auth.throttle import confirm_password
from ..db import get_session
from ..errors import Forbidden, ValidationError
from ..i18n import gettext as _
from ..models import Membership, User
from ..services import crud, users as user_service
from .core import endpoint, paginate
from .schemas import MembershipIn, MembershipOut, UserIn, UserOut, UserPatch, UserQuery


@endpoint("/users/me", summary="The signed-in user", tags=["users"], response=UserOut)
def me():
    return current_user()


@endpoint("/users", summary="List users (administrators)", tags=["users"], query=UserQuery, response=UserOut)
def list_users(query: UserQuery):
    require_admin()
    stmt = select(User)
    if query.q:
        like = f"%{fold(query.q)}%"
        stmt = stmt.where(or_(User.username.ilike(like), User.full_name.ilike(like)))
    return paginate(get_session(), stmt, query, User.username)


@endpoint("/users", ["POST"], summary="Create a user (administrators)", tags=["users"], body=UserIn,
          response=UserOut, status=201, responses={409: "Username taken"})
def create_user(body: UserIn):
    require_admin()
    return user_service.create_user(get_session(), body.model_dump(exclude={"password"}), body.password)


@endpoint("/users/<user_id>", summary="One user (administrators, or yourself)", tags=["users"], response=UserOut)
def get_user(user_id: str):
    me_ = current_user()
    if me_.id != user_id:
        require_admin()
    return crud.get_or_404(get_session(), User, user_id, "user")


@endpoint("/users/<user_id>", ["PATCH"], summary="Change a user (administrators; yourself: password, language, names)",
          description="Changing your own password needs `current_password`. A new password ends every other "
                      "browser session and bearer token of that user (the session or token making the "
                      "change stays signed in); deactivating a user ends all of them.",
          tags=["users"], body=UserPatch, response=UserOut,
          responses={403: "Not allowed, or the current password is wrong",
                     429: "Too many wrong current passwords from this address or for this user (Retry-After)",
                     422: "Invalid, or the new password breaks the password policy"})
def patch_user(user_id: str, body: UserPatch):
    me_ = current_user()
    sent = body.model_dump(exclude_unset=True)
    current = sent.pop("current_password", None)
    if me_.id != user_id or {"is_admin", "is_national", "active"} & sent.keys():
        require_admin()
    s = get_session()
    user = crud.get_or_404(s, User, user_id, "user")
    new_password = sent.pop("password", None)
    if new_password is not None:
        # End the lookup's transaction: Argon2 below must not run under a (SQLite) write lock.
        s.commit()
        if me_.id == user_id:
            # A stolen session or token alone must not be enough to take the account over.
            if current is None:
                raise ValidationError(_("To change your own password, also send your current password "
                                        "(current_password)."), code="current_password_required",
                                      details={"field": "current_password"})
            if not confirm_password(user, current):  # limited like a sign-in (429 while waiting)
                raise Forbidden(_("The current password is wrong."), code="wrong_password")
        sent["password_hash"] = user_service.new_password_hash(new_password, user.username)
    return user_service.update_user(s, user, sent, password_set=new_password is not None)


# ---- memberships ---------------------------------------------------------------------
@endpoint("/areas/<area_id>/members", summary="Members of a protected area and their roles (managers)",
          tags=["memberships"], response=MembershipOut, many=True)
def list_members(area_id: str):
    s = get_session()
    require_area(s, area_id, "manager")
    return list(s.exec(select(Membership).where(Membership.area_id == area_id)))


@endpoint("/areas/<area_id>/members", ["POST"],
          summary="Grant or change a user's role in a protected area (managers: roles below manager; "
                  "administrators: any)",
          tags=["memberships"], body=MembershipIn, response=MembershipOut, status=201,
          responses={403: "A role the caller may not grant, or a member the caller may not change"})
def grant(area_id: str, body: MembershipIn):
    s = get_session()
    area, my_role = load_area(s, area_id, "manager")
    user = crud.get_or_404(s, User, body.user_id, "user")
    return user_service.grant(s, area, my_role, user, body.role)


@endpoint("/areas/<area_id>/members/<user_id>", ["DELETE"],
          summary="Remove a user from a protected area (managers: roles below manager; administrators: any)",
          tags=["memberships"], status=204)
def revoke(area_id: str, user_id: str):
    s = get_session()
    area, my_role = load_area(s, area_id, "manager")
    user_service.remove(s, area, my_role, user_id)

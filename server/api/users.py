"""Users (administrators manage them) and memberships (roles per protected area)."""
from __future__ import annotations

from sqlmodel import or_, select

from protocols.text import fold

from ..auth.passwords import WeakPassword, check_new_password, hash_password
from ..auth.permissions import RANK, current_user, load_area, require_admin, require_area
from ..auth.revocation import deactivated, password_changed
from ..auth.throttle import confirm_password
from ..db import get_session
from ..errors import Conflict, Forbidden, ValidationError
from ..i18n import gettext as _
from ..models import Membership, User
from ..services import crud
from .core import endpoint, paginate
from .schemas import MembershipIn, MembershipOut, UserIn, UserOut, UserPatch, UserQuery


def _new_password_hash(password: str, username: str) -> str:
    """The hash of a newly chosen password, or 422 saying which rule it breaks (in the user's language)."""
    try:
        check_new_password(password, username)
    except WeakPassword as e:
        raise ValidationError(_(e.text, **e.params), code="weak_password",
                              details={"field": "password", "reason": e.reason}) from None
    return hash_password(password)


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
    s = get_session()
    if s.exec(select(User).where(User.username == body.username)).first():
        raise Conflict(f"username {body.username!r} is already taken")
    s.commit()  # end the check's transaction: no (SQLite) write lock held while Argon2 hashes
    data = body.model_dump(exclude={"password"})
    return crud.create(s, User(**data, password_hash=_new_password_hash(body.password, body.username)), None)


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
    if me_.id != user_id or {"is_admin", "active"} & sent.keys():
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
        sent["password_hash"] = _new_password_hash(new_password, user.username)
    deactivating = sent.get("active") is False and user.active
    crud.update(s, user, sent, None, commit=False)
    if new_password is not None:
        password_changed(s, user)
    if deactivating:
        deactivated(s, user)
    s.commit()
    return user


# ---- memberships ---------------------------------------------------------------------
@endpoint("/areas/<area_id>/members", summary="Members of a protected area and their roles (managers)",
          tags=["memberships"], response=MembershipOut, many=True)
def list_members(area_id: str):
    s = get_session()
    require_area(s, area_id, "manager")
    return list(s.exec(select(Membership).where(Membership.area_id == area_id)))


@endpoint("/areas/<area_id>/members", ["POST"],
          summary="Grant or change a user's role in a protected area (managers; up to manager)",
          tags=["memberships"], body=MembershipIn, response=MembershipOut, status=201)
def grant(area_id: str, body: MembershipIn):
    s = get_session()
    _area, my_role = load_area(s, area_id, "manager")
    crud.get_or_404(s, User, body.user_id, "user")
    if RANK[body.role] > RANK[my_role]:
        raise Forbidden("you cannot grant a role above your own")
    m = s.exec(select(Membership).where(Membership.area_id == area_id, Membership.user_id == body.user_id)).first()
    if m is None:
        return crud.create(s, Membership(area_id=area_id, user_id=body.user_id, role=body.role), area_id)
    return crud.update(s, m, {"role": body.role}, area_id)


@endpoint("/areas/<area_id>/members/<user_id>", ["DELETE"], summary="Remove a user from a protected area (managers)",
          tags=["memberships"], status=204)
def revoke(area_id: str, user_id: str):
    s = get_session()
    require_area(s, area_id, "manager")
    m = s.exec(select(Membership).where(Membership.area_id == area_id, Membership.user_id == user_id)).first()
    if m is None:
        raise crud.NotFound("that user is not a member of this area")
    crud.delete(s, m, area_id)

"""Users (administrators manage them) and memberships (roles per protected area)."""
from __future__ import annotations

from sqlmodel import or_, select

from protocols.text import fold

from ..auth.passwords import hash_password
from ..auth.permissions import RANK, current_user, load_area, require_admin, require_area
from ..db import get_session
from ..errors import Conflict, Forbidden
from ..models import Membership, User
from . import crud
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
    s = get_session()
    if s.exec(select(User).where(User.username == body.username)).first():
        raise Conflict(f"username {body.username!r} is already taken")
    data = body.model_dump(exclude={"password"})
    return crud.create(s, User(**data, password_hash=hash_password(body.password)), None)


@endpoint("/users/<user_id>", summary="One user (administrators, or yourself)", tags=["users"], response=UserOut)
def get_user(user_id: str):
    me_ = current_user()
    if me_.id != user_id:
        require_admin()
    return crud.get_or_404(get_session(), User, user_id, "user")


@endpoint("/users/<user_id>", ["PATCH"], summary="Change a user (administrators; yourself: password, language, names)",
          tags=["users"], body=UserPatch, response=UserOut)
def patch_user(user_id: str, body: UserPatch):
    me_ = current_user()
    sent = body.model_dump(exclude_unset=True)
    if me_.id != user_id or {"is_admin", "active"} & sent.keys():
        require_admin()
    s = get_session()
    user = crud.get_or_404(s, User, user_id, "user")
    if "password" in sent:
        sent["password_hash"] = hash_password(sent.pop("password"))
    return crud.update(s, user, sent, None)


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

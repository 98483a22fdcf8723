"""Accounts and roles, shared by the API and the administration pages.

Who may manage what:

* an installation administrator manages every account and every role;
* a manager manages the roles *below manager* in the areas they manage (grant, change,
  remove), and creates accounts for those areas; they may reset the password of, or
  deactivate, an account only when every role it holds is such a role in one of their areas
  (:func:`manages_account`) — never an administrator's or another manager's.

New passwords follow the password policy (server/auth/passwords.py). Instead of typing a
temporary password, an administrator or manager can hand the person a one-time link
(:func:`link_token`) to choose their own: there is no mail server, they copy it. A link is
an HMAC of the account's current password hash and session version, so it stops working
once used (the hash changes), when the password is reset again, when the account is
deactivated, and after its lifetime. Setting a password ends the account's other sessions
and tokens; deactivating ends all of them (server/auth/revocation.py). Everything is audited.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

from flask import current_app
from sqlmodel import Session, select

from .. import audit
from ..auth.passwords import WeakPassword, check_new_password, hash_password
from ..auth.permissions import RANK
from ..auth.revocation import deactivated, password_changed
from ..errors import Conflict, Forbidden, NotFound, ValidationError
from ..i18n import gettext as _
from ..models import Membership, ProtectedArea, User
from . import crud

#: Lifetime of the one-time links, in hours.
LINK_HOURS = {"invite": 7 * 24, "reset": 48}
#: The password hash of an invited account that has not chosen a password: matches no password.
INVITED = "!invited:"


# ---- who manages whom -----------------------------------------------------------------------------
def managed_roles(my_role: str) -> list[str]:
    """The roles a user with ``my_role`` in an area may grant there (administrators: all)."""
    if my_role == "admin":
        return ["viewer", "ranger", "biologist", "manager"]
    return ["viewer", "ranger", "biologist"] if my_role == "manager" else []


def manages_account(session: Session, me: User, user: User) -> bool:
    """Whether ``me`` may reset ``user``'s password or deactivate it (see the module docstring)."""
    if me.is_admin:
        return True
    if user.is_admin or user.id == me.id:
        return False
    theirs = list(session.exec(select(Membership).where(Membership.user_id == user.id)))
    if not theirs:
        return False
    mine = {m.area_id: m.role for m in session.exec(select(Membership).where(Membership.user_id == me.id))}
    return all(mine.get(m.area_id) == "manager" and RANK[m.role] < RANK["manager"] for m in theirs)


def require_manages(session: Session, me: User, user: User) -> None:
    if not manages_account(session, me, user):
        raise Forbidden(_("You may not manage this account: it has roles outside the areas you manage."))


# ---- passwords ---------------------------------------------------------------------------------------
def new_password_hash(password: str, username: str) -> str:
    """The hash of a newly chosen password, or 422 naming the rule it breaks (in the user's language)."""
    try:
        check_new_password(password, username)
    except WeakPassword as e:
        raise ValidationError(_(e.text, **e.params), code="weak_password",
                              details={"field": "password", "reason": e.reason}) from None
    return hash_password(password)


def set_password(session: Session, user: User, password: str, *, action: str = "password_reset") -> User:
    """Give ``user`` a new password (policy checked) and end their other sign-ins; audited."""
    session.commit()  # no (SQLite) write lock held while Argon2 hashes
    digest = new_password_hash(password, user.username)
    user.password_hash = digest
    session.add(user)
    password_changed(session, user)
    audit.record(session, action, "user", user.id, area_id=None, after={"username": user.username})
    session.commit()
    return user


def _sign(purpose: str, user: User, expires: int) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    msg = f"{purpose}.{user.id}.{expires}.{user.password_hash}.{user.session_version}".encode()
    return base64.urlsafe_b64encode(hmac.new(key, msg, hashlib.sha256).digest()[:24]).decode().rstrip("=")


def link_token(session: Session, user: User, purpose: str) -> str:
    """A one-time token for choosing a password (``purpose`` invite or reset); audited."""
    if not user.active:
        raise ValidationError(_("This account is deactivated: reactivate it first."), details={"field": "active"})
    expires = int(time.time()) + LINK_HOURS[purpose] * 3600
    payload = base64.urlsafe_b64encode(f"{purpose}.{user.id}.{expires}".encode()).decode().rstrip("=")
    audit.record(session, "reset_link" if purpose == "reset" else "invite", "user", user.id, area_id=None,
                 after={"username": user.username, "expires": expires})
    session.commit()
    return f"{payload}.{_sign(purpose, user, expires)}"


def user_of_link(session: Session, token: str) -> tuple[User, str]:
    """(the account, the purpose) of a valid link; NotFound for a wrong, used or expired one."""
    gone = NotFound(_("This link is not valid: it was already used, has expired, or a newer one was made. "
                      "Ask your manager for a new link."), code="link_invalid")
    try:
        payload, sig = token.split(".", 1)
        purpose, user_id, expires_text = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode() \
            .split(".")
        expires = int(expires_text)
    except (ValueError, UnicodeDecodeError):
        raise gone from None
    user = session.get(User, user_id)
    if user is None or not user.active or purpose not in LINK_HOURS or expires < time.time():
        raise gone
    if not hmac.compare_digest(sig, _sign(purpose, user, expires)):
        raise gone
    return user, purpose


# ---- accounts ------------------------------------------------------------------------------------------
def create_user(session: Session, values: dict[str, Any], password: str | None) -> User:
    """A new account from validated fields (``UserIn`` less the password): with ``password`` (policy
    checked) or, when None, invited (no usable password until the person follows a link)."""
    if session.exec(select(User.id).where(User.username == values["username"])).first():
        msg = _("The username {name} is already taken.", name=values["username"])
        raise Conflict(msg, details=[{"field": "username", "message": "already used"}])
    session.commit()  # end the check's transaction: no (SQLite) write lock held while Argon2 hashes
    digest = new_password_hash(password, values["username"]) if password is not None else \
        INVITED + secrets.token_urlsafe(16)
    return crud.create(session, User(**values, password_hash=digest), None)


def update_user(session: Session, user: User, changes: dict[str, Any], *, password_set: bool = False) -> User:
    """Change an account (validated ``UserPatch`` fields; ``password_set`` when ``changes`` holds a new
    ``password_hash``): a new password ends the other sign-ins, deactivation all of them; audited."""
    deactivating = changes.get("active") is False and user.active
    crud.update(session, user, changes, None, commit=False)
    if password_set:
        password_changed(session, user)
    if deactivating:
        deactivated(session, user)
    session.commit()
    return user


def invited(user: User) -> bool:
    """True while an invited account has not chosen its password."""
    return user.password_hash.startswith(INVITED)


# ---- roles ---------------------------------------------------------------------------------------------
def member(session: Session, area_id: str, user_id: str) -> Membership | None:
    return session.exec(select(Membership).where(Membership.area_id == area_id,
                                                 Membership.user_id == user_id)).first()


def _check_grant(my_role: str, role: str, current: Membership | None) -> None:
    allowed = managed_roles(my_role)
    if role not in allowed:
        raise Forbidden(_("You may grant only these roles here: {roles}.",
                          roles=", ".join(_(r) for r in allowed) or "-"),
                        details=[{"field": "role", "message": "not allowed"}])
    if current is not None and current.role not in allowed:
        raise Forbidden(_("Only an administrator may change the role of a {role}.", role=_(current.role)),
                        details=[{"field": "role", "message": "not allowed"}])


def grant(session: Session, area: ProtectedArea, my_role: str, user: User, role: str) -> Membership:
    """Give ``user`` ``role`` in ``area`` (or change it); ``my_role`` is the granter's role there."""
    from ..auth.permissions import forget_roles

    if role not in RANK or role == "admin":
        raise ValidationError(_("Choose one of the listed values."), details=[{"field": "role", "message": "unknown"}])
    m = member(session, area.id, user.id)
    _check_grant(my_role, role, m)
    forget_roles()
    if m is None:
        return crud.create(session, Membership(area_id=area.id, user_id=user.id, role=role), area.id)
    return crud.update(session, m, {"role": role}, area.id)


def remove(session: Session, area: ProtectedArea, my_role: str, user_id: str) -> None:
    """Take a user's role in ``area`` away (managers: roles below manager only)."""
    from ..auth.permissions import forget_roles

    m = member(session, area.id, user_id)
    if m is None:
        raise NotFound(_("That person is not a member of this protected area."))
    if m.role not in managed_roles(my_role):
        raise Forbidden(_("Only an administrator may change the role of a {role}.", role=_(m.role)))
    forget_roles()
    crud.delete(session, m, area.id)

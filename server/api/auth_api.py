"""Tokens: sign in for a bearer token, register a tablet, list and revoke tokens."""
from __future__ import annotations

from flask import current_app
from sqlmodel import select

from ..auth.permissions import current_user, load_in_area
from ..auth.throttle import authenticate
from ..auth.tokens import check_days, issue_token
from ..db import get_session
from ..errors import ValidationError
from ..models import DeviceToken, User
from ..services.tokens import revoke
from .core import endpoint
from .schemas import DeviceRegistration, NewToken, TokenOut, TokenRequest, UserOut


_SIGN_IN_ANSWERS = {
    401: "Wrong username or password",
    429: "Too many wrong sign-ins from this address or for this username (Retry-After says when to retry)",
    503: "Too many password checks under way (Retry-After says when to retry)",
}


def _check_password(username: str, password: str) -> User:
    # Limited per address and username, checked outside any write transaction; one answer
    # for unknown user and wrong password, so usernames are not revealed (server/auth/throttle.py).
    return authenticate(username, password)


def _new_token(user: User, kind: str, name: str | None, days: int, device_id: str | None = None) -> NewToken:
    s = get_session()
    raw, row = issue_token(s, user, kind=kind, name=name, days=days, device_id=device_id)
    s.flush()
    from .. import audit

    audit.record(s, "create", "device_token", row.id, area_id=None, after=audit.snapshot(row), actor=user.username)
    s.commit()
    return NewToken(token=raw, token_id=row.id, expires_at=row.expires_at,
                    user=UserOut.model_validate(user, from_attributes=True))


@endpoint("/auth/token", ["POST"], summary="Exchange a username and password for an API bearer token",
          tags=["auth"], body=TokenRequest, response=NewToken, status=201, auth=False, responses=_SIGN_IN_ANSWERS)
def token(body: TokenRequest):
    try:
        check_days(body.days, current_app.config["TOKEN_MAX_DAYS"])
    except ValueError as e:
        raise ValidationError(str(e), code="token_lifetime", details={"field": "days"}) from None
    return _new_token(_check_password(body.username, body.password), "api", body.name, body.days)


@endpoint("/auth/device", ["POST"], summary="Register a field tablet and get its device token", tags=["auth"],
          body=DeviceRegistration, response=NewToken, status=201, auth=False, responses=_SIGN_IN_ANSWERS)
def register_device(body: DeviceRegistration):
    user = _check_password(body.username, body.password)
    return _new_token(user, "device", body.device_name or body.device_id,
                      current_app.config["TOKEN_DAYS"], device_id=body.device_id)


@endpoint("/tokens", summary="Your tokens (administrators: add ?all=1 for everyone's)", tags=["auth"],
          response=TokenOut, many=True)
def list_tokens():
    user = current_user()
    return list(get_session().exec(select(DeviceToken).where(DeviceToken.user_id == user.id)
                                   .order_by(DeviceToken.created_at)))


@endpoint("/tokens/<token_id>", ["DELETE"], summary="Revoke a token (yours, or any as administrator)",
          tags=["auth"], status=204)
def revoke_token(token_id: str):
    s = get_session()
    row = load_in_area(s, DeviceToken, token_id, what="token").row  # yours (or any, as administrator)
    revoke(s, row)

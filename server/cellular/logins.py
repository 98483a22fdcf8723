"""Cellular cameras' FTP logins: created, reset and switched off by the managers of their area.

Shared by the API (``server/api/cameras.py``), the administration page
(``server/web/camera_pages.py``) and ``saola ftp-camera``. Passwords are generated here
(cameras are set up by typing them into a menu: letters and digits, 16 of them), shown once
and stored only as Argon2 hashes.
"""
from __future__ import annotations

import re
import secrets
import string
from typing import Optional

from sqlmodel import Session, select

from protocols.i18n import N_

from .. import audit
from ..errors import ValidationError
from ..models import CameraLogin

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
# An e-mail address as cameras' mail settings write it (no display name, no comments).
MAIL = re.compile(r"^[^@\s<>(),;:\\\"]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_ALPHABET = string.ascii_letters + string.digits


def new_password(length: int = 16) -> str:
    """A random password a person can type into a camera's menu (about 95 bits)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def check_username(s: Session, username: str, *, exclude_id: Optional[str] = None) -> Optional[str]:
    """Why ``username`` cannot be used (English, marked for translation), None when it can."""
    if not USERNAME.match(username or ""):
        return N_("3 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit")
    other = s.exec(select(CameraLogin).where(CameraLogin.username == username)).first()
    if other is not None and other.id != exclude_id:
        return N_("already used by another camera")
    return None


def normal_mail(address: Optional[str]) -> Optional[str]:
    """The stored form of a sender address: stripped, lower case (mail systems compare them so)."""
    return (address or "").strip().lower() or None


def check_mail_from(s: Session, address: Optional[str], *, exclude_id: Optional[str] = None) -> Optional[str]:
    """Why ``address`` cannot be a camera's sender address (English, marked for translation), None
    when it can (or is empty: the camera does not send e-mail)."""
    address = normal_mail(address)
    if address is None:
        return None
    if len(address) > 254 or not MAIL.match(address):
        return N_("an e-mail address such as camera12@example.org")
    other = s.exec(select(CameraLogin).where(CameraLogin.mail_from == address)).first()
    if other is not None and other.id != exclude_id:
        return N_("already used by another camera")
    return None


def set_mail_from(s: Session, login: CameraLogin, address: Optional[str]) -> None:
    """Change the address the camera e-mails from (ValidationError names the field at fault)."""
    why = check_mail_from(s, address, exclude_id=login.id)
    if why:
        raise ValidationError(f"mail_from: {why}", details=[{"field": "mail_from", "message": why}])
    before = public(login)
    login.mail_from = normal_mail(address)
    s.add(login)
    audit.record(s, "update", "camera_login", login.id, area_id=login.area_id, before=before, after=public(login))


def create_login(s: Session, area_id: str, username: str, *, camera_serial: Optional[str] = None,
                 label: Optional[str] = None, by: Optional[str] = None,
                 mail_from: Optional[str] = None) -> tuple[CameraLogin, str]:
    """A new login and its password (shown once). ValidationError names the field at fault."""
    from ..auth.passwords import hash_password

    username = (username or "").strip()
    why = check_username(s, username)
    if why:
        raise ValidationError(f"username: {why}", details=[{"field": "username", "message": why}])
    serial = (camera_serial or "").strip() or None
    if serial and len(serial) > 100:
        raise ValidationError("camera_serial: at most 100 characters",
                              details=[{"field": "camera_serial", "message": "at most 100 characters"}])
    if label and len(label) > 200:
        raise ValidationError("label: at most 200 characters",
                              details=[{"field": "label", "message": "at most 200 characters"}])
    why = check_mail_from(s, mail_from)
    if why:
        raise ValidationError(f"mail_from: {why}", details=[{"field": "mail_from", "message": why}])
    password = new_password()
    login = CameraLogin(area_id=area_id, username=username, password_hash=hash_password(password),
                        camera_serial=serial, label=(label or "").strip() or None, created_by=by,
                        mail_from=normal_mail(mail_from))
    s.add(login)
    s.flush()
    audit.record(s, "create", "camera_login", login.id, area_id=area_id, after=public(login))
    return login, password


def reset_password(s: Session, login: CameraLogin) -> str:
    """A new password for the login (the old one stops working at once)."""
    from ..auth.passwords import hash_password

    password = new_password()
    login.password_hash = hash_password(password)
    s.add(login)
    audit.record(s, "update", "camera_login", login.id, area_id=login.area_id, after={"password": "reset"})
    return password


def set_active(s: Session, login: CameraLogin, active: bool) -> None:
    """Switch a login off (a stolen camera) or on again."""
    before = public(login)
    login.active = bool(active)
    s.add(login)
    audit.record(s, "update", "camera_login", login.id, area_id=login.area_id, before=before,
                 after=public(login))


def public(login: CameraLogin) -> dict:
    """What may be shown of a login (never the hash)."""
    return {"id": login.id, "area_id": login.area_id, "username": login.username,
            "camera_serial": login.camera_serial, "label": login.label, "mail_from": login.mail_from, "active": login.active,
            "created_at": login.created_at.isoformat() if login.created_at else None,
            "last_upload_at": login.last_upload_at.isoformat() if login.last_upload_at else None}


"""Cellular cameras' FTP logins (managers of their area) and what each camera sent."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from pydantic import Field
from sqlmodel import select

from ..auth.permissions import load_area, load_in_area
from ..cellular import logins
from ..db import get_session
from ..models import CameraLogin, CameraUpload
from .core import endpoint, paginate
from .schemas import In, ListQuery, Out

TAGS = ["cellular cameras"]


class CameraLoginIn(In):
    username: str = Field(description="3-64 letters, digits, '.', '-', '_'; unique in the installation",
                          max_length=64)
    camera_serial: Optional[str] = Field(default=None, max_length=100,
                                         description="The camera's serial (deployments name it as camera id)")
    label: Optional[str] = Field(default=None, max_length=200)
    mail_from: Optional[str] = Field(default=None, max_length=254,
                                     description="The address the camera e-mails photos from (saola mail-poll)")


class CameraLoginPatch(In):
    active: Optional[bool] = None
    label: Optional[str] = Field(default=None, max_length=200)
    camera_serial: Optional[str] = Field(default=None, max_length=100)
    mail_from: Optional[str] = Field(default=None, max_length=254)
    reset_password: bool = Field(default=False, description="Make a new password (answered once)")


class CameraLoginOut(Out):
    id: str
    area_id: str
    username: str
    camera_serial: Optional[str]
    label: Optional[str]
    mail_from: Optional[str] = None
    active: bool
    created_at: datetime
    last_upload_at: Optional[datetime]
    password: Optional[str] = Field(default=None, description="Only when just made: give it to the camera now")


class CameraUploadOut(Out):
    id: str
    login_id: str
    file_name: str
    size_bytes: Optional[int]
    status: str
    reason: Optional[str]
    media_id: Optional[str]
    flags: list
    received_at: datetime


def _out(login: CameraLogin, password: Optional[str] = None) -> CameraLoginOut:
    out = CameraLoginOut.model_validate(login)
    out.password = password
    return out


@endpoint("/areas/<area_id>/camera-logins", summary="FTP logins of the area's cellular cameras (managers)",
          tags=TAGS, query=ListQuery, response=CameraLoginOut)
def list_camera_logins(area_id: str, query: ListQuery):
    s = get_session()
    load_area(s, area_id, "manager")
    return paginate(s, select(CameraLogin).where(CameraLogin.area_id == area_id), query, CameraLogin.username)


@endpoint("/areas/<area_id>/camera-logins", ["POST"], summary="Create a camera's FTP login (managers)",
          description="The answer carries the password, once; only its Argon2 hash is kept.",
          tags=TAGS, body=CameraLoginIn, response=CameraLoginOut, status=201)
def create_camera_login(area_id: str, body: CameraLoginIn):
    from ..auth.permissions import current_user

    s = get_session()
    load_area(s, area_id, "manager")
    login, password = logins.create_login(s, area_id, body.username, camera_serial=body.camera_serial,
                                          label=body.label, by=current_user().username, mail_from=body.mail_from)
    s.commit()
    return _out(login, password)


@endpoint("/camera-logins/<login_id>", ["PATCH"],
          summary="Switch a camera's login off or on, relabel it, or give it a new password (managers)",
          tags=TAGS, body=CameraLoginPatch, response=CameraLoginOut)
def patch_camera_login(login_id: str, body: CameraLoginPatch):
    s = get_session()
    login = load_in_area(s, CameraLogin, login_id, "manager", what="camera login").row
    sent = body.model_dump(exclude_unset=True)
    password = None
    if "label" in sent:
        login.label = (sent["label"] or "").strip() or None
    if "camera_serial" in sent:
        login.camera_serial = (sent["camera_serial"] or "").strip() or None
    if "mail_from" in sent:
        logins.set_mail_from(s, login, sent["mail_from"])
    if "active" in sent and sent["active"] is not None and sent["active"] != login.active:
        logins.set_active(s, login, sent["active"])
    if sent.get("reset_password"):
        password = logins.reset_password(s, login)
    s.add(login)
    s.commit()
    return _out(login, password)


@endpoint("/camera-logins/<login_id>/uploads", summary="Files a camera sent, newest first (managers)", tags=TAGS,
          query=ListQuery, response=CameraUploadOut)
def list_camera_uploads(login_id: str, query: ListQuery):
    s = get_session()
    load_in_area(s, CameraLogin, login_id, "manager", what="camera login")
    stmt = select(CameraUpload).where(CameraUpload.login_id == login_id)
    return paginate(s, stmt, query, [CameraUpload.received_at.desc(), CameraUpload.id])

"""Users, their roles per protected area, and bearer tokens."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from .base import fk, id_field, json_field, utcnow

# Ordered from least to most privileged; a role includes those before it.
ROLES = ("viewer", "ranger", "biologist", "manager", "admin")


class User(SQLModel, table=True):
    """A person who signs in (browser) or holds tokens (scripts, tablets)."""

    __tablename__ = "user"
    id: str = id_field()
    username: str = Field(max_length=64, unique=True, index=True)
    full_name: Optional[str] = Field(default=None, max_length=200)
    email: Optional[str] = Field(default=None, max_length=200)
    password_hash: str = Field(max_length=255)
    is_admin: bool = False  # administrator of the whole installation
    # Reads the national views of a hub (dashboard, inventories, synthesis report, network exports)
    # across every area, without any role in the areas themselves: sensitive positions stay generalised.
    is_national: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    language: str = Field(default="vi", max_length=8)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    # Stamped into each browser session at sign-in and compared on every request:
    # bumping it (password change, sign-out, deactivation) ends every session of the user.
    session_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Settings that follow the user across machines (server/api/preferences.py), e.g. the
    # review image tools' brightness, contrast and gamma.
    preferences: dict = json_field()


class Membership(SQLModel, table=True):
    """A user's role in one protected area."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "area_id"),)
    id: str = id_field()
    user_id: str = fk("user.id", ondelete="CASCADE")
    area_id: str = fk("protected_area.id", ondelete="CASCADE")
    role: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


class DeviceToken(SQLModel, table=True):
    """A revocable, expiring bearer token for the API (kind api) or a tablet (kind device).

    Only the SHA-256 of the token is stored; the token itself is shown once.
    """

    __tablename__ = "device_token"
    id: str = id_field()
    user_id: str = fk("user.id", ondelete="CASCADE")
    kind: str = Field(default="api", max_length=8)
    name: Optional[str] = Field(default=None, max_length=200)
    device_id: Optional[str] = Field(default=None, max_length=64)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=12)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: Optional[datetime] = None
    revoked_at: Optional[datetime] = None


class LoginThrottle(SQLModel, table=True):
    """Sign-in failure counter and lockout of one client address or one username.

    ``key`` is a kind and a SHA-256 prefix (``account:…``, ``address:…``, ``known:…``), never
    the typed username: people type passwords into the username field. Rows are dropped
    once ``expires_at`` passes. Used when SAOLA_RATELIMIT_URL names no Redis.
    """

    __tablename__ = "login_throttle"
    key: str = Field(primary_key=True, max_length=80)
    failures: int = 0
    locked_until: Optional[datetime] = None
    expires_at: datetime = Field(index=True)

"""The signed-in user's preferences: settings that follow a person across machines.

Today one section, ``review_image``: the review viewer's brightness, contrast and
gamma (night infrared photos need them) and the speed of the burst animation.
The page applies them client-side (server/web/static/imagetools.js) and keeps a
copy in the browser's localStorage, so a change shows at once and survives a
failed save; the server's copy wins at the next page load.
"""
from __future__ import annotations

from typing import Any, Optional

from pydantic import Field

from ..auth.permissions import current_user
from ..db import get_session
from ..models import User
from .core import endpoint
from .schemas import In, Out

TAGS = ["users"]

# Defaults of the review image tools (1 = the image as stored).
REVIEW_IMAGE_DEFAULTS: dict[str, Any] = {"brightness": 1.0, "contrast": 1.0, "gamma": 1.0, "burst_fps": 4}


class ReviewImagePatch(In):
    """Review image tools; each field optional (only those sent change)."""

    brightness: Optional[float] = Field(default=None, ge=0.2, le=3.0,
                                        description="CSS brightness factor (1 = unchanged)")
    contrast: Optional[float] = Field(default=None, ge=0.2, le=3.0, description="CSS contrast factor (1 = unchanged)")
    gamma: Optional[float] = Field(default=None, ge=0.2, le=5.0,
                                   description="Gamma (above 1 lifts dark tones, e.g. night infrared; 1 = unchanged)")
    burst_fps: Optional[int] = Field(default=None, ge=1, le=12, description="Frames per second of the burst animation")


class PreferencesPatch(In):
    """Sections to change; sections not sent are kept."""

    review_image: Optional[ReviewImagePatch] = None


class ReviewImageOut(Out):
    brightness: float
    contrast: float
    gamma: float
    burst_fps: int


class PreferencesOut(Out):
    """Every section, with defaults filled in for what the user never set."""

    review_image: ReviewImageOut


def preferences_of(user: User) -> dict[str, Any]:
    """The user's preferences with defaults filled in (what the pages and the API answer)."""
    stored = user.preferences if isinstance(user.preferences, dict) else {}
    review = stored.get("review_image") if isinstance(stored.get("review_image"), dict) else {}
    return {"review_image": {**REVIEW_IMAGE_DEFAULTS,
                             **{k: v for k, v in review.items() if k in REVIEW_IMAGE_DEFAULTS and v is not None}}}


@endpoint("/users/me/preferences", summary="Your preferences (review image tools), defaults filled in", tags=TAGS,
          response=PreferencesOut)
def get_preferences():
    return preferences_of(current_user())


@endpoint("/users/me/preferences", ["PATCH"], summary="Change your preferences (only the fields sent)", tags=TAGS,
          body=PreferencesPatch, response=PreferencesOut,
          responses={422: "A value out of its range, or an unknown section or field"})
def patch_preferences(body: PreferencesPatch):
    s = get_session()
    user = s.get(User, current_user().id)
    stored = dict(user.preferences) if isinstance(user.preferences, dict) else {}
    sent = body.model_dump(exclude_unset=True)
    for section, values in sent.items():
        old: dict[str, Any] = stored[section] if isinstance(stored.get(section), dict) else {}
        stored[section] = {**old, **{k: v for k, v in (values or {}).items() if v is not None}}
    user.preferences = stored  # a new dict: the JSON column sees the change
    s.add(user)
    s.commit()
    return preferences_of(user)

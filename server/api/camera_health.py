"""Camera health of deployments (server/services/health.py): the findings of a program or a
deployment, and a finding recorded as malfunction intervals in one request."""
from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, Field

from ..auth.permissions import current_user, load_in_area
from ..db import get_session
from ..models import Deployment, Program
from ..services import health as svc
from .core import endpoint
from .schemas import IntervalOut


class HealthInterval(BaseModel):
    start: str = Field(description="local time of the deployment (YYYY-MM-DD HH:MM:SS)")
    end: str


class HealthFindingOut(BaseModel):
    deployment_id: str
    station: str
    category: str = Field(description="clock | battery_or_card | knocked_or_covered | false_triggers | infrared | setup")
    check: str
    key: str = Field(description="the finding's id within its deployment (POST .../health/{key}/malfunction)")
    message: str
    count: int
    intervals: list[HealthInterval] = Field(description="where effort was lost (local times)")
    recorded: bool = Field(description="malfunction intervals already cover every interval")
    details: dict


class CameraHealthOut(BaseModel):
    summary: dict[str, int]
    findings: list[HealthFindingOut]


def _answer(found) -> dict:
    from ..analytics.health import summary

    return {"summary": summary(found), "findings": [f.as_dict() for f in found]}


@endpoint("/programs/<program_id>/health", summary="Camera health findings of a program's deployments (viewers)",
          tags=["deployments"], response=CameraHealthOut)
def program_health(program_id: str):
    s = get_session()
    program = load_in_area(s, Program, program_id, "viewer").row
    return _answer(svc.findings(s, [program.id]))


@endpoint("/deployments/<deployment_id>/health", summary="Camera health findings of one deployment (viewers)",
          tags=["deployments"], response=CameraHealthOut)
def deployment_health(deployment_id: str):
    s = get_session()
    dep = load_in_area(s, Deployment, deployment_id, "viewer").row
    return _answer(svc.deployment_findings(s, dep))


class HealthRecordedOut(BaseModel):
    key: str
    intervals: list[IntervalOut]
    note: Optional[str] = None


@endpoint("/deployments/<deployment_id>/health/<key>/malfunction", ["POST"],
          summary="Record a health finding's intervals as malfunctions, so effort follows (rangers)",
          tags=["deployments"], response=HealthRecordedOut, status=201)
def record_finding(deployment_id: str, key: str):
    s = get_session()
    found = load_in_area(s, Deployment, deployment_id, "ranger")
    dep = found.row
    rows = svc.record_malfunction(s, dep, key, user=current_user().username, area_id=found.area_id)
    s.commit()
    return {"key": key, "intervals": [IntervalOut.model_validate(r, from_attributes=True) for r in rows]}

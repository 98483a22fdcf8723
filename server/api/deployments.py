"""Deployments and their operating intervals."""
from __future__ import annotations

from sqlmodel import select

from ..auth.permissions import load_in_area, require_area, scope_query
from ..db import get_session
from ..errors import ValidationError
from ..models import Deployment, OperatingInterval, Program
from ..services import deployments as svc
from ..timeutil import to_utc
from ..services import crud
from .core import endpoint, paginate
from .schemas import (DeploymentIn, DeploymentOut, DeploymentPatch, DeploymentQuery, IntervalIn, IntervalOut)


def _out(dep: Deployment) -> DeploymentOut:
    out = DeploymentOut.model_validate(dep, from_attributes=True)
    out.operating_intervals = [IntervalOut.model_validate(i, from_attributes=True)
                               for i in svc.intervals_of(get_session(), dep.id)]
    return out


def _deployment(deployment_id: str, minimum: str = "viewer") -> tuple[Deployment, Program]:
    s = get_session()
    dep = load_in_area(s, Deployment, deployment_id, minimum).row
    return dep, s.get(Program, dep.program_id)


@endpoint("/deployments", summary="List deployments", tags=["deployments"], query=DeploymentQuery,
          response=DeploymentOut)
def list_deployments(query: DeploymentQuery):
    stmt = select(Deployment).join(Program, Program.id == Deployment.program_id)
    stmt = scope_query(get_session(), stmt, Program.area_id, query.area_id)
    for col, val in ((Deployment.program_id, query.program_id), (Deployment.location_id, query.location_id),
                     (Deployment.kind, query.kind), (Deployment.camera_id, query.camera_id)):
        if val is not None:
            stmt = stmt.where(col == val)
    if query.active_at is not None:
        t = to_utc(query.active_at)
        stmt = stmt.where(Deployment.deployment_start <= t).where(
            (Deployment.deployment_end.is_(None)) | (Deployment.deployment_end >= t))
    page = paginate(get_session(), stmt, query, Deployment.deployment_start)
    page.items = [_out(d) for d in page.items]
    return page


@endpoint("/deployments", ["POST"], summary="Create a deployment (rangers); a new location may be given by name",
          tags=["deployments"], body=DeploymentIn, response=DeploymentOut, status=201)
def create_deployment(body: DeploymentIn):
    s = get_session()
    program = load_in_area(s, Program, body.program_id, "ranger").row
    fields = body.model_dump(exclude={"program_id", "location_id", "location"})
    dep = svc.build_deployment(s, program, fields, location_id=body.location_id,
                               location=body.location.model_dump() if body.location else None)
    crud.create(s, dep, program.area_id)
    if dep.camera_id:
        # Media ingested before this deployment existed (same serial, inside the window) join it.
        from ..jobs import enqueue

        enqueue(s, "retime", {"deployment_id": dep.id}, area_id=program.area_id)
    return _out(dep)


@endpoint("/deployments/<deployment_id>", summary="One deployment with its operating intervals",
          tags=["deployments"], response=DeploymentOut)
def get_deployment(deployment_id: str):
    return _out(_deployment(deployment_id)[0])


@endpoint("/deployments/<deployment_id>", ["PATCH"],
          summary="Change a deployment (rangers; the clock offset and time zone need a manager)",
          tags=["deployments"], body=DeploymentPatch, response=DeploymentOut)
def patch_deployment(deployment_id: str, body: DeploymentPatch):
    s = get_session()
    sent = body.model_dump(exclude_unset=True)
    dep, program = _deployment(deployment_id, "ranger")
    retime = any(k in sent and sent[k] != getattr(dep, k) for k in ("clock_offset_s", "timezone"))
    if retime:  # correcting a camera clock re-times every image: managers only
        require_area(s, program.area_id, "manager")
    if "location_id" in sent:
        if sent["location_id"] is None:
            raise ValidationError("location_id cannot be removed")
        svc.check_location(s, program, sent["location_id"])
    svc.normalise_times(sent, sent.get("timezone") or dep.timezone)
    if "deployment_start" in sent or "deployment_end" in sent:
        merged = {"deployment_start": sent.get("deployment_start", dep.deployment_start),
                  "deployment_end": sent.get("deployment_end", dep.deployment_end)}
        svc.normalise_times(merged, "UTC")
    # The outside-window flags of its media depend on the window and the camera serial too.
    window = any(k in sent and sent[k] != getattr(dep, k)
                 for k in ("deployment_start", "deployment_end", "camera_id"))
    crud.update(s, dep, sent, program.area_id)
    if retime or window:
        from ..jobs import enqueue

        enqueue(s, "retime", {"deployment_id": dep.id}, area_id=program.area_id)
    return _out(dep)


@endpoint("/deployments/<deployment_id>", ["DELETE"], summary="Delete a deployment and its media records (managers)",
          tags=["deployments"], status=204)
def delete_deployment(deployment_id: str):
    dep, program = _deployment(deployment_id, "manager")
    crud.delete(get_session(), dep, program.area_id)


@endpoint("/deployments/<deployment_id>/intervals", ["POST"],
          summary="Record an operating or malfunction interval (rangers)", tags=["deployments"],
          body=IntervalIn, response=IntervalOut, status=201)
def add_interval(deployment_id: str, body: IntervalIn):
    s = get_session()
    dep, program = _deployment(deployment_id, "ranger")
    row = svc.add_interval(s, dep, body.start, body.end, body.status, body.reason)
    return crud.create(s, row, program.area_id)


@endpoint("/deployments/<deployment_id>/intervals/<interval_id>", ["DELETE"],
          summary="Remove an operating interval (managers)", tags=["deployments"], status=204)
def delete_interval(deployment_id: str, interval_id: str):
    s = get_session()
    dep, program = _deployment(deployment_id, "manager")
    row = load_in_area(s, OperatingInterval, interval_id, "manager").row
    if row.deployment_id != dep.id:
        raise crud.NotFound("no such interval in this deployment")
    crud.delete(s, row, program.area_id)

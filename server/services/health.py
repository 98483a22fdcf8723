"""Camera health of deployments (server/analytics/health.py) over the database: the findings of a
program or a deployment, and a finding turned into malfunction intervals in one step, so the camera
operation matrix, trap-nights and RAI follow. Shared by ``saola check``, the API, the manager pages
and ingest (which checks the deployments a card touched)."""
from __future__ import annotations

from sqlmodel import Session, select

from .. import audit
from ..errors import NotFound, ValidationError
from ..models import Deployment, OperatingInterval, Program
from .deployments import add_interval


def findings(session: Session, program_ids: list[str], deployment_ids: list[str] | None = None):
    """Every finding of the programs' camera deployments (or only ``deployment_ids``), by station."""
    from ..analytics.health import check_deployment
    from ..analytics.loaders import load_health

    out = []
    for dep, malfunctions in load_health(session, program_ids, deployment_ids):
        out += check_deployment(dep, malfunctions=malfunctions)
    return out


def deployment_findings(session: Session, dep: Deployment):
    """The findings of one deployment."""
    return findings(session, [dep.program_id], [dep.id])


def after_ingest(session: Session, deployment_ids) -> list[dict]:
    """The findings (dicts) of the camera deployments an ingest touched, for its report."""
    ids = sorted({d for d in deployment_ids if d})
    if not ids:
        return []
    programs = sorted({p for p in session.exec(select(Deployment.program_id).where(Deployment.id.in_(ids)))})
    return [f.as_dict() for f in findings(session, programs, ids)]


def record_malfunction(session: Session, dep: Deployment, key: str, user: str | None = None,
                       area_id: str | None = None) -> list[OperatingInterval]:
    """Record the intervals of finding ``key`` of ``dep`` as malfunctions (those not yet covered).

    The finding is computed again from what is stored, so only a real, current finding becomes
    effort lost: NotFound for a key the deployment no longer has, ValidationError for a finding
    without intervals (photos before setup, mostly blank) or one already recorded.
    """
    found = {f.key: f for f in deployment_findings(session, dep)}
    f = found.get(key)
    if f is None:
        raise NotFound(f"deployment {dep.id} has no health finding {key!r} (now: {', '.join(found) or 'none'})")
    if not f.intervals:
        raise ValidationError(f"the finding {f.check} has no interval of lost effort to record "
                              "(correct the deployment's dates or the camera instead)")
    if f.recorded:
        raise ValidationError(f"the finding {f.check} is already recorded as malfunction")
    reason = f"health check {f.check}: {f.message}"[:500]
    rows = [add_interval(session, dep, s, e, "malfunction", reason) for s, e in f.intervals]
    if area_id is None:
        program = session.get(Program, dep.program_id)
        area_id = program.area_id if program else None
    audit.record(session, "create", "operating_interval", dep.id, area_id=area_id,
                 after={"source": "health check", "check": f.check, "key": key,
                        "interval_ids": [r.id for r in rows]}, actor=user)
    return rows

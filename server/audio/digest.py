"""The daily alerts digest of a protected area, in Vietnamese and English.

The day is a local calendar day in Vietnam's zone (Asia/Ho_Chi_Minh, UTC+7),
and times are shown in it; alerts are grouped by deployment (station name,
recorder serial), oldest first.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlmodel import Session, select

from protocols.i18n import N_

from ..i18n import TEXT
from ..models import Alert, Deployment, Location, ProtectedArea
from ..timeutil import as_utc, zone

DIGEST_ZONE = "Asia/Ho_Chi_Minh"
KIND_NAMES = {"gunshot": N_("Gunshot"), "engine": N_("Engine"), "power_tools": N_("Power tools")}


@dataclass
class DigestAlert:
    """One alert line of the digest."""

    alert: Alert
    station: str
    serial: Optional[str]
    local: Optional[dt.datetime]


def day_alerts(s: Session, area: ProtectedArea, day: dt.date, tz: str = DIGEST_ZONE) -> list[DigestAlert]:
    """The area's alerts that occurred on ``day`` (local date in ``tz``), by deployment then time."""
    z = zone(tz)
    start = dt.datetime.combine(day, dt.time(), z).astimezone(dt.timezone.utc)
    end = start + dt.timedelta(days=1)
    stmt = (select(Alert, Deployment, Location)
            .join(Deployment, Deployment.id == Alert.deployment_id, isouter=True)
            .join(Location, Location.id == Deployment.location_id, isouter=True)
            .where(Alert.area_id == area.id, Alert.occurred_at >= start, Alert.occurred_at < end)
            .order_by(Location.name, Alert.deployment_id, Alert.occurred_at, Alert.id))
    out = []
    for a, dep, loc in s.exec(stmt):
        local = as_utc(a.occurred_at).astimezone(z) if a.occurred_at else None
        out.append(DigestAlert(a, loc.name if loc else "?", dep.camera_id if dep else None, local))
    return out


def render(area: ProtectedArea, day: dt.date, alerts: list[DigestAlert], tz: str = DIGEST_ZONE) -> str:
    """The digest text: a Vietnamese block, then the same in English."""
    groups: dict[tuple, list[DigestAlert]] = {}
    for a in alerts:
        groups.setdefault((a.station, a.serial, a.alert.deployment_id), []).append(a)
    return "\n".join(_block(area, day, groups, tz, lang) for lang in ("vi", "en"))


def _block(area: ProtectedArea, day: dt.date, groups: dict[tuple, list[DigestAlert]], tz: str, lang: str) -> str:
    def t(message: str, **params) -> str:
        return TEXT.gettext(message, lang, **params)

    name = (area.name_vi or area.name) if lang == "vi" else area.name
    date = f"{day:%d/%m/%Y}" if lang == "vi" else f"{day:%Y-%m-%d}"  # how each language writes a date
    n = sum(len(items) for items in groups.values())
    lines = [t("Daily alert digest — {name} ({code}) — {date} ({tz})", name=name, code=area.code, date=date, tz=tz)]
    lines.append(t("{n} alert(s) at {recorders} recorder(s).", n=n, recorders=len(groups)) if n
                 else t("No alerts."))
    for (station, serial, _dep), items in groups.items():
        lines.append(t("Station {station} (recorder {serial}): {n} alert(s)", station=station, serial=serial,
                       n=len(items)) if serial else t("Station {station}: {n} alert(s)", station=station, n=len(items)))
        for a in items:
            kind = KIND_NAMES.get(a.alert.kind)
            when = a.local.strftime("%H:%M:%S") if a.local else "?"
            ack = ""
            if a.alert.acknowledged_at is not None:
                ack = " — " + t("acknowledged by {user}", user=a.alert.acknowledged_by)
            lines.append(f"  {when}  {t(kind) if kind else a.alert.kind}  "
                         f"({t('confidence')} {a.alert.confidence:.2f}){ack}")
    return "\n".join(lines) + "\n"

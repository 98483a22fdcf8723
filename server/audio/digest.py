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

from ..models import Alert, Deployment, Location, ProtectedArea
from ..timeutil import as_utc, zone

DIGEST_ZONE = "Asia/Ho_Chi_Minh"
KIND_NAMES = {
    "gunshot": ("Tiếng súng", "Gunshot"),
    "engine": ("Tiếng động cơ", "Engine"),
    "power_tools": ("Máy cưa / dụng cụ điện", "Power tools"),
}


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
    name_vi = area.name_vi or area.name
    groups: dict[tuple, list[DigestAlert]] = {}
    for a in alerts:
        groups.setdefault((a.station, a.serial, a.alert.deployment_id), []).append(a)
    lines = [f"Bản tin cảnh báo hằng ngày — {name_vi} ({area.code}) — ngày {day:%d/%m/%Y} ({tz})"]
    if not alerts:
        lines.append("Không có cảnh báo.")
    else:
        lines.append(f"{len(alerts)} cảnh báo tại {len(groups)} điểm ghi âm.")
    for (station, serial, _dep), items in groups.items():
        lines.append(f"Trạm {station}" + (f" (máy ghi {serial})" if serial else "") + f": {len(items)} cảnh báo")
        for a in items:
            lines.append(_line(a, 0))
    lines += ["", f"Daily alert digest — {area.name} ({area.code}) — {day:%Y-%m-%d} ({tz})"]
    if not alerts:
        lines.append("No alerts.")
    else:
        lines.append(f"{len(alerts)} alert(s) at {len(groups)} recorder(s).")
    for (station, serial, _dep), items in groups.items():
        lines.append(f"Station {station}" + (f" (recorder {serial})" if serial else "") + f": {len(items)} alert(s)")
        for a in items:
            lines.append(_line(a, 1))
    return "\n".join(lines) + "\n"


def _line(a: DigestAlert, lang: int) -> str:
    kind = KIND_NAMES.get(a.alert.kind, (a.alert.kind, a.alert.kind))[lang]
    when = a.local.strftime("%H:%M:%S") if a.local else "?"
    ack = ""
    if a.alert.acknowledged_at is not None:
        ack = f" — đã xác nhận bởi {a.alert.acknowledged_by}" if lang == 0 else \
            f" — acknowledged by {a.alert.acknowledged_by}"
    conf = "độ tin cậy" if lang == 0 else "confidence"
    return f"  {when}  {kind}  ({conf} {a.alert.confidence:.2f}){ack}"

"""The national species inventory: every taxon recorded in the network × every protected area.

A cell is the number of records of the taxon in the area: camera-trap observations of animals
(people's labels and accepted machine labels taken over as observations), field records
(transects, signs) and sound detections not rejected, in the year asked or in every year. The
``counted`` column applies the network-wide species rule of server/analytics/taxonomy.py (a
genus counts only when none of its species was recorded anywhere).
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import func, select
from sqlmodel import Session, col

from ..analytics import taxonomy
from ..exports.common import spreadsheet_safe
from ..models import Deployment, Detection, FieldObservation, Media, Observation, Program, ProtectedArea, Taxon
from ..timeutil import zone

REFERENCE_COLUMNS = ("scientific_name", "vietnamese_name", "english_name", "taxon_group", "rank", "iucn_category",
                     "vn_redlist_category", "decree84_group", "cites_appendix")
INVENTORY_TZ = "Asia/Ho_Chi_Minh"  # the national monitoring calendar year


@dataclass
class Inventory:
    areas: list[ProtectedArea]
    taxa: list[Taxon]
    cells: dict[tuple[str, str], int]  # (taxon id, area id) -> records
    counted: set[str]  # scientific names that count as species in the network
    year: Optional[int]

    def row(self, taxon: Taxon) -> list[int]:
        return [self.cells.get((taxon.id, a.id), 0) for a in self.areas]

    def n_areas(self, taxon: Taxon) -> int:
        return sum(1 for n in self.row(taxon) if n)

    def species_in(self, area: ProtectedArea) -> int:
        """Species of one area by the taxonomy rule (within the area's own records)."""
        names = [t.scientific_name for t in self.taxa if self.cells.get((t.id, area.id))]
        lineages = {t.scientific_name: tuple(p for p in t.lineage.split("|") if p) for t in self.taxa}
        return taxonomy.species_count(names, lineages)


def _bounds(year: int) -> tuple[datetime, datetime]:
    tz = zone(INVENTORY_TZ)
    return (datetime(year, 1, 1, tzinfo=tz).astimezone(timezone.utc),
            datetime(year + 1, 1, 1, tzinfo=tz).astimezone(timezone.utc))


def build_inventory(session: Session, year: Optional[int] = None,
                    areas: Optional[list[ProtectedArea]] = None) -> Inventory:
    """The species × area matrix of ``areas`` (default every area), for ``year`` or every year."""
    area_list = areas if areas is not None else \
        list(session.execute(select(ProtectedArea).order_by(ProtectedArea.code)).scalars())
    ids = [a.id for a in area_list]
    cells: dict[tuple[str, str], int] = defaultdict(int)
    if ids:
        cam = (select(col(Observation.taxon_id), col(Program.area_id), func.count())
               .join(Deployment, col(Deployment.id) == col(Observation.deployment_id))
               .join(Program, col(Program.id) == col(Deployment.program_id))
               .where(col(Program.area_id).in_(ids), col(Observation.taxon_id).is_not(None),
                      col(Observation.observation_type) == "animal"))
        field = (select(col(FieldObservation.taxon_id), col(Program.area_id), func.count())
                 .join(Program, col(Program.id) == col(FieldObservation.program_id))
                 .where(col(Program.area_id).in_(ids), col(FieldObservation.taxon_id).is_not(None),
                        col(FieldObservation.deleted).is_(False)))
        sound = (select(col(Detection.taxon_id), col(Program.area_id), func.count())
                 .join(Media, col(Media.id) == col(Detection.media_id)).join(Deployment, col(Deployment.id) == col(Media.deployment_id))
                 .join(Program, col(Program.id) == col(Deployment.program_id))
                 .where(col(Program.area_id).in_(ids), col(Media.kind) == "audio", col(Detection.taxon_id).is_not(None),
                        col(Detection.dismissed).is_(False), col(Detection.review_status) != "rejected"))
        if year:
            lo, hi = _bounds(year)
            cam = cam.where(col(Observation.event_start) >= lo, col(Observation.event_start) < hi)
            field = field.where(col(FieldObservation.observed_at) >= lo, col(FieldObservation.observed_at) < hi)
            sound = sound.where(col(Media.captured_at) >= lo, col(Media.captured_at) < hi)
        for stmt, taxon_col, area_col in ((cam, col(Observation.taxon_id), col(Program.area_id)),
                                          (field, col(FieldObservation.taxon_id), col(Program.area_id)),
                                          (sound, col(Detection.taxon_id), col(Program.area_id))):
            for tid, aid, n in session.execute(stmt.group_by(taxon_col, area_col)).all():
                cells[(tid, aid)] += n
    tids = sorted({tid for tid, _ in cells})
    taxa = sorted(session.execute(select(Taxon).where(col(Taxon.id).in_(tids))).scalars(),
                  key=lambda t: (t.taxon_group or "", t.scientific_name)) if tids else []
    lineages = {t.scientific_name: tuple(p for p in t.lineage.split("|") if p) for t in taxa}
    counted = taxonomy.counted([t.scientific_name for t in taxa], lineages)
    return Inventory(sorted(area_list, key=lambda a: a.code), taxa, dict(cells), counted, year)


def inventory_csv(inv: Inventory) -> str:
    """The inventory as CSV: the species reference columns, whether it counts as a species, the number of
    areas, then one column of records per area (named by its code). Text passes spreadsheet_safe."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*REFERENCE_COLUMNS, "counted_as_species", "areas", *[spreadsheet_safe(a.code) for a in inv.areas]])
    for t in inv.taxa:
        ref = [getattr(t, c) or "" for c in REFERENCE_COLUMNS]
        w.writerow([spreadsheet_safe(v) for v in ref] + [
            "yes" if t.scientific_name in inv.counted else "no", inv.n_areas(t), *inv.row(t)])
    return buf.getvalue()

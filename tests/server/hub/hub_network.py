"""A small national network built directly in the database, as a hub holds it after publishing:
two protected areas (PNKB, CT), each one ProtectedArea with its program, stations, camera deployments
in 2024 and 2025, an acoustic deployment, human observations (a priority species, a common one, a
person) and media. No publishing code involved: the hub views read the standard tables."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from sqlmodel import Session

from server.models import (Deployment, Location, Media, Observation, OperatingInterval, Program, ProtectedArea,
                           Taxon)

UTC = timezone.utc
SAOLA = "Pseudoryx nghetinhensis"  # CR, Decree 84 IB: sensitive and priority
LEOPARD_CAT = "Prionailurus bengalensis"  # LC, Decree 84 IIB: priority, not sensitive
MUNTJAC = "Muntiacus vaginalis"  # LC: neither
TAXA = {
    SAOLA: dict(vietnamese_name="Sao la", english_name="Saola", taxon_group="mammal", iucn_category="CR",
                vn_redlist_category="EN", decree84_group="IB", cites_appendix="I", lineage="Animalia|Mammalia"),
    LEOPARD_CAT: dict(vietnamese_name="Mèo rừng", english_name="Leopard cat", taxon_group="mammal",
                      iucn_category="LC", decree84_group="IIB", cites_appendix="II", lineage="Animalia|Mammalia"),
    MUNTJAC: dict(vietnamese_name="Mang thường", english_name="Northern red muntjac", taxon_group="mammal",
                  iucn_category="LC", lineage="Animalia|Mammalia"),
}
# exact station positions, to check that the generalised ones differ
STATIONS = {"PNKB": [("P01", 17.5432, 106.2871), ("P02", 17.6123, 106.3345)],
            "CT": [("C01", 11.4321, 107.3789), ("C02", 11.4876, 107.4012), ("C03", 11.5111, 107.4523)]}


def _taxa(s: Session) -> dict[str, Taxon]:
    out = {}
    for name, kw in TAXA.items():
        t = s.exec(__import__("sqlmodel").select(Taxon).where(Taxon.scientific_name == name)).first()
        if t is None:
            t = Taxon(scientific_name=name, rank="species", **kw)
            s.add(t)
        out[name] = t
    s.flush()
    return out


def build(s: Session) -> dict[str, ProtectedArea]:
    """The network; returns the areas by code. Records:

    - PNKB 2025: saola at P01 (2 independent events), muntjac at P01 and P02; a person at P02.
    - PNKB 2024: muntjac at P01.
    - CT 2025: leopard cat at C01, C02; muntjac at C03. CT 2024: saola at C01.
    - an acoustic deployment in CT, 10 days in 2025, 2 of them malfunction.
    """
    taxa = _taxa(s)
    areas = {}
    n = 0
    for code, name, name_vi in (("PNKB", "Phong Nha-Ke Bang", "Phong Nha-Kẻ Bàng"), ("CT", "Cat Tien", "Cát Tiên")):
        a = ProtectedArea(code=code, name=name, name_vi=name_vi, province="Quảng Bình" if code == "PNKB" else "Đồng Nai")
        s.add(a)
        s.flush()
        areas[code] = a
        p = Program(area_id=a.id, name="Camera traps", settings={"sampling_design": "systematicRandom"})
        s.add(p)
        s.flush()
        deps = {}
        for st, lat, lon in STATIONS[code]:
            loc = Location(area_id=a.id, name=st, latitude=lat, longitude=lon, coordinate_uncertainty=10)
            s.add(loc)
            s.flush()
            for year in (2024, 2025):
                d = Deployment(program_id=p.id, location_id=loc.id, kind="camera",
                               deployment_start=datetime(year, 3, 1, tzinfo=UTC),
                               deployment_end=datetime(year, 4, 30, tzinfo=UTC), camera_id=f"{st}-{year}")
                s.add(d)
                s.flush()
                deps[(st, year)] = d

        def record(st, year, day, taxon, kind="animal", hour=20, deps=deps, code=code):
            nonlocal n
            n += 1
            d = deps[(st, year)]
            t = datetime(year, 3, day, hour, 0, tzinfo=UTC)
            sha = hashlib.sha256(f"{code}{n}".encode()).hexdigest()
            m = Media(sha256=sha, kind="image", deployment_id=d.id, file_name=f"IMG_{n:04d}.JPG",
                      media_type="image/jpeg", size_bytes=1000, storage_key=f"{sha[:2]}/{sha[2:4]}/{sha}.jpg",
                      captured_at=t, contains_person=kind == "human", timestamp_source="exif",
                      width=64, height=48)
            s.add(m)
            s.flush()
            s.add(Observation(deployment_id=d.id, media_id=m.id, event_start=t, event_end=t + timedelta(seconds=5),
                              observation_level="media", observation_type=kind,
                              taxon_id=taxa[taxon].id if taxon else None, count=1, classified_by="biologist"))

        if code == "PNKB":
            record("P01", 2025, 5, SAOLA)
            record("P01", 2025, 9, SAOLA)
            record("P01", 2025, 6, MUNTJAC)
            record("P02", 2025, 7, MUNTJAC)
            record("P02", 2025, 8, None, kind="human", hour=9)
            record("P01", 2024, 6, MUNTJAC)
        else:
            record("C01", 2025, 5, LEOPARD_CAT)
            record("C02", 2025, 6, LEOPARD_CAT)
            record("C03", 2025, 7, MUNTJAC)
            record("C01", 2024, 8, SAOLA)
            loc = s.exec(__import__("sqlmodel").select(Location).where(Location.area_id == a.id,
                                                                       Location.name == "C01")).one()
            rec = Deployment(program_id=p.id, location_id=loc.id, kind="acoustic",
                             deployment_start=datetime(2025, 5, 1, tzinfo=UTC),
                             deployment_end=datetime(2025, 5, 11, tzinfo=UTC), camera_id="AM-1")
            s.add(rec)
            s.flush()
            s.add(OperatingInterval(deployment_id=rec.id, start=datetime(2025, 5, 3, tzinfo=UTC),
                                    end=datetime(2025, 5, 5, tzinfo=UTC), status="malfunction", reason="flooded"))
    s.flush()
    return areas

"""Benchmark: the hub's national views over a generated network (issue 18, item 2).

A fresh SQLite database holds ``--areas`` protected areas (20; ``--quick``: 4), each with
``--stations`` camera stations (10) deployed for 60 days in each of the last two years, and
``--records`` independent animal records per station and year (40) of five species, one of them a
priority and sensitive species. Timed, in one run on the same data:

- the baseline: each area's own annual-report gathering (``build_report`` without estimates) for
  each of the five years the dashboard shows, one after the other: what the units' servers do;
- the national dashboard's figures (``national_summary``: the same gathering per area-year, plus
  naive occupancy of the priority species and the reporting status), and the dashboard page
  through the Flask test client (signed in as a national viewer; charts are separate requests);
- the dashboard's three charts right after the page (the figures come from the page's cache);
- the national inventory and its CSV;
- the public portal's home page, the first request (computed) and the next one (cached).

Usage:  .venv/bin/python benchmarks/hub_views.py [--quick] [--areas N] [--stations N] [--records N]
Ends with ``BENCH national_dashboard_vs_annual_reports <ratio>`` (dashboard seconds / baseline
seconds: near 1 means the national view adds little to the per-area gathering it reuses) and
lines for the absolute times.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

UTC = timezone.utc
SPECIES = [("Pseudoryx nghetinhensis", "CR", "IB"), ("Muntiacus vaginalis", "LC", None),
           ("Sus scrofa", "LC", None), ("Prionailurus bengalensis", "LC", "IIB"), ("Arctonyx collaris", "VU", None)]


def build(url: str, areas: int, stations: int, records: int, year: int) -> None:
    """Write the network with bulk inserts (rows as dicts, no ORM objects)."""
    from sqlalchemy import insert

    from server.db import session_scope
    from server.models import Deployment, Location, Media, Observation, Program, ProtectedArea, Taxon, new_id

    with session_scope(url) as s:
        taxa = []
        for name, iucn, d84 in SPECIES:
            t = Taxon(scientific_name=name, iucn_category=iucn, decree84_group=d84, rank="species",
                      taxon_group="mammal", lineage="Animalia|Mammalia")
            s.add(t)
            taxa.append(t)
        s.flush()
        tids = [t.id for t in taxa]
        for a in range(areas):
            area = ProtectedArea(code=f"A{a:03d}", name=f"Area {a}")
            s.add(area)
            s.flush()
            prog = Program(area_id=area.id, name="Camera traps", settings={"sampling_design": "systematicRandom"})
            s.add(prog)
            s.flush()
            locs, deps, media, obs = [], [], [], []
            for st in range(stations):
                lid = new_id()
                locs.append({"id": lid, "area_id": area.id, "name": f"S{st:03d}", "latitude": 17 + a * 0.05 + st * 0.01,
                             "longitude": 106 + st * 0.01, "created_at": datetime.now(UTC)})
                for y in (year - 1, year):
                    did = new_id()
                    start = datetime(y, 3, 1, tzinfo=UTC)
                    deps.append({"id": did, "program_id": prog.id, "location_id": lid, "kind": "camera",
                                 "deployment_start": start, "deployment_end": start + timedelta(days=60),
                                 "timezone": "Asia/Ho_Chi_Minh", "clock_offset_s": 0, "timestamp_issues": False,
                                 "bait_use": False, "settings": {}, "created_at": start, "updated_at": start})
                    for r in range(records):
                        t = start + timedelta(hours=3 + r * 30)
                        mid = new_id()
                        sha = hashlib.sha256(mid.encode()).hexdigest()
                        media.append({"id": mid, "sha256": sha, "kind": "image", "deployment_id": did,
                                      "file_name": f"I{r}.JPG", "media_type": "image/jpeg", "size_bytes": 1,
                                      "storage_key": sha, "captured_at": t, "timestamp_source": "exif", "flags": [],
                                      "meta": {}, "has_derivatives": False, "contains_person": False,
                                      "favorite": False, "created_at": t})
                        obs.append({"id": new_id(), "deployment_id": did, "media_id": mid, "event_start": t,
                                    "event_end": t + timedelta(seconds=5), "observation_level": "media",
                                    "observation_type": "animal", "taxon_id": tids[(r + st) % (2 if st % 3 else 5)],
                                    "count": 1, "classification_method": "human", "extra": {}, "revision": 1,
                                    "created_at": t, "updated_at": t})
            for model, rows in ((Location, locs), (Deployment, deps), (Media, media), (Observation, obs)):
                for i in range(0, len(rows), 5000):
                    s.execute(insert(model), rows[i:i + 5000])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--areas", type=int)
    ap.add_argument("--stations", type=int, default=10)
    ap.add_argument("--records", type=int, default=40)
    args = ap.parse_args()
    areas = args.areas or (4 if args.quick else 20)
    year = datetime.now(UTC).year - 1
    tmp = Path(tempfile.mkdtemp(prefix="saola-hub-bench-"))
    url = f"sqlite:///{tmp / 'hub.db'}"
    from server.migrate import upgrade

    upgrade(url)
    t0 = time.perf_counter()
    build(url, areas, args.stations, args.records, year)
    print(f"network: {areas} areas x {args.stations} stations x 2 years x {args.records} records "
          f"({areas * args.stations * 2 * args.records} observations) written in {time.perf_counter() - t0:.1f} s")

    from sqlmodel import select

    from server.db import session_scope
    from server.models import ProtectedArea
    from server.national.dashboard import TREND_YEARS, national_summary
    from server.national.inventory import build_inventory, inventory_csv
    from server.reports.data import build_report

    with session_scope(url, read_only=True) as s:
        area_list = list(s.exec(select(ProtectedArea)))
        t0 = time.perf_counter()
        for a in area_list:
            for y in range(year - TREND_YEARS + 1, year + 1):
                build_report(s, y, area_id=a.id, estimates=False)
        baseline = time.perf_counter() - t0
        t0 = time.perf_counter()
        summary = national_summary(s, year, date(year + 1, 4, 1))
        dashboard = time.perf_counter() - t0
        assert len(summary.areas) == areas and summary.priority_names()
        t0 = time.perf_counter()
        text = inventory_csv(build_inventory(s))
        inventory = time.perf_counter() - t0
        assert text.count("\n") == len(SPECIES) + 1

    from server import create_app
    from server.auth.passwords import hash_password
    from server.models import User

    app = create_app({"DATABASE_URL": url, "DATA_DIR": str(tmp / "data"), "SECRET_KEY": "bench", "TESTING": True,
                      "WORKER": "external", "PORTAL": True, "PORTAL_REQUESTS_PER_MIN": 10_000})
    with session_scope(url) as s:
        s.add(User(username="nation", password_hash=hash_password("a-Long-pass-phrase-42"), is_national=True))
    c = app.test_client()
    with c.session_transaction() as sess:
        sess["csrf"] = "t"
    assert c.post("/login", data={"username": "nation", "password": "a-Long-pass-phrase-42",
                                  "csrf_token": "t"}).status_code == 302
    t0 = time.perf_counter()
    assert c.get(f"/national?year={year}").status_code == 200
    page = time.perf_counter() - t0
    t0 = time.perf_counter()
    for name in ("effort", "species", "priority-trend"):  # what the browser asks for next
        assert c.get(f"/national/charts/{name}.png?year={year}&lang=en").status_code == 200
    charts = time.perf_counter() - t0
    anon = app.test_client()
    t0 = time.perf_counter()
    assert anon.get("/portal").status_code == 200
    portal_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    assert anon.get("/portal").status_code == 200
    portal_cached = time.perf_counter() - t0
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(f"annual-report gathering, {areas} areas x {TREND_YEARS} years: {baseline:.2f} s")
    print(f"national_summary: {dashboard:.2f} s; dashboard page: {page:.2f} s, then its three charts "
          f"(figures cached): {charts:.2f} s; inventory CSV: {inventory:.3f} s")
    print(f"portal home: first {portal_first:.2f} s, cached {portal_cached * 1000:.1f} ms")
    print(f"BENCH national_dashboard_vs_annual_reports {dashboard / baseline:.2f} national_summary time / the same "
          f"area-years' build_report time")
    print(f"BENCH national_dashboard_s {dashboard:.2f} national_summary of {areas} areas x {TREND_YEARS} years")
    print(f"BENCH national_inventory_csv_s {inventory:.3f} species x area CSV of {areas} areas")
    print(f"BENCH portal_home_cached_ms {portal_cached * 1000:.1f} second /portal request (cached figures)")


if __name__ == "__main__":
    main()

"""Directory-labelled import, issue 15 fixes (b) and (g): a window made from photos ignores a stray
timestamp and flags it; species folders named by camtrapR-style codes (PBE, VTA) found through a
code column of the species reference. SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlmodel import select

from ingest_helpers import jpeg_bytes, write
from server.ingest.timefix import photo_window
from server.models import Deployment, Location, Media, Observation, Taxon
from server.services.taxa import refresh_search_text
from server.timeutil import as_utc


def _utc(*a) -> datetime:
    return datetime(*a, tzinfo=timezone.utc)


def test_photo_window_ignores_clear_outliers():
    survey = [_utc(2009, 4, 9) + timedelta(days=d, hours=h) for d in range(60) for h in (3, 15)]
    stray = [_utc(2025, 11, 11, 10)]
    start, end, out = photo_window(survey + stray)
    assert (start, end, out) == (survey[0], survey[-1], stray)
    # two real runs of similar size (a camera checked and left): no outlier, the window spans both
    later = [t + timedelta(days=200) for t in survey]
    assert photo_window(survey + later) == (survey[0], later[-1], [])
    assert photo_window([]) == (None, None, [])
    # a gap shorter than 60 days is not a split
    assert photo_window(survey + [survey[-1] + timedelta(days=59)])[2] == []


def test_layout_window_outlier_flagged_and_species_codes(runner, world, tmp_path):
    world.area()
    with world.session() as s:
        t = Taxon(scientific_name="Sus scrofa", vietnamese_name="Lợn rừng", english_name="Wild boar")
        refresh_search_text(t)
        s.add(t)
    codes = tmp_path / "codes.csv"
    # a camtrapR-style species table: scientific name and the code used for folders
    codes.write_text("scientific_name,code\nSus scrofa,SSC\nTragulus kanchil,TKA; PBE\n", encoding="utf-8")
    res = runner.invoke(["taxa", "import", str(codes)])
    assert res.exit_code == 0, res.output
    with world.session() as s:
        boar = s.exec(select(Taxon).where(Taxon.scientific_name == "Sus scrofa")).one()
        assert boar.other_names == ["SSC"] and boar.vietnamese_name == "Lợn rừng"  # codes added, names kept
    root = tmp_path / "sorted"
    for i in range(6):
        write(root / f"StationA/SSC/{i}.JPG", jpeg_bytes(f"2009:04:{10 + i:02d} 06:15:01", color=(10 + i, 1, 1)))
    write(root / "StationA/PBE/k.JPG", jpeg_bytes("2009:04:12 20:00:00", color=(30, 1, 1)))
    write(root / "StationA/PBE/stray.JPG", jpeg_bytes("2025:11:11 10:00:00", color=(31, 1, 1)))
    res = runner.invoke(["ingest", str(root), "--layout", "station/species", "--area", "PNKB", "--program",
                         "Sorted 2009", "--workers", "0", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "unknown species folder" not in res.output
    assert "StationA: 1 photo(s) far from the others left out of the new deployment's window" in res.output
    with world.session() as s:
        loc = s.exec(select(Location).where(Location.name == "StationA")).one()
        dep = s.exec(select(Deployment).where(Deployment.location_id == loc.id)).one()
        # the window spans April 2009 (UTC+7), not 2009 to 2025
        assert as_utc(dep.deployment_start) == _utc(2009, 4, 9, 23, 15, 1)
        assert as_utc(dep.deployment_end) == _utc(2009, 4, 14, 23, 15, 1)
        flagged = {m.file_name: m.flags for m in s.exec(select(Media))}
        assert "outside_window" in flagged["stray.JPG"]
        assert not any("outside_window" in f for n, f in flagged.items() if n != "stray.JPG")
        got = sorted((m.file_name, tx.scientific_name) for _, m, tx in s.exec(
            select(Observation, Media, Taxon).join(Media, Media.id == Observation.media_id)
            .join(Taxon, Taxon.id == Observation.taxon_id)))
        assert ("k.JPG", "Tragulus kanchil") in got and ("0.JPG", "Sus scrofa") in got
    # the stray photo is kept and labelled, but is no record: RAI counts one kanchil event
    res = runner.invoke(["analytics", "rai", "--area", "PNKB", "--min-delta", "60"])
    assert res.exit_code == 0, res.output
    assert "Tragulus kanchil,1," in res.output

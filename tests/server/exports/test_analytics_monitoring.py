"""Monitoring statistics on program data (server/analytics/monitoring.py): occupancy single-season and
across years, activity overlap, richness and the AI evaluation, through the registry, the CLI and the
API, on SQLite and PostgreSQL. Each is checked against the pure statistics fed with the detection
histories and records the program's other analyses give."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from server.analytics.registry import Options, run
from server.errors import ValidationError

YEARS = (2023, 2024, 2025)
N_STATIONS = 20
MUNTJAC, BOAR, LEOPARD = "Muntiacus vaginalis", "Sus scrofa", "Panthera pardus"


@dataclass
class Program3y:
    program_id: str
    area_id: str
    stations: list[str]
    elevation: list[float]
    z: np.ndarray  # true muntjac occupancy, stations x years


@pytest.fixture
def program3y(world) -> Program3y:
    """20 stations surveyed each March of 2023-2025 (local time); muntjac occupancy rises with elevation
    and declines over the years; wild boar everywhere at night; a leopard at two stations."""
    from server.models import Deployment, Location, Observation, OperatingInterval, Program, ProtectedArea, Taxon

    rng = np.random.default_rng(11)
    elevation = list(np.round(rng.uniform(200, 1200, N_STATIONS), 0))
    z = np.zeros((N_STATIONS, len(YEARS)), bool)
    el = (np.array(elevation) - 700) / 300
    z[:, 0] = rng.random(N_STATIONS) < 1 / (1 + np.exp(-(0.8 + 1.2 * el)))
    for t in range(1, len(YEARS)):
        u = rng.random(N_STATIONS)
        z[:, t] = np.where(z[:, t - 1], u >= 0.3, u < 0.1)
    with world.session() as s:
        area = ProtectedArea(code="BM", name="Bach Ma")
        s.add(area)
        s.flush()
        prog = Program(area_id=area.id, name="Camera grid")
        s.add(prog)
        taxa = {n: Taxon(scientific_name=n) for n in (MUNTJAC, BOAR, LEOPARD)}
        s.add_all(taxa.values())
        s.flush()
        stations = [f"ST{i:02d}" for i in range(N_STATIONS)]
        for i, name in enumerate(stations):
            loc = Location(area_id=area.id, name=name, latitude=16.2 + i * 0.01, longitude=107.85,
                           elevation=elevation[i], habitat="forest" if i % 2 else "grassland")
            s.add(loc)
            s.flush()
            for t, year in enumerate(YEARS):
                # 1 March 00:00 to 31 March 00:00 local (+07): 30 whole days
                start = datetime(year, 2, 28, 17, tzinfo=timezone.utc)
                dep = Deployment(program_id=prog.id, location_id=loc.id, deployment_start=start,
                                 deployment_end=start + timedelta(days=30))
                s.add(dep)
                s.flush()
                if i % 3 == 0:  # a camera down for a few days: effort varies between occasions
                    s.add(OperatingInterval(deployment_id=dep.id, start=start + timedelta(days=11 + t),
                                            end=start + timedelta(days=14 + t), status="malfunction"))

                def obs(species, day, hour, start=start, dep=dep):
                    at = start + timedelta(days=day, hours=hour)
                    s.add(Observation(deployment_id=dep.id, event_start=at, event_end=at, taxon_id=taxa[species].id,
                                      observation_type="animal", classification_method="human"))

                for occ in range(6):  # 6 occasions of 5 days
                    if z[i, t] and rng.random() < 0.45:
                        obs(MUNTJAC, occ * 5 + int(rng.integers(0, 5)), float(rng.uniform(5, 10)))
                    if rng.random() < 0.35:
                        obs(BOAR, occ * 5 + int(rng.integers(0, 5)), float(rng.uniform(18, 23)))
                if i in (3, 7) and t == 1:
                    obs(LEOPARD, 10, 2.5)
        return Program3y(prog.id, area.id, stations, elevation, z)


def _run(world, pid, name, **opts):
    with world.session() as s:
        return run(s, name, [pid], Options(**opts))


def _history(world, pid, species, **opts):
    t = _run(world, pid, "detection-history", species=species, occasion_length=5, **opts)
    J = max(int(k[1:]) for k in t.columns if k.startswith("o"))
    y = np.array([[np.nan if r[f"o{j + 1}"] is None else r[f"o{j + 1}"] for j in range(J)] for r in t.rows], float)
    e = np.array([[np.nan if r[f"effort_o{j + 1}"] is None else r[f"effort_o{j + 1}"] for j in range(J)]
                  for r in t.rows], float)
    return [r["station"] for r in t.rows], y, e


def test_single_season_occupancy_equals_direct_fit(world, program3y):
    import pandas as pd

    from server.stats import occupancy as occ

    t = _run(world, program3y.program_id, "occupancy", species=MUNTJAC, year=2023, occasion_length=5,
             psi="~ scale(elevation)", p="~ effort")
    (row,) = t.rows
    stations, y, e = _history(world, program3y.program_id, MUNTJAC, year=2023)
    assert stations == program3y.stations and y.shape == (N_STATIONS, 6)
    elev = pd.DataFrame({"elevation": program3y.elevation})
    direct = occ.fit(occ.OccuData(y, stations, elev, {"effort": e}), "~ scale(elevation)", "~ effort")
    fit = t.notes["fits"][MUNTJAC]
    assert fit["coefficients"]["psi"] == pytest.approx(direct.coefficients("psi"), rel=1e-9)
    assert fit["aic"] == pytest.approx(direct.aic)
    assert row["psi"] == pytest.approx(direct.mean_occupancy()["estimate"])
    assert row["psi_lower"] < row["psi"] < row["psi_upper"]
    assert row["p_lower"] < row["p"] < row["p_upper"]
    assert fit["coefficients"]["psi"]["scale(elevation)"] > 0  # occupancy rises with elevation, as simulated
    assert row["naive_occupancy"] <= row["psi"] + 1e-9


def test_occupancy_of_every_species_and_bad_formulas(world, program3y):
    t = _run(world, program3y.program_id, "occupancy", year=2024, occasion_length=5)
    rows = {r["species"]: r for r in t.rows}
    assert set(rows) == {MUNTJAC, BOAR, LEOPARD}
    assert rows[LEOPARD]["stations_detected"] == 2 and rows[LEOPARD]["warnings"]  # 2 detections: flagged
    with pytest.raises(ValidationError, match="altitude"):
        _run(world, program3y.program_id, "occupancy", species=MUNTJAC, year=2024, psi="~ altitude")
    with pytest.raises(ValidationError, match="no camera was operating"):
        _run(world, program3y.program_id, "occupancy", species=MUNTJAC, year=2019)


def test_dynamic_occupancy_equals_direct_colext_fit(world, program3y):
    from server.stats import colext as cx

    t = _run(world, program3y.program_id, "occupancy", model="dynamic", species=MUNTJAC, occasion_length=5)
    assert [r["season"] for r in t.rows] == ["2023", "2024", "2025"]
    ys = [_history(world, program3y.program_id, MUNTJAC, year=y)[1] for y in YEARS]
    direct = cx.fit(cx.ColextData(np.hstack(ys), program3y.stations, 3))
    fit = t.notes["fits"][MUNTJAC]
    assert fit["coefficients"]["col"]["(Intercept)"] == pytest.approx(direct.coefficients("col")["(Intercept)"])
    for r, p in zip(t.rows, direct.projected()):
        assert r["projected"] == pytest.approx(p["estimate"])
        assert r["projected_lower"] < r["projected"] < r["projected_upper"]
        assert r["smoothed_lower"] <= r["smoothed"] <= r["smoothed_upper"]
    assert fit["trend"]["change"] == pytest.approx(direct.trend()["change"])
    # The smoothed yearly occupancy follows the simulated truth.
    truth = program3y.z.mean(axis=0)
    assert np.abs(np.array([r["smoothed"] for r in t.rows]) - truth).max() < 0.2
    with pytest.raises(ValidationError, match="several years"):
        _run(world, program3y.program_id, "occupancy", model="dynamic", species=MUNTJAC, year=2024)
    with pytest.raises(ValidationError, match="at least two"):
        _run(world, program3y.program_id, "occupancy", model="dynamic", species=MUNTJAC,
             start=__import__("datetime").date(2024, 1, 1), end=__import__("datetime").date(2024, 12, 31))


def test_overlap_and_richness_equal_direct_statistics(world, program3y):
    from server.analytics.monitoring import activity_radians
    from server.analytics.registry import _records
    from server.stats import overlap as ov, richness as rc

    t = _run(world, program3y.program_id, "overlap", species=MUNTJAC, species_b=BOAR, bootstrap=200, seed=3)
    with world.session() as s:
        recs = _records(s, [program3y.program_id], Options())
    direct = ov.analyse(activity_radians(recs, MUNTJAC), activity_radians(recs, BOAR), bootstrap=200, seed=3)
    est = {r["estimator"]: r for r in t.rows}
    assert est["dhat4"]["estimate"] == pytest.approx(direct.estimates["dhat4"])
    assert est["dhat4"]["lower"] == pytest.approx(direct.ci["dhat4"]["basic0"][0])
    assert est[direct.recommended]["recommended"]
    assert est["dhat4"]["estimate"] < 0.3  # day-active muntjac, night-active boar
    with pytest.raises(ValidationError, match="two species"):
        _run(world, program3y.program_id, "overlap", species=MUNTJAC)
    with pytest.raises(ValidationError, match="at least 2"):
        _run(world, program3y.program_id, "overlap", species=MUNTJAC, species_b=LEOPARD, year=2023)

    r = _run(world, program3y.program_id, "richness", year=2024)
    x = np.zeros((N_STATIONS, 3))
    sp = sorted({MUNTJAC, BOAR, LEOPARD})
    for rec in recs:
        if rec.time.year == 2024:
            x[program3y.stations.index(rec.station), sp.index(rec.species)] = 1
    pool = rc.specpool(x, seed=1)
    rows = {row["estimator"]: row for row in r.rows}
    assert rows["observed"]["estimate"] == 3
    assert rows["chao2"]["estimate"] == pytest.approx(pool.chao)
    assert rows["jack1"]["se"] == pytest.approx(pool.jack1_se)
    assert r.notes["accumulation"]["richness"][-1] == pytest.approx(3)
    assert r.notes["stations"] == N_STATIONS


@pytest.fixture
def reviewed(world, program3y):
    """35 reviewed sequences at ST00 in 2025 with machine results and human labels (see the test)."""
    from sqlalchemy import select

    from server.models import Deployment, Detection, Location, Media, Observation, Sequence, Taxon

    with world.session() as s:
        dep = s.execute(select(Deployment).join(Location, Location.id == Deployment.location_id)
                        .where(Location.name == "ST00", Deployment.deployment_start > datetime(2025, 1, 1,
                                                                                                 tzinfo=timezone.utc))
                        ).scalars().one()
        taxa = {t.scientific_name: t.id for t in s.execute(select(Taxon)).scalars()}
        cases = ([(MUNTJAC, round(0.99 - 0.01 * i, 2), 0.9, MUNTJAC if i < 16 else BOAR) for i in range(20)]
                 + [(None, None, None, "blank" if i < 8 else MUNTJAC) for i in range(10)]
                 + [("animal", 0.08, 0.08, "blank" if i < 3 else BOAR) for i in range(5)])
        for k, (label, lconf, box, truth) in enumerate(cases):
            at = dep.deployment_start + timedelta(days=1, minutes=k)
            seq = Sequence(deployment_id=dep.id, event_start=at, event_end=at, media_count=1,
                           review_status="blank" if truth == "blank" else "reviewed")
            s.add(seq)
            s.flush()
            m = Media(sha256=f"{k:064x}", kind="image", deployment_id=dep.id, sequence_id=seq.id,
                      file_name=f"I{k}.JPG", media_type="image/jpeg", size_bytes=1, storage_key=f"x/{k}.jpg",
                      captured_at=at)
            s.add(m)
            s.flush()
            if label is None:
                s.add(Detection(media_id=m.id, model="megadetector@5a", category="blank", confidence=0.0))
            elif label == "animal":
                s.add(Detection(media_id=m.id, model="megadetector@5a", category="animal", confidence=box))
            else:
                s.add(Detection(media_id=m.id, model="megadetector@5a", category="animal", confidence=box,
                                taxon_id=taxa[label], label="muntjac", label_confidence=lconf))
            s.add(Observation(deployment_id=dep.id, sequence_id=seq.id, event_start=at, event_end=at,
                              observation_type="blank" if truth == "blank" else "animal",
                              taxon_id=None if truth == "blank" else taxa[truth], classification_method="human"))
    return program3y


def test_ai_evaluation_on_program_data(world, reviewed, runner):
    t = _run(world, reviewed.program_id, "ai-evaluation", target_precision=0.9)
    rows = {r["label"]: r for r in t.rows}
    assert t.notes["sequences"] == 35
    assert rows[MUNTJAC]["machine_predictions"] == 20 and rows[MUNTJAC]["precision"] == pytest.approx(16 / 20)
    assert rows[MUNTJAC]["recall"] == pytest.approx(16 / 18)
    # 0.99 .. 0.84 are 16 right; 0.83 adds a wrong one: 16/17 = 0.94 >= 0.9; 0.82 gives 16/18 = 0.89 < 0.9
    assert rows[MUNTJAC]["threshold_for_target"] == pytest.approx(0.83)
    assert rows[MUNTJAC]["precision_at_threshold"] == pytest.approx(16 / 17)
    tri = {r["threshold"]: r for r in t.notes["triage"]}
    assert tri[0.1]["hidden"] == 15 and tri[0.1]["animal_sequences_hidden"] == 4
    assert tri[0.1]["blanks_removed"] == 11
    det = {r["label"]: r for r in t.notes["detector"]}
    assert det["animal"]["precision"] == pytest.approx(22 / 25)  # boxes: 20 labelled + 5 weak, 22 with an animal

    out = runner.invoke(["analytics", "ai-evaluation", "--program", reviewed.program_id, "--format", "json",
                         "--target-precision", "0.9"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["notes"]["sequences"] == 35


def test_cli_and_api(world, program3y, runner, client):
    out = runner.invoke(["analytics", "occupancy", "--program", program3y.program_id, "--species", MUNTJAC,
                         "--model", "dynamic", "--occasion-length", "5", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert [r["season"] for r in json.loads(out.output)["rows"]] == ["2023", "2024", "2025"]
    out = runner.invoke(["analytics", "richness", "--program", program3y.program_id, "--year", "2024"])
    assert out.exit_code == 0 and out.output.startswith("estimator,estimate,se,lower,upper")
    out = runner.invoke(["analytics", "occupancy", "--program", program3y.program_id, "--species", MUNTJAC,
                         "--year", "2024", "--psi", "~ elevation + elevation2"], catch_exceptions=True)
    assert out.exit_code != 0 and "elevation2" in out.output

    user = world.user("viewer1", roles={program3y.area_id: "viewer"})
    h = world.headers(user)
    r = client.get(f"/api/v1/analytics/overlap?program_id={program3y.program_id}&species={MUNTJAC}"
                   f"&species_b={BOAR}&bootstrap=100&seed=2", headers=h)
    assert r.status_code == 200, r.get_json()
    assert {row["estimator"] for row in r.get_json()["rows"]} == {"dhat1", "dhat4", "dhat5"}
    r = client.get(f"/api/v1/analytics/occupancy?program_id={program3y.program_id}&species={MUNTJAC}&year=2024"
                   "&level=1.5", headers=h)
    assert r.status_code == 422 and "level" in json.dumps(r.get_json())
    other = world.user("outsider", roles={})
    r = client.get(f"/api/v1/analytics/richness?program_id={program3y.program_id}", headers=world.headers(other))
    assert r.status_code == 404


def test_annual_report_carries_the_estimates(world, program3y):
    from server.models import Program
    from server.reports import build_report, render_html
    from server.stats import colext as cx

    with world.session() as s:
        p = s.get(Program, program3y.program_id)
        p.settings = {"priority_species": [MUNTJAC, LEOPARD], "predator_prey": [[LEOPARD, MUNTJAC], [BOAR, MUNTJAC]]}
    with world.session() as s:
        data = build_report(s, 2025, program_id=program3y.program_id)
        m = data.monitoring
        assert [r["species"] for r in m.occupancy] == [MUNTJAC]
        row = m.occupancy[0]
        assert row["psi_lower"] < row["psi"] < row["psi_upper"]
        assert m.trend_years == [2023, 2024, 2025]
        (trend,) = m.trends  # the leopard was not recorded in 2025: no trend for it either
        assert [(o["predator"], o["prey"]) for o in m.overlaps] == [(BOAR, MUNTJAC)]
        whats = {x["what"]: x["reason"] for x in m.not_estimated}
        assert "no independent camera record in 2025" in whats[LEOPARD]
        assert "needs 10" in whats[f"{LEOPARD} / {MUNTJAC}"]
        assert m.richness["observed"]["estimate"] == 2 and m.richness["chao2"]["lower"] is not None
        en = render_html(data, "en")
        vi = render_html(data, "vi")
    ys = [_run(world, program3y.program_id, "detection-history", species=MUNTJAC, occasion_length=7, year=y)
          for y in YEARS]
    J = sum(1 for c in ys[0].columns if c.startswith("o"))  # 30 days: four 7-day occasions and a 2-day one
    mats = [np.array([[np.nan if r[f"o{j + 1}"] is None else r[f"o{j + 1}"] for j in range(J)] for r in t.rows])
            for t in ys]
    direct = cx.fit(cx.ColextData(np.hstack(mats), program3y.stations, 3, season_labels=["2023", "2024", "2025"]))
    assert [x["estimate"] for x in trend["seasons"]] == pytest.approx([x["estimate"] for x in direct.smoothed()])
    assert "7. Monitoring estimates" in en and "Occupancy trend 2023–2025" in en and "data:image/png" in en
    assert "7. Các ước lượng giám sát" in vi and "Độ giàu loài" in vi and "Jackknife bậc một" in vi
    assert MUNTJAC in en and "needs 10" in en


def test_triage_preview_shows_what_the_threshold_would_have_hidden(world, reviewed, client):
    from sqlalchemy import select

    from server.models import Deployment, Detection, Location, Media, Sequence

    with world.session() as s:  # one unreviewed sequence with a weak box: the triage's candidate
        dep = s.execute(select(Deployment).join(Location, Location.id == Deployment.location_id)
                        .where(Location.name == "ST01")).scalars().first()
        at = dep.deployment_start + timedelta(days=2)
        seq = Sequence(deployment_id=dep.id, event_start=at, event_end=at, media_count=1)
        s.add(seq)
        s.flush()
        m = Media(sha256="f" * 64, kind="image", deployment_id=dep.id, sequence_id=seq.id, file_name="U.JPG",
                  media_type="image/jpeg", size_bytes=1, storage_key="x/u.jpg", captured_at=at)
        s.add(m)
        s.flush()
        s.add(Detection(media_id=m.id, model="megadetector@5a", category="animal", confidence=0.05))
    bio = world.user("bio1", roles={reviewed.area_id: "biologist"})
    r = client.get(f"/api/v1/review/triage/preview?program_id={reviewed.program_id}&threshold=0.1",
                   headers=world.headers(bio))
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["sequences"] == 1
    ev = body["evaluation"]
    assert ev["reviewed"] == 35 and ev["hidden"] == 15
    assert (ev["animal_sequences_hidden"], ev["animal_total"]) == (4, 24)
    assert (ev["blanks_removed"], ev["blank_total"]) == (11, 11)
    assert {x["species"]: x["sequences"] for x in ev["species_hidden"]} == {MUNTJAC: 2, BOAR: 2}
    r = client.get(f"/api/v1/review/triage/preview?deployment_id={dep.id}&threshold=0.1", headers=world.headers(bio))
    assert r.get_json()["evaluation"] == {"threshold": 0.1, "reviewed": 0}  # nothing reviewed at ST01


@pytest.mark.parametrize("name,opts", [
    ("occupancy", {"year": 2024, "occasion_length": 5}),
    ("occupancy", {"model": "dynamic", "species": MUNTJAC, "occasion_length": 5}),
    ("overlap", {"species": MUNTJAC, "species_b": BOAR, "bootstrap": 0}),
    ("richness", {"year": 2024})])
def test_plots_of_the_monitoring_statistics(world, program3y, name, opts, tmp_path):
    from PIL import Image

    from server.analytics.plots import plot

    with world.session() as s:
        png = plot(s, name, [program3y.program_id], Options(**opts))
    path = tmp_path / f"{name}.png"
    path.write_bytes(png)
    img = Image.open(path)
    assert img.format == "PNG" and img.size[0] > 400
    colours = img.convert("RGB").getcolors(1 << 20)
    assert colours is not None and len(colours) > 50  # lines and bands drawn, not an empty frame


def test_monitoring_charts_in_vietnamese_with_a_decimal_comma(world, program3y):
    """Issue 13, item 8: the occupancy, overlap and richness charts' texts in Vietnamese and their numbers
    (ticks, legends) with a decimal comma, as babel.numbers writes them."""
    import re

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from server.analytics.plots import occupancy_figure, overlap_figure, richness_figure
    from server.analytics.registry import _records, run

    pid = [program3y.program_id]
    with world.session() as s:
        figs = {
            "Tỷ lệ chiếm cứ": occupancy_figure(run(s, "occupancy", pid, Options(year=2024, occasion_length=5)), "vi"),
            "Chồng lấn thời gian hoạt động": overlap_figure(_records(s, pid, Options()), MUNTJAC, BOAR, 0.4567, "vi"),
            "Độ phong phú loài": richness_figure(run(s, "richness", pid, Options(year=2024)), "vi"),
        }
    for title, fig in figs.items():
        FigureCanvasAgg(fig).draw()
        ax = fig.axes[0]
        assert ax.get_title() == title
        texts = [t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels()]
        texts += [t.get_text() for t in ax.get_legend().get_texts()]
        texts += [ax.get_xlabel(), ax.get_ylabel()]
        assert any(re.search(r"\d,\d", t) for t in texts), (title, texts)
        assert not any(re.search(r"\d\.\d", t) for t in texts), (title, texts)
    legend = [t.get_text() for t in figs["Chồng lấn thời gian hoạt động"].axes[0].get_legend().get_texts()]
    assert "chồng lấn 0,46" in legend
    occupancy = figs["Tỷ lệ chiếm cứ"].axes[0]
    assert occupancy.get_xlabel() == "tỷ lệ chiếm cứ (KTC 95%)"

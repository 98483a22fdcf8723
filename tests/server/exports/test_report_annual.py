"""The annual monitoring report: numbers, new species, both languages, HTML and PDF with plots."""
from __future__ import annotations

from datetime import datetime, timezone

import pypdf
import pytest

from server.reports import build_report, render_html, write_report


def _previous_year_record(world, survey):
    """A wild boar seen in 2025 at S01: not new in 2026, and the comparison has a previous year."""
    from server.models import Deployment, Observation

    with world.session() as s:
        d1 = s.get(Deployment, survey.ids["d1"])
        old = Deployment(program_id=survey.program_id, location_id=d1.location_id,
                         deployment_start=datetime(2025, 3, 1, tzinfo=timezone.utc),
                         deployment_end=datetime(2025, 3, 11, tzinfo=timezone.utc))
        s.add(old)
        s.flush()
        s.add(Observation(deployment_id=old.id, event_start=datetime(2025, 3, 5, tzinfo=timezone.utc),
                          event_end=datetime(2025, 3, 5, tzinfo=timezone.utc), taxon_id=survey.ids["taxa"]["Sus scrofa"],
                          count=1))


def test_report_numbers(world, survey):
    _previous_year_record(world, survey)
    with world.session() as s:
        data = build_report(s, 2026, program_id=survey.program_id)
    assert (data.effort.camera_stations, data.effort.trap_nights, data.effort.km) == (2, 27.0, 1.85)
    assert (data.effort.recorders, data.effort.recording_hours) == (1, round(60 / 3600, 2))
    assert data.previous_effort.trap_nights == 10.0
    rows = {r.taxon.scientific_name: r for r in data.species}
    assert rows["Sus scrofa"].methods == ["camera", "transect"] and not rows["Sus scrofa"].new_for_area
    assert rows["Sus scrofa"].previous_camera_events == 1
    assert rows["Muntiacus vuquangensis"].new_for_area and rows["Polyplectron germaini"].methods == ["acoustic"]
    assert {s.taxon.scientific_name for s in data.new_species} == {"Muntiacus vuquangensis", "Polyplectron germaini"}
    assert data.threats == [{"kind": "snare line", "count": 1}]


@pytest.mark.slow
def test_report_pdf_in_both_languages(world, survey, tmp_path):
    with world.session() as s:
        paths_vi = write_report(s, tmp_path, 2026, program_id=survey.program_id, lang="vi")
        paths_en = write_report(s, tmp_path, 2026, area_id="PNKB", lang="en", formats=("html",))
    html = paths_vi["html"].read_text()
    assert "Báo cáo giám sát đa dạng sinh học năm 2026" in html and "Mang lớn" in html
    assert html.count("data:image/png;base64,") >= 3  # map, RAI, diel activity, accumulation
    assert "Species inventory" in paths_en["html"].read_text()  # the English PDF is checked in the API test
    for path, words in ((paths_vi["pdf"], ["Danh lục loài", "Muntiacus vuquangensis", "Lợn rừng", "Mang lớn"]),):
        reader = pypdf.PdfReader(path)
        assert len(reader.pages) >= 2
        text = " ".join(p.extract_text() for p in reader.pages)
        for w in words:
            assert w in text, (path.name, w)
        images = sum(len(p.images) for p in reader.pages)
        assert images >= 3


def test_report_cli_and_errors(runner, survey, tmp_path):
    res = runner.invoke(["report", "--program", survey.program_id, "--year", "2026", "--lang", "en", "--out",
                         str(tmp_path), "--format", "html"])
    assert res.exit_code == 0, res.output
    out = res.output.strip().splitlines()
    assert len(out) == 1 and out[0].endswith("-2026-en.html")
    res = runner.invoke(["report", "--year", "2026"], catch_exceptions=True)
    assert res.exit_code != 0 and "exactly one of program or protected area" in res.output


def test_report_language_is_checked(world, survey):
    with world.session() as s:
        data = build_report(s, 2026, program_id=survey.program_id)
    with pytest.raises(ValueError, match="'vi' or 'en'"):
        render_html(data, "fr")


def test_report_inventory_fits_a4_and_vietnamese_charts_use_a_decimal_comma(world, survey, tmp_path):
    """Issue 13, item 8: the eleven-column species table is on landscape A4 pages (every column header
    inside the page, 'Sound detections' included), the rest portrait; Vietnamese numbers have a decimal
    comma (the RAI in the table, the charts' tick labels through babel.numbers)."""
    from server.analytics.plots import number_format
    from server.reports.render import _numbers

    assert number_format("vi", 2)(30.38) == "30,38" and number_format("en", 2)(30.38) == "30.38"
    assert _numbers("vi")(1234.5, 1) == "1.234,5" and _numbers("vi")(12) == "12"
    with world.session() as s:
        paths = write_report(s, tmp_path, 2026, area_id="PNKB", lang="en")
        vi = write_report(s, tmp_path / "vi", 2026, area_id="PNKB", lang="vi", formats=("html",))
    reader = pypdf.PdfReader(paths["pdf"])
    shapes = []
    for page in reader.pages:
        w, h = float(page.mediabox.width), float(page.mediabox.height)
        shapes.append(("landscape" if w > h else "portrait", " ".join(page.extract_text().split())))
    inventory = [text for shape, text in shapes if "Species inventory" in text]
    assert inventory and all(shape == "landscape" for shape, text in shapes if "Species inventory" in text)
    assert "Sound detections" in inventory[0] and "Transect records" in inventory[0] and "IUCN" in inventory[0]
    assert shapes[0][0] == "portrait"
    html = vi["html"].read_text()
    import re

    rai = re.findall(r'<td class="num">(\d+[.,]\d\d)</td>', html)
    assert rai and all("," in v for v in rai), rai


def test_report_map_labels_do_not_overlap_and_the_map_is_zoomed_to_the_stations():
    """Issue 13, items 6 and 8: ten stations a few hundred metres apart get names that do not overlap,
    and the map's extent is the stations' (not 101-112 degrees east)."""
    from types import SimpleNamespace

    from server.reports.render import map_figure

    stations = [{"kind": "camera", "name": f"PNKB-CT-{i:02d}", "lon": 106.30 + 0.002 * (i % 4),
                 "lat": 17.50 + 0.002 * (i // 4), "trap_nights": 30.0} for i in range(10)]
    data = SimpleNamespace(boundary={"type": "Polygon", "coordinates": [[[101, 10], [112, 10], [112, 22],
                                                                         [101, 22], [101, 10]]]},
                           transects=[], stations=stations, threat_points=[])
    fig = map_figure(data, lambda m, **k: m)
    ax = fig.axes[0]
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    texts = [t for t in ax.texts if t.get_text().startswith("PNKB-CT-")]
    assert len(texts) >= 8  # a name that fits nowhere is left out, never drawn over another
    boxes = [t.get_window_extent(r) for t in texts]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    x0, x1 = ax.get_xlim()
    assert 106.28 < x0 < 106.30 and 106.306 < x1 < 106.33

"""The overview page and the annual report show the reference's IUCN, VN Red Data Book and Decree 84
columns, and count species by the higher-taxon rule (both databases)."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest


@pytest.fixture
def recorded(app, world):
    from sqlmodel import select

    from server.models import Observation, Taxon
    from server.services.taxa import load_reference

    with world.session() as s:
        assert load_reference(s)[1] == []
    area = world.area("BM", "Bạch Mã")
    program = world.program(area.id, "Cameras 2026")
    dep = world.deployment(program, "S01", deployment_start=datetime(2026, 1, 1, tzinfo=timezone.utc),
                           deployment_end=datetime(2026, 2, 1, tzinfo=timezone.utc))
    for lang in ("en", "vi"):
        world.user(f"manager_{lang}", roles={area.id: "manager"}, language=lang)
    with world.session() as s:
        for day, name in enumerate(("Muntiacus vuquangensis", "Muntiacus", "Muntiacus vaginalis", "Aves"), start=5):
            t = s.exec(select(Taxon).where(Taxon.scientific_name == name)).one()
            at = datetime(2026, 1, day, 3, tzinfo=timezone.utc)
            s.add(Observation(deployment_id=dep.id, event_start=at, event_end=at, taxon_id=t.id, count=1))
    return area, program


def test_overview_shows_the_columns_filled_and_counts_by_the_rule(recorded, signed_in):
    area, _ = recorded
    for lang, header in (("en", "VN Red Data Book"), ("vi", "Sách Đỏ Việt Nam")):
        page = signed_in(f"manager_{lang}").get(f"/areas/{area.id}/overview")
        html = page.get_data(as_text=True)
        assert header in html
        row = next(r for r in re.findall(r"<tr data-taxon.*?</tr>", html, re.S) if "<i>Muntiacus vuquangensis</i>" in r)
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td.*?</td>", row, re.S)]
        assert cells[1:4] == ["CR", "EN", "IB"], cells
        # Muntiacus vuquangensis, Muntiacus vaginalis and Aves: the genus is covered by its species
        heading = re.search(r"<h2>[^<]*\((\d+), [^:]+: (\d+)\)</h2>", html)
        assert heading and heading.groups() == ("3", "1"), html[html.find('id="species"'):][:400]


def test_annual_report_shows_the_columns_filled(recorded, world):
    from server.reports import build_report, render_html

    _, program = recorded
    with world.session() as s:
        data = build_report(s, 2026, program_id=program.id)
        for lang in ("en", "vi"):
            html = render_html(data, lang)
            row = next(r for r in re.findall(r"<tr><td class=\"sci\">.*?</tr>", html, re.S)
                       if "Muntiacus vuquangensis" in r and "Mang lớn" in r)
            cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td.*?</td>", row, re.S)]
            assert cells[1:6] == ["Mang lớn", "Large-antlered muntjac", "CR", "EN", "IB"], cells
            assert cells[0].startswith("Muntiacus vuquangensis*")  # sensitive
    assert data.n_species == 3

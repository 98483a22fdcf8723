"""A higher-taxon record counts as a species only when no species of that taxon was recorded.

The rule (server/analytics/taxonomy.py) on hand-made cases, then every place that counts
species on a survey with mixed ranks, on both databases: the annual report (inventory and
comparison), the managers' overview, species accumulation (richness) and the Camtrap DP
taxonomic coverage (taxonRank and the higher classification).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from server.analytics.taxonomy import counted, keep_counted, species_count

# Hand-made lineages (as Taxon.lineage holds them), so the rule is tested apart from the reference.
LINEAGES = {
    "Aves": ("Animalia", "Chordata"),
    "Ardea": ("Animalia", "Chordata", "Aves", "Pelecaniformes", "Ardeidae"),
    "Ardea cinerea": ("Animalia", "Chordata", "Aves", "Pelecaniformes", "Ardeidae", "Ardea"),
    "Egretta garzetta": ("Animalia", "Chordata", "Aves", "Pelecaniformes", "Ardeidae", "Egretta"),
    "Muntiacus": ("Animalia", "Chordata", "Mammalia", "Artiodactyla", "Cervidae"),
    "Muntiacus vaginalis": ("Animalia", "Chordata", "Mammalia", "Artiodactyla", "Cervidae", "Muntiacus"),
    "Rattus": ("Animalia", "Chordata", "Mammalia", "Rodentia", "Muridae"),
    "Leopoldamys": ("Animalia", "Chordata", "Mammalia", "Rodentia", "Muridae"),
    "Muridae": ("Animalia", "Chordata", "Mammalia", "Rodentia"),
    "Rodentia": ("Animalia", "Chordata", "Mammalia"),
}


@pytest.mark.parametrize("recorded,expected", [
    (["Ardea", "Ardea cinerea", "Aves"], {"Ardea cinerea"}),          # one species, not three
    (["Muntiacus"], {"Muntiacus"}),                                    # a genus alone is one species
    (["Muntiacus", "Muntiacus vaginalis"], {"Muntiacus vaginalis"}),
    (["Rattus", "Leopoldamys"], {"Rattus", "Leopoldamys"}),            # two genera of one family: two
    (["Rattus", "Leopoldamys", "Muridae", "Rodentia"], {"Rattus", "Leopoldamys"}),
    (["Aves", "Muntiacus vaginalis"], {"Aves", "Muntiacus vaginalis"}),  # a bird and a muntjac
    (["Ardea cinerea", "Egretta garzetta", "Ardea"], {"Ardea cinerea", "Egretta garzetta"}),
    (["Muntiacus", "Muntiacus sp."], {"Muntiacus"}),                   # two names of one genus: once
    ([], set()),
])
def test_the_rule_on_hand_made_cases(recorded, expected):
    assert counted(recorded, LINEAGES) == expected
    assert species_count(recorded, LINEAGES) == len(expected)


def test_names_the_reference_does_not_place_are_placed_by_their_form():
    # No lineage known (a taxon an administrator typed in): "Genus species" still lies below "Genus".
    assert counted(["Muntiacus", "Muntiacus vaginalis"]) == {"Muntiacus vaginalis"}
    assert counted(["Muntiacus sp.", "Muntiacus vaginalis"]) == {"Muntiacus vaginalis"}
    assert counted(["Panthera tigris corbetti", "Panthera tigris"]) == {"Panthera tigris corbetti"}
    assert counted(["Ardea cinerea", "Aves"]) == {"Ardea cinerea", "Aves"}  # without lineages: not placed
    records = [("S1", "Ardea"), ("S2", "Ardea cinerea"), ("S2", "Aves"), ("S3", "Ardea cinerea")]
    assert keep_counted(records, lambda r: r[1], LINEAGES) == [("S2", "Ardea cinerea"), ("S3", "Ardea cinerea")]


def utc(*a):
    return datetime(*a, tzinfo=timezone.utc)


RECORDED = ["Ardea", "Ardea cinerea", "Aves", "Muntiacus", "Muntiacus vaginalis", "Muntiacus vuquangensis",
            "Rattus", "Leopoldamys"]
# Ardea cinerea, the two muntjacs, Rattus and Leopoldamys: Ardea, Aves and Muntiacus lie above recorded species.
COUNTED = {"Ardea cinerea", "Muntiacus vaginalis", "Muntiacus vuquangensis", "Rattus", "Leopoldamys"}


@pytest.fixture
def mixed(app, world):
    """The reference loaded; two camera stations with records of taxa of every rank in 2026."""
    from server.models import Observation, Taxon
    from server.services.taxa import load_reference
    from sqlmodel import select

    with world.session() as s:
        rep, errors = load_reference(s)
        assert errors == [] and rep.created > 500
    area = world.area("BM", "Bạch Mã")
    program = world.program(area.id, "Cameras 2026", settings={"sampling_design": "systematicRandom"})
    deps = [world.deployment(program, f"S0{i}", deployment_start=utc(2026, 1, 1), deployment_end=utc(2026, 3, 1))
            for i in (1, 2)]
    with world.session() as s:
        ids = {t.scientific_name: t.id for t in s.exec(select(Taxon).where(Taxon.scientific_name.in_(RECORDED)))}
        for i, name in enumerate(RECORDED):
            at = utc(2026, 1, 10) + timedelta(days=i)
            s.add(Observation(deployment_id=deps[i % 2].id, event_start=at, event_end=at, taxon_id=ids[name],
                              count=1, classified_by="bio"))
    return area, program, ids


def test_annual_report_counts_species_by_the_rule(world, mixed):
    from server.reports import build_report, render_html

    area, program, _ = mixed
    with world.session() as s:
        data = build_report(s, 2026, program_id=program.id)
        html = render_html(data, "en")
    assert {r.taxon.scientific_name for r in data.species if r.methods} == set(RECORDED)  # every record listed
    assert data.counted() == COUNTED and data.n_species == 5
    assert "In 2026, 5 species were recorded" in html
    # rows not counted as a separate species are marked, with the note
    assert "Aves°" in html and "Muntiacus vaginalis°" not in html and "Not counted as a separate species" in html
    assert data.accumulation[-1]["richness"] == pytest.approx(5.0)  # richness over both stations


def test_report_new_species_follow_the_rule(world, mixed):
    """New for the area: a genus whose species was recorded before is not new; a new "Aves" beside a
    new heron is not a second new species."""
    from sqlmodel import select

    from server.models import Deployment, Observation
    from server.reports import build_report

    _, program, ids = mixed
    with world.session() as s:
        dep = s.exec(select(Deployment).where(Deployment.program_id == program.id)).first()
        old = Deployment(program_id=program.id, location_id=dep.location_id, deployment_start=utc(2025, 1, 1),
                         deployment_end=utc(2025, 2, 1))
        s.add(old)
        s.flush()
        vaginalis = ids["Muntiacus vaginalis"]
        s.add(Observation(deployment_id=old.id, event_start=utc(2025, 1, 5), event_end=utc(2025, 1, 5),
                          taxon_id=vaginalis, count=1))
    with world.session() as s:
        data = build_report(s, 2026, program_id=program.id)
    rows = {r.taxon.scientific_name: r for r in data.species}
    assert not rows["Muntiacus"].new_for_area and not rows["Muntiacus vaginalis"].new_for_area
    assert rows["Muntiacus vuquangensis"].new_for_area and rows["Aves"].new_for_area
    assert {r.taxon.scientific_name for r in data.new_species} == {"Ardea cinerea", "Muntiacus vuquangensis",
                                                                  "Rattus", "Leopoldamys"}


def test_overview_counts_species_by_the_rule(world, mixed):
    from server.review.overview import area_overview

    area, _, _ = mixed
    with world.session() as s:
        o = area_overview(s, area.id)
    assert o["n_species"] == 5 and len(o["species"]) == len(RECORDED)
    assert {sp["taxon"].scientific_name for sp in o["species"] if sp["counted"]} == COUNTED


def test_species_accumulation_counts_a_higher_taxon_once_covered(world, mixed):
    from server.analytics.registry import Options, run

    _, program, _ = mixed
    with world.session() as s:
        curve = run(s, "species-accumulation", [program.id], Options()).rows
    assert curve[-1] == {"units": 2, "richness": 5.0}


def test_camtrap_dp_taxonomic_coverage_has_ranks_and_classification(app, world, mixed, tmp_path):
    from server.exports.camtrap_dp import export_camtrap_dp

    _, program, _ = mixed
    with world.session() as s:
        export_camtrap_dp(s, tmp_path, program_id=program.id, media_mode="link", base_url="https://example.org/m")
    taxonomic = {t["scientificName"]: t for t in json.loads((tmp_path / "datapackage.json").read_text())["taxonomic"]}
    assert set(taxonomic) == set(RECORDED)
    assert taxonomic["Muntiacus vaginalis"] == {
        "scientificName": "Muntiacus vaginalis", "taxonRank": "species", "kingdom": "Animalia", "phylum": "Chordata",
        "class": "Mammalia", "order": "Artiodactyla", "family": "Cervidae", "genus": "Muntiacus",
        "vernacularNames": {"vie": "Mang thường", "eng": "Northern red muntjac"}}
    assert taxonomic["Aves"]["taxonRank"] == "class" and taxonomic["Aves"]["kingdom"] == "Animalia"
    assert "class" not in taxonomic["Aves"] or taxonomic["Aves"]["class"] == "Aves"
    assert (taxonomic["Muntiacus"]["taxonRank"], taxonomic["Muntiacus"]["family"]) == ("genus", "Cervidae")

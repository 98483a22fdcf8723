"""The species reference shipped with Saola: loaded by `saola init`, updated by `saola taxa import`,
feeding the sensitivity policy, the API and the classifiers' partial identifications (both databases)."""
from __future__ import annotations

import csv
import io
from collections import Counter

import pytest
from sqlmodel import select

from protocols.species import REFERENCE_CSV


def reference_rows() -> list[dict]:
    with REFERENCE_CSV.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def initialised(runner):
    res = runner.invoke(["init"])
    assert res.exit_code == 0, res.output
    return res


def taxa_by_name(world) -> dict:
    from server.models import Taxon

    with world.session() as s:
        return {t.scientific_name: t for t in s.exec(select(Taxon))}


def test_init_loads_several_hundred_taxa_with_their_categories(initialised, world):
    n = len(reference_rows())
    assert f"species reference: {n} taxa added, 0 updated, 0 unchanged" in initialised.output
    taxa = taxa_by_name(world)
    assert len(taxa) == n >= 500
    ranks = Counter(t.rank for t in taxa.values())
    assert ranks["species"] >= 250 and ranks["genus"] >= 150 and ranks["family"] >= 80 and ranks["order"] >= 25
    assert ranks["class"] == 4 and ranks["kingdom"] == 1
    groups = Counter(t.taxon_group for t in taxa.values() if t.rank == "species")
    assert groups["mammal"] >= 80 and groups["bird"] >= 150 and groups["reptile"] >= 20
    species = [t for t in taxa.values() if t.rank == "species"]
    assert sum(1 for t in species if t.iucn_category) >= 250
    assert sum(1 for t in species if t.vn_redlist_category) >= 40
    assert sum(1 for t in species if t.decree84_group == "IB") >= 60
    assert sum(1 for t in species if t.decree84_group == "IIB") >= 15
    assert sum(1 for t in species if t.cites_appendix) >= 90

    def cats(name):
        t = taxa[name]
        return t.iucn_category, t.vn_redlist_category, t.decree84_group, t.cites_appendix

    assert cats("Pseudoryx nghetinhensis") == ("CR", "EN", "IB", "I")
    assert cats("Muntiacus vuquangensis") == ("CR", "EN", "IB", "I")
    assert cats("Manis pentadactyla") == ("CR", "EN", "IB", "I")
    assert cats("Rheinardia ocellata") == ("CR", None, "IB", "I")
    assert cats("Nesolagus timminsi") == ("EN", None, "IB", None)
    nomascus = [t for t in species if t.scientific_name.startswith("Nomascus ")]
    assert len(nomascus) >= 5 and {cats(t.scientific_name)[2:] for t in nomascus} == {("IB", "I")}
    assert {t.scientific_name for t in species if t.parent_id == taxa["Tragulus"].id} == {
        "Tragulus kanchil", "Tragulus versicolor"}
    assert taxa["Pseudoryx nghetinhensis"].source == "mdd;vnnames;iucn2024;sdvn2007;nd84-2021;cites2023"
    # parents and lineages
    vaginalis = taxa["Muntiacus vaginalis"]
    assert vaginalis.parent_id == taxa["Muntiacus"].id and "Hoẵng" in vaginalis.other_names
    assert vaginalis.lineage == "Animalia|Chordata|Mammalia|Artiodactyla|Cervidae|Muntiacus"
    assert taxa["Animalia"].lineage == "" and taxa["Aves"].lineage == "Animalia|Chordata"


def test_the_reference_feeds_the_sensitivity_policy(initialised, world):
    from server.auth.policy import is_sensitive, sensitive_taxon_ids

    taxa = taxa_by_name(world)
    for name in ("Manis javanica", "Manis pentadactyla", "Manis", "Pseudoryx nghetinhensis", "Muntiacus vuquangensis",
                 "Nomascus leucogenys", "Nomascus gabriellae", "Nomascus", "Hylobatidae", "Panthera tigris",
                 "Rheinardia ocellata", "Ophiophagus hannah", "Pygathrix nemaeus"):
        assert is_sensitive(taxa[name]), name
    for name in ("Muntiacus vaginalis", "Sus scrofa", "Muntiacus", "Aves", "Macaca mulatta", "Ardea cinerea"):
        assert not is_sensitive(taxa[name]), name
    with world.session() as s:  # the SQL form of the rule agrees
        ids = set(s.exec(sensitive_taxon_ids()))
    assert ids == {t.id for t in taxa.values() if is_sensitive(t)}


def test_init_again_and_taxa_import_change_nothing(initialised, runner, world):
    n = len(reference_rows())
    res = runner.invoke(["init"])
    assert res.exit_code == 0 and f"species reference: 0 taxa added, 0 updated, {n} unchanged" in res.output
    res = runner.invoke(["taxa", "import"])
    assert res.exit_code == 0 and f"0 created, 0 updated, {n} unchanged" in res.output
    assert len(taxa_by_name(world)) == n


def test_taxa_import_updates_the_reference_keeping_local_changes(initialised, runner, world, client, tmp_path,
                                                                 monkeypatch):
    """A newer reference: one new taxon, one changed category; an administrator's names and flags survive."""
    import server.services.taxa as taxa_service

    h = world.headers(world.user("root", admin=True))
    taxa = taxa_by_name(world)
    boar = taxa["Sus scrofa"]
    r = client.patch(f"/api/v1/taxa/{boar.id}", headers=h, json={
        "sensitive": True, "other_names": [*boar.other_names, "Lợn lòi rừng Bạch Mã"]})
    assert r.status_code == 200
    rows = reference_rows()
    for row in rows:
        if row["scientific_name"] == "Muntiacus vaginalis":
            row["iucn_category"] = "NT"  # as a future assessment might
    at = next(i for i, row in enumerate(rows) if row["scientific_name"] == "Muntiacus vuquangensis")
    rows.insert(at + 1, {**{k: "" for k in rows[0]}, "scientific_name": "Muntiacus puhoatensis", "rank": "species",
                         "parent": "Muntiacus", "vietnamese_name": "Mang Pù Hoạt", "english_name": "Puhoat muntjac",
                         "taxon_group": "mammal", "source": "mdd;vnnames"})
    newer = tmp_path / "vn_reference.csv"
    with newer.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    monkeypatch.setattr(taxa_service, "reference_path", lambda: newer)
    n = len(rows)
    res = runner.invoke(["taxa", "import"])
    assert res.exit_code == 0 and f"1 created, 1 updated, {n - 2} unchanged" in res.output, res.output
    taxa = taxa_by_name(world)
    assert len(taxa) == n  # nothing duplicated
    assert taxa["Muntiacus vaginalis"].iucn_category == "NT"
    assert taxa["Muntiacus puhoatensis"].lineage.endswith("|Cervidae|Muntiacus")
    assert taxa["Sus scrofa"].sensitive is True and "Lợn lòi rừng Bạch Mã" in taxa["Sus scrofa"].other_names
    res = runner.invoke(["taxa", "import"])
    assert f"0 created, 0 updated, {n} unchanged" in res.output
    # The update is in the audit trail.
    from server.models import AuditLog

    with world.session() as s:
        changes = [a for a in s.exec(select(AuditLog).where(AuditLog.entity == "taxon", AuditLog.action == "update"))
                   if a.entity_id == taxa["Muntiacus vaginalis"].id]
    assert changes and changes[-1].after["iucn_category"] == "NT"


def test_init_without_species_and_a_bad_reference(runner, world, tmp_path, monkeypatch):
    import server.services.taxa as taxa_service

    res = runner.invoke(["init", "--no-species"])
    assert res.exit_code == 0 and "species reference" not in res.output and taxa_by_name(world) == {}
    bad = tmp_path / "bad.csv"
    bad.write_text("scientific_name,rank,parent,vietnamese_name,english_name\n"
                   "Animalia,kingdom,,Giới Động vật,Animals\n"
                   "Muntiacus,genus,Cervidae,Chi Mang,Muntjacs\n"        # parent neither in the file nor stored
                   "Muntiacus vaginalis,species,Muntiacus,Mang thường,Red muntjac\n"
                   "Aves,class,Animalia,Lớp Chim,Birds\n"
                   "Ardea cinerea,species,Aves,Diệc xám,Grey heron\n"
                   "Ardeidae,family,Ardea cinerea,Họ Diệc,Herons\n", encoding="utf-8")  # parent of a lower rank
    monkeypatch.setattr(taxa_service, "reference_path", lambda: bad)
    res = runner.invoke(["init"])
    assert res.exit_code != 0
    assert "line 3: parent 'Cervidae' is neither in the file nor in the reference" in res.output
    assert "line 4: parent 'Muntiacus' is neither in the file nor in the reference" in res.output
    assert "must be of a higher rank" in res.output and taxa_by_name(world) == {}
    res = runner.invoke(["taxa", "import", "--skip-invalid", str(bad)])
    assert res.exit_code == 0 and "4 created" not in res.output and "3 created" in res.output, res.output
    assert set(taxa_by_name(world)) == {"Animalia", "Aves", "Ardea cinerea"}


def test_partial_identifications_find_the_higher_taxon(initialised, world):
    from server.services.taxa import find_taxa

    with world.session() as s:
        found = find_taxa(s, ["animal", "bird", "bird sp.", "Muntiacus sp.", "mammal", "Hoẵng", "Copsychus malabaricus",
                              "Trút", "Muntiacus vaginalis", "Saola", "no such thing"])
        names = {k: (v.scientific_name if v else None) for k, v in found.items()}
    assert names == {"animal": "Animalia", "bird": "Aves", "bird sp.": "Aves", "Muntiacus sp.": "Muntiacus",
                     "mammal": "Mammalia", "Hoẵng": "Muntiacus vaginalis", "Copsychus malabaricus": "Kittacincla malabarica",
                     "Trút": "Manis", "Muntiacus vaginalis": "Muntiacus vaginalis", "Saola": "Pseudoryx nghetinhensis",
                     "no such thing": None}


def test_api_shows_the_new_columns_and_keeps_the_tree_consistent(initialised, client, world):
    h = world.headers(world.user("root", admin=True))
    taxa = taxa_by_name(world)
    r = client.get(f"/api/v1/taxa/{taxa['Muntiacus vuquangensis'].id}", headers=h).json
    assert (r["cites_appendix"], r["vn_redlist_category"], r["decree84_group"]) == ("I", "EN", "IB")
    assert r["lineage"].endswith("Cervidae|Muntiacus") and "nd84-2021" in r["source"]
    # A genus cannot sit below a species; a Red Data Book 2007 category (LR) is accepted.
    r = client.post("/api/v1/taxa", headers=h, json={"scientific_name": "Megamuntiacus", "rank": "genus",
                                                     "parent_id": taxa["Muntiacus vaginalis"].id})
    assert r.status_code == 422 and "must be of a higher rank" in r.get_data(as_text=True)
    r = client.post("/api/v1/taxa", headers=h, json={"scientific_name": "Muntiacus puhoatensis",
                                                     "parent_id": taxa["Muntiacus"].id, "vn_redlist_category": "LR",
                                                     "cites_appendix": "II"})
    assert r.status_code == 201 and r.json["lineage"].endswith("|Cervidae|Muntiacus")
    r = client.post("/api/v1/taxa", headers=h, json={"scientific_name": "Muntiacus x", "cites_appendix": "IV"})
    assert r.status_code == 422
    # Moving a genus moves its species' lineages with it.
    r = client.patch(f"/api/v1/taxa/{taxa['Muntiacus'].id}", headers=h, json={"parent_id": taxa["Bovidae"].id})
    assert r.status_code == 200
    assert taxa_by_name(world)["Muntiacus vaginalis"].lineage == "Animalia|Chordata|Mammalia|Artiodactyla|Bovidae|Muntiacus"
    r = client.patch(f"/api/v1/taxa/{taxa['Cervidae'].id}", headers=h, json={"rank": "species"})
    assert r.status_code == 422  # its genera would lie above it


def test_the_csv_header_is_what_the_import_reads():
    from server.services.taxa import COLUMNS

    header = next(csv.reader(io.StringIO(REFERENCE_CSV.read_text(encoding="utf-8"))))
    assert header == list(COLUMNS)


def test_an_installation_with_the_former_list_gets_no_duplicates(runner, world, tmp_path):
    """Taxa imported from the former 51-species vn_core.csv are updated in place by `saola init`."""
    old = tmp_path / "vn_core.csv"
    old.write_text("scientific_name,vietnamese_name,english_name,taxon_group,iucn_category,other_names\n"
                   "Muntiacus vaginalis,Mang thường,Northern red muntjac,mammal,LC,Hoẵng\n"
                   "Xanthonycticebus pygmaeus,Cu li nhỏ,Pygmy slow loris,mammal,EN,\n"
                   "Nomascus gabriellae,Vượn đen má vàng,Southern yellow-cheeked gibbon,mammal,EN,\n",
                   encoding="utf-8")
    assert runner.invoke(["taxa", "import", str(old)]).exit_code == 0
    before = taxa_by_name(world)
    n = len(reference_rows())
    res = runner.invoke(["init"])
    assert res.exit_code == 0 and f"species reference: {n - 3} taxa added, 3 updated, 0 unchanged" in res.output
    taxa = taxa_by_name(world)
    assert len(taxa) == n and all(taxa[name].id == t.id for name, t in before.items())
    assert taxa["Xanthonycticebus pygmaeus"].decree84_group == "IB"
    assert "Nycticebus pygmaeus" in taxa["Xanthonycticebus pygmaeus"].other_names

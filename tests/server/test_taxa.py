"""Taxa: import from CSV, search by any name with or without diacritics."""
import pytest


@pytest.fixture
def seeded(runner, shared_dir):
    res = runner.invoke(["taxa", "import", str(shared_dir / "reference" / "vn_species_seed.csv")])
    assert res.exit_code == 0, res.output
    return res


def test_import_seed_list(seeded, client, world):
    assert "27 created" in seeded.output
    h = world.headers(world.user("v"))
    r = client.get("/api/v1/taxa?limit=100", headers=h)
    assert r.json["total"] == 27
    saola = next(t for t in r.json["items"] if t["scientific_name"] == "Pseudoryx nghetinhensis")
    assert saola["vietnamese_name"] == "Sao la" and saola["iucn_category"] == "CR"
    assert saola["decree84_group"] == "IB" and saola["sensitive"] is True


def test_reimport_is_idempotent(seeded, runner, shared_dir):
    res = runner.invoke(["taxa", "import", str(shared_dir / "reference" / "vn_species_seed.csv")])
    assert "0 created, 0 updated, 27 unchanged" in res.output


@pytest.mark.parametrize("q,expected", [
    ("vooc cha va", "Pygathrix nemaeus"),
    ("Voọc chà vá chân đỏ", "Pygathrix nemaeus"),
    ("red-shanked", "Pygathrix nemaeus"),
    ("pygathrix NEMAEUS", "Pygathrix nemaeus"),
    ("mang lon", "Muntiacus vuquangensis"),
])
def test_search_any_name_with_or_without_diacritics(seeded, client, world, q, expected):
    h = world.headers(world.user("v"))
    r = client.get("/api/v1/taxa", query_string={"q": q}, headers=h)
    names = [t["scientific_name"] for t in r.json["items"]]
    assert expected in names, (q, names)


def test_bad_rows_import_nothing(runner, tmp_path, client, world):
    f = tmp_path / "bad.csv"
    f.write_text("scientific_name,iucn_category,decree84_group\nPanthera tigris,EN,IB\nFoo bar,XX,\n,LC,\n",
                 encoding="utf-8")
    res = runner.invoke(["taxa", "import", str(f)])
    assert res.exit_code != 0
    assert "line 3: unknown IUCN category 'XX'" in res.output and "line 4: scientific_name is empty" in res.output
    h = world.headers(world.user("v"))
    assert client.get("/api/v1/taxa", headers=h).json["total"] == 0
    res = runner.invoke(["taxa", "import", "--skip-invalid", str(f)])
    assert res.exit_code == 0 and "1 created" in res.output and "2 skipped" in res.output


def test_csv_without_scientific_name_column(runner, tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("name\nTiger\n")
    res = runner.invoke(["taxa", "import", str(f)])
    assert res.exit_code != 0 and "no scientific_name column" in res.output


def test_admin_edits_taxon_and_search_follows(client, world):
    h = world.headers(world.user("root", admin=True))
    r = client.post("/api/v1/taxa", headers=h, json={"scientific_name": "Rusa unicolor", "english_name": "Sambar",
                                                     "iucn_category": "VU"})
    assert r.status_code == 201
    tid = r.json["id"]
    r = client.patch(f"/api/v1/taxa/{tid}", headers=h, json={"vietnamese_name": "Nai"})
    assert r.status_code == 200
    assert client.get("/api/v1/taxa?q=nai", headers=h).json["items"][0]["id"] == tid
    r = client.post("/api/v1/taxa", headers=h, json={"scientific_name": "Rusa unicolor"})
    assert r.status_code == 409
    r = client.post("/api/v1/taxa", headers=h, json={"scientific_name": "Rusa x", "iucn_category": "ZZ"})
    assert r.status_code == 422


def test_alternative_names_are_imported_searched_and_sent_to_the_field_app(runner, client, world):
    """D9 (issue 14): the species list the app downloads keeps alternative names (Hoẵng -> Muntiacus vaginalis)."""
    from pathlib import Path

    bundled = Path(__file__).resolve().parents[2] / "protocols" / "species" / "vn_reference.csv"
    res = runner.invoke(["taxa", "import", str(bundled)])
    assert res.exit_code == 0, res.output
    area = world.area("BM", "Bạch Mã")
    program = world.program(area.id, "Thú 2026")
    h = world.headers(world.user("lan", roles={area.id: "ranger"}))
    hits = client.get("/api/v1/taxa", query_string={"q": "hoẵng"}, headers=h).json["items"]
    muntjac = next(t for t in hits if t["scientific_name"] == "Muntiacus vaginalis")  # Hồng hoàng matches too
    assert muntjac["other_names"][0] == "Hoẵng" and "Muntiacus muntjak" in muntjac["other_names"]
    names = muntjac["other_names"]
    species = client.get(f"/api/v1/programs/{program.id}/species", headers=h).json
    muntjac = next(t for t in species if t["scientific_name"] == "Muntiacus vaginalis")
    assert muntjac["other_names"] == names
    reference = client.get("/api/v1/sync/reference", query_string={"area_id": area.id}, headers=h).json
    assert next(t for t in reference["species"] if t["scientific_name"] == "Muntiacus vaginalis")["other_names"] \
        == names
    # The field app builds its searchable list from exactly this answer.
    from protocols import species as species_mod

    app_list = species_mod.from_records(species, source="server")
    assert app_list.search("Hoẵng")[0].scientific_name == "Muntiacus vaginalis"


def test_alternative_names_edited_by_an_admin_and_bad_ones_refused(client, world, runner, tmp_path):
    h = world.headers(world.user("root", admin=True))
    r = client.post("/api/v1/taxa", headers=h, json={"scientific_name": "Rusa unicolor",
                                                     "other_names": ["Nai đen", "Cervus unicolor"]})
    assert r.status_code == 201 and r.json["other_names"] == ["Nai đen", "Cervus unicolor"]
    tid = r.json["id"]
    assert client.get("/api/v1/taxa?q=cervus", headers=h).json["items"][0]["id"] == tid
    r = client.patch(f"/api/v1/taxa/{tid}", headers=h, json={"other_names": ["Nai"]})
    assert r.status_code == 200 and r.json["other_names"] == ["Nai"]
    assert client.get("/api/v1/taxa?q=cervus", headers=h).json["total"] == 0
    r = client.patch(f"/api/v1/taxa/{tid}", headers=h, json={"other_names": None})
    assert r.status_code == 422 and "other_names cannot be null" in r.get_data(as_text=True)
    r = client.post("/api/v1/taxa", headers=h, json={"scientific_name": "Rusa y", "other_names": [""]})
    assert r.status_code == 422
    assert client.get(f"/api/v1/taxa/{tid}", headers=h).json["other_names"] == ["Nai"]
    f = tmp_path / "names.csv"
    f.write_text("scientific_name,other_names\nPanthera tigris,Hổ; Cọp ; hổ;\nFoo bar," + ";".join(
        f"n{i}" for i in range(51)) + "\n", encoding="utf-8")
    res = runner.invoke(["taxa", "import", "--skip-invalid", str(f)])
    assert res.exit_code == 0 and "1 created" in res.output and "1 skipped" in res.output
    assert "at most 50 alternative names" in res.output
    tiger = client.get("/api/v1/taxa?q=cop", headers=h).json["items"]
    assert [(t["scientific_name"], t["other_names"]) for t in tiger] == [("Panthera tigris", ["Hổ", "Cọp"])]

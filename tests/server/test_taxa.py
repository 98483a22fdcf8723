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

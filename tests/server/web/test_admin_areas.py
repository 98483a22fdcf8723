"""Administration pages, areas and programs (issue 13, item 1), on SQLite and PostgreSQL: boundary
upload as GeoJSON, KML and zipped Shapefile, in WGS84 and in UTM 48N, repaired or refused with a
message next to the field (English and Vietnamese); programs with species lists, thresholds and
models; who may do what; every change audited."""
from __future__ import annotations

import io
import re

import pytest
import shapely
from sqlmodel import select

import boundary_files as bf

ERR = re.compile(r'<p class="field-error" id="err-([\w]+)" role="alert">([^<]*)</p>')
FLASH = re.compile(r'<p class="flash (\w+)" role="status">([^<]*)</p>')


def errors(r) -> dict[str, str]:
    import html

    return {k: html.unescape(v) for k, v in ERR.findall(r.get_data(as_text=True))}


def flashes(browser, url) -> list[str]:
    import html

    return [html.unescape(t) for _c, t in FLASH.findall(browser.get(url).get_data(as_text=True))]


def upload(data: bytes, name: str) -> tuple:
    return (io.BytesIO(data), name)


@pytest.fixture
def admin(world, signed_in):
    world.user("root", admin=True)
    return signed_in("root")


def _area(world, code="PNKB"):
    from server.models import ProtectedArea

    with world.session() as s:
        return s.exec(select(ProtectedArea).where(ProtectedArea.code == code)).one()


def _audit(world, entity, action=None):
    from server.models import AuditLog

    with world.session() as s:
        stmt = select(AuditLog).where(AuditLog.entity == entity)
        if action:
            stmt = stmt.where(AuditLog.action == action)
        return list(s.exec(stmt.order_by(AuditLog.id)))


def test_admin_creates_an_area_with_a_geojson_boundary(admin, world):
    r = admin.form("/admin/areas/new", {"code": "PNKB", "name": "Phong Nha-Ke Bang", "name_vi": "Phong Nha-Kẻ Bàng",
                                        "province": "Quảng Bình", "boundary_file": upload(bf.geojson(), "park.geojson")})
    assert r.status_code == 302, errors(r)
    area = _area(world)
    assert area.name_vi == "Phong Nha-Kẻ Bàng" and area.boundary["type"] == "Polygon"
    assert shapely.equals_exact(shapely.from_geojson(__import__("json").dumps(area.boundary)).normalize(),
                                bf.PARK.normalize(), tolerance=1e-7)
    notes = flashes(admin, r.headers["Location"])
    assert any("Protected area PNKB created" in n for n in notes)
    assert any("GeoJSON" in n and "km²" in n for n in notes)
    (entry,) = _audit(world, "protected_area", "create")
    assert entry.after["boundary"]["type"] == "Polygon" and entry.actor == "root"
    # The area page shows the boundary on a preview map, without internet tiles.
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert 'id="boundary-map"' in page and '"basemap": null' in page and "tile.openstreetmap" not in page


@pytest.mark.parametrize("name,make,crs", [
    ("park.geojson", lambda: bf.geojson(4326), "EPSG:4326"),
    ("park.geojson", lambda: bf.geojson(32648), "EPSG:32648"),
    ("park.kml", bf.kml, "EPSG:4326"),
    ("park.zip", lambda: bf.shapefile_zip(4326), "EPSG:4326"),
    ("park.zip", lambda: bf.shapefile_zip(32648), "EPSG:32648"),
], ids=["geojson-wgs84", "geojson-utm48n", "kml", "shapefile-wgs84", "shapefile-utm48n"])
def test_boundary_formats_and_projections_are_read_and_reprojected(admin, world, name, make, crs):
    a = world.area()
    r = admin.form(f"/admin/areas/{a.id}", {"name": a.name, "boundary_file": upload(make(), name)})
    assert r.status_code == 302, errors(r)
    stored = shapely.from_geojson(__import__("json").dumps(_area(world).boundary))
    # Reprojected from UTM metres back to the same outline (PROJ round trip well under a metre).
    assert shapely.equals_exact(stored.normalize(), bf.PARK.normalize(), tolerance=1e-6), stored.wkt
    note = " ".join(flashes(admin, r.headers["Location"]))
    assert ("Converted from EPSG:32648" in note) == (crs == "EPSG:32648")
    assert "1 polygon(s)" in note


def test_an_invalid_polygon_is_repaired_and_said_so(admin, world):
    import json

    a = world.area()
    r = admin.form(f"/admin/areas/{a.id}", {"name": a.name,
                                            "boundary_file": upload(json.dumps(bf.BOW_TIE).encode(), "bow.geojson")})
    assert r.status_code == 302, errors(r)
    stored = shapely.from_geojson(json.dumps(_area(world).boundary))
    assert stored.is_valid and stored.geom_type == "MultiPolygon" and len(stored.geoms) == 2
    assert any("invalid (Self-intersection" in n and "repaired" in n for n in flashes(admin, r.headers["Location"]))


BAD_FILES = [
    ("notes.txt", lambda: b"hello", "Unsupported file type '.txt'"),
    ("park.shp", lambda: b"\0" * 100, "Unsupported file type '.shp'"),
    ("park.geojson", lambda: b"{not json", "could not be read as GeoJSON"),
    ("park.geojson", bf.points_geojson, "holds no polygon (found: 1 Point)"),
    ("park.zip", lambda: b"PK\x03\x04broken", "cannot be opened"),
    ("park.zip", bf.zip_bomb, "like a zip bomb"),
    ("park.zip", bf.traversal_zip, "unsafe path (../../etc/cron.d/evil.prj)"),
    ("park.zip", lambda: bf.shapefile_zip(32648, prj=False), "does not say its projection"),
    ("park.geojson", lambda: __import__("json").dumps(
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0], [0, 0]]]}).encode(), "cannot be repaired"),
]


@pytest.mark.parametrize("name,make,message", BAD_FILES,
                         ids=["text", "bare-shp", "corrupt", "points", "bad-zip", "zip-bomb", "traversal",
                              "no-prj-projected", "no-area"])
def test_bad_boundary_files_get_a_message_next_to_the_field_and_change_nothing(admin, world, name, make, message):
    a = world.area()
    r = admin.form(f"/admin/areas/{a.id}", {"name": "Renamed", "boundary_file": upload(make(), name)})
    assert r.status_code == 422
    assert message in errors(r)["boundary_file"], errors(r)
    area = _area(world)
    assert area.boundary is None and area.name == a.name  # nothing stored half-way
    assert _audit(world, "protected_area", "update") == []


def test_boundary_messages_in_vietnamese(world, signed_in):
    world.user("quantri", admin=True, language="vi")
    b = signed_in("quantri")
    a = world.area()
    r = b.form(f"/admin/areas/{a.id}", {"name": a.name, "boundary_file": upload(b"x", "ranh_gioi.txt")})
    assert r.status_code == 422
    assert "không được hỗ trợ" in errors(r)["boundary_file"]
    r = b.form(f"/admin/areas/{a.id}", {"name": a.name, "boundary_file": upload(bf.zip_bomb(), "ranh_gioi.zip")})
    assert "bom zip" in errors(r)["boundary_file"]


def test_area_form_validation_messages(admin, world):
    world.area("PNKB")
    r = admin.form("/admin/areas/new", {"code": "bad code", "name": ""})
    assert r.status_code == 422
    e = errors(r)
    assert e["code"].startswith("Use only letters") and e["name"] == "This field is required."
    r = admin.form("/admin/areas/new", {"code": "PNKB", "name": "Again"})
    assert r.status_code == 422 and "already used" in errors(r)["code"]
    from server.models import ProtectedArea

    with world.session() as s:
        assert len(list(s.exec(select(ProtectedArea)))) == 1


def test_removing_the_boundary(admin, world):
    a = world.area()
    assert admin.form(f"/admin/areas/{a.id}", {"name": a.name, "boundary_file": upload(bf.kml(), "p.kml")}
                      ).status_code == 302
    assert _area(world).boundary is not None
    assert admin.form(f"/admin/areas/{a.id}", {"name": a.name, "remove_boundary": "1"}).status_code == 302
    assert _area(world).boundary is None


def test_who_may_reach_the_area_pages(world, signed_in):
    a, b = world.area("A", "Area A"), world.area("B", "Area B")
    world.user("mgr", roles={a.id: "manager"})
    world.user("bio", roles={a.id: "biologist"})
    mgr = signed_in("mgr")
    assert mgr.get("/admin").status_code == 200
    home = mgr.get("/admin").get_data(as_text=True)
    assert f'data-area="{a.id}"' in home and f'data-area="{b.id}"' not in home
    assert mgr.get("/admin/areas/new").status_code == 403  # only administrators create areas
    assert mgr.form("/admin/areas/new", {"code": "C", "name": "C"}).status_code == 403
    assert mgr.get(f"/admin/areas/{a.id}").status_code == 200
    assert mgr.get(f"/admin/areas/{b.id}").status_code == 404  # another area: as if it did not exist
    assert mgr.form(f"/admin/areas/{b.id}", {"name": "Mine now"}).status_code == 404
    assert mgr.get(f"/admin/switch?area_id={b.id}&nav=programs").status_code == 404
    r = mgr.form(f"/admin/areas/{a.id}", {"name": "Area A2", "province": "Quảng Bình"})
    assert r.status_code == 302 and _area(world, "A").name == "Area A2"
    bio = signed_in("bio")
    assert bio.get("/admin").status_code == 403
    assert bio.get(f"/admin/areas/{a.id}").status_code == 403
    assert "nav-admin" not in bio.get("/").get_data(as_text=True)
    assert "nav-admin" in mgr.get("/").get_data(as_text=True)


def test_side_menu_lists_the_pages_of_the_role(world, signed_in):
    a = world.area("A", "Area A")
    world.user("mgr", roles={a.id: "manager"})
    page = signed_in("mgr").get(f"/admin/areas/{a.id}").get_data(as_text=True)
    assert 'id="nav-admin-programs"' in page and 'id="nav-admin-area" class="active"' in page
    assert 'id="nav-admin-map"' in page and 'id="nav-admin-users"' not in page


# ---- programs --------------------------------------------------------------------------------------
@pytest.fixture
def taxa(world):
    from server.models import Taxon
    from server.services.taxa import refresh_search_text

    with world.session() as s:
        for sci, vi, en in [("Pseudoryx nghetinhensis", "Sao la", "Saola"),
                            ("Muntiacus vuquangensis", "Mang lớn", "Large-antlered muntjac"),
                            ("Sus scrofa", "Lợn rừng", "Wild boar")]:
            t = Taxon(scientific_name=sci, vietnamese_name=vi, english_name=en)
            refresh_search_text(t)
            s.add(t)


def _program(world, name="Camera traps 2026"):
    from server.models import Program

    with world.session() as s:
        return s.exec(select(Program).where(Program.name == name)).one()


PROGRAM = {"name": "Camera traps 2026", "protocol": "camera-trap", "season": "2026 dry", "start_date": "2026-01-10",
           "end_date": "2026-04-30", "sequence_gap_s": "90", "capture_method": "activityDetection"}


def test_manager_creates_a_program_with_species_thresholds_and_models(world, signed_in, taxa, tmp_path):
    from server.models import MLModel

    a = world.area()
    world.user("mgr", roles={a.id: "manager"})
    with world.session() as s:
        s.add(MLModel(name="md5", kind="detector", version="5a", file_path="/x", sha256="0" * 64, size_bytes=1))
        s.add(MLModel(name="gibbon", kind="audio_classifier", version="1", file_path="/y", sha256="1" * 64,
                      size_bytes=1))
    mgr = signed_in("mgr")
    page = mgr.get(f"/admin/areas/{a.id}/programs/new").get_data(as_text=True)
    assert '<option value="md5">md5 (5a)</option>' in page and 'value="gibbon"' in page
    r = mgr.form(f"/admin/areas/{a.id}/programs/new", {
        **PROGRAM, "species_list": "sao la\nMang lon\nSus scrofa", "common_species": "Sao La\nlợn rừng",
        "detector_threshold": "0,3", "triage_threshold": "0.15", "alert_threshold": "0.6", "birdnet_min_conf": "",
        "birdnet": "1", "detector_model": "md5", "classifier_model": "", "audio_classifiers": "gibbon"})
    assert r.status_code == 302, errors(r)
    p = _program(world)
    assert (p.season, str(p.start_date), str(p.end_date), p.sequence_gap_s) == ("2026 dry", "2026-01-10",
                                                                                "2026-04-30", 90)
    assert p.settings == {"species_list": ["Pseudoryx nghetinhensis", "Muntiacus vuquangensis", "Sus scrofa"],
                          "common_species": ["Pseudoryx nghetinhensis", "Sus scrofa"], "detector_threshold": 0.3,
                          "triage_threshold": 0.15, "alert_threshold": 0.6, "birdnet": True,
                          "detector_model": "md5", "audio_classifiers": ["gibbon"]}
    (entry,) = _audit(world, "program", "create")
    assert entry.area_id == a.id and entry.actor == "mgr"
    listing = mgr.get(f"/admin/areas/{a.id}/programs").get_data(as_text=True)
    assert "Camera traps 2026" in listing


def test_program_form_messages_next_to_each_field(world, signed_in, taxa):
    a = world.area()
    world.program(a.id, "Existing")
    world.user("mgr", roles={a.id: "manager"})
    mgr = signed_in("mgr")
    url = f"/admin/areas/{a.id}/programs/new"
    r = mgr.form(url, {**PROGRAM, "name": "", "start_date": "2026-05-01", "sequence_gap_s": "-5",
                       "detector_threshold": "high"})
    assert r.status_code == 422
    e = errors(r)
    assert e["name"] == "This field is required." and e["sequence_gap_s"] == "Enter a value of at least 0."
    assert e["end_date"] == "The end date is before the start date." and e["detector_threshold"] == "Enter a number."
    r = mgr.form(url, {**PROGRAM, "alert_threshold": "1.5"})
    assert errors(r) == {"alert_threshold": "Enter a confidence from 0 to 1."}
    r = mgr.form(url, {**PROGRAM, "species_list": "Sao la\nPanthera tigris"})
    assert errors(r) == {"species_list": "Panthera tigris is not in the species reference."}
    r = mgr.form(url, {**PROGRAM, "common_species": "\n".join(["Sao la"] * 3 + ["Sus scrofa"] * 2)})
    assert r.status_code == 302  # repeats are merged, not an error
    r = mgr.form(url, {**PROGRAM, "name": "Existing"})
    assert errors(r) == {"name": "This protected area already has a program called Existing."}
    r = mgr.form(url, {**PROGRAM, "name": "P2", "detector_model": "no-such-model"})
    assert errors(r) == {"detector_model": "No registered detector model is called no-such-model."}
    # The form keeps what was typed.
    assert 'value="P2"' in r.get_data(as_text=True)


def test_changing_the_sequence_gap_queues_regrouping(world, signed_in):
    from server.models import Job

    a = world.area()
    p = world.program(a.id, "CT", sequence_gap_s=60, settings={"sampling_design": "targeted"})
    world.user("mgr", roles={a.id: "manager"})
    mgr = signed_in("mgr")
    page = mgr.get(f"/admin/programs/{p.id}").get_data(as_text=True)
    assert 'value="60"' in page
    r = mgr.form(f"/admin/programs/{p.id}", {"name": "CT", "protocol": "camera-trap", "sequence_gap_s": "120"})
    assert r.status_code == 302, errors(r)
    p2 = _program(world, "CT")
    assert p2.sequence_gap_s == 120 and p2.settings["sampling_design"] == "targeted"  # other keys kept
    with world.session() as s:
        assert [j.kind for j in s.exec(select(Job))] == ["resequence"]
    assert len(_audit(world, "program", "update")) == 1


def test_program_pages_are_for_managers_of_that_area(world, signed_in):
    a, b = world.area("A", "A"), world.area("B", "B")
    pb = world.program(b.id, "Theirs")
    world.user("mgr", roles={a.id: "manager", b.id: "biologist"})
    mgr = signed_in("mgr")
    assert mgr.get(f"/admin/areas/{a.id}/programs").status_code == 200
    assert mgr.get(f"/admin/areas/{b.id}/programs").status_code == 403
    assert mgr.get(f"/admin/programs/{pb.id}").status_code == 403
    assert mgr.form(f"/admin/programs/{pb.id}", {"name": "Mine"}).status_code == 403
    assert _program(world, "Theirs").name == "Theirs"


# ---- the API shares the services -------------------------------------------------------------------
def test_api_boundary_is_repaired_like_an_upload(client, world):
    import json

    root = world.user("root", admin=True)
    h = world.headers(root)
    r = client.post("/api/v1/areas", json={"code": "X", "name": "X", "boundary": bf.BOW_TIE}, headers=h)
    assert r.status_code == 201, r.json
    assert shapely.from_geojson(json.dumps(r.json["boundary"])).is_valid
    r = client.post("/api/v1/areas", json={"code": "X", "name": "Y"}, headers=h)
    assert r.status_code == 409 and r.json["error"]["details"][0]["field"] == "code"
    flat = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0], [0, 0]]]}
    r = client.patch(f"/api/v1/areas/{_area(world, 'X').id}", json={"boundary": flat}, headers=h)
    assert r.status_code == 422 and r.json["error"]["code"] == "invalid_geometry"


def test_api_program_settings_are_checked(client, world):
    root = world.user("root", admin=True)
    h = world.headers(root)
    a = world.area()
    r = client.post("/api/v1/programs", json={"area_id": a.id, "name": "P", "settings": {"alert_threshold": 5}},
                    headers=h)
    assert r.status_code == 422 and r.json["error"]["details"][0]["field"] == "alert_threshold"
    r = client.post("/api/v1/programs", json={"area_id": a.id, "name": "P", "settings": {"detector_model": "x"}},
                    headers=h)
    assert r.status_code == 422 and r.json["error"]["details"][0]["field"] == "detector_model"

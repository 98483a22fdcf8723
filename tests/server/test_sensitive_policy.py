"""One policy for sensitive species' positions and photos of people (server/auth/policy.py), on
every path: sync pull and push answers, field page and field photos, media API, locations,
exports. Findings 4 (sync pull leaked exact positions to viewers) and 5 (field photo route
served unblurred person photos). Both databases, through the ``app`` fixture."""
from __future__ import annotations

import hashlib
import io
import uuid
from datetime import datetime, timezone

import numpy as np
import pytest
from PIL import Image
from sqlmodel import select
from signin import sign_in

EXACT = (17.512345, 106.254321)
CELL = (17.55, 106.25)  # centre of its 0.1 degree cell


class Scene:
    """Area A with a line-transect program, a sensitive taxon (IUCN EN, not flagged) and a common one,
    one user of each role, and a second ranger."""

    def __init__(self, app, world, client):
        from server.models import Taxon
        from server.services.taxa import refresh_search_text

        self.app, self.world, self.client = app, world, client
        self.area = world.area("A", "Area A")
        self.program = world.program(self.area.id, "Transects", protocol="line-transect")
        with world.session() as s:
            for sci, iucn in (("Pygathrix nemaeus", "EN"), ("Sus scrofa", "LC")):
                t = Taxon(scientific_name=sci, iucn_category=iucn)
                refresh_search_text(t)
                s.add(t)
        self.users = {r: world.user(r, roles={self.area.id: r}) for r in ("viewer", "ranger", "biologist", "manager")}
        self.users["ranger2"] = world.user("ranger2", roles={self.area.id: "ranger"})
        self.h = {k: world.headers(u) for k, u in self.users.items()}

    def obs_doc(self, taxon="Pygathrix nemaeus", lat=EXACT[0], lon=EXACT[1], count=1, photos=None):
        rec = {"observed_at": "2026-03-01T07:30:00+07:00", "taxon": taxon, "sign_type": "sighting", "count": count,
               "distance_m": 20.0, "bearing_deg": 30.0, "transect_bearing_deg": 0.0,
               "location": {"lat": lat, "lon": lon}}
        if photos:
            rec["photos"] = photos
        return {"protocol": "line_transect@1.0", "record_type": "observation", "program_id": self.program.id,
                "recorded_at": "2026-03-01T00:30:00Z", "data": rec}

    def push(self, who, record_id, doc, op="create", base=0):
        m = {"mutation_id": str(uuid.uuid4()), "entity": "observation", "record_id": record_id, "op": op,
             "base_revision": base, "data": doc}
        r = self.client.post("/api/v1/sync/push", headers=self.h[who], json={"mutations": [m]})
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.json["results"][0]

    def pulled(self, who) -> dict:
        r = self.client.get("/api/v1/sync/pull?since=0", headers=self.h[who])
        assert r.status_code == 200, r.get_data(as_text=True)
        out = {}
        for ch in r.json["changes"]:
            out[ch["record_id"]] = ch["data"]  # the latest revision wins
        return out


@pytest.fixture
def scene(app, world, client):
    return Scene(app, world, client)


def _loc(doc):
    return doc["data"]["location"]


def _get(client, url, **kw):
    """GET and close the response (file responses hold the file open until closed)."""
    r = client.get(url, **kw)
    r.get_data()
    r.close()
    return r


# ---- finding 4: sync pull ----------------------------------------------------------------------
def test_sync_pull_generalises_sensitive_positions_below_biologist(scene):
    assert scene.push("ranger", "obs-sensitive", scene.obs_doc())["status"] == "applied"
    assert scene.push("ranger", "obs-common", scene.obs_doc("Sus scrofa"))["status"] == "applied"
    for who in ("biologist", "manager", "ranger"):  # the ranger made the record: their own, exact
        loc = _loc(scene.pulled(who)["obs-sensitive"])
        assert (loc["lat"], loc["lon"]) == EXACT and not loc.get("generalised"), who
    for who in ("viewer", "ranger2"):
        docs = scene.pulled(who)
        loc = _loc(docs["obs-sensitive"])
        assert (loc["lat"], loc["lon"]) == CELL and loc["generalised"] is True, who
        assert loc["accuracy_m"] > 5000  # the uncertainty covers the whole cell
        assert str(EXACT[0]) not in str(docs["obs-sensitive"])
        common = _loc(docs["obs-common"])
        assert (common["lat"], common["lon"]) == EXACT, who  # other species: exact for every member


def test_a_generalised_position_pushed_back_does_not_move_the_record(scene):
    from server.models import FieldObservation

    assert scene.push("ranger", "obs-00001", scene.obs_doc())["status"] == "applied"
    doc = scene.pulled("ranger2")["obs-00001"]
    doc["data"]["count"] = 2  # ranger2 corrects the count on a record whose position they got generalised
    assert scene.push("ranger2", "obs-00001", doc, op="update", base=1)["status"] == "applied"
    with scene.world.session() as s:
        row = s.get(FieldObservation, "obs-00001")
        assert (row.latitude, row.longitude, row.count) == (*EXACT, 2)
    assert (_loc(scene.pulled("biologist")["obs-00001"])["lat"]) == EXACT[0]


def test_push_answers_do_not_reveal_exact_positions(scene):
    """A conflict answer carries the server's version: generalised like a pull for ranger2."""
    assert scene.push("ranger", "obs-00001", scene.obs_doc(count=1))["status"] == "applied"
    assert scene.push("ranger", "obs-00001", scene.obs_doc(count=5), op="update", base=1)["status"] == "applied"
    res = scene.push("ranger2", "obs-00001", scene.obs_doc(lat=17.9, lon=106.9, count=9), op="update", base=1)
    assert res["status"] == "conflict"
    loc = _loc(res["server_data"])
    assert (loc["lat"], loc["lon"]) == CELL and loc["generalised"] is True


# ---- field page ---------------------------------------------------------------------------------
def _page(app, username):
    c = app.test_client()
    assert sign_in(c, username).status_code == 302
    return c


def test_field_page_positions_follow_the_same_policy(app, scene):
    assert scene.push("ranger", "obs-00001", scene.obs_doc())["status"] == "applied"
    url = f"/areas/{scene.area.id}/field"
    for who, exact in (("viewer", False), ("ranger2", False), ("ranger", True), ("biologist", True)):
        html = _page(app, who).get(url).get_data(as_text=True)
        assert ("17.51234" in html) is exact, who
        assert ("position withheld" in html) is not exact, who


# ---- media API and stations ------------------------------------------------------------------------
def _camera_scene(scene, lat=EXACT[0], lon=EXACT[1]):
    """A camera deployment of area A with one image labelled with the sensitive taxon, GPS in EXIF."""
    from server.models import Media, Observation, Taxon

    dep = scene.world.deployment(scene.world.program(scene.area.id, "Cameras"), "CT01")
    with scene.world.session() as s:
        taxon = s.exec(select(Taxon).where(Taxon.scientific_name == "Pygathrix nemaeus")).one()
        t0 = datetime(2026, 1, 2, tzinfo=timezone.utc)
        m = Media(sha256="e" * 64, deployment_id=dep.id, file_name="IMG_1.JPG", media_type="image/jpeg", size_bytes=1,
                  storage_key="k", latitude=lat, longitude=lon,
                  meta={"exif": {"GPS GPSLatitude": "[17, 30, 44]", "Image Make": "RECONYX"}})
        s.add(m)
        s.flush()
        s.add(Observation(deployment_id=dep.id, media_id=m.id, event_start=t0, event_end=t0,
                          observation_type="animal", taxon_id=taxon.id))
        return dep, m.id


def test_media_api_hides_exif_positions_of_sensitive_records_from_viewers(scene):
    dep, media_id = _camera_scene(scene)
    c = scene.client
    r = c.get(f"/api/v1/media/{media_id}", headers=scene.h["viewer"])
    assert r.status_code == 200
    assert (r.json["latitude"], r.json["longitude"]) == CELL
    assert "GPS GPSLatitude" not in r.json["meta"]["exif"] and r.json["meta"]["exif"]["Image Make"] == "RECONYX"
    listed = c.get(f"/api/v1/media?deployment_id={dep.id}", headers=scene.h["viewer"]).json["items"][0]
    assert (listed["latitude"], listed["longitude"]) == CELL
    for who in ("ranger", "biologist"):
        r = c.get(f"/api/v1/media/{media_id}", headers=scene.h[who])
        assert (r.json["latitude"], r.json["longitude"]) == EXACT and "GPS GPSLatitude" in r.json["meta"]["exif"]


def test_stations_of_sensitive_records_are_generalised_for_viewers(scene):
    dep, _ = _camera_scene(scene)
    c = scene.client
    loc_id = dep.location_id
    r = c.get(f"/api/v1/locations/{loc_id}", headers=scene.h["viewer"])
    assert r.status_code == 200 and (r.json["latitude"], r.json["longitude"]) != (17.5, 106.3)
    assert r.json["coordinate_uncertainty"] > 5000
    listed = {x["id"]: x for x in c.get(f"/api/v1/locations?area_id={scene.area.id}",
                                        headers=scene.h["viewer"]).json["items"]}
    assert listed[loc_id]["latitude"] == r.json["latitude"]
    ref = c.get(f"/api/v1/sync/reference?area_id={scene.area.id}", headers=scene.h["viewer"]).json
    assert {x["id"]: x["latitude"] for x in ref["locations"]}[loc_id] == r.json["latitude"]
    r = c.get(f"/api/v1/locations/{loc_id}", headers=scene.h["ranger"])
    assert (r.json["latitude"], r.json["longitude"]) == (17.5, 106.3)  # rangers service the stations


# ---- finding 5 and the image policy ---------------------------------------------------------------
def _textured_jpeg(size=(400, 300)) -> bytes:
    rng = np.random.default_rng(7)
    arr = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)  # texture everywhere
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def _person_photo(scene, box=(0.5, 0.5, 0.4, 0.4), with_box=True):
    """A camera-trap image of area A showing a person (a detection with a box) in the media store."""
    from server.models import Detection, Media
    from server.storage import get_store

    data = _textured_jpeg()
    sha = hashlib.sha256(data).hexdigest()
    store = get_store(scene.app)
    key = store.key_for(sha, "jpg")
    store.put_stream(io.BytesIO(data), key)
    dep = scene.world.deployment(scene.world.program(scene.area.id, "Cameras"), "CT01")
    with scene.world.session() as s:
        m = Media(sha256=sha, deployment_id=dep.id, file_name="IMG_P.JPG", media_type="image/jpeg",
                  size_bytes=len(data), storage_key=key, width=400, height=300, contains_person=True)
        s.add(m)
        s.flush()
        bbox = dict(zip(("bbox_x", "bbox_y", "bbox_width", "bbox_height"), box)) if with_box else {}
        s.add(Detection(media_id=m.id, model="md@5", category="person", confidence=0.9, **bbox))
        return sha, m.id


def _box_texture(data: bytes, box=(0.5, 0.5, 0.4, 0.4)) -> float:
    im = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32)
    h, w = im.shape
    x, y, bw, bh = box
    inner = im[int((y + bh * 0.2) * h):int((y + bh * 0.8) * h), int((x + bw * 0.2) * w):int((x + bw * 0.8) * w)]
    return float(np.abs(np.diff(inner, axis=1)).mean())  # mean neighbour difference: high for texture


def test_field_photo_route_blurs_people_for_viewers(app, scene):
    """Finding 5: a ranger lists a camera-trap person photo's SHA-256 in a field record; the field
    photo route must pass the same person-blur policy as the media API."""
    sha, _ = _person_photo(scene)
    assert scene.push("ranger", "obs-photo", scene.obs_doc("Sus scrofa", photos=[sha]))["status"] == "applied"
    url = f"/areas/{scene.area.id}/field/photo/{sha}"
    clear = _get(_page(app, "biologist"), url)
    assert clear.status_code == 200 and clear.headers["X-Saola-Blurred"] == "0"
    assert _box_texture(clear.data) > 20
    for who in ("viewer", "ranger"):
        r = _get(_page(app, who), url)
        assert r.status_code == 200 and r.headers["X-Saola-Blurred"] == "1", who
        assert "no-store" in r.headers["Cache-Control"]
        assert _box_texture(r.data) < _box_texture(clear.data) / 4, who


def test_person_without_a_box_is_withheld_below_biologist(scene):
    _sha, media_id = _person_photo(scene, with_box=False)
    for url in (f"/api/v1/media/{media_id}/view", f"/api/v1/media/{media_id}/thumbnail"):
        r = _get(scene.client, url, headers=scene.h["viewer"])
        assert r.status_code == 403 and r.json["error"]["code"] == "withheld", url
        assert _get(scene.client, url, headers=scene.h["biologist"]).status_code == 200


def test_viewers_never_get_the_stored_original_bytes(app, scene):
    """Originals (EXIF position, camera serial) go to rangers and above; viewers get a re-encoded copy."""
    from server.models import Detection, Media
    from server.storage import get_store

    sha, media_id = _person_photo(scene)
    with scene.world.session() as s:  # nobody in it after all: no box to blur
        for d in s.exec(select(Detection).where(Detection.media_id == media_id)):
            s.delete(d)
        s.get(Media, media_id).contains_person = False
    original = get_store(app).path(get_store(app).key_for(sha, "jpg")).read_bytes()
    r = _get(scene.client, f"/api/v1/media/{media_id}/file", headers=scene.h["ranger"])
    assert r.status_code == 200 and r.data == original
    r = _get(scene.client, f"/api/v1/media/{media_id}/file", headers=scene.h["viewer"])
    assert r.status_code == 200 and r.data != original and r.data[:2] == b"\xff\xd8"
    assert Image.open(io.BytesIO(r.data)).size == (400, 300)
    r = _get(scene.client, f"/api/v1/media/{media_id}/view?size=original", headers=scene.h["viewer"])
    assert r.status_code == 200 and r.data != original


# ---- exports use the same rule ---------------------------------------------------------------------
def test_exports_and_api_share_one_sensitivity_rule():
    from server.auth import policy
    from server.exports import sensitive
    from server.models import Taxon

    assert sensitive.generalise is policy.generalise and sensitive.is_sensitive is policy.is_sensitive
    assert sensitive.person_media_clause is policy.person_media_clause
    assert policy.is_sensitive(Taxon(scientific_name="a", sensitive=True))
    assert policy.is_sensitive(Taxon(scientific_name="b", decree84_group="IB"))
    assert policy.is_sensitive(Taxon(scientific_name="c", iucn_category="CR"))
    assert policy.is_sensitive(Taxon(scientific_name="d", iucn_category="EN"))
    assert not policy.is_sensitive(Taxon(scientific_name="e", iucn_category="VU", decree84_group="IIB"))
    assert policy.generalise(*EXACT)[:2] == CELL


def test_annual_report_map_follows_the_policy(app, scene):
    from server.db import session_scope
    from server.reports import build_report

    _camera_scene(scene)
    with session_scope(app.config["DATABASE_URL"]) as s:
        for role, exact in (("viewer", False), ("ranger", True), ("manager", True), (None, True)):
            data = build_report(s, 2026, area_id=scene.area.id, role=role)
            st = {x["name"]: (x["lat"], x["lon"]) for x in data.stations}["CT01"]
            assert (st == (17.5, 106.3)) is exact, role
    r = scene.client.get(f"/api/v1/reports/annual?area_id={scene.area.id}&year=2026", headers=scene.h["viewer"])
    assert r.status_code == 200 and r.mimetype == "text/html"

"""The one access-scope helper (server/auth/permissions.py): every kind of object finds its
protected area; no role there is 404 (ids never leak), a lower role is 403; list queries
are scoped to the areas a user may see. Both databases, through the ``app`` fixture."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from flask import g
from sqlmodel import select
from signin import sign_in

from server.errors import Forbidden, NotFound

T0 = datetime(2026, 1, 2, 3, 0, tzinfo=timezone.utc)


class Objects:
    """One object of every area-scoped kind in area A, plus a few outside every area."""

    def __init__(self, world):
        from server.models import (AcousticIndex, Alert, Detection, FieldObservation, Job, Media, Observation,
                                   OperatingInterval, Sequence, SurveyWalk, SyncConflict, Transect, Upload)

        self.a, self.b = world.area("A", "Area A"), world.area("B", "Area B")
        self.program = world.program(self.a.id)
        self.deployment = world.deployment(self.program)
        self.outsider = world.user("outsider", roles={self.b.id: "manager"})
        self.viewer = world.user("viewer", roles={self.a.id: "viewer"})
        self.biologist = world.user("bio", roles={self.a.id: "biologist"})
        self.admin = world.user("root", admin=True)
        with world.session() as s:
            seq = Sequence(deployment_id=self.deployment.id, event_start=T0, event_end=T0, media_count=1)
            s.add(seq)
            s.flush()
            media = Media(sha256="a" * 64, deployment_id=self.deployment.id, sequence_id=seq.id, file_name="x.jpg",
                          media_type="image/jpeg", size_bytes=1, storage_key="k")
            loose = Media(sha256="b" * 64, file_name="y.jpg", media_type="image/jpeg", size_bytes=1, storage_key="k2")
            s.add_all([media, loose])
            s.flush()
            rows = {
                "sequence": seq, "media": media, "loose_media": loose,
                "detection": Detection(media_id=media.id, model="md@5", category="animal", confidence=0.9),
                "observation": Observation(deployment_id=self.deployment.id, media_id=media.id, event_start=T0,
                                           event_end=T0, observation_type="animal"),
                "interval": OperatingInterval(deployment_id=self.deployment.id, start=T0,
                                              end=T0 + timedelta(days=1)),
                "index": AcousticIndex(media_id=media.id, minute=0),
                "alert": Alert(area_id=self.a.id, kind="gunshot", confidence=0.9),
                "conflict": SyncConflict(area_id=self.a.id, entity="observation", record_id="r" * 8,
                                         base_revision=1, server_revision=2),
                "job": Job(kind="export", area_id=self.a.id),
                "own_job": Job(kind="export", created_by=self.viewer.id),
                "walk": SurveyWalk(program_id=self.program.id, started_at=T0),
                "field": FieldObservation(program_id=self.program.id, protocol="p@1", observed_at=T0),
                "transect": Transect(area_id=self.a.id, name="T1"),
                "upload": Upload(sha256="c" * 64, size_bytes=3, user_id=self.viewer.id),
            }
            for r in rows.values():
                s.add(r)
            s.flush()
            self.ids = {k: (type(v), v.id) for k, v in rows.items()}


@pytest.fixture
def objs(world):
    return Objects(world)


def _as(app, user):
    """A request context signed in as ``user`` (the helper reads ``g.user``)."""
    from server.db import get_session
    from server.models import User

    ctx = app.test_request_context("/")
    ctx.push()
    g.user = get_session().get(User, user.id)
    return ctx


AREA_A = ("sequence", "media", "detection", "observation", "interval", "index", "alert", "conflict", "job",
          "walk", "field", "transect")


def test_every_kind_of_object_finds_its_area(app, objs):
    from server.auth.permissions import area_of
    from server.db import get_session

    ctx = _as(app, objs.admin)
    try:
        s = get_session()
        for name in AREA_A:
            cls, ident = objs.ids[name]
            assert area_of(s, s.get(cls, ident)) == objs.a.id, name
        for name in ("loose_media", "own_job", "upload"):
            cls, ident = objs.ids[name]
            assert area_of(s, s.get(cls, ident)) is None, name
    finally:
        ctx.pop()


def test_no_role_is_404_lower_role_is_403(app, objs):
    from server.auth.permissions import load_in_area
    from server.db import get_session

    for name in AREA_A:
        cls, ident = objs.ids[name]
        ctx = _as(app, objs.outsider)
        try:
            with pytest.raises(NotFound) as e:
                load_in_area(get_session(), cls, ident)
            assert ident in e.value.message  # the same answer as for an id that does not exist
            with pytest.raises(NotFound):
                load_in_area(get_session(), cls, "no-such-id")
        finally:
            ctx.pop()
        ctx = _as(app, objs.viewer)
        try:
            acc = load_in_area(get_session(), cls, ident)
            assert (acc.area_id, acc.role) == (objs.a.id, "viewer")
            with pytest.raises(Forbidden) as e:
                load_in_area(get_session(), cls, ident, "biologist")
            assert "biologist" in e.value.message
        finally:
            ctx.pop()
        ctx = _as(app, objs.biologist)
        try:
            assert load_in_area(get_session(), cls, ident, "biologist").role == "biologist"
        finally:
            ctx.pop()


def test_objects_outside_every_area_are_for_owners_and_admins(app, objs):
    from server.auth.permissions import OWNER, load_in_area
    from server.db import get_session

    for name, owner in (("loose_media", None), ("own_job", objs.viewer), ("upload", objs.viewer)):
        cls, ident = objs.ids[name]
        for user in (objs.outsider, objs.biologist):
            ctx = _as(app, user)
            try:
                with pytest.raises(NotFound):
                    load_in_area(get_session(), cls, ident)
            finally:
                ctx.pop()
        ctx = _as(app, objs.admin)
        try:
            assert load_in_area(get_session(), cls, ident, "manager").role == "admin"
        finally:
            ctx.pop()
        if owner is not None:
            ctx = _as(app, owner)
            try:
                acc = load_in_area(get_session(), cls, ident, "biologist")
                assert acc.role == OWNER and acc.at_least("manager")
            finally:
                ctx.pop()


def test_scope_query_lists_only_visible_areas(app, objs, world):
    from server.auth.permissions import scope_query
    from server.db import get_session
    from server.models import Alert

    with world.session() as s:
        s.add(Alert(area_id=objs.b.id, kind="engine", confidence=0.5))
    for user, expected in ((objs.viewer, {objs.a.id}), (objs.outsider, {objs.b.id}),
                           (objs.admin, {objs.a.id, objs.b.id})):
        ctx = _as(app, user)
        try:
            s = get_session()
            rows = s.exec(scope_query(s, select(Alert), Alert.area_id)).all()
            assert {r.area_id for r in rows} == expected
        finally:
            ctx.pop()
    ctx = _as(app, objs.viewer)
    try:
        s = get_session()
        with pytest.raises(NotFound):
            scope_query(s, select(Alert), Alert.area_id, objs.b.id)
        with pytest.raises(Forbidden):
            scope_query(s, select(Alert), Alert.area_id, objs.a.id, "manager")
        assert s.exec(scope_query(s, select(Alert), Alert.area_id, minimum="ranger")).all() == []
    finally:
        ctx.pop()


# ---- finding 7: null for a field that cannot be empty ------------------------------------------
def test_every_patch_schema_refuses_null_for_required_columns():
    """Generic: each Patch schema refuses null exactly for its NOT NULL columns (and password)."""
    from pydantic import ValidationError

    from server.api import schemas

    patches = [c for c in vars(schemas).values() if isinstance(c, type) and issubclass(c, schemas.Patch)
               and c is not schemas.Patch]
    assert {c.__name__ for c in patches} >= {"AreaPatch", "ProgramPatch", "LocationPatch", "DeploymentPatch",
                                             "TaxonPatch", "UserPatch"}
    for cls in patches:
        cols = cls.__table_model__.__table__.columns
        for name in cls.model_fields:
            required = name in cls.__not_null__ or (name in cols and not cols[name].nullable)
            if required:
                with pytest.raises(ValidationError) as e:
                    cls.model_validate({name: None})
                assert e.value.errors()[0]["loc"] == (name,), (cls.__name__, name)
            else:
                cls.model_validate({name: None})


def test_ranger_cannot_break_deployment_listing_with_null_settings(client, world):
    a = world.area()
    dep = world.deployment(world.program(a.id))
    ranger = world.user("ranger", roles={a.id: "ranger"})
    h = world.headers(ranger)
    r = client.patch(f"/api/v1/deployments/{dep.id}", headers=h, json={"settings": None})
    assert r.status_code == 422
    assert r.json["error"]["details"][0]["field"] == "settings"
    assert "cannot be null" in r.json["error"]["message"]
    for field in ("timezone", "deployment_start", "bait_use", "location_id", "clock_offset_s"):
        assert client.patch(f"/api/v1/deployments/{dep.id}", headers=h, json={field: None}).status_code == 422
    assert client.patch(f"/api/v1/deployments/{dep.id}", headers=h, json={"camera_id": None}).status_code == 200
    r = client.get("/api/v1/deployments", headers=h)
    assert r.status_code == 200 and r.json["items"][0]["settings"] == {}


def test_manager_cannot_break_program_listing_with_null_settings(client, world):
    a = world.area()
    p = world.program(a.id)
    h = world.headers(world.user("mgr", roles={a.id: "manager"}))
    for field in ("settings", "name", "protocol", "sequence_gap_s", "capture_method"):
        r = client.patch(f"/api/v1/programs/{p.id}", headers=h, json={field: None})
        assert r.status_code == 422, field
    assert client.get("/api/v1/programs", headers=h).status_code == 200
    assert client.patch(f"/api/v1/programs/{p.id}", headers=h, json={"season": None}).status_code == 200


def test_listing_survives_a_null_stored_before_the_fix(client, world):
    """Rows written with null before null was refused still list (empty object), no 500."""
    from server.models import Deployment, Program

    a = world.area()
    p = world.program(a.id)
    dep = world.deployment(p)
    with world.session() as s:
        s.get(Deployment, dep.id).settings = None
        s.get(Program, p.id).settings = None
    h = world.headers(world.user("viewer", roles={a.id: "viewer"}))
    r = client.get("/api/v1/deployments", headers=h)
    assert r.status_code == 200 and r.json["items"][0]["settings"] == {}
    r = client.get("/api/v1/programs", headers=h)
    assert r.status_code == 200 and r.json["items"][0]["settings"] == {}


# ---- finding 6: cross-area photo read and SHA-256 existence oracle -----------------------------------
def _jpeg(seed: int) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (seed % 256, 90, 160)).save(buf, "JPEG")
    return buf.getvalue()


def _upload(client, h, data: bytes, **extra):
    """A complete resumable upload of ``data``; the create answer and the final state."""
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    r = client.post("/api/v1/uploads", headers=h, json={"sha256": sha, "size": len(data),
                                                        "media_type": "image/jpeg", **extra})
    assert r.status_code == 201, r.get_data(as_text=True)
    created = r.json
    if created["completed_at"] is None:
        r = client.patch(f"/api/v1/uploads/{created['id']}", headers={**h, "Upload-Offset": str(created["offset"]),
                         "Content-Type": "application/offset+octet-stream"}, data=data[created["offset"]:])
        assert r.status_code == 200, r.get_data(as_text=True)
    return sha, created


def _obs(program_id: str, photos: list[str]) -> dict:
    import uuid

    rec = {"observed_at": "2026-03-01T07:30:00+07:00", "sign_type": "sighting", "count": 1, "unidentified": True,
           "distance_m": 5.0, "bearing_deg": 10.0, "transect_bearing_deg": 0.0,
           "location": {"lat": 17.5, "lon": 106.2}, "photos": photos}
    return {"mutation_id": str(uuid.uuid4()), "entity": "observation", "record_id": str(uuid.uuid4()),
            "op": "create", "base_revision": 0,
            "data": {"protocol": "line_transect@1.0", "record_type": "observation", "program_id": program_id,
                     "recorded_at": "2026-03-01T00:30:00Z", "data": rec}}


@pytest.fixture
def two_field_areas(world):
    a, b = world.area("A", "Area A"), world.area("B", "Area B")
    pa = world.program(a.id, "Transects", protocol="line-transect")
    pb = world.program(b.id, "Transects", protocol="line-transect")
    users = {"ranger_a": world.user("ranger_a", roles={a.id: "ranger"}),
             "ranger_a2": world.user("ranger_a2", roles={a.id: "ranger"}),
             "viewer_a": world.user("viewer_a", roles={a.id: "viewer"}),
             "bio_b": world.user("bio_b", roles={b.id: "biologist"})}
    return a, b, pa, pb, {k: world.headers(u) for k, u in users.items()}


def _push(client, h, *mutations):
    r = client.post("/api/v1/sync/push", headers=h, json={"mutations": list(mutations)})
    assert r.status_code == 200
    return r.json["results"]


def _page_client(app, username):
    c = app.test_client()
    assert sign_in(c, username).status_code == 302
    return c


def test_upload_does_not_reveal_another_areas_photo(app, client, two_field_areas):
    a, b, pa, pb, h = two_field_areas
    photo = _jpeg(1)
    sha, first = _upload(client, h["ranger_a"], photo)
    assert first["completed_at"] is None  # new bytes: sent in full
    assert _push(client, h["ranger_a"], _obs(pa.id, [sha]))[0]["status"] == "applied"
    unknown = client.post("/api/v1/uploads", headers=h["bio_b"], json={"sha256": "f" * 64, "size": 1}).json
    for size in (1, len(photo)):
        r = client.post("/api/v1/uploads", headers=h["bio_b"], json={"sha256": sha, "size": size})
        assert r.status_code == 201
        # Looks exactly like bytes the server has never seen.
        assert (r.json["media_id"], r.json["offset"], r.json["completed_at"]) == (None, 0, None)
        assert (unknown["media_id"], unknown["offset"], unknown["completed_at"]) == (None, 0, None)
    # The fast path stays for those who may see the photo: its uploader and the area's other rangers.
    media_id = client.get(f"/api/v1/uploads/{first['id']}", headers=h["ranger_a"]).json["media_id"]
    assert media_id is not None
    for who in ("ranger_a", "ranger_a2"):
        r = client.post("/api/v1/uploads", headers=h[who], json={"sha256": sha, "size": len(photo)})
        assert (r.json["media_id"], r.json["offset"]) == (media_id, len(photo)), who
        assert r.json["completed_at"] is not None, who


def test_listing_another_areas_sha_in_a_record_reaches_nothing(app, client, two_field_areas):
    a, b, pa, pb, h = two_field_areas
    sha, _ = _upload(client, h["ranger_a"], _jpeg(2))
    assert _push(client, h["ranger_a"], _obs(pa.id, [sha]))[0]["status"] == "applied"
    assert _push(client, h["bio_b"], _obs(pb.id, [sha]))[0]["status"] == "applied"
    bio_b = _page_client(app, "bio_b")
    r = bio_b.get(f"/areas/{b.id}/field/photo/{sha}")
    assert r.status_code == 404
    assert f"/field/photo/{sha}" not in bio_b.get(f"/areas/{b.id}/field").get_data(as_text=True)
    # Area A's own members still see it.
    viewer_a = _page_client(app, "viewer_a")
    assert f"/field/photo/{sha}" in viewer_a.get(f"/areas/{a.id}/field").get_data(as_text=True)
    r = viewer_a.get(f"/areas/{a.id}/field/photo/{sha}")
    assert r.status_code == 200 and r.data[:2] == b"\xff\xd8"


def test_camera_trap_media_is_not_revealed_by_upload(client, world, two_field_areas):
    from server.models import Media

    a, b, pa, pb, h = two_field_areas
    dep = world.deployment(world.program(a.id, "Cameras"))
    with world.session() as s:
        m = Media(sha256="d" * 64, deployment_id=dep.id, file_name="IMG.JPG", media_type="image/jpeg",
                  size_bytes=10, storage_key="k")
        s.add(m)
    r = client.post("/api/v1/uploads", headers=h["bio_b"], json={"sha256": "d" * 64, "size": 10})
    assert (r.json["media_id"], r.json["completed_at"]) == (None, None)
    r = client.post("/api/v1/uploads", headers=h["ranger_a"], json={"sha256": "d" * 64, "size": 10})
    assert r.json["media_id"] == m.id and r.json["completed_at"] is not None  # visible to A: complete at once


# ---- finding 11: uploads need a ranger; the upload sink; job paths ------------------------------------
def test_viewers_cannot_store_files_through_uploads(client, world, two_field_areas):
    a, b, pa, pb, h = two_field_areas
    body = {"sha256": "a" * 64, "size": 10}
    r = client.post("/api/v1/uploads", headers=h["viewer_a"], json=body)
    assert r.status_code == 403 and "ranger" in r.json["error"]["message"]
    assert client.post("/api/v1/uploads", headers=h["viewer_a"], json={**body, "area_id": a.id}).status_code == 403
    assert client.post("/api/v1/uploads", headers=h["ranger_a"], json={**body, "area_id": b.id}).status_code == 404
    assert client.post("/api/v1/uploads", headers=h["ranger_a"], json={**body, "area_id": a.id}).status_code == 201
    assert client.post("/api/v1/uploads", headers=h["ranger_a"], json=body).status_code == 201


def test_upload_sink_stores_only_for_administrators_and_is_bounded(app, client, world, monkeypatch):
    from pathlib import Path

    from server.api import meta

    a = world.area()
    ranger = world.headers(world.user("ranger", roles={a.id: "ranger"}))
    admin = world.headers(world.user("root", admin=True))
    put = {"Content-Type": "application/octet-stream"}
    url = "/api/v1/diagnostics/upload-sink"
    r = client.put(url + "?store=1", headers={**ranger, **put}, data=b"x" * 4096)
    assert r.status_code == 403
    r = client.put(url + "?store=1", headers={**admin, **put}, data=b"x" * 4096)
    assert r.status_code == 200 and r.json == {"bytes": 4096}
    assert r.status_code == 200 and client.put(url, headers={**ranger, **put}, data=b"x" * 10).json == {"bytes": 10}
    monkeypatch.setattr(meta, "SINK_MAX_BYTES", 1024)
    for h in (ranger, admin):
        r = client.put(url + ("?store=1" if h is admin else ""), headers={**h, **put}, data=b"x" * 4096)
        assert r.status_code == 413 and r.json["error"]["code"] == "too_large"
    assert not list(Path(app.config["DATA_DIR"]).glob(".sink-*"))  # nothing left on disk


def test_job_paths_are_hidden_from_non_administrators(app, client, world):
    from server.models import Job

    a = world.area()
    data_dir = app.config["DATA_DIR"]
    with world.session() as s:
        job = Job(kind="export", area_id=a.id, status="failed", params={"format": "dwca"},
                  result={"file": "dwca-1.zip", "out_dir": f"{data_dir}/exports/x/files", "events": 3},
                  error=f"cannot write {data_dir}/exports/x/files/event.txt: disk full",
                  failures=[{"item": f"{data_dir}/media/ab/cd.jpg", "error": "gone"}])
        s.add(job)
    viewer = world.headers(world.user("viewer", roles={a.id: "viewer"}))
    for url in (f"/api/v1/jobs/{job.id}", "/api/v1/jobs"):
        body = client.get(url, headers=viewer).get_data(as_text=True)
        assert data_dir not in body and "out_dir" not in body, url
        assert "dwca-1.zip" in body and "exports/x/files/event.txt" in body
    admin = client.get(f"/api/v1/jobs/{job.id}", headers=world.headers(world.user("root", admin=True))).json
    assert admin["result"]["out_dir"].startswith(data_dir)

"""Every route with an object id in its path goes through the access-scope helper
(server/auth/permissions.py): a user with no role in the object's protected area gets 404
(ids of other areas never leak), a member with a lower role than the route needs gets 403.

The tables below give each route's documented minimum role. The test walks the API's route
declarations (server.api.core.SPECS) and the web pages' URL map, and fails when a route with an
id in its path is in neither a table nor the short list of routes that have no area, so a new
route cannot skip the check unnoticed. Both databases, through the ``app`` fixture."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from signin import sign_in

ROLES_BELOW = {"viewer": [], "ranger": ["viewer"], "biologist": ["viewer", "ranger"],
               "manager": ["viewer", "ranger", "biologist"]}
ADMIN = "admin"    # administrators only: 403 to everyone else, whatever the id
OWNER = "owner"    # the user's own object (upload, token): 404 to everyone else
SELF = "self"      # a user's own account, or an administrator: 403 to everyone else

# (method, rule) -> minimum role in the object's area, or ADMIN / OWNER / SELF.
API = {
    ("GET", "/areas/<area_id>/camera-logins"): "manager",
    ("POST", "/areas/<area_id>/camera-logins"): "manager",
    ("PATCH", "/camera-logins/<login_id>"): "manager",
    ("GET", "/camera-logins/<login_id>/uploads"): "manager",
    ("GET", "/areas/<area_id>"): "viewer",
    ("PATCH", "/areas/<area_id>"): "manager",
    ("DELETE", "/areas/<area_id>"): ADMIN,
    ("GET", "/programs/<program_id>"): "viewer",
    ("PATCH", "/programs/<program_id>"): "manager",
    ("DELETE", "/programs/<program_id>"): "manager",
    ("GET", "/locations/<location_id>"): "viewer",
    ("PATCH", "/locations/<location_id>"): "ranger",
    ("DELETE", "/locations/<location_id>"): "manager",
    ("POST", "/alerts/<alert_id>/acknowledge"): "biologist",
    ("GET", "/media/<media_id>/acoustic-indices"): "viewer",
    ("GET", "/deployments/<deployment_id>/acoustic-indices"): "viewer",
    ("GET", "/media/<media_id>/spectrogram.png"): "viewer",
    ("GET", "/deployments/<deployment_id>/audio-detections"): "viewer",
    ("GET", "/deployments/<deployment_id>/detections.csv"): "viewer",
    ("POST", "/deployments/<deployment_id>/audio-analysis"): "biologist",
    ("GET", "/areas/<area_id>/audit"): "manager",
    ("DELETE", "/tokens/<token_id>"): OWNER,
    ("GET", "/deployments/<deployment_id>"): "viewer",
    ("PATCH", "/deployments/<deployment_id>"): "ranger",
    ("DELETE", "/deployments/<deployment_id>"): "manager",
    ("POST", "/deployments/<deployment_id>/intervals"): "ranger",
    ("DELETE", "/deployments/<deployment_id>/intervals/<interval_id>"): "manager",
    ("GET", "/media/<media_id>/detections"): "viewer",
    ("GET", "/deployments/<deployment_id>/detections"): "viewer",
    ("POST", "/deployments/<deployment_id>/detect"): "biologist",
    ("GET", "/media/<media_id>/view"): "viewer",
    ("GET", "/exports/<job_id>/download"): "manager",
    ("GET", "/programs/<program_id>/camtrap-dp-metadata"): "manager",
    ("PUT", "/programs/<program_id>/camtrap-dp-metadata"): "manager",
    ("GET", "/analytics/<name>"): "viewer",
    ("GET", "/analytics/<name>/plot"): "viewer",
    ("GET", "/jobs/<job_id>"): "viewer",
    ("POST", "/jobs/<job_id>/cancel"): "biologist",
    ("POST", "/jobs/<job_id>/retry"): "manager",  # the fixture's job is an export (biologists retry the others)
    ("POST", "/programs/<program_id>/detect"): "biologist",
    ("POST", "/deployments/<deployment_id>/media"): "ranger",
    ("GET", "/media/<media_id>"): "viewer",
    ("GET", "/media/<media_id>/file"): "viewer",
    ("GET", "/media/<media_id>/thumbnail"): "viewer",
    ("GET", "/media/<media_id>/review"): "viewer",
    ("GET", "/sequences/<sequence_id>"): "viewer",
    ("GET", "/review/sequences/<sequence_id>"): "viewer",
    ("GET", "/review/programs/<program_id>/shortcuts"): "viewer",
    ("POST", "/review/sequences/<sequence_id>/label"): "biologist",
    ("POST", "/review/sequences/<sequence_id>/blank"): "biologist",
    ("POST", "/review/sequences/<sequence_id>/apply"): "biologist",
    ("PATCH", "/review/detections/<detection_id>"): "biologist",
    ("DELETE", "/review/detections/<detection_id>"): "biologist",
    ("POST", "/review/media/<media_id>/detections"): "biologist",
    ("POST", "/review/detections/<detection_id>/verdict"): "biologist",
    ("POST", "/review/media/<media_id>/labels"): "biologist",
    ("GET", "/review/deployments/<deployment_id>/repeated"): "viewer",
    ("POST", "/review/deployments/<deployment_id>/dismiss"): "biologist",
    ("POST", "/review/alerts/<alert_id>/acknowledge"): "biologist",
    ("GET", "/programs/<program_id>/species"): "viewer",
    ("GET", "/uploads/<upload_id>"): OWNER,
    ("PATCH", "/uploads/<upload_id>"): OWNER,
    ("POST", "/sync/conflicts/<conflict_id>/resolve"): "biologist",
    ("PATCH", "/taxa/<taxon_id>"): ADMIN,
    ("DELETE", "/taxa/<taxon_id>"): ADMIN,
    ("GET", "/users/<user_id>"): SELF,
    ("PATCH", "/users/<user_id>"): SELF,
    ("PUT", "/areas/<area_id>/basemap"): "manager",
    ("GET", "/areas/<area_id>/basemap"): "viewer",
    ("DELETE", "/areas/<area_id>/basemap"): "manager",
    ("GET", "/areas/<area_id>/basemap.mbtiles"): "viewer",
    ("GET", "/areas/<area_id>/basemap/<int:z>/<int:x>/<int:y>"): "viewer",
    ("GET", "/areas/<area_id>/members"): "manager",
    ("POST", "/areas/<area_id>/members"): "manager",
    ("DELETE", "/areas/<area_id>/members/<user_id>"): "manager",
    ("POST", "/deployments/<deployment_id>/cards"): "ranger",
    ("GET", "/cards/<card_id>"): "viewer",
    ("POST", "/cards/<card_id>/skip"): "ranger",
    ("DELETE", "/cards/<card_id>"): "ranger",
    ("GET", "/programs/<program_id>/health"): "viewer",
    ("GET", "/deployments/<deployment_id>/health"): "viewer",
    ("POST", "/deployments/<deployment_id>/health/<key>/malfunction"): "ranger",
}
# Ids that name no area-scoped object: the taxonomy is shared by every area.
API_UNSCOPED = {
    ("GET", "/taxa/<taxon_id>"),
    # A hub's file chunks: signed in by an area server's peer token, not a user (no role applies);
    # a peer reaches only its own part files: tests/server/hub/ (-k hub).
    ("PATCH", "/hub/files/<variant>/<sha256>"),
}

WEB = {
    ("GET", "/sound/<media_id>"): "viewer",
    ("GET", "/sound/<media_id>/spectrogram.png"): "viewer",
    ("GET", "/sound/<media_id>/audio"): "viewer",
    ("POST", "/alerts/<alert_id>/acknowledge"): "biologist",
    ("GET", "/review/media/<media_id>/<size>.jpg"): "viewer",
    ("GET", "/review/media/<media_id>/original"): "viewer",
    ("GET", "/conflicts/<conflict_id>"): "biologist",
    ("POST", "/conflicts/<conflict_id>/resolve"): "biologist",
    ("GET", "/areas/<area_id>/field"): "viewer",
    ("GET", "/areas/<area_id>/field/photo/<sha256>"): "viewer",
    ("GET", "/areas/<area_id>/overview"): "manager",
    ("GET", "/areas/<area_id>/map"): "manager",
    ("GET", "/areas/<area_id>/map.geojson"): "manager",
    ("GET", "/areas/<area_id>/map/stations/<location_id>/photos.json"): "manager",
    ("GET", "/areas/<area_id>/calendar"): "manager",
    # Deployments, inventory, clock tool and card uploads in the browser: the area's managers.
    ("GET", "/admin/areas/<area_id>/deployments"): "manager",
    ("GET", "/admin/areas/<area_id>/deployments/new"): "manager",
    ("GET", "/admin/areas/<area_id>/devices"): "manager",
    ("GET", "/admin/areas/<area_id>/devices/new"): "manager",
    ("GET", "/admin/areas/<area_id>/uploads"): "manager",
    ("GET", "/admin/deployments/<deployment_id>"): "manager",
    ("GET", "/admin/deployments/<deployment_id>/clock"): "manager",
    ("GET", "/admin/deployments/<deployment_id>/clock/preview"): "manager",
    ("GET", "/admin/devices/<device_id>"): "manager",
    ("POST", "/admin/areas/<area_id>/deployments/new"): "manager",
    ("POST", "/admin/areas/<area_id>/devices/new"): "manager",
    ("POST", "/admin/deployments/<deployment_id>"): "manager",
    ("POST", "/admin/deployments/<deployment_id>/clock"): "manager",
    ("POST", "/admin/deployments/<deployment_id>/intervals"): "manager",
    ("POST", "/admin/deployments/<deployment_id>/intervals/<interval_id>/delete"): "manager",
    ("POST", "/admin/devices/<device_id>"): "manager",
    ("POST", "/areas/<area_id>/health/<deployment_id>/<key>"): "manager",
    ("GET", "/areas/<area_id>/exports"): "manager",
    ("POST", "/areas/<area_id>/exports"): "manager",
    ("GET", "/areas/<area_id>/exports.json"): "manager",
    ("GET", "/areas/<area_id>/reports"): "manager",
    ("GET", "/programs/<program_id>/camtrap-dp"): "manager",
    ("POST", "/programs/<program_id>/camtrap-dp"): "manager",
    ("GET", "/admin/areas/<area_id>"): "manager",
    ("POST", "/admin/areas/<area_id>"): "manager",
    ("GET", "/admin/areas/<area_id>/programs"): "manager",
    ("GET", "/admin/areas/<area_id>/programs/new"): "manager",
    ("POST", "/admin/areas/<area_id>/programs/new"): "manager",
    ("GET", "/admin/programs/<program_id>"): "manager",
    ("POST", "/admin/programs/<program_id>"): "manager",
    ("GET", "/admin/areas/<area_id>/members"): "manager",
    ("GET", "/admin/areas/<area_id>/cameras"): "manager",
    ("POST", "/admin/areas/<area_id>/cameras"): "manager",
    ("POST", "/admin/areas/<area_id>/cameras/<login_id>/active"): "manager",
    ("POST", "/admin/areas/<area_id>/cameras/<login_id>/password"): "manager",
    ("POST", "/admin/areas/<area_id>/members"): "manager",
    ("POST", "/admin/areas/<area_id>/members/new"): "manager",
    ("POST", "/admin/areas/<area_id>/members/<user_id>"): "manager",
    ("POST", "/admin/areas/<area_id>/members/<user_id>/remove"): "manager",
    # An account: administrators, and managers of every area where it holds a role (below manager).
    ("GET", "/admin/users/<user_id>"): ADMIN,
    ("POST", "/admin/users/<user_id>"): ADMIN,
    ("POST", "/admin/users/<user_id>/password"): ADMIN,
    ("POST", "/admin/users/<user_id>/link"): ADMIN,
    ("POST", "/admin/users/<user_id>/active"): ADMIN,
    # A token: its owner's managers (404 to other managers, 403 to people who manage no area).
    ("POST", "/admin/tokens/<token_id>/revoke"): "manager",
    ("GET", "/admin/areas/<area_id>/audit"): "manager",
    ("GET", "/admin/areas/<area_id>/jobs"): "manager",
    ("GET", "/admin/areas/<area_id>/jobs.json"): "manager",
    ("POST", "/admin/areas/<area_id>/jobs/detect"): "manager",
    ("GET", "/admin/jobs/<job_id>"): "manager",
    ("POST", "/admin/jobs/<job_id>/cancel"): "manager",
    ("POST", "/admin/jobs/<job_id>/retry"): "manager",
    # Models belong to the installation: administrators, whatever the id.
    ("GET", "/admin/models/<model_id>"): ADMIN,
    ("POST", "/admin/models/<model_id>"): ADMIN,
    ("POST", "/admin/models/<model_id>/delete"): ADMIN,
}
# Static files and the language switch: no object behind the path parameter.
WEB_UNSCOPED = {"/static/<path:filename>", "/lang/<lang>", "/vendor/leaflet/<path:filename>",
                "/welcome/<token>",  # a one-time password link: the signed token is the credential
                # national views: no area in the path; national viewers and administrators only
                # (permissions.require_national), checked in tests/server/hub/test_hub_views.py
                "/national/charts/<name>.png", "/national/exports/<job_id>/download",
                # the public portal (SAOLA_PORTAL): no sign-in, generalised by policy, tests/server/hub/test_hub_portal.py
                "/portal/areas/<code>", "/portal/areas/<code>/records.geojson"}

# Bodies that pass validation, so the request reaches the access check.
T = "2026-01-05T00:00:00Z"
BODIES = {
    ("PATCH", "/areas/<area_id>"): {"name": "A2"},
    ("PATCH", "/programs/<program_id>"): {"season": "dry"},
    ("PUT", "/programs/<program_id>/camtrap-dp-metadata"): {"sampling_design": "targeted",
                                                            "contributors": [{"title": "PNKB"}]},
    ("PATCH", "/locations/<location_id>"): {"habitat": "forest"},
    ("POST", "/deployments/<deployment_id>/audio-analysis"): {},
    ("PATCH", "/deployments/<deployment_id>"): {"camera_height": 1.0},
    ("POST", "/deployments/<deployment_id>/intervals"): {"start": T, "end": "2026-01-06T00:00:00Z"},
    ("POST", "/deployments/<deployment_id>/detect"): {"model": "md"},
    ("POST", "/programs/<program_id>/detect"): {"model": "md"},
    ("POST", "/review/sequences/<sequence_id>/label"): {},
    ("POST", "/review/sequences/<sequence_id>/apply"): {"media_id": "{media_id}"},
    ("PATCH", "/review/detections/<detection_id>"): {"bbox": [0.1, 0.1, 0.2, 0.2]},
    ("POST", "/review/media/<media_id>/detections"): {"bbox": [0.1, 0.1, 0.2, 0.2]},
    ("POST", "/review/detections/<detection_id>/verdict"): {"review_status": "verified"},
    ("POST", "/review/media/<media_id>/labels"): {"taxon_id": "{taxon_id}", "start_s": 0, "end_s": 1},
    ("POST", "/review/deployments/<deployment_id>/dismiss"): {"detection_ids": ["{detection_id}"]},
    ("POST", "/sync/conflicts/<conflict_id>/resolve"): {"resolution": "theirs"},
    ("PATCH", "/taxa/<taxon_id>"): {"notes": "x"},
    ("PATCH", "/users/<user_id>"): {"full_name": "X"},
    ("POST", "/areas/<area_id>/camera-logins"): {"username": "cam-matrix"},
    ("PATCH", "/camera-logins/<login_id>"): {"label": "x"},
    ("POST", "/areas/<area_id>/members"): {"user_id": "{user_id}", "role": "viewer"},
    ("POST", "/deployments/<deployment_id>/cards"): {"files": [{"path": "A.JPG", "size": 1}]},
    ("POST", "/cards/<card_id>/skip"): {"idx": 0, "reason": "x"},
}
QUERIES = {("GET", "/analytics/<name>"): "?area_id={area_id}", ("GET", "/analytics/<name>/plot"): "?area_id={area_id}"}


class AreaA:
    """One object of each kind in protected area A; users of every role there, and an outsider."""

    def __init__(self, world):
        from server.models import (Alert, CameraLogin, CardUpload, Device, DeviceToken, Detection, FieldObservation, Job, Media,
                                   OperatingInterval, Sequence, SyncConflict, Taxon, Upload)

        self.a, self.b = world.area("A", "Area A"), world.area("B", "Area B")
        cams = world.program(self.a.id, "Cameras")
        walks = world.program(self.a.id, "Transects", protocol="line-transect")
        dep = world.deployment(cams, "CT01")
        rec = world.deployment(cams, "AR01", kind="acoustic")
        self.users = {r: world.user(r, roles={self.a.id: r}) for r in ("viewer", "ranger", "biologist", "manager")}
        self.users["outsider"] = world.user("outsider", roles={self.b.id: "manager"})
        self.users["admin"] = world.user("root", admin=True)
        owner = self.users["ranger"]
        t0 = datetime(2026, 1, 2, tzinfo=timezone.utc)
        with world.session() as s:
            taxon = Taxon(scientific_name="Sus scrofa")
            seq = Sequence(deployment_id=dep.id, event_start=t0, event_end=t0, media_count=1)
            s.add_all([taxon, seq])
            s.flush()
            image = Media(sha256="a" * 64, deployment_id=dep.id, sequence_id=seq.id, file_name="I.JPG",
                          media_type="image/jpeg", size_bytes=1, storage_key="k1", captured_at=t0)
            audio = Media(sha256="b" * 64, kind="audio", deployment_id=rec.id, file_name="R.WAV",
                          media_type="audio/wav", size_bytes=1, storage_key="k2", captured_at=t0, duration_s=60)
            s.add_all([image, audio])
            s.flush()
            det = Detection(media_id=image.id, model="md@5", category="animal", confidence=0.9,
                            bbox_x=0.1, bbox_y=0.1, bbox_width=0.2, bbox_height=0.2)
            rows = [det,
                    OperatingInterval(deployment_id=dep.id, start=t0, end=t0.replace(day=3)),
                    Alert(area_id=self.a.id, kind="gunshot", confidence=0.9),
                    SyncConflict(area_id=self.a.id, entity="observation", record_id="rec-00001",
                                 base_revision=1, server_revision=2, fields=["count"]),
                    Job(kind="export", area_id=self.a.id, status="done", result={"file": "x.zip"}),
                    Upload(sha256="c" * 64, size_bytes=3, user_id=owner.id),
                    DeviceToken(user_id=owner.id, token_hash="f" * 64, prefix="sk_x"),
                    FieldObservation(program_id=walks.id, protocol="line_transect@1.0", observed_at=t0,
                                     photos=["a" * 64], created_by=owner.id)]
            s.add_all(rows)
            card = CardUpload(deployment_id=dep.id, user_id=owner.id, manifest_sha256="d" * 64, label="card")
            s.add(card)
            s.flush()
            s.add(Upload(sha256="", size_bytes=1, user_id=owner.id, card_id=card.id))
            camera = CameraLogin(area_id=self.a.id, username="cam-a", password_hash="x")
            s.add(camera)
            device = Device(area_id=self.a.id, serial="SER-A")
            s.add(device)
            s.flush()
            self.ids = {
                "area_id": self.a.id, "program_id": cams.id, "location_id": dep.location_id,
                "deployment_id": dep.id, "interval_id": rows[1].id, "alert_id": rows[2].id,
                "conflict_id": rows[3].id, "job_id": rows[4].id, "upload_id": rows[5].id, "token_id": rows[6].id,
                "media_id": image.id, "sequence_id": seq.id, "detection_id": det.id, "taxon_id": taxon.id,
                "user_id": owner.id, "name": "rai", "size": "thumb", "sha256": "a" * 64, "card_id": card.id,
                "model_id": "no-such-model", "login_id": camera.id,
                "key": "no-such-finding", "device_id": device.id,
            }
        # Routes about recordings take the audio media.
        self.audio_id = audio.id
        self.audio_deployment = rec.id

    def url(self, rule: str, prefix: str = "") -> str:
        ids = dict(self.ids, z="0", x="0", y="0")  # basemap tile numbers (not ids: kept out of self.ids)
        if "acoustic-indices" in rule or "spectrogram" in rule or rule.startswith("/sound/") \
                or rule.endswith("/labels"):
            ids["media_id"] = self.audio_id
        if "acoustic-indices" in rule or "audio-" in rule:
            ids["deployment_id"] = self.audio_deployment
        return prefix + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: ids[m.group(1)], rule)

    def fill(self, value):
        if isinstance(value, str):
            return value.format(**self.ids)
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


@pytest.fixture
def area_a(world):
    return AreaA(world)


def _api_routes():
    from server.api.core import SPECS

    return [(m, s.rule) for s in SPECS if "<" in s.rule for m in s.methods]


def test_every_api_route_with_an_id_is_classified(app):
    routes = set(_api_routes())
    assert routes - set(API) - API_UNSCOPED == set(), "classify new routes in API (or API_UNSCOPED)"
    assert set(API) - routes == set(), "routes in API that no longer exist"


def _call(client, method, url, headers, body=None, raw=False):
    kw = {"headers": headers}
    if body is not None:
        kw["json"] = body
    elif method in ("POST", "PATCH") and not raw:
        kw["json"] = {}
    r = client.open(url, method=method, **kw)
    r.get_data()
    r.close()
    return r


def _expect(minimum, requester: str) -> int | None:
    """The status ``requester`` must get, or None when the route lets them through."""
    if minimum == ADMIN:
        return None if requester == "admin" else 403
    if minimum == OWNER:
        return None if requester in ("ranger", "admin") else 404
    if minimum == SELF:
        return None if requester in ("ranger", "admin") else 403
    if requester == "outsider":
        return 404
    if requester in ROLES_BELOW[minimum]:
        return 403
    return None


RAW = {("PATCH", "/uploads/<upload_id>"), ("POST", "/deployments/<deployment_id>/media")}


def test_api_routes_answer_404_outside_the_area_and_403_below_the_role(app, client, world, area_a):
    headers = {who: world.headers(u) for who, u in area_a.users.items()}
    failures, calls = [], 0
    for (method, rule), minimum in sorted(API.items()):
        url = area_a.url(rule, "/api/v1") + QUERIES.get((method, rule), "").format(**area_a.ids)
        body = area_a.fill(BODIES[(method, rule)]) if (method, rule) in BODIES else None
        for who in ("outsider", "viewer", "ranger", "biologist"):
            expected = _expect(minimum, who)
            if expected is None:
                continue
            r = _call(client, method, url, headers[who], body, raw=(method, rule) in RAW)
            calls += 1
            if r.status_code != expected:
                failures.append(f"{method} {rule} as {who}: {r.status_code}, expected {expected} "
                                f"({r.get_data(as_text=True)[:120]})")
    assert not failures, "\n".join(failures)
    assert calls > 2 * len(API)  # every route, as the outsider and each lower role


def test_every_web_route_with_an_id_is_classified(app):
    routes = {(m, r.rule) for r in app.url_map.iter_rules() if "<" in r.rule and not r.rule.startswith("/api/")
              and r.rule not in WEB_UNSCOPED for m in r.methods - {"HEAD", "OPTIONS"}}
    assert routes == set(WEB), "classify new pages in WEB (or WEB_UNSCOPED)"


CSRF_RE = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


def test_web_pages_answer_404_outside_the_area_and_403_below_the_role(app, world, area_a):
    failures, calls = [], 0
    for who in ("outsider", "viewer", "ranger", "biologist"):
        c = app.test_client()
        assert sign_in(c, who).status_code == 302
        csrf = CSRF_RE.search(c.get("/").get_data(as_text=True)).group(1)
        for (method, rule), minimum in sorted(WEB.items()):
            expected = _expect(minimum, who)
            if expected is None:
                continue
            url = area_a.url(rule)
            if method == "POST":
                r = c.post(url, data={"csrf_token": csrf, "resolution": "theirs"}, headers={"X-CSRF-Token": csrf})
            else:
                r = c.get(url)
            r.get_data()
            r.close()
            calls += 1
            if r.status_code != expected:
                failures.append(f"{method} {rule} as {who}: {r.status_code}, expected {expected}")
    assert not failures, "\n".join(failures)
    assert calls > 2 * len(WEB)


def test_list_filters_naming_another_areas_object_reveal_nothing(app, client, world, area_a):
    """List routes filtered by area, program or deployment: the outsider gets 404 for A's area, and
    for A's program or deployment either 404 or an answer holding none of A's records."""
    from server.api.core import SPECS

    h = world.headers(area_a.users["outsider"])
    secret = {v for k, v in area_a.ids.items() if k not in ("name", "size")}
    extra = {"/reports/annual": "&year=2026", "/review/triage/preview": "&threshold=0.5"}
    checked = 0
    for spec in SPECS:
        if "<" in spec.rule or spec.query is None or "GET" not in spec.methods:
            continue
        for key in ("area_id", "program_id", "deployment_id"):
            if key not in spec.query.model_fields:
                continue
            r = _call(client, "GET", f"/api/v1{spec.rule}?{key}={area_a.ids[key]}{extra.get(spec.rule, '')}", h)
            checked += 1
            text = r.get_data(as_text=True)
            if key == "area_id":
                assert r.status_code == 404, (spec.rule, key, r.status_code, text[:200])
            else:
                assert r.status_code in (200, 404), (spec.rule, key, r.status_code, text[:200])
                leaked = {v for v in secret - {area_a.ids[key]} if v in text}
                assert not leaked, (spec.rule, key, leaked)
    assert checked >= 15

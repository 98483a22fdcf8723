"""Server-rendered pages: sign-in, language, every page's roles, images,
sound review, alerts, sync conflicts and the manager pages."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import numpy as np
from sqlmodel import select

from server.models import (Alert, FieldObservation, Observation, OperatingInterval, SurveyWalk, SyncChange,
                           SyncConflict, Transect, User)

from signin import sign_in
from webdata import T0, Tablets, add_recording, store_bytes


def test_login_logout_and_language(rd, client, world):
    assert client.get("/review").status_code == 302
    r = sign_in(client, "bio", "wrong-password")
    assert r.status_code == 401 and "Wrong username or password" in r.get_data(as_text=True)
    r = sign_in(client, "bio", url="/login?next=/review")
    assert r.status_code == 302 and r.headers["Location"].endswith("/review")
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    assert "PNKB" in page and "CTN" not in page  # no other area leaks
    assert client.post("/lang/vi", data={"next": "/review"}).status_code == 403  # no CSRF token
    r = client.post("/lang/vi", data={"csrf_token": token, "next": "/review"})
    assert r.status_code == 302
    page = client.get("/review").get_data(as_text=True)
    assert "Duyệt ảnh" in page and "Phím tắt" in page and 'lang="vi"' in page
    with world.session() as s:
        assert s.exec(select(User).where(User.username == "bio")).one().language == "vi"
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/review").status_code == 302


def test_review_page_and_images(rd, signed_in):
    b = signed_in("viewer")
    page = b.get("/review").get_data(as_text=True)
    assert 'id="help"' in page and "review.js" in page and 'data-can-edit="false"' in page
    assert signed_in("bio").get("/review").get_data(as_text=True).count('data-can-edit="true"') == 1
    m = rd.media[rd.sequences[0].id][0]
    r = b.get(f"/review/media/{m.id}/review.jpg")
    assert r.status_code == 200 and r.mimetype == "image/jpeg" and r.data[:2] == b"\xff\xd8"
    from PIL import Image

    assert Image.open(io.BytesIO(b.get(f"/review/media/{m.id}/thumb.jpg").data)).size == (64, 48)
    assert b.get(f"/review/media/{m.id}/huge.jpg").status_code == 404
    # People are blurred for viewers (the detection feature's privacy rule), not for biologists.
    pm = rd.media[rd.sequences[2].id][0]
    seen_by_viewer = b.get(f"/review/media/{pm.id}/review.jpg")
    seen_by_bio = signed_in("bio").get(f"/review/media/{pm.id}/review.jpg")
    assert seen_by_viewer.status_code == seen_by_bio.status_code == 200
    assert seen_by_viewer.data != seen_by_bio.data and seen_by_viewer.headers["Cache-Control"] == "private, no-store"
    other = rd.other_sequence
    assert signed_in("bio").get("/review/media/nope/review.jpg").status_code == 404
    # Another area's image is not found, not forbidden.
    from server.models import Media
    from server.db import session_scope

    with session_scope(b.client.application.config["DATABASE_URL"]) as s:
        om = s.exec(select(Media).where(Media.sequence_id == other.id)).one()
    assert b.get(f"/review/media/{om.id}/review.jpg").status_code == 404


def test_repeated_false_positives_page_and_dismissal(app, rd, signed_in, world):
    from server.models import Detection, Media

    with world.session() as s:  # a "branch": the same box on 6 images
        for i in range(6):
            sha, key = store_bytes(app, bytes([i]) * 50 + b"x", "jpg")
            m = Media(sha256=sha, deployment_id=rd.deployment.id, file_name=f"B{i}.JPG", media_type="image/jpeg",
                      size_bytes=51, storage_key=key, captured_at=T0 + timedelta(days=1, minutes=i))
            s.add(m)
            s.flush()
            s.add(Detection(media_id=m.id, model="megadetector@5a", category="animal", confidence=0.3,
                            bbox_x=0.61 + i * 0.002, bbox_y=0.1, bbox_width=0.2, bbox_height=0.3))
    b = signed_in("bio")
    groups = b.get(f"/api/v1/review/deployments/{rd.deployment.id}/repeated?min_images=5").get_json()["groups"]
    # The fixture's own animal boxes share one place too (6 images); the branch is the other group.
    assert sorted(g["bbox"][1] for g in groups) == [0.1, 0.2]
    groups = [g for g in groups if g["bbox"][1] == 0.1]
    assert groups[0]["images"] == 6 and groups[0]["category"] == "animal"
    page = b.get(f"/review/repeated?deployment_id={rd.deployment.id}&min_images=5").get_data(as_text=True)
    assert "Dismiss all these boxes" in page
    ids = groups[0]["detection_ids"]
    assert signed_in("viewer").post(f"/api/v1/review/deployments/{rd.deployment.id}/dismiss",
                                    json={"detection_ids": ids}).status_code == 403
    foreign = rd.detections[rd.media[rd.sequences[0].id][0].id][0].id
    r = b.post(f"/api/v1/review/deployments/{rd.other_deployment.id}/dismiss", json={"detection_ids": [foreign]})
    assert r.status_code == 404
    r = b.post(f"/api/v1/review/deployments/{rd.deployment.id}/dismiss", json={"detection_ids": ids + ["zzz"]})
    assert r.status_code == 422 and "not in this deployment" in r.get_json()["error"]["message"]
    r = b.post(f"/api/v1/review/deployments/{rd.deployment.id}/dismiss", json={"detection_ids": ids})
    assert r.get_json()["dismissed"] == 6
    with world.session() as s:
        assert all(s.get(Detection, i).dismissed for i in ids)
    left = b.get(f"/api/v1/review/deployments/{rd.deployment.id}/repeated?min_images=5").get_json()["groups"]
    assert [g["bbox"][1] for g in left] == [0.2]
    assert b.post("/api/v1/review/undo").get_json()["kind"] == "dismiss_repeated"
    with world.session() as s:
        assert not any(s.get(Detection, i).dismissed for i in ids)


def test_group_boxes_unit():
    from server.review.false_positives import group_boxes, iou

    assert iou((0, 0, 1, 1), (0, 0, 1, 1)) == 1.0 and iou((0, 0, 0.1, 0.1), (0.5, 0.5, 0.1, 0.1)) == 0.0
    rows = [(f"a{i}", f"m{i}", "animal", 0.5, 0.3, 0.3, 0.2, 0.2) for i in range(5)]
    rows += [(f"b{i}", f"m{i}", "animal", 0.5, 0.31, 0.3, 0.2, 0.2) for i in range(3)]  # same place, IoU > 0.8
    rows += [("c", "m9", "animal", 0.5, 0.7, 0.7, 0.2, 0.2), ("d", "m8", "person", 0.5, 0.3, 0.3, 0.2, 0.2)]
    groups = group_boxes(rows, 0.8)
    sizes = sorted((len(g.detection_ids), len(g.media_ids)) for g in groups)
    assert sizes == [(1, 1), (1, 1), (8, 5)]


def _audio(app, rd, world):
    return add_recording(app, world, rd)


def test_sound_review(app, rd, signed_in, world):
    m, d = _audio(app, rd, world)
    b = signed_in("bio")
    listing = b.get("/sound").get_data(as_text=True)
    assert "REC_0001.WAV" in listing
    page = b.get(f"/sound/{m.id}").get_data(as_text=True)
    assert f'data-detection-id="{d.id}"' in page and "Lophura edwardsi" in page and "<audio" in page
    png = b.get(f"/sound/{m.id}/spectrogram.png")
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png.data)).convert("L"), dtype=float)
    assert img.shape[0] == 256
    row_3k = int(256 * (1 - 3000 / 8000))
    third = img.shape[1] // 4  # the tone plays from 1 s to 2 s of 4 s
    assert img[row_3k, third + 5: 2 * third - 5].mean() > img[row_3k, 3 * third:].mean() + 40
    audio = b.get(f"/sound/{m.id}/audio", headers={"Range": "bytes=0-99"})
    assert audio.status_code == 206 and len(audio.data) == 100 and audio.data[:4] == b"RIFF"
    audio.close()
    r = b.post(f"/api/v1/review/detections/{d.id}/verdict", json={"review_status": "verified"})
    assert r.get_json()["review_status"] == "verified"
    r = b.post(f"/api/v1/review/media/{m.id}/labels", json={"taxon_id": rd.taxa["pheasant"].id, "start_s": 1.0,
                                                            "end_s": 2.5})
    assert r.status_code == 201
    with world.session() as s:
        o = s.get(Observation, r.get_json()["observation_id"])
        assert o.observation_level == "media" and o.classified_by == "bio"
        assert (o.event_end - o.event_start).total_seconds() == 1.5
    r = b.post(f"/api/v1/review/media/{m.id}/labels", json={"taxon_id": rd.taxa["pheasant"].id, "start_s": 3,
                                                            "end_s": 2})
    assert r.status_code == 422 and "end_s" in r.get_json()["error"]["message"]
    assert signed_in("viewer").post(f"/api/v1/review/detections/{d.id}/verdict",
                                    json={"review_status": "rejected"}).status_code == 403
    assert signed_in("outsider").get(f"/sound/{m.id}").status_code == 404
    assert "REC_0001" not in signed_in("outsider").get("/sound").get_data(as_text=True)


def test_alerts_list_and_acknowledge(app, rd, signed_in, world):
    _audio(app, rd, world)
    viewer = signed_in("viewer")
    page = viewer.get("/alerts").get_data(as_text=True)
    assert "gunshot" in page and "engine" not in page  # the other area's alert stays hidden
    assert 'class="ack"' not in page
    with world.session() as s:
        alert = s.exec(select(Alert).where(Alert.kind == "gunshot")).one()
    assert viewer.form(f"/alerts/{alert.id}/acknowledge", {}).status_code == 403
    b = signed_in("bio")
    assert b.client.post(f"/alerts/{alert.id}/acknowledge").status_code == 403  # CSRF
    assert b.form(f"/alerts/{alert.id}/acknowledge", {}).status_code == 302
    with world.session() as s:
        assert s.get(Alert, alert.id).acknowledged_by == "bio"
    assert "gunshot" not in b.get("/alerts").get_data(as_text=True)
    assert "Acknowledged by" in b.get("/alerts?all=1").get_data(as_text=True)
    r = b.post(f"/api/v1/review/alerts/{alert.id}/acknowledge")
    assert r.status_code == 409


def test_conflicts_keep_theirs_mine_and_merge(client, rd, signed_in, world):
    tabs = Tablets(client, world, rd)
    b = signed_in("bio")
    oid, cid = tabs.conflict()
    page = b.get(f"/conflicts/{cid}").get_data(as_text=True)
    assert "Server version (theirs)" in page and 'name="choice-count"' in page and "40.0" in page
    assert cid in b.get("/conflicts").get_data(as_text=True)
    assert signed_in("ranger").get(f"/conflicts/{cid}").status_code == 403
    assert signed_in("outsider").get(f"/conflicts/{cid}").status_code == 404
    assert cid not in signed_in("outsider").get("/conflicts").get_data(as_text=True)
    # Merge: the count is chosen; distance (server only) and bearing (device only) both survive.
    assert b.form(f"/conflicts/{cid}/resolve", {"resolution": "merge"}).status_code == 422
    r = b.form(f"/conflicts/{cid}/resolve", {"resolution": "merge", "choice-count": "server"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    with world.session() as s:
        row = s.get(FieldObservation, oid)
        assert (row.count, row.distance_m, row.bearing_deg, row.revision) == (4, 25.0, 40.0, 3)
        ch = s.exec(select(SyncChange).where(SyncChange.record_id == oid).order_by(SyncChange.seq.desc())).first()
        assert ch.revision == 3 and ch.data["data"]["bearing_deg"] == 40.0
        cc = s.get(SyncConflict, cid)
        assert (cc.status, cc.resolution, cc.resolved_by) == ("resolved", "merge", "bio")
    assert b.form(f"/conflicts/{cid}/resolve", {"resolution": "mine"}).status_code == 409
    oid2, cid2 = tabs.conflict()
    r = b.post(f"/api/v1/sync/conflicts/{cid2}/resolve", json={"resolution": "mine"})
    assert r.status_code == 200 and r.get_json()["resolution"] == "mine"
    with world.session() as s:
        assert (s.get(FieldObservation, oid2).count, s.get(FieldObservation, oid2).distance_m) == (7, 20.0)
    oid3, cid3 = tabs.conflict()
    assert b.form(f"/conflicts/{cid3}/resolve", {"resolution": "theirs"}).status_code == 302
    with world.session() as s:
        assert s.get(FieldObservation, oid3).count == 4


def test_manager_pages(rd, signed_in, world):

    with world.session() as s:
        s.add(OperatingInterval(deployment_id=rd.deployment.id, start=T0, end=T0 + timedelta(days=5),
                                status="malfunction", reason="flooded"))
        s.add(OperatingInterval(deployment_id=rd.deployment.id, start=T0 + timedelta(days=3),
                                end=T0 + timedelta(days=7), status="malfunction", reason="battery"))
        s.add(Observation(deployment_id=rd.deployment.id, event_start=T0, event_end=T0,
                          taxon_id=rd.taxa["saola"].id, classified_by="bio"))
        s.add(Transect(area_id=rd.area.id, name="T1", geometry={"type": "LineString",
                                                               "coordinates": [[106.3, 17.5], [106.31, 17.52]]}))
        s.add(SurveyWalk(program_id=rd.program.id, started_at=T0, track=[[106.3, 17.5, "t", 5], [106.305, 17.51, "t", 5]]))
    m = signed_in("manager")
    page = m.get(f"/areas/{rd.area.id}/overview").get_data(as_text=True)
    # 30-day window minus the union of the malfunctions (days 0-7) = 23 trap-nights.
    assert '<td class="tn">23.0 trap-nights</td>' in page
    assert "Pseudoryx nghetinhensis" in page and 'class="iucn CR"' in page and "IB" in page
    cal = m.get(f"/areas/{rd.area.id}/calendar").get_data(as_text=True)
    # The two overlapping malfunctions are one span on the calendar (as the effort counts them), named by both reasons.
    assert cal.count('class="malfunction"') == 1 and 'id="timeline"' in cal
    assert "battery; flooded" in cal
    geo = m.get(f"/areas/{rd.area.id}/map.geojson").get_json()
    kinds = sorted(f["properties"]["kind"] for f in geo["features"])
    assert kinds == ["location", "track", "transect"]
    assert 'id="map"' in m.get(f"/areas/{rd.area.id}/map").get_data(as_text=True)
    for who, status in (("biologist", 403), ("viewer", 403), ("outsider", 404)):
        user = {"biologist": "bio", "viewer": "viewer", "outsider": "outsider"}[who]
        for page_url in ("overview", "map", "calendar", "map.geojson"):
            assert signed_in(user).get(f"/areas/{rd.area.id}/{page_url}").status_code == status, (who, page_url)
    assert signed_in("admin").get(f"/areas/{rd.area.id}/overview").status_code == 200


def test_manager_map_station_rai_and_last_photos(rd, signed_in, world):
    """Issue 13, item 6: each station carries the RAI of each species (independent events per 100 camera
    trap-nights), and its popup's last photos come through the review pages' image route (the
    access-scope helper and server/auth/policy.py), newest first; managers of the area only."""
    from server.models import Location

    with world.session() as s:
        for minutes in (0, 30, 200):  # two independent events 60 min apart: 0 and 200 (30 is the same event)
            s.add(Observation(deployment_id=rd.deployment.id, event_start=T0 + timedelta(minutes=minutes),
                              event_end=T0 + timedelta(minutes=minutes), taxon_id=rd.taxa["saola"].id,
                              classified_by="bio"))
        loc_id = rd.deployment.location_id
        other_loc = s.get(Location, rd.other_deployment.location_id).id
    m = signed_in("manager")
    geo = m.get(f"/areas/{rd.area.id}/map.geojson").get_json()
    st = next(f["properties"] for f in geo["features"] if f["properties"]["kind"] == "location")
    assert st["camera_nights"] == 30.0 and st["rai"] == {"Pseudoryx nghetinhensis": round(2 / 30 * 100, 2)}
    page = m.get(f"/areas/{rd.area.id}/map").get_data(as_text=True)
    assert '<option value="Pseudoryx nghetinhensis">RAI of Pseudoryx nghetinhensis</option>' in page
    url = f"/areas/{rd.area.id}/map/stations/{loc_id}/photos.json"
    photos = m.get(url).get_json()
    assert len(photos) == 6
    times = [p["time"] for p in photos]
    assert times == sorted(times, reverse=True) and photos[0]["file_name"] == "IMG_031.JPG"
    assert all(p["thumb"] == f"/review/media/{p['id']}/thumb.jpg" for p in photos)
    person = next(p for p in m.get(url).get_json() if p["file_name"].startswith("IMG_02"))
    clear = m.get(person["thumb"])
    assert clear.status_code == 200 and clear.headers["Cache-Control"] == "private, max-age=3600"
    # A viewer is refused the popup's list, and the same thumbnail reaches them only blurred (the one policy).
    assert signed_in("viewer").get(url).status_code == 403
    blurred = signed_in("viewer").get(person["thumb"])
    assert blurred.status_code == 200 and blurred.headers["Cache-Control"] == "private, no-store"
    assert blurred.data != clear.data
    assert signed_in("outsider").get(url).status_code == 404
    assert m.get(f"/areas/{rd.area.id}/map/stations/{other_loc}/photos.json").status_code == 404
    assert m.get(f"/areas/{rd.area.id}/map/stations/nope/photos.json").status_code == 404


def test_pages_write_numbers_as_the_language_does(rd, signed_in, world):
    """Issue 13, item 8: the pages print numbers through one helper (server/i18n.py, babel.numbers, the
    |num filter): 23,0 đêm bẫy in Vietnamese, 23.0 trap-nights in English; thousands 1.234 / 1,234."""
    from server.models import Alert, User

    with world.session() as s:
        s.add(OperatingInterval(deployment_id=rd.deployment.id, start=T0, end=T0 + timedelta(days=7),
                                status="malfunction", reason="flooded"))
        s.add(Alert(area_id=rd.area.id, deployment_id=rd.deployment.id, kind="gunshot", confidence=0.875,
                    occurred_at=T0))
    m = signed_in("manager")
    page = m.get(f"/areas/{rd.area.id}/overview").get_data(as_text=True)
    assert '<td class="tn">23.0 trap-nights</td>' in page and "0.88" in page
    with world.session() as s:
        s.exec(select(User).where(User.username == "manager")).one().language = "vi"
    page = m.get(f"/areas/{rd.area.id}/overview").get_data(as_text=True)
    assert 'lang="vi"' in page and '<td class="tn">23,0 đêm-bẫy</td>' in page and "0,88" in page
    assert not re.search(r">\s*\d+\.\d+\s*(đêm|ngày)", page)
    lst = m.get(f"/admin/areas/{rd.area.id}/deployments").get_data(as_text=True)
    assert re.search(r'<td class="num">23,0</td>', lst), lst[-3000:]
    from server.i18n import number_format

    assert number_format("vi", 1)(1234.5) == "1.234,5" and number_format("en", 1)(1234.5) == "1,234.5"


def test_trap_nights_unit():
    from datetime import datetime, timezone

    from server.models import Deployment
    from server.review.overview import trap_nights

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    dep = Deployment(program_id="p", location_id="l", deployment_start=start, deployment_end=start + timedelta(days=10))
    iv = [OperatingInterval(deployment_id="d", start=start - timedelta(days=2), end=start + timedelta(days=1),
                            status="malfunction"),
          OperatingInterval(deployment_id="d", start=start + timedelta(days=2), end=start + timedelta(days=3),
                            status="operating")]
    assert trap_nights(dep, iv) == 9.0
    open_dep = Deployment(program_id="p", location_id="l", deployment_start=start)
    assert trap_nights(open_dep, [], now=start + timedelta(hours=36)) == 1.5

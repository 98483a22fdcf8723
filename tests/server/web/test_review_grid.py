"""The thumbnail grid (issue 12, item 2): keyset pages (equal times split by id, media without a time
last, the same pages walking back), every filter, tiles with scaled boxes, local times and versions,
video posters, validation. SQLite and PostgreSQL (the ``app`` fixture)."""
from __future__ import annotations

import io
import itertools
from datetime import timedelta
from urllib.parse import urlencode

from sqlmodel import select

from server.models import Detection, Location, Media, Observation, Sequence
from webdata import T0, jpeg_bytes, store_bytes


def _grid(b, **params) -> dict:
    flags = params.pop("flag", None)
    q = urlencode({k: v for k, v in params.items() if v is not None})
    if flags:
        q += "".join(f"&flag={f}" for f in flags)
    r = b.get("/api/v1/review/grid?" + q)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _ids(b, **params) -> list[str]:
    return [t["id"] for t in _grid(b, limit=200, **params)["items"]]


_COLOURS = itertools.count(1)


def _add_media(app, world, rd, n, when, *, seq=None, name="BURST", **extra):
    """n media of rd's deployment at ``when`` (the same time for all), in ``seq`` when given."""
    out = []
    with world.session() as s:
        for i in range(n):
            c = next(_COLOURS)
            # Bytes after the JPEG's end marker make each file distinct (media are identified by SHA-256).
            sha, key = store_bytes(app, jpeg_bytes((c * 37 % 200, 40, 91), (40, 30)) + b"#%d" % c, "jpg")
            m = Media(sha256=sha, deployment_id=rd.deployment.id, sequence_id=seq, file_name=f"{name}_{i:03d}.JPG",
                      media_type="image/jpeg", size_bytes=10, storage_key=key, captured_at=when, **extra)
            s.add(m)
            s.flush()
            out.append(m.id)
    return out


def test_keyset_pages_split_equal_times_by_id_and_walk_back(app, rd, signed_in, world):
    """60 photos of one instant and 5 without a time: 24-tile pages cover every photo once, in
    (time, id) order with the timeless ones last; prev_cursor walks back through the same pages."""
    b = signed_in("bio")
    same = _add_media(app, world, rd, 60, T0 + timedelta(minutes=90))
    timeless = _add_media(app, world, rd, 5, None, name="NOTIME", flags=["no_timestamp"])
    with world.session() as s:
        expected = [m.id for m in s.exec(select(Media).where(Media.deployment_id == rd.deployment.id,
                                                             Media.captured_at.is_not(None))
                                         .order_by(Media.captured_at, Media.id))]
    expected += sorted(timeless)
    assert len(expected) == 9 + 60 + 5
    pages, cursor = [], None
    while True:
        page = _grid(b, deployment_id=rd.deployment.id, limit=24, after=cursor)
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p["items"]) for p in pages] == [24, 24, 24, 2]
    walked = [t["id"] for p in pages for t in p["items"]]
    assert walked == expected
    assert set(same) <= set(walked[:69]) and walked[-5:] == sorted(timeless)
    assert pages[0]["prev_cursor"] is None and all(p["prev_cursor"] for p in pages[1:])
    # Walking back from the last page gives the same pages.
    back, cursor = [], pages[-1]["prev_cursor"]
    while cursor:
        page = _grid(b, deployment_id=rd.deployment.id, limit=24, before=cursor)
        back.insert(0, [t["id"] for t in page["items"]])
        cursor = page["prev_cursor"]
    assert back == [[t["id"] for t in p["items"]] for p in pages[:-1]]
    # A tile labelled meanwhile leaves the unreviewed pages without shifting the others.
    first = _grid(b, deployment_id=rd.deployment.id, limit=24, review_status="unreviewed")
    second_before = _grid(b, deployment_id=rd.deployment.id, limit=24, review_status="unreviewed",
                          after=first["next_cursor"])["items"]
    tile = first["items"][3]
    r = b.post("/api/v1/review/bulk", json={"action": "blank", "items": [{"id": tile["id"], "version": tile["version"]}]})
    assert r.status_code == 200 and r.get_json()["applied"] == 1
    again = _grid(b, deployment_id=rd.deployment.id, limit=24, review_status="unreviewed", after=first["next_cursor"])
    assert again["items"] == second_before


def test_sequence_mode_pages_one_tile_per_sequence(rd, signed_in):
    b = signed_in("bio")
    page = _grid(b, mode="sequence", program_id=rd.program.id, limit=24)
    order = [rd.sequences[0].id, rd.empty_sequence.id, rd.sequences[1].id, rd.sequences[2].id, rd.sequences[3].id]
    assert [t["id"] for t in page["items"]] == order and page["next_cursor"] is None
    t0 = page["items"][0]
    assert t0["kind"] == "sequence" and t0["media_count"] == 2
    assert t0["poster_id"] in {m.id for m in rd.media[rd.sequences[0].id]}
    assert t0["thumb"].endswith(f"/review/media/{t0['poster_id']}/thumb.jpg")
    assert t0["captured_at_local"] == "2026-03-01 13:00:00 +07"
    assert t0["machine"]["taxon"]["scientific_name"] == "Pseudoryx nghetinhensis"
    # The other area's sequence never shows, even asked for by its deployment.
    assert b.get(f"/api/v1/review/grid?mode=sequence&deployment_id={rd.other_deployment.id}").status_code == 404
    assert rd.other_sequence.id not in _ids(b, mode="sequence")


def test_tiles_carry_scaled_boxes_labels_and_versions(rd, signed_in, world):
    b = signed_in("bio")
    tiles = {t["id"]: t for t in _grid(b, deployment_id=rd.deployment.id)["items"]}
    m0 = rd.media[rd.sequences[0].id][0]
    t = tiles[m0.id]
    assert t["boxes"] == [{"id": rd.detections[m0.id][0].id, "bbox": [0.1, 0.2, 0.3, 0.4], "category": "animal",
                           "confidence": 0.95, "human": False, "label": "Pseudoryx nghetinhensis",
                           "taxon": t["boxes"][0]["taxon"]}]
    assert (t["width"], t["height"], t["review_status"], t["labels"]) == (64, 48, "unreviewed", [])
    assert t["thumb"].endswith(f"/review/media/{m0.id}/thumb.jpg") and b.get(t["thumb"]).status_code == 200
    assert t["location"] == "S01" and t["captured_at"] == "2026-03-01T06:00:00+00:00"
    # A person's label changes the tile's version; reading again does not.
    v = t["version"]
    assert _grid(b, deployment_id=rd.deployment.id)["items"][0]["version"] == v
    r = b.post(f"/api/v1/review/sequences/{rd.sequences[0].id}/label", json={"taxon_id": rd.taxa["saola"].id, "count": 2})
    assert r.status_code == 200
    t2 = {x["id"]: x for x in _grid(b, deployment_id=rd.deployment.id)["items"]}[m0.id]
    assert t2["version"] != v and t2["review_status"] == "reviewed"
    assert [(lb["observation_type"], lb["count"], lb["level"]) for lb in t2["labels"]] == [("animal", 2, "event")]


def test_every_filter(app, rd, signed_in, world):
    b = signed_in("bio")
    s0, s1, s2, s3 = rd.sequences
    m = {sid: [x.id for x in ms] for sid, ms in rd.media.items()}
    assert _ids(b, deployment_id=rd.deployment.id, taxon_id=rd.taxa["saola"].id) == m[s0.id]  # a machine label
    # Local time of day: the file's own UTC offset when it states one, else its deployment's zone (+07).
    night = _add_media(app, world, rd, 1, T0 + timedelta(hours=14), name="NIGHT")  # 20:00 UTC, 03:00 +07
    dawn = _add_media(app, world, rd, 1, T0 + timedelta(hours=16, minutes=30), name="DAWN")  # 05:30 +07
    own = _add_media(app, world, rd, 1, T0 + timedelta(hours=17, minutes=30), name="OWN",  # 07:30 +08 (06:30 +07)
                     utc_offset_min=480)
    assert _ids(b, deployment_id=rd.deployment.id, time_of_day="night") == night
    assert _ids(b, deployment_id=rd.deployment.id, time_of_day="dawn") == dawn
    assert _ids(b, deployment_id=rd.deployment.id, time_of_day="dusk") == []
    day = _ids(b, deployment_id=rd.deployment.id, time_of_day="day")  # 13:00 to 16:00 +07, and 07:30 +08
    assert set(day) == {x for ids in m.values() for x in ids} | {
        mm.id for mm in _media_of(world, rd.empty_sequence.id)} | set(own)
    assert _ids(b, deployment_id=rd.deployment.id, hour_from=14, hour_to=16) == m[s1.id] + m[s2.id]  # 14:00, 15:00
    assert _ids(b, deployment_id=rd.deployment.id, hour_from=22, hour_to=4) == night  # across midnight
    assert _ids(b, mode="sequence", deployment_id=rd.deployment.id, hour_from=14, hour_to=15) == [s1.id]
    # Dates (UTC bounds), station, deployment.
    assert _ids(b, program_id=rd.program.id, date_from="2026-03-01T07:30:00Z", date_to="2026-03-01T09:30:00Z") == \
        m[s2.id] + m[s3.id]
    with world.session() as s:
        station = s.get(Location, s.get(type(rd.deployment), rd.deployment.id).location_id)
        n = len(s.exec(select(Media).where(Media.deployment_id == rd.deployment.id)).all())
    assert len(_ids(b, location_id=station.id)) == n == 12
    # Confidence of a live box; species as a person's label; machine vs person.
    assert _ids(b, deployment_id=rd.deployment.id, min_confidence=0.5) == m[s0.id] + m[s2.id]
    assert _ids(b, deployment_id=rd.deployment.id, max_confidence=0.3) == m[s3.id]
    assert b.post(f"/api/v1/review/sequences/{s1.id}/label", json={"taxon_id": rd.taxa["muntjac"].id}).status_code == 200
    muntjac = rd.taxa["muntjac"].id
    assert _ids(b, deployment_id=rd.deployment.id, taxon_id=muntjac, species_source="human") == m[s1.id]
    assert _ids(b, deployment_id=rd.deployment.id, taxon_id=muntjac, species_source="machine") == m[s3.id]
    assert _ids(b, deployment_id=rd.deployment.id, taxon_id=muntjac) == m[s1.id] + m[s3.id]
    assert _ids(b, mode="sequence", deployment_id=rd.deployment.id, taxon_id=muntjac) == [s1.id, s3.id]
    # Review status (a person's label of the sequence, or of the photo itself).
    assert _ids(b, deployment_id=rd.deployment.id, review_status="reviewed") == m[s1.id]
    assert b.post(f"/api/v1/review/sequences/{s2.id}/blank").status_code == 200
    assert _ids(b, deployment_id=rd.deployment.id, review_status="blank") == m[s2.id]
    assert b.post(f"/api/v1/review/sequences/{s2.id}/label", json={"observation_type": "vehicle",
                                                                    "media_id": m[s2.id][0]}).status_code == 200
    assert _ids(b, deployment_id=rd.deployment.id, review_status="blank") == [m[s2.id][1]]
    assert _ids(b, deployment_id=rd.deployment.id, review_status="reviewed") == m[s1.id] + [m[s2.id][0]]
    assert m[s3.id][0] in _ids(b, deployment_id=rd.deployment.id, review_status="unreviewed")
    assert _ids(b, mode="sequence", deployment_id=rd.deployment.id, review_status="reviewed") == [s1.id]
    # Flags (any of them), favourites, kind.
    flagged = _add_media(app, world, rd, 2, T0 + timedelta(days=40), name="LATE", flags=["outside_window"])
    broken = _add_media(app, world, rd, 1, T0 + timedelta(days=41), name="BAD", flags=["corrupt", "clock_reset"])
    flagged.sort()  # the same time: in id order
    assert _ids(b, deployment_id=rd.deployment.id, flag=["outside_window"]) == flagged
    assert _ids(b, deployment_id=rd.deployment.id, flag=["outside_window", "clock_reset"]) == flagged + broken
    with world.session() as s:
        s.get(Media, m[s3.id][1]).favorite = True
    assert _ids(b, deployment_id=rd.deployment.id, favorite="true") == [m[s3.id][1]]
    assert _ids(b, mode="sequence", deployment_id=rd.deployment.id, favorite="true") == [s3.id]
    assert _ids(b, deployment_id=rd.deployment.id, kind="video") == []
    cnt = b.get(f"/api/v1/review/grid/count?deployment_id={rd.deployment.id}&flag=corrupt").get_json()
    assert cnt == {"mode": "media", "count": 1, "more": False}


def _media_of(world, seq_id):
    with world.session() as s:
        return list(s.exec(select(Media).where(Media.sequence_id == seq_id)))


def test_video_tiles_show_their_poster_frame(app, rd, signed_in, world):
    from server.ingest.derivatives import poster_key

    b = signed_in("bio")
    with world.session() as s:
        seq = Sequence(deployment_id=rd.deployment.id, event_start=T0 + timedelta(days=2),
                       event_end=T0 + timedelta(days=2), media_count=2)
        s.add(seq)
        s.flush()
        vids = []
        for i in range(2):
            data = b"\x00\x00\x00\x18ftypmp42" + bytes([i]) * 64
            sha, key = store_bytes(app, data, "mp4")
            v = Media(sha256=sha, kind="video", deployment_id=rd.deployment.id, sequence_id=seq.id,
                      file_name=f"VID_{i}.MP4", media_type="video/mp4", size_bytes=len(data), storage_key=key,
                      captured_at=seq.event_start + timedelta(seconds=i), width=64, height=48)
            s.add(v)
            s.flush()
            vids.append((v.id, sha))
    derivatives = app.extensions["saola.derivatives"]
    derivatives.put_stream(io.BytesIO(jpeg_bytes((10, 200, 10))), poster_key(vids[0][1]))
    tiles = {t["id"]: t for t in _grid(b, deployment_id=rd.deployment.id, kind="video")["items"]}
    assert list(tiles) == [vids[0][0], vids[1][0]]
    assert tiles[vids[0][0]]["thumb"].endswith(f"/review/media/{vids[0][0]}/thumb.jpg")
    r = b.get(tiles[vids[0][0]]["thumb"])
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    assert tiles[vids[1][0]]["thumb"] is None  # no poster frame: the page shows a placeholder
    assert b.get(f"/review/media/{vids[1][0]}/thumb.jpg").status_code == 404
    viewer = signed_in("viewer")
    assert viewer.get(tiles[vids[0][0]]["thumb"]).status_code == 200  # no person in it: nothing to blur


def test_grid_refuses_bad_input(rd, signed_in):
    b = signed_in("bio")
    for q, field in (("limit=10", "limit"), ("limit=201", "limit"), ("after=nonsense", "after"),
                     ("after=notatime~abc", "after"), ("hour_from=3", "hour_to"), ("hour_from=3&hour_to=3", "hour_to"),
                     ("time_of_day=night&hour_from=1&hour_to=3", "time_of_day"), ("min_confidence=0.8&max_confidence=0.2",
                                                                                   "min_confidence"),
                     ("date_from=2026-03-02T00:00:00Z&date_to=2026-03-01T00:00:00Z", "date_to"),
                     ("flag=bogus", "flag"), ("mode=tiles", "mode"), ("after=a~b&before=a~b", "before")):
        r = b.get(f"/api/v1/review/grid?program_id={rd.program.id}&{q}")
        assert r.status_code == 422, (q, r.get_json())
        assert any(d["field"].startswith(field) for d in r.get_json()["error"]["details"]), (q, r.get_json())
    assert b.get("/api/v1/review/grid?deployment_id=00000000-0000-0000-0000-000000000000").status_code == 404
    assert b.get(f"/api/v1/review/grid?area_id={rd.other_area.id}").status_code == 404
    assert signed_in("outsider").get(f"/api/v1/review/grid?location_id={_station(rd)}").status_code == 404


def _station(rd):
    return rd.deployment.location_id


def test_pages_render_for_viewers_and_biologists(rd, signed_in):
    for user, editable in (("bio", "true"), ("viewer", "false")):
        b = signed_in(user)
        for path in ("/review/grid", "/gallery"):
            html = b.get(path + f"?program_id={rd.program.id}").get_data(as_text=True)
            assert f'data-can-edit="{editable}"' in html and 'id="grid"' in html, (user, path)
    page = signed_in("viewer").get(f"/api/v1/review/grid?program_id={rd.program.id}").get_json()
    assert page["can_edit"] is False
    assert signed_in("bio").get(f"/api/v1/review/grid?program_id={rd.program.id}").get_json()["can_edit"] is True
    html = signed_in("bio").get(f"/review?program_id={rd.program.id}").get_data(as_text=True)
    assert f'href="/review/grid?program_id={rd.program.id}"' in html  # the grid beside the sequence view


def test_observation_rows_untouched_by_reading(rd, signed_in, world):
    b = signed_in("bio")
    with world.session() as s:
        before = (len(s.exec(select(Observation)).all()), len(s.exec(select(Detection)).all()))
    _grid(b, program_id=rd.program.id)
    _grid(b, mode="sequence", program_id=rd.program.id)
    with world.session() as s:
        assert (len(s.exec(select(Observation)).all()), len(s.exec(select(Detection)).all())) == before

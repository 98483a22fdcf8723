"""Sound-trap API and commands: alerts (permissions, acknowledge), indices, spectrogram, detections,
the detections CSV (images and sound), the daily digest."""
from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import select

from server.audio import runtime
from server.db import session_scope
from server.ingest.pipeline import ingest_path
from server.jobs import drain
from server.models import Alert, Detection, Media, new_id, utcnow
from tests.server.audio.audio_server_helpers import audiomoth_wav, setup
from tests.server.audio.test_audio_analysis_job import FakeBirdNET, det


@pytest.fixture
def sound(app, world, tmp_path, monkeypatch):
    """Two areas, each with an analysed 12 s recording whose BirdNET result has a gunshot and an engine."""
    fake = FakeBirdNET([det(0.0, "Pycnonotus jocosus_Red-whiskered Bulbul", 0.7), det(3.0, "Gun_Gun", 0.9),
                        det(6.0, "Engine_Engine", 0.8)])
    monkeypatch.setattr(runtime, "get_birdnet", lambda: fake)
    out = {}
    for code in ("PNKB", "CTN"):
        area, program, dep = setup(world, code=code, serial=None)
        audiomoth_wav(tmp_path / code, seconds=12 if code == "PNKB" else 13)
        ingest_path(app, tmp_path / code, deployment_id=dep.id, workers=0)  # queues the analysis itself
        with session_scope(app.config["DATABASE_URL"]) as s:
            media = s.exec(select(Media).where(Media.deployment_id == dep.id)).one()
            out[code] = {"area": area, "dep": dep, "media": media}
    assert drain(app.config) == 2
    users = {
        "viewer": world.user("viewer", roles={out["PNKB"]["area"].id: "viewer"}),
        "ranger": world.user("ranger", roles={out["PNKB"]["area"].id: "ranger"}),
        "manager": world.user("manager", roles={out["PNKB"]["area"].id: "manager"}),
        "other": world.user("other", roles={out["CTN"]["area"].id: "manager"}),
    }
    out["h"] = {k: world.headers(u) for k, u in users.items()}
    return out


def test_alerts_are_listed_only_for_the_callers_areas(client, sound):
    pnkb, ctn, h = sound["PNKB"], sound["CTN"], sound["h"]
    r = client.get("/api/v1/alerts", headers=h["viewer"])
    assert r.status_code == 200
    items = r.get_json()["items"]
    assert {a["kind"] for a in items} == {"gunshot", "engine"}
    assert {a["area_id"] for a in items} == {pnkb["area"].id}
    assert all(a["media_id"] == pnkb["media"].id for a in items)
    r = client.get(f"/api/v1/alerts?area_id={pnkb['area'].id}&kind=gunshot", headers=h["manager"])
    (gun,) = r.get_json()["items"]
    assert gun["kind"] == "gunshot" and gun["confidence"] == pytest.approx(0.9)
    # another area's manager sees neither the alerts nor that the area exists
    assert client.get(f"/api/v1/alerts?area_id={pnkb['area'].id}", headers=h["other"]).status_code == 404
    assert {a["area_id"] for a in client.get("/api/v1/alerts", headers=h["other"]).get_json()["items"]} == {
        ctn["area"].id}
    assert client.get("/api/v1/alerts?kind=thunder", headers=h["viewer"]).status_code == 422
    assert client.get("/api/v1/alerts").status_code == 401


def test_acknowledge_needs_biologist_or_manager_of_the_area(client, sound):
    h = sound["h"]
    gun = client.get("/api/v1/alerts?kind=gunshot", headers=h["manager"]).get_json()["items"][0]
    url = f"/api/v1/alerts/{gun['id']}/acknowledge"
    assert client.post(url, headers=h["viewer"]).status_code == 403
    assert client.post(url, headers=h["ranger"]).status_code == 403
    assert client.post(url, headers=h["other"]).status_code == 404
    r = client.post(url, headers=h["manager"])
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["acknowledged_by"] == "manager" and r.get_json()["acknowledged_at"]
    assert client.post(url, headers=h["manager"]).status_code == 409
    open_ = client.get("/api/v1/alerts?acknowledged=false", headers=h["viewer"]).get_json()["items"]
    done = client.get("/api/v1/alerts?acknowledged=true", headers=h["viewer"]).get_json()["items"]
    assert [a["kind"] for a in open_] == ["engine"] and [a["id"] for a in done] == [gun["id"]]
    assert client.post("/api/v1/alerts/nope/acknowledge", headers=h["manager"]).status_code == 404


def test_indices_spectrogram_and_audio_detections(client, sound):
    pnkb, h = sound["PNKB"], sound["h"]
    mid, dep_id = pnkb["media"].id, pnkb["dep"].id
    r = client.get(f"/api/v1/media/{mid}/acoustic-indices", headers=h["viewer"])
    assert r.status_code == 200
    (minute,) = r.get_json()["items"]
    assert minute["minute"] == 0 and minute["start_at"].startswith("2026-06-14T22:00:00")
    assert {"aci", "adi", "aei", "bi", "ndsi", "h"} <= set(minute) and minute["extra"]["params"]
    r = client.get(f"/api/v1/deployments/{dep_id}/acoustic-indices", headers=h["viewer"])
    assert [i["media_id"] for i in r.get_json()["items"]] == [mid]
    assert client.get(f"/api/v1/media/{mid}/acoustic-indices", headers=h["other"]).status_code == 404
    assert client.get(f"/api/v1/deployments/{dep_id}/acoustic-indices", headers=h["other"]).status_code == 404

    r = client.get(f"/api/v1/media/{mid}/spectrogram.png?start=1&end=9", headers=h["viewer"])
    assert r.status_code == 200 and r.mimetype == "image/png" and r.data[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    assert Image.open(io.BytesIO(r.data)).size[0] > 100
    assert client.get(f"/api/v1/media/{mid}/spectrogram.png?start=9&end=2", headers=h["viewer"]).status_code == 422
    assert client.get(f"/api/v1/media/{mid}/spectrogram.png", headers=h["other"]).status_code == 404

    r = client.get(f"/api/v1/deployments/{dep_id}/audio-detections?model=birdnet", headers=h["viewer"])
    body = r.get_json()
    assert body["total"] == 3 and [d["label"] for d in body["items"]] == ["Pycnonotus jocosus", "Gun", "Engine"]
    r = client.get(f"/api/v1/deployments/{dep_id}/audio-detections?category=Gun", headers=h["viewer"])
    (gun,) = r.get_json()["items"]
    assert (gun["start_s"], gun["end_s"], gun["model"]) == (3.0, 6.0, "birdnet@2.4")
    r = client.get(f"/api/v1/deployments/{dep_id}/audio-detections?min_confidence=0.75", headers=h["viewer"])
    assert {d["label"] for d in r.get_json()["items"]} == {"Gun", "Engine"}
    assert client.get(f"/api/v1/deployments/{dep_id}/audio-detections", headers=h["other"]).status_code == 404


def test_queue_analysis_needs_biologist(client, sound):
    pnkb, h = sound["PNKB"], sound["h"]
    url = f"/api/v1/deployments/{pnkb['dep'].id}/audio-analysis"
    assert client.post(url, json={}, headers=h["ranger"]).status_code == 403
    r = client.post(url, json={"media_ids": [pnkb["media"].id]}, headers=h["manager"])
    assert r.status_code == 202 and r.get_json()["kind"] == "audio_analysis"
    assert r.get_json()["params"] == {"media_ids": [pnkb["media"].id]}
    r = client.post(url, json={"media_ids": [sound["CTN"]["media"].id]}, headers=h["manager"])
    assert r.status_code == 422 and "not recordings of deployment" in r.get_json()["error"]["message"]


def test_detections_csv_lists_image_and_sound_detections(app, client, runner, sound, tmp_path):
    pnkb, h = sound["PNKB"], sound["h"]
    dep_id = pnkb["dep"].id
    with session_scope(app.config["DATABASE_URL"]) as s:  # a photo's box in the same deployment
        m = Media(id=new_id(), sha256="f" * 64, kind="image", deployment_id=dep_id, file_name="IMG_0001.JPG",
                  media_type="image/jpeg", size_bytes=10, storage_key="ff/ff/x.jpg", captured_at=utcnow())
        s.add(m)
        s.flush()
        s.add(Detection(media_id=m.id, model="megadetector@5a", category="animal", confidence=0.87, bbox_x=0.1,
                        bbox_y=0.2, bbox_width=0.3, bbox_height=0.4, label="Muntiacus", label_confidence=0.6))
    r = client.get(f"/api/v1/deployments/{dep_id}/detections.csv", headers=h["viewer"])
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    by_label = {row["label"]: row for row in rows}
    # the 12 s recording holds a steady tone, no song: no band event
    assert sorted(by_label) == ["Engine", "Gun", "Muntiacus", "Pycnonotus jocosus"]
    assert [row["label"] for row in rows][-1] == "Muntiacus"  # by capture time: the photo was taken last
    gun = by_label["Gun"]
    assert (gun["media_file"], gun["media_kind"], gun["start_s"], gun["end_s"], gun["model"]) == (
        "20260615_050000.WAV", "audio", "3", "6", "birdnet@2.4")
    assert gun["captured_at"] == "2026-06-14T22:00:00Z" and gun["bbox_x"] == ""
    img = by_label["Muntiacus"]
    assert (img["media_kind"], img["bbox_x"], img["bbox_height"], img["category"], img["start_s"]) == (
        "image", "0.1", "0.4", "animal", "")
    assert client.get(f"/api/v1/deployments/{dep_id}/detections.csv", headers=h["other"]).status_code == 404

    out = tmp_path / "det.csv"
    res = runner.invoke(["export", "detections", "--deployment", dep_id, "--format", "csv", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text(encoding="utf-8") == r.get_data(as_text=True)
    res = runner.invoke(["export", "detections", "--deployment", dep_id])
    assert res.output == r.get_data(as_text=True)
    res = runner.invoke(["export", "detections", "--deployment", "nope"])
    assert res.exit_code != 0 and "no deployment with id 'nope'" in res.output


def test_daily_digest_in_vietnamese_and_english(app, runner, sound, tmp_path):
    out = tmp_path / "digest.txt"
    res = runner.invoke(["alerts", "digest", "--area", "PNKB", "--date", "2026-06-15", "--out", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert text in res.output
    vi, en = text.split("\n\n")
    assert "ngày 15/06/2026" in vi and "2 cảnh báo tại 1 điểm ghi âm" in vi and "Trạm S01" in vi
    assert "05:00:03  Tiếng súng  (độ tin cậy 0.90)" in vi and "05:00:06  Tiếng động cơ" in vi
    assert "2026-06-15" in en and "Station S01: 2 alert(s)" in en
    assert "05:00:03  Gunshot  (confidence 0.90)" in en and "05:00:06  Engine  (confidence 0.80)" in en
    # the other area's alerts are not in this digest; the day before has none
    assert text.count("Gunshot") == 1
    res = runner.invoke(["alerts", "digest", "--area", "PNKB", "--date", "2026-06-14"])
    assert "Không có cảnh báo." in res.output and "No alerts." in res.output
    res = runner.invoke(["alerts", "digest", "--area", "PNKB", "--date", "15/06/2026"])
    assert res.exit_code != 0 and "--date must be YYYY-MM-DD" in res.output
    with session_scope(app.config["DATABASE_URL"]) as s:
        assert len(s.exec(select(Alert)).all()) == 4


def test_cli_analyse_runs_the_job(app, runner, sound):
    dep_id = sound["PNKB"]["dep"].id
    res = runner.invoke(["audio", "analyse", "--deployment", dep_id, "--wait"])
    assert res.exit_code == 0, res.output
    lines = res.output.strip().splitlines()
    assert lines[0].startswith("done: {") and "'analysed': 1" in lines[0]
    from server.models import Job

    with session_scope(app.config["DATABASE_URL"]) as s:
        job = s.get(Job, lines[-1])
        assert (job.kind, job.status, job.params) == ("audio_analysis", "done", {"deployment_id": dep_id})
        assert len(s.exec(select(Alert).where(Alert.deployment_id == dep_id)).all()) == 2  # replaced, not added
    res = runner.invoke(["audio", "analyse", "--deployment", "nope"])
    assert res.exit_code != 0 and "no deployment with id 'nope'" in res.output

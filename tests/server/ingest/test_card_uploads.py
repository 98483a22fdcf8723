"""Browser card uploads through the API (SQLite and PostgreSQL): the manifest, the card's bytes as one
resumable stream in checksummed chunks (the sync upload protocol), resume after an interruption,
ingest as a job while the card arrives, and the same report as ``saola ingest`` of that folder:
duplicates, skipped files with reasons (system files, unsafe paths, unreadable files, zip bombs),
flags. Nothing of a refused chunk or zip is kept."""
from __future__ import annotations

import zipfile
from datetime import datetime, timezone

import pytest
from sqlmodel import select

from card_client import checksum, manifest, send, stream_bytes
from ingest_helpers import jpeg_bytes, make_deployment, reconyx_dir, write
from server.ingest.sources import scan_folder


@pytest.fixture
def app_config(app_config):
    return {**app_config, "CARD_IDLE_S": 0.2}


def _run_jobs(app):
    from server.jobs import drain

    return drain(app.config)


def _media(world, dep_id):
    from server.models import Media

    with world.session() as s:
        return list(s.exec(select(Media).where(Media.deployment_id == dep_id).order_by(Media.file_path)))


def _card_folder(tmp_path, shared_dir):
    """A card as a camera leaves it: 10 Reconyx photos, operating-system litter, a text file."""
    root = tmp_path / "card"
    for p in sorted(reconyx_dir(shared_dir).glob("*.JPG")):
        write(root / "DCIM" / "100RECNX" / p.name, p.read_bytes())
    write(root / "DCIM" / "Thumbs.db", b"thumbs")
    write(root / ".DS_Store", b"\x00\x00\x00\x01Bud1")
    write(root / "System Volume Information" / "IndexerVolumeGuid", b"{guid}")
    write(root / "notes.txt", b"battery low")
    write(root / "DCIM" / "100RECNX" / "EMPTY.JPG", b"")
    return root


def declared_bomb_zip(path):
    """A small zip whose members declare ~4 GiB each, 280 GiB in all: a zip bomb by its own account
    (the central directory's sizes are what a scan reads before extracting anything)."""
    import struct

    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("DCIM/IMG_0001.JPG", jpeg_bytes(color=(9, 9, 9)))
        for i in range(70):
            zf.writestr(f"DCIM/FILE{i:03d}.JPG", b"x")
    data = bytearray(path.read_bytes())
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        struct.pack_into("<I", data, pos + 24, 0xFFFFFFF0)
        pos = data.find(b"PK\x01\x02", pos + 4)
    path.write_bytes(bytes(data))
    return path


def _create(client, headers, dep_id, entries, label="card"):
    return client.post(f"/api/v1/deployments/{dep_id}/cards", json={"label": label, "files": entries}, headers=headers)


def test_card_upload_resumes_and_reports_as_the_cli(client, app, world, tmp_path, shared_dir):
    area, _program, dep = make_deployment(world, start=datetime(2021, 5, 1, tzinfo=timezone.utc), tz="Europe/Brussels")
    ranger = world.headers(world.user("lan", roles={area.id: "ranger"}))
    root = _card_folder(tmp_path, shared_dir)
    r = _create(client, ranger, dep.id, manifest(root))
    assert r.status_code == 201, r.json
    card = r.json
    assert (card["status"], card["offset"], card["files_total"], card["files_accepted"]) == ("receiving", 0, 15, 10)
    skipped = {f["path"]: f["skip_reason"] for f in card["files"] if f["start"] < 0}
    # The very reasons `saola ingest` gives for these files (its scan of the same folder).
    assert skipped == {sk.rel_path: sk.reason for sk in scan_folder(root)[1]}
    total = sum(f["size"] for f in card["files"] if f["start"] >= 0)
    assert card["bytes_total"] == total
    # Part of the card arrives (the middle of a photo), then the connection is lost.
    send(client, ranger, card, root, chunk=200_000, stop_after=4)
    # Complete photos are ingested while the rest is still to come; the job lets go of its worker.
    _run_jobs(app)
    got = client.get(f"/api/v1/cards/{card['id']}", headers=ranger).json
    assert got["status"] == "receiving" and got["offset"] == 800_000
    assert 0 < got["files_done"] == got["files_received"] < 10 and got["job"] is None  # no job waits
    assert len(_media(world, dep.id)) == got["files_done"]
    # The page is reloaded and the same folder dropped again: the same card, resumed where it stopped.
    again = _create(client, ranger, dep.id, manifest(root))
    assert again.status_code == 200 and again.json["id"] == card["id"] and again.json["resumed"]
    assert again.json["offset"] == 800_000
    send(client, ranger, again.json, root, chunk=200_000)
    _run_jobs(app)
    done = client.get(f"/api/v1/cards/{card['id']}", headers=ranger).json
    assert done["status"] == "done" and done["files_done"] == 10
    rep = done["report"]
    assert (rep["ingested"], rep["duplicates"], rep["sequences"]) == (10, 0, 1)
    assert {s["path"]: s["reason"] for s in rep["skipped"]} == skipped
    assert rep["total"] == 15 and any(line.startswith("skipped: 5") for line in rep["summary"])
    media = _media(world, dep.id)
    assert [m.file_path for m in media] == sorted(f"DCIM/100RECNX/{p.name}"
                                                  for p in reconyx_dir(shared_dir).glob("*.JPG"))
    assert all(m.has_derivatives for m in media)
    # Staging copies are gone once ingested.
    assert not (tmp_path / "data" / "cards" / card["id"]).exists()
    # The same card again (another card id: the first is done) finds every photo a duplicate.
    second = _create(client, ranger, dep.id, manifest(root)).json
    assert second["id"] != card["id"]
    send(client, ranger, second, root, chunk=1 << 20)
    _run_jobs(app)
    rep2 = client.get(f"/api/v1/cards/{second['id']}", headers=ranger).json["report"]
    assert (rep2["ingested"], rep2["duplicates"]) == (0, 10)


def test_chunks_are_checked_and_offsets_enforced(client, app, world, tmp_path, shared_dir):
    area, _program, dep = make_deployment(world, start=datetime(2021, 5, 1, tzinfo=timezone.utc))
    ranger = world.headers(world.user("lan", roles={area.id: "ranger"}))
    root = tmp_path / "card"
    photos = sorted(reconyx_dir(shared_dir).glob("*.JPG"))[:2]
    for p in photos:
        write(root / p.name, p.read_bytes())
    card = _create(client, ranger, dep.id, manifest(root)).json
    data = stream_bytes(card, root)
    url = f"/api/v1/uploads/{card['upload_id']}"
    piece = data[:100_000]
    base = {**ranger, "Content-Type": "application/offset+octet-stream"}
    # No checksum: refused (card streams need one).
    r = client.patch(url, data=piece, headers={**base, "Upload-Offset": "0"})
    assert r.status_code == 400 and r.json["error"]["code"] == "checksum_required"
    # A chunk damaged on the way: refused, nothing of it kept.
    bad = bytearray(piece)
    bad[500] ^= 0xFF
    r = client.patch(url, data=bytes(bad), headers={**base, "Upload-Offset": "0", "Upload-Checksum": checksum(piece)})
    assert r.status_code == 422 and r.json["error"]["code"] == "checksum_mismatch"
    assert client.get(url, headers=ranger).json["offset"] == 0
    staged = tmp_path / "data" / "cards" / card["id"] / "000000" / photos[0].name
    assert not staged.exists() or staged.stat().st_size == 0
    r = client.patch(url, data=piece, headers={**base, "Upload-Offset": "0", "Upload-Checksum": checksum(piece)})
    assert r.status_code == 200 and r.json["offset"] == 100_000
    # The wrong offset: 409 with the server's offset.
    r = client.patch(url, data=piece, headers={**base, "Upload-Offset": "0", "Upload-Checksum": checksum(piece)})
    assert r.status_code == 409 and r.json["error"]["details"]["offset"] == 100_000
    # Past the end of the card: refused.
    tail = data[100_000:] + b"extra"
    r = client.patch(url, data=tail, headers={**base, "Upload-Offset": "100000", "Upload-Checksum": checksum(tail)})
    assert r.status_code == 422 and client.get(url, headers=ranger).json["offset"] == 100_000
    send(client, ranger, card, root)
    _run_jobs(app)
    assert len(_media(world, dep.id)) == 2


def test_unreadable_file_dropped_mid_stream_is_reported(client, app, world, tmp_path, shared_dir):
    """The browser cannot read a file (removed or changed since it was chosen): it tells the server,
    which moves the next files up and reports the file skipped ("cannot read"), as the CLI does."""
    area, _program, dep = make_deployment(world, start=datetime(2021, 5, 1, tzinfo=timezone.utc))
    ranger = world.headers(world.user("lan", roles={area.id: "ranger"}))
    root = tmp_path / "card"
    photos = sorted(reconyx_dir(shared_dir).glob("*.JPG"))[:4]
    for p in photos:
        write(root / p.name, p.read_bytes())
    entries = manifest(root) + [{"path": "LOCKED.JPG", "size": 10, "error": "NotReadableError"}]
    card = _create(client, ranger, dep.id, entries).json
    second = next(f for f in card["files"] if f["path"] == photos[1].name)
    # Half of the second photo arrives, then reading the rest of it fails in the browser.
    send(client, ranger, card, root, chunk=second["start"] + 1000, stop_after=1)
    r = client.post(f"/api/v1/cards/{card['id']}/skip", json={"idx": second["idx"], "reason": "NotReadableError"},
                    headers=ranger)
    assert r.status_code == 200, r.json
    moved = r.json
    assert moved["offset"] == second["start"]
    third = next(f for f in moved["files"] if f["path"] == photos[2].name)
    assert third["start"] == second["start"]
    (root / photos[1].name).unlink()  # what the browser could not read is not sent
    send(client, ranger, moved, root)
    _run_jobs(app)
    rep = client.get(f"/api/v1/cards/{card['id']}", headers=ranger).json["report"]
    assert rep["ingested"] == 3
    assert {s["path"]: s["reason"] for s in rep["skipped"]} == {
        "LOCKED.JPG": "cannot read: NotReadableError", photos[1].name: "cannot read: NotReadableError"}
    # A photo received whole cannot be dropped afterwards.
    first = next(f for f in card["files"] if f["path"] == photos[0].name)
    r = client.post(f"/api/v1/cards/{card['id']}/skip", json={"idx": first["idx"], "reason": "x"}, headers=ranger)
    assert r.status_code == 409


def test_zip_card_with_a_bomb_and_unsafe_paths(client, app, world, tmp_path):
    """A zip of a card: ingested once complete, its unsafe members refused with the CLI's reasons; a zip
    bomb as a whole: refused, nothing stored, staging removed."""
    area, _program, dep = make_deployment(world)
    ranger = world.headers(world.user("lan", roles={area.id: "ranger"}))
    root = tmp_path / "drop"
    z = root / "card.zip"
    z.parent.mkdir()
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(3):
            zf.writestr(f"DCIM/100RECNX/IMG_{i:04d}.JPG", jpeg_bytes(f"2026:03:02 06:15:{i:02d}", color=(i * 40, 5, 5)))
        zf.writestr("../../escaped.JPG", jpeg_bytes(color=(1, 200, 1)))
        zf.writestr("DCIM/bomb.JPG", b"\xff\xd8\xff" + b"\x00" * (8 * 1024 * 1024))
    card = _create(client, ranger, dep.id, manifest(root), label="card.zip").json
    assert [f["path"] for f in card["files"] if f["start"] >= 0] == ["card.zip"]
    send(client, ranger, card, root, chunk=2000)
    _run_jobs(app)
    rep = client.get(f"/api/v1/cards/{card['id']}", headers=ranger).json["report"]
    reasons = {s["path"]: s["reason"] for s in rep["skipped"]}
    assert rep["ingested"] == 3
    assert reasons["../../escaped.JPG"] == "unsafe path in zip (escapes the target folder): refused"
    assert "refused as a zip bomb" in reasons["DCIM/bomb.JPG"]
    assert not (tmp_path / "escaped.JPG").exists() and not (tmp_path / "data" / "escaped.JPG").exists()
    # A zip that would expand past the limits is refused whole: nothing of it stored.
    bomb_root = tmp_path / "bomb"
    declared_bomb_zip(bomb_root / "bomb.zip")
    before = len(_media(world, dep.id))
    bcard = _create(client, ranger, dep.id, manifest(bomb_root), label="bomb.zip").json
    send(client, ranger, bcard, bomb_root)
    _run_jobs(app)
    brep = client.get(f"/api/v1/cards/{bcard['id']}", headers=ranger).json["report"]
    assert brep["ingested"] == 0
    assert [s["path"] for s in brep["skipped"]] == ["bomb.zip"] and "zip bomb" in brep["skipped"][0]["reason"]
    assert len(_media(world, dep.id)) == before
    assert not (tmp_path / "data" / "cards" / bcard["id"]).exists()


def test_manifest_paths_and_limits(client, world):
    area, _program, dep = make_deployment(world)
    ranger = world.headers(world.user("lan", roles={area.id: "ranger"}))
    r = _create(client, ranger, dep.id, [{"path": "../../etc/cron.JPG", "size": 10},
                                          {"path": "/abs.JPG", "size": 10}, {"path": "a//b/./c.JPG", "size": 10},
                                          {"path": "rec.WAV", "size": 10}, {"path": "inner/x.zip", "size": 10}])
    assert r.status_code == 201
    files = {f["path"]: f for f in r.json["files"]}
    assert files["../../etc/cron.JPG"]["skip_reason"] == "unsafe file name (escapes the upload folder): refused"
    assert files["/abs.JPG"]["skip_reason"] == "unsafe file name (escapes the upload folder): refused"
    assert files["a/b/c.JPG"]["start"] == 0  # normalised, as the CLI reads it
    assert "acoustic deployment" in files["rec.WAV"]["skip_reason"]
    assert "archive inside the card" in files["inner/x.zip"]["skip_reason"]
    assert _create(client, ranger, dep.id, []).status_code == 422
    dup = _create(client, ranger, dep.id, [{"path": "a.JPG", "size": 1}, {"path": "./a.JPG", "size": 1}])
    assert dup.status_code == 422 and "twice" in dup.json["error"]["message"]
    assert _create(client, ranger, dep.id, [{"path": "a.JPG", "size": -1}]).status_code == 422


def test_card_permissions(client, app, world, tmp_path):
    area, _program, dep = make_deployment(world)
    other_area = world.area(code="CT", name="Cat Tien")
    ranger_user = world.user("lan", roles={area.id: "ranger"})
    ranger = world.headers(ranger_user)
    viewer = world.headers(world.user("viewer", roles={area.id: "viewer"}))
    other_ranger = world.headers(world.user("minh", roles={area.id: "ranger"}))
    stranger = world.headers(world.user("stranger", roles={other_area.id: "manager"}))
    manager = world.headers(world.user("boss", roles={area.id: "manager"}))
    entries = [{"path": "A.JPG", "size": 5}]
    assert _create(client, viewer, dep.id, entries).status_code == 403
    assert _create(client, stranger, dep.id, entries).status_code == 404
    card = _create(client, ranger, dep.id, entries).json
    # Members see it; others do not know it exists.
    assert client.get(f"/api/v1/cards/{card['id']}", headers=viewer).status_code == 200
    assert client.get(f"/api/v1/cards/{card['id']}", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/cards?area_id={other_area.id}", headers=stranger).json["total"] == 0
    assert client.get("/api/v1/cards", headers=viewer).json["total"] == 1
    # Only the sender writes its stream.
    url = f"/api/v1/uploads/{card['upload_id']}"
    hdr = {"Upload-Offset": "0", "Upload-Checksum": checksum(b"12345"), "Content-Type": "application/offset+octet-stream"}
    assert client.patch(url, data=b"12345", headers={**other_ranger, **hdr}).status_code == 404
    assert client.post(f"/api/v1/cards/{card['id']}/skip", json={"idx": 0, "reason": "x"},
                       headers=other_ranger).status_code == 403
    assert client.delete(f"/api/v1/cards/{card['id']}", headers=viewer).status_code == 403
    # A manager of the area may abandon it; the staging goes with it.
    assert client.patch(url, data=b"123", headers={**ranger, **hdr, "Upload-Checksum": checksum(b"123")}).status_code == 200
    assert (tmp_path / "data" / "cards" / card["id"]).exists()
    assert client.delete(f"/api/v1/cards/{card['id']}", headers=manager).status_code == 204
    assert client.get(f"/api/v1/cards/{card['id']}", headers=ranger).status_code == 404
    assert not (tmp_path / "data" / "cards" / card["id"]).exists()


def test_field_photo_upload_checks_an_optional_chunk_checksum(client, world):
    import hashlib

    area = world.area()
    ranger = world.headers(world.user("lan", roles={area.id: "ranger"}))
    data = jpeg_bytes(color=(10, 90, 10))
    r = client.post("/api/v1/uploads", json={"sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                                             "media_type": "image/jpeg"}, headers=ranger)
    url = f"/api/v1/uploads/{r.json['id']}"
    base = {**ranger, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
    r = client.patch(url, data=data[:100], headers={**base, "Upload-Checksum": checksum(data[:99] + b"!")})
    assert r.status_code == 422 and client.get(url, headers=ranger).json["offset"] == 0
    r = client.patch(url, data=data, headers={**base, "Upload-Checksum": checksum(data)})
    assert r.status_code == 200 and r.json["media_id"]


def test_card_rows_go_with_their_deployment(client, app, world):
    area, _program, dep = make_deployment(world)
    manager = world.headers(world.user("boss", roles={area.id: "manager"}))
    card = _create(client, manager, dep.id, [{"path": "A.JPG", "size": 5}]).json
    assert client.delete(f"/api/v1/deployments/{dep.id}", headers=manager).status_code == 204
    from server.models import CardUpload, Upload

    with world.session() as s:
        assert s.get(CardUpload, card["id"]) is None
        assert s.exec(select(Upload).where(Upload.card_id == card["id"])).first() is None

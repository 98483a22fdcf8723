"""Workers started before the command's start-up (server/ingest/early.py): nothing enters the store before
the deployment is known, files of the wrong kind are never stored, a run that stops leaves only whole
files, and holding folders of killed commands are removed (SQLite and PostgreSQL)."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import subprocess
import sys
import struct
import wave
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import select

from ingest_helpers import jpeg_bytes, make_deployment, make_thumbnails, mp4_bytes, write
from server.errors import NotFound
from server.ingest import early, pipeline, process
from server.ingest.derivatives import thumb_key
from server.ingest.pipeline import ingest_path
from server.ingest.sources import scan
from server.models import Media
from test_derivatives_later import with_preview


def _wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 800)
    return buf.getvalue()


def _card(tmp_path: Path, n: int = 10) -> Path:
    card = tmp_path / "card"
    for i in range(n):
        write(card / f"DCIM/100RECNX/IMG_{i:04d}.JPG",
              jpeg_bytes(f"2026:03:02 06:{i:02d}:00", color=(i * 20, 9, 9)))
    return card


def _store_files(app) -> list[Path]:
    root = Path(app.extensions["saola.media"].root)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _media(world) -> list[Media]:
    with world.session() as s:
        return list(s.exec(select(Media)))


def _started(card, app) -> early.EarlyStart:
    e = early.start(card, 2, app.config)
    assert e is not None
    return e


def test_an_early_start_ingests_the_card_and_moves_its_files_into_place(app, world, tmp_path):
    _, _, dep = make_deployment(world)
    card = _card(tmp_path)
    photo, preview = with_preview(when="2026:03:02 07:00:00")
    write(card / "DCIM/100RECNX/P1.JPG", photo)  # its embedded preview becomes the thumbnail
    write(card / "DCIM/100RECNX/COPY.JPG", (card / "DCIM/100RECNX/IMG_0001.JPG").read_bytes())  # same bytes
    e = _started(card, app)
    rep = ingest_path(app, card, deployment_id=dep.id, early=e)
    assert (rep.ingested, rep.duplicates, rep.fatal) == (11, 1, None)
    media = _media(world)
    store = app.extensions["saola.media"]
    assert len(media) == 11 and sorted(str(p.relative_to(store.root)) for p in _store_files(app)) == \
        sorted(m.storage_key for m in media)
    for m in media:
        assert hashlib.sha256(store.path(m.storage_key).read_bytes()).hexdigest() == m.sha256
    p1 = next(m for m in media if m.file_name == "P1.JPG")
    assert p1.has_derivatives and app.extensions["saola.derivatives"].path(thumb_key(p1.sha256)).is_file()
    assert not Path(e.hold).exists()  # the holding folder is gone
    assert make_thumbnails(app) == 1
    # The same card again, started early too: every file a duplicate, nothing stored twice.
    again = ingest_path(app, card, deployment_id=dep.id, early=_started(card, app))
    assert (again.ingested, again.duplicates) == (0, 12) and len(_store_files(app)) == 11


def test_a_wrong_deployment_stores_nothing(app, world, tmp_path):
    card = _card(tmp_path)
    e = _started(card, app)
    with pytest.raises(NotFound):
        ingest_path(app, card, deployment_id="nope", early=e)
    assert _store_files(app) == [] and not Path(e.hold).exists()
    assert _media(world) == []


def test_files_the_deployment_does_not_take_are_never_stored(app, world, tmp_path):
    _, _, dep = make_deployment(world)
    card = _card(tmp_path)
    write(card / "rec/20260302_050000.WAV", _wav())
    rep = ingest_path(app, card, deployment_id=dep.id, early=_started(card, app))
    assert rep.ingested == 10 and [s["path"] for s in rep.to_dict()["skipped"]] == ["rec/20260302_050000.WAV"]
    assert "acoustic deployment" in rep.to_dict()["skipped"][0]["reason"]
    assert len(_store_files(app)) == 10 and not any(p.suffix == ".wav" for p in _store_files(app))


def test_big_files_are_streamed_by_the_command(app, world, tmp_path):
    _, _, dep = make_deployment(world)
    card = _card(tmp_path)
    pad = process.IN_MEMORY_MAX  # too big for a worker's memory: the workers leave it to the command
    clip = mp4_bytes(datetime(2026, 3, 2, 6, 30), 5.0) + struct.pack(">I4s", 8 + pad, b"free") + bytes(pad)
    write(card / "DCIM/100RECNX/CLIP.MP4", clip)
    e = _started(card, app)
    rep = ingest_path(app, card, deployment_id=dep.id, early=e)
    assert (rep.ingested, rep.fatal) == (11, None) and rep.by_kind["video"] == 1
    clip_row = next(m for m in _media(world) if m.kind == "video")
    assert clip_row.sha256 == hashlib.sha256(clip).hexdigest() and clip_row.duration_s == 5.0
    assert app.extensions["saola.media"].path(clip_row.storage_key).read_bytes() == clip
    assert not Path(e.hold).exists()


def test_a_worker_leaves_big_files_and_stores_nothing_before_the_command_may(app, tmp_path, monkeypatch):
    clip = mp4_bytes(datetime(2026, 3, 2, 6, 30), 5.0) + struct.pack(">I4s", 8 + 4000, b"free") + bytes(4000)
    write(tmp_path / "card/CLIP.MP4", clip)
    write(tmp_path / "card/IMG.JPG", jpeg_bytes())
    (src_clip, src_img), _ = scan(tmp_path / "card")
    roots = process.config_roots(app.config)
    hold = tmp_path / "hold"
    hold.mkdir()
    held = dataclasses.replace(roots, hold=str(hold))
    monkeypatch.setattr(process, "IN_MEMORY_MAX", len(clip) - 1)  # the clip is big, the photo is not
    assert process.process_source(src_clip, held)["status"] == "later"
    res = process.process_source(src_img, held)
    assert res["status"] == "ok" and res["stored_new"] and Path(res["held"]).parent == hold
    assert Path(res["held"]).read_bytes() == jpeg_bytes() and _store_files(app) == []


def test_a_crash_between_copy_and_row_leaves_whole_files_and_a_rerun_completes(app, world, tmp_path, monkeypatch):
    _, _, dep = make_deployment(world)
    card = _card(tmp_path, 12)
    monkeypatch.setattr(pipeline, "BATCH_SIZE", 4)
    monkeypatch.setattr(pipeline, "BATCH_SECONDS", float("inf"))
    real_write = pipeline.BatchWriter._write
    calls = {"n": 0}

    def crashing_write(self, placed):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated crash")
        return real_write(self, placed)

    monkeypatch.setattr(pipeline.BatchWriter, "_write", crashing_write)
    e = _started(card, app)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest_path(app, card, deployment_id=dep.id, early=e)
    # The failed batch has no rows; rows of files taken before the crash may be written on the way out.
    rows = len(_media(world))
    assert 4 <= rows <= 8 and not Path(e.hold).exists()
    store = app.extensions["saola.media"]
    for p in _store_files(app):  # whatever was moved into place is whole
        assert hashlib.sha256(p.read_bytes()).hexdigest() == p.stem
    monkeypatch.setattr(pipeline.BatchWriter, "_write", real_write)
    rep = ingest_path(app, card, deployment_id=dep.id, early=_started(card, app))
    assert (rep.ingested, rep.duplicates, rep.fatal) == (12 - rows, rows, None)
    media = _media(world)
    assert sorted(store.iter_keys()) == sorted(m.storage_key for m in media) and len(media) == 12


def test_holding_folders_of_killed_commands_are_removed(app, tmp_path):
    media = Path(app.extensions["saola.media"].root)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = media / f"{early.HOLD_PREFIX}{dead}-abcd1234"
    live = media / f"{early.HOLD_PREFIX}{os.getpid()}-abcd1234"
    for d in (stale, live):
        write(d / ".tmp-x", b"half a photo")
    e = _started(_card(tmp_path), app)
    e.close()
    assert not stale.exists() and live.exists()
    assert list(app.extensions["saola.media"].iter_keys()) == []  # held files are never store keys


def test_no_early_start_where_it_does_not_apply(app, tmp_path):
    assert early.start(_card(tmp_path / "few", 3), 2, app.config) is None  # a few files: done in-process
    assert early.start(_card(tmp_path / "one", 10), 1, app.config) is None  # no worker processes
    assert early.start(tmp_path / "missing", 2, app.config) is None  # the ingest reports it

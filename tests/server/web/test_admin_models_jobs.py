"""Administration pages (issue 13, items 1 and 4), on SQLite and PostgreSQL: models uploaded with their
SHA-256 and checked as ONNX graphs of their kind, enabled per program, deleted when unused; the jobs
page (run the detector with an enabled model, live state, per-item failures, cancel, retry); the
audit log with filters and keyset pages, each role seeing only its areas."""
from __future__ import annotations

import hashlib
import html
import io
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "detect"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "classifiers"))

from detect_helpers import ANIMAL_ONLY, add_media, constant_detector, jpeg_bytes, run_jobs  # noqa: E402
from onnx_graphs import tiny_classifier  # noqa: E402

ERR = re.compile(r'<p class="field-error" id="err-([\w]+)" role="alert">([^<]*)</p>')
FLASH = re.compile(r'<p class="flash (\w+)" role="status">([^<]*)</p>')


def errors(r) -> dict[str, str]:
    return {k: html.unescape(v) for k, v in ERR.findall(r.get_data(as_text=True))}


def flashes(page: str) -> list[str]:
    return [html.unescape(t) for _c, t in FLASH.findall(page)]


@pytest.fixture
def detector_file(tmp_path) -> tuple[bytes, str]:
    data = constant_detector(tmp_path / "tiny.onnx", ANIMAL_ONLY).read_bytes()
    return data, hashlib.sha256(data).hexdigest()


@pytest.fixture
def admin(world, signed_in):
    world.user("root", admin=True)
    return signed_in("root")


def _upload(browser, data: bytes, sha: str, *, name="tiny-md", kind="detector", filename="tiny.onnx", **extra):
    return browser.form("/admin/models", {"name": name, "kind": kind, "sha256": sha, "version": "",
                                          "file": (io.BytesIO(data), filename), **extra})


def _models(world):
    from server.models import MLModel

    with world.session() as s:
        return list(s.exec(select(MLModel)))


def _model_files(app) -> list[str]:
    folder = Path(app.config["DATA_DIR"]) / "models"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_admin_uploads_a_detector_checked_by_its_checksum(admin, world, app, detector_file):
    from server.models import AuditLog

    data, sha = detector_file
    r = _upload(admin, data, sha.upper())  # checksums are compared case-insensitively
    assert r.status_code == 302, errors(r)
    (m,) = _models(world)
    assert (m.name, m.kind, m.sha256, m.size_bytes, m.version) == ("tiny-md", "detector", sha, len(data), sha[:12])
    assert m.config["model_info"]["input_shape"][1] == 3 and m.config["uploaded"] is True
    assert Path(m.file_path).read_bytes() == data
    assert _model_files(app) == [f"{sha[:16]}-tiny.onnx"]  # no partial upload left
    page = admin.get(r.headers["Location"]).get_data(as_text=True)
    assert "SHA-256 matches" in " ".join(flashes(page)) and sha in page
    listing = admin.get("/admin/models").get_data(as_text=True)
    row = re.search(r'<tr data-model="tiny-md">(.*?)</tr>', listing, re.S).group(1)
    assert "root" in row and sha[:16] in row and "Detector" not in row.split("</td>")[0]
    with world.session() as s:
        (entry,) = s.exec(select(AuditLog).where(AuditLog.entity == "ml_model")).all()
        assert (entry.action, entry.actor, entry.area_id) == ("create", "root", None)


@pytest.mark.parametrize("case", ["wrong checksum", "not onnx", "classifier as detector", "labels mismatch",
                                  "empty file"])
def test_bad_model_uploads_are_refused_next_to_the_field_and_store_nothing(admin, world, app, tmp_path, case,
                                                                           detector_file):
    data, sha = detector_file
    fields: dict = {}
    if case == "wrong checksum":
        sha, field, words = "ab" * 32, "sha256", f"SHA-256 is {detector_file[1]}"
    elif case == "not onnx":
        data = b"PK\x03\x04 this is a zip, not a model" * 10
        sha, field, words = hashlib.sha256(data).hexdigest(), "file", "not a loadable ONNX model"
    elif case == "classifier as detector":
        data = tiny_classifier(tmp_path / "c.onnx", np.eye(3, 2)).read_bytes()
        sha, field, words = hashlib.sha256(data).hexdigest(), "file", "not a detector Saola can run"
    elif case == "labels mismatch":
        data = tiny_classifier(tmp_path / "c.onnx", np.eye(3, 2)).read_bytes()
        sha, field, words = hashlib.sha256(data).hexdigest(), "labels", "outputs 2 scores but 3 labels"
        fields = {"kind": "classifier", "labels": "Sus scrofa\nMuntiacus\nblank"}
    else:
        data, field, words = b"", "file", "empty"
        sha = hashlib.sha256(b"").hexdigest()
    r = _upload(admin, data, sha, **fields)
    assert r.status_code == 422
    assert words in errors(r).get(field, ""), errors(r)
    assert _models(world) == [] and _model_files(app) == []


def test_a_species_classifier_with_its_labels(admin, world, tmp_path):
    data = tiny_classifier(tmp_path / "c.onnx", np.eye(3, 2)).read_bytes()
    r = _upload(admin, data, hashlib.sha256(data).hexdigest(), name="sp", kind="classifier",
                labels="Sus scrofa\nMuntiacus vuquangensis\n")
    assert r.status_code == 302, errors(r)
    (m,) = _models(world)
    assert m.kind == "classifier" and m.config["labels"] == ["Sus scrofa", "Muntiacus vuquangensis"]


def test_model_form_messages_in_both_languages(world, signed_in, detector_file):
    world.user("root", admin=True)
    world.user("goc", admin=True, language="vi")
    data, _sha = detector_file
    r = _upload(signed_in("root"), data, "123", name="", kind="classifier", labels="")
    e = errors(r)
    assert r.status_code == 422 and e["name"] == "This field is required."
    assert "64 hexadecimal digits" in e["sha256"] and "needs its labels" in e["labels"]
    vi = errors(_upload(signed_in("goc"), data, "123", name="a@b"))
    assert vi["sha256"] == "Mã SHA-256 gồm 64 chữ số thập lục phân (0-9, a-f)." and "@" in vi["name"]


def test_models_page_is_for_administrators(world, signed_in):
    a = world.area()
    world.user("mgr", roles={a.id: "manager"})
    mgr = signed_in("mgr")
    assert mgr.get("/admin/models").status_code == 403
    assert mgr.form("/admin/models", {"name": "x"}).status_code == 403


def test_enable_per_program_and_delete_only_when_unused(admin, world, app, detector_file):
    data, sha = detector_file
    a = world.area()
    p1, p2 = world.program(a.id, "Cameras 2026"), world.program(a.id, "Cameras 2027")
    r = _upload(admin, data, sha)
    url = r.headers["Location"]
    model_id = url.rsplit("/", 1)[1]
    assert admin.form(url, {"program": [p1.id]}).status_code == 302
    from server.models import Program

    with world.session() as s:
        assert s.get(Program, p1.id).settings == {"enabled_models": ["tiny-md"]}
        assert s.get(Program, p2.id).settings in ({}, None)
    page = admin.get(url).get_data(as_text=True)
    assert 'id="delete-model"' not in page and "Cameras 2026" in page.split('id="in-use"')[1].split("</p>")[0]
    r = admin.form(f"/admin/models/{model_id}/delete", {})
    assert "is in use" in " ".join(flashes(admin.get(r.headers["Location"]).get_data(as_text=True)))
    assert len(_models(world)) == 1
    admin.form(url, {})  # no program checked: disabled everywhere
    with world.session() as s:
        assert "enabled_models" not in (s.get(Program, p1.id).settings or {})
    r = admin.form(f"/admin/models/{model_id}/delete", {})
    assert r.status_code == 302 and _models(world) == [] and _model_files(app) == []


def test_api_refuses_enabling_an_unknown_model(client, world):
    a = world.area()
    p = world.program(a.id)
    root = world.user("root", admin=True)
    r = client.patch(f"/api/v1/programs/{p.id}", json={"settings": {"enabled_models": ["nope"]}},
                     headers=world.headers(root))
    assert r.status_code == 422 and "nope" in r.get_json()["error"]["message"]


# ---- jobs -------------------------------------------------------------------------------------------------
@pytest.fixture
def detection_setup(world, app, admin, detector_file):
    """An area with a program and a camera deployment holding two images (one unreadable), a tiny
    detector enabled for the program, and its manager."""
    data, sha = detector_file
    a = world.area()
    p = world.program(a.id, "Cameras 2026")
    dep = world.deployment(p)
    add_media(app, dep.id, "IMG_0001.JPG", jpeg_bytes())
    add_media(app, dep.id, "IMG_0002.JPG", b"\xff\xd8 broken jpeg")
    url = _upload(admin, data, sha).headers["Location"]
    admin.form(url, {"program": [p.id]})
    world.user("mgr", roles={a.id: "manager"})
    return a, p, dep


def _job(world, **where):
    from server.models import Job

    with world.session() as s:
        return list(s.exec(select(Job).where(*[getattr(Job, k) == v for k, v in where.items()])))


def test_manager_runs_the_detector_on_a_deployment_and_follows_it(world, app, signed_in, detection_setup):
    from server.models import AuditLog, Detection, User

    a, p, dep = detection_setup
    mgr = signed_in("mgr")
    with world.session() as s:
        mgr_id = s.exec(select(User.id).where(User.username == "mgr")).one()
    page = mgr.get(f"/admin/areas/{a.id}/jobs").get_data(as_text=True)
    assert f'value="deployment:{dep.id}"' in page and 'value="tiny-md" data-for="' + p.id in page
    r = mgr.form(f"/admin/areas/{a.id}/jobs/detect", {"target": f"deployment:{dep.id}", "model": "tiny-md",
                                                       "classify": "1"})
    assert r.status_code == 302, errors(r)
    (job,) = _job(world, kind="detect")
    assert job.params == {"deployment_id": dep.id, "model": "tiny-md", "force": False, "classify": True}
    live = mgr.get(f"/admin/areas/{a.id}/jobs.json?ids={job.id}").get_json()["jobs"]
    assert live[0]["status"] == "queued" and live[0]["can_cancel"] and not live[0]["can_retry"]
    run_jobs(app)
    (live,) = mgr.get(f"/admin/areas/{a.id}/jobs.json?ids={job.id}").get_json()["jobs"]
    assert (live["status"], live["done"], live["total"], live["failures"]) == ("done", 2, 2, 1)
    assert not live["can_cancel"]
    detail = mgr.get(f"/admin/jobs/{job.id}").get_data(as_text=True)
    failures = detail.split('id="failures"')[1]
    assert "IMG_0002.JPG" in failures and "IMG_0001.JPG" not in failures
    with world.session() as s:
        assert s.exec(select(Detection).where(Detection.model.startswith("tiny-md@"))).first() is not None
        (entry,) = s.exec(select(AuditLog).where(AuditLog.entity == "detection")).all()
        # Audited in the name of the manager who started the job, not the worker's login.
        assert (entry.actor, entry.user_id, entry.area_id) == ("mgr (job detect)", mgr_id, a.id)
    page = mgr.get(f"/admin/areas/{a.id}/audit?user=mgr&entity=detection").get_data(as_text=True)
    assert re.findall(r'<tr data-entity="(\w+)"', page) == ["detection"]
    from datetime import timedelta

    from server.timeutil import as_utc

    created = as_utc(job.created_at)
    for newest, n in ((created - timedelta(seconds=1), 1), (created, 0)):
        q = f"/admin/areas/{a.id}/jobs.json?newest={newest.isoformat().replace('+', '%2B')}"
        assert mgr.get(q).get_json()["newer"] == n


def test_uploads_are_streamed_in_chunks(world, app, detector_file):
    """upload_model never asks the upload for all its bytes at once."""
    from server.services import models as model_service

    data, sha = detector_file

    class Chunked(io.BytesIO):
        def read(self, size=-1):
            assert 0 < size <= model_service.CHUNK, f"read({size})"
            return super().read(size)

    with world.session() as s:
        m = model_service.upload_model(s, app.config, Chunked(data), "md.onnx", name="md", kind="detector",
                                       sha256=sha)
        assert m.size_bytes == len(data)


def test_a_large_upload_is_spooled_on_the_models_disk(admin, world, app, monkeypatch, tmp_path):
    """werkzeug spools a large upload into DATA_DIR/incoming, not into memory or the system's /tmp."""
    import tempfile

    spooled = []
    real = tempfile.TemporaryFile

    def recording(*args, **kw):
        spooled.append(kw.get("dir"))
        return real(*args, **kw)

    monkeypatch.setattr(tempfile, "TemporaryFile", recording)
    # Spool from 1 KiB here: a test-client body over 500 KB is a temporary file werkzeug's test client
    # leaves open. The upload is no ONNX model, so it is refused once read.
    monkeypatch.setattr("server.staging.IN_MEMORY_UPLOAD", 1024)
    data = b"\0" * (64 * 1024)
    r = _upload(admin, data, hashlib.sha256(data).hexdigest())
    assert "not a loadable ONNX model" in errors(r)["file"]
    assert spooled == [Path(app.config["DATA_DIR"]) / "incoming"]
    assert _models(world) == [] and _model_files(app) == []


def test_run_detector_form_errors_next_to_the_field(world, app, signed_in, detection_setup, admin):
    a, p, dep = detection_setup
    other = world.program(a.id, "Not enabled")
    b = world.area("CAT", "Cat Tien")
    foreign = world.program(b.id, "Theirs")
    mgr = signed_in("mgr")
    url = f"/admin/areas/{a.id}/jobs/detect"
    r = mgr.form(url, {"target": f"program:{other.id}", "model": "tiny-md"})
    assert r.status_code == 422 and "not a detector enabled for program Not enabled" in errors(r)["model"]
    r = mgr.form(url, {"target": f"program:{p.id}", "model": ""})
    assert errors(r)["model"] == "Choose a detector."
    r = mgr.form(url, {"target": f"program:{foreign.id}", "model": "tiny-md"})
    assert "Choose a deployment or a program of this area." == errors(r)["target"]
    assert _job(world, kind="detect") == []
    r = mgr.form(url, {"target": f"program:{p.id}", "model": "tiny-md"})
    assert r.status_code == 302
    (job,) = _job(world, kind="detect")
    assert job.params["program_id"] == p.id and job.area_id == a.id


def test_cancel_and_retry_from_the_jobs_page(world, app, signed_in, detection_setup):
    a, p, dep = detection_setup
    mgr = signed_in("mgr")
    mgr.form(f"/admin/areas/{a.id}/jobs/detect", {"target": f"deployment:{dep.id}", "model": "tiny-md"})
    (job,) = _job(world, kind="detect")
    back = f"/admin/areas/{a.id}/jobs"
    r = mgr.form(f"/admin/jobs/{job.id}/cancel", {"next": back})
    assert r.status_code == 302 and r.headers["Location"].endswith(back)
    assert _job(world, id=job.id)[0].status == "cancelled"
    assert run_jobs(app) == 0  # a cancelled job is not run
    assert "already finished" in " ".join(flashes(
        mgr.get(mgr.form(f"/admin/jobs/{job.id}/cancel", {}).headers["Location"]).get_data(as_text=True)))
    mgr.form(f"/admin/jobs/{job.id}/retry", {"next": "https://evil.example/"})
    assert _job(world, id=job.id)[0].status == "queued"
    run_jobs(app)
    assert _job(world, id=job.id)[0].status == "done"


def test_jobs_pages_are_role_checked_per_area(world, signed_in, detection_setup):
    a, p, dep = detection_setup
    b = world.area("CAT", "Cat Tien")
    world.user("bio", roles={a.id: "biologist"})
    world.user("other", roles={b.id: "manager"})
    mgr = signed_in("mgr")
    mgr.form(f"/admin/areas/{a.id}/jobs/detect", {"target": f"deployment:{dep.id}", "model": "tiny-md"})
    (job,) = _job(world, kind="detect")
    bio, other = signed_in("bio"), signed_in("other")
    assert bio.get(f"/admin/areas/{a.id}/jobs").status_code == 403
    assert other.get(f"/admin/areas/{a.id}/jobs").status_code == 404
    assert other.get(f"/admin/jobs/{job.id}").status_code == 404
    assert other.form(f"/admin/jobs/{job.id}/cancel", {}).status_code == 404
    assert other.get(f"/admin/areas/{b.id}/jobs.json?ids={job.id}").get_json()["jobs"] == []
    r = other.form(f"/admin/areas/{b.id}/jobs/detect", {"target": f"deployment:{dep.id}", "model": "tiny-md"})
    assert r.status_code == 422 and _job(world, id=job.id)[0].status == "queued"


# ---- audit log --------------------------------------------------------------------------------------------
def _entries(world, area_id, n, entity="program", user=None, action="update"):
    from datetime import datetime, timedelta, timezone

    from server.models import AuditLog

    t0 = datetime(2026, 3, 1, 3, 0, tzinfo=timezone.utc)
    with world.session() as s:
        for i in range(n):
            s.add(AuditLog(at=t0 + timedelta(minutes=i), user_id=user.id if user else None,
                           actor=user.username if user else "cli:x", area_id=area_id, action=action,
                           entity=entity, entity_id=f"e{i:03d}", before={"name": f"old{i}"},
                           after={"name": f"new{i}"}))


ROW = re.compile(r'<tr data-entity="(\w+)" data-action="(\w+)">')


def test_audit_log_filters_and_keyset_pages(world, signed_in):
    a, b = world.area(), world.area("CAT", "Cat Tien")
    mgr = world.user("mgr", roles={a.id: "manager"})
    world.user("root", admin=True)
    _entries(world, a.id, 60, user=mgr)
    _entries(world, a.id, 3, entity="deployment", action="create")
    _entries(world, b.id, 4, entity="location")
    _entries(world, None, 2, entity="ml_model", action="create")
    m = signed_in("mgr")
    page = m.get(f"/admin/areas/{a.id}/audit").get_data(as_text=True)
    assert len(ROW.findall(page)) == 50 and "location" not in page and "ml_model" not in page
    nxt = html.unescape(re.search(r'id="next-page" href="([^"]+)"', page).group(1))
    page2 = m.get(nxt).get_data(as_text=True)
    assert len(ROW.findall(page2)) == 13 and 'id="next-page"' not in page2
    seen = set(re.findall(r"mono\">(e\d{3})<", page + page2))
    assert len(seen) == 60  # every entry once (ids e000..e059 of both entities)
    r = m.get(f"/admin/areas/{a.id}/audit?user=mgr&entity=program&from=2026-03-01&to=2026-03-01")
    assert len(ROW.findall(r.get_data(as_text=True))) == 50
    r = m.get(f"/admin/areas/{a.id}/audit?entity=deployment&action=create")
    assert ROW.findall(r.get_data(as_text=True)) == [("deployment", "create")] * 3
    r = m.get(f"/admin/areas/{a.id}/audit?from=2026-03-02")
    assert ROW.findall(r.get_data(as_text=True)) == []
    r = m.get(f"/admin/areas/{a.id}/audit?user=nobody&from=2026-13-01&to=2026-02-01")
    e = errors(r)
    assert r.status_code == 422 and e["user"] == "No account is called nobody." and "YYYY-MM-DD" in e["from"]
    r = m.get(f"/admin/areas/{a.id}/audit?from=2026-03-05&to=2026-03-01")
    assert errors(r)["to"] == "The end date is before the start date."
    assert m.get(f"/admin/areas/{b.id}/audit").status_code == 404
    assert m.get("/admin/audit").status_code == 403
    root = signed_in("root")
    r = root.get("/admin/audit?area=-").get_data(as_text=True)
    assert ROW.findall(r) == [("ml_model", "create")] * 2
    r = root.get(f"/admin/audit?area={b.id}").get_data(as_text=True)
    assert ROW.findall(r) == [("location", "update")] * 4
    assert "old3" in r and "new3" in r  # the change summary


def test_audit_log_in_vietnamese(world, signed_in):
    a = world.area()
    world.user("ql", roles={a.id: "manager"}, language="vi")
    _entries(world, a.id, 1)
    page = signed_in("ql").get(f"/admin/areas/{a.id}/audit?to=x").get_data(as_text=True)
    assert "Nhật ký thay đổi" in page and "Nhập ngày theo dạng YYYY-MM-DD." in html.unescape(page)

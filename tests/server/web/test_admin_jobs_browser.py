"""Headless Chromium against a real ``saola serve`` (its in-process job worker), SQLite and PostgreSQL
(issue 13, items 1 and 4): an administrator uploads a tiny ONNX detector the test builds (a wrong
checksum first: refused next to the field), enables it on a program; a manager runs the detector
on a deployment from the jobs page and watches it finish without reloading (the page polls), with
the unreadable photo listed as a failed item; the audit log, filtered, shows both steps.
Screenshots at 1366x768 go to test-artifacts/."""
from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlmodel import select

from test_web_e2e import ARTIFACTS, REPO, _free_port, browser, e2e_db  # noqa: F401 - fixtures

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "detect"))
from detect_helpers import ANIMAL_ONLY, add_media, constant_detector, jpeg_bytes  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SIZE = {"width": 1366, "height": 768}


@pytest.fixture
def admin_server(e2e_db, tmp_path):  # noqa: F811 - the fixture's value
    """`saola serve` with its in-process worker over an area, a program, a camera deployment with a
    photo and an unreadable one, an administrator and a manager; (base url, app, ids)."""
    from server import create_app
    from server.auth.passwords import hash_password
    from server.db import session_scope
    from server.models import Membership, Program, ProtectedArea, User
    from server.services.deployments import build_deployment

    data_dir = tmp_path / "data"
    app = create_app({"DATABASE_URL": e2e_db, "DATA_DIR": str(data_dir), "SECRET_KEY": "e2e-secret",
                      "WORKER": "external", "TESTING": True})
    with session_scope(e2e_db) as s:
        area = ProtectedArea(code="PNKB", name="Phong Nha-Ke Bang")
        s.add(area)
        s.flush()
        program = Program(area_id=area.id, name="Camera traps 2026")
        s.add(program)
        s.flush()
        dep = build_deployment(s, program, {"deployment_start": datetime(2026, 1, 1, tzinfo=timezone.utc)},
                               location={"name": "R01", "latitude": 17.5, "longitude": 106.3})
        for name, admin in (("root", True), ("mgr", False)):
            u = User(username=name, password_hash=hash_password("password123"), is_admin=admin, language="en")
            s.add(u)
            s.flush()
            if not admin:
                s.add(Membership(user_id=u.id, area_id=area.id, role="manager"))
        ids = {"area": area.id, "program": program.id, "deployment": dep.id}
    add_media(app, ids["deployment"], "IMG_0001.JPG", jpeg_bytes())
    add_media(app, ids["deployment"], "IMG_0002.JPG", b"\xff\xd8 cut off")
    env = {**os.environ, "SAOLA_DATABASE_URL": e2e_db, "SAOLA_DATA_DIR": str(data_dir),
           "SAOLA_SECRET_KEY": "e2e-secret", "SAOLA_WORKER": "inprocess", "SAOLA_LANGUAGE": "en",
           "SAOLA_LOG_LEVEL": "WARNING"}
    port = _free_port()
    saola = Path(sys.executable).with_name("saola")
    cmd = [str(saola)] if saola.exists() else [sys.executable, "-c", "from server.cli import main; main()"]
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen(cmd + ["serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError as e:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("saola serve did not start: "
                                       + (tmp_path / "serve.log").read_text()[-2000:]) from e
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", app, ids
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        from server.db import dispose_engine

        dispose_engine(e2e_db)


def _signed_in(browser, base, user):  # noqa: F811
    ctx = browser.new_context(viewport=SIZE, locale="en-US")
    page = ctx.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", "password123")
    page.press("#password", "Enter")
    page.wait_for_url(base + "/")
    return ctx, page, problems


def _shot(page, name, backend):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin_{backend}_{name}.png"))


def test_browser_admin_uploads_a_model_manager_runs_the_detector_audit_log_shows_it(admin_server, browser,  # noqa: F811
                                                                                      e2e_db, tmp_path):  # noqa: F811
    from server.db import session_scope
    from server.models import Detection, Job, MLModel, Program

    base, app, ids = admin_server
    backend = "postgresql" if e2e_db.startswith("postgresql") else "sqlite"
    model_file = constant_detector(tmp_path / "tiny-md.onnx", ANIMAL_ONLY)
    sha = hashlib.sha256(model_file.read_bytes()).hexdigest()

    # The administrator: a wrong checksum is refused next to its field, the right one accepted.
    ctx, page, problems = _signed_in(browser, base, "root")
    page.goto(base + "/admin/models")
    page.fill("#f-name", "tiny-md")
    page.set_input_files("#f-file", str(model_file))
    page.fill("#f-sha256", "0" * 64)
    page.click("#upload-model")
    assert f"SHA-256 is {sha}" in page.locator("#err-sha256").inner_text()
    _shot(page, "models_refused", backend)
    page.set_input_files("#f-file", str(model_file))  # a browser never keeps a file field after a post
    page.fill("#f-sha256", sha)
    page.click("#upload-model")
    page.wait_for_url("**/admin/models/*")
    assert "SHA-256 matches" in page.locator(".flash.ok").inner_text()
    assert page.locator("#model-sha").inner_text() == sha
    page.check(f"#enable-{ids['program']}")
    page.click("#save-programs")
    assert "Enabled for 1 program(s)." in page.locator(".flash.ok").inner_text()
    _shot(page, "model_enabled", backend)
    page.goto(base + "/admin/models")
    assert "tiny-md" in page.locator("#models").inner_text() and "root" in page.locator("#models").inner_text()
    _shot(page, "models", backend)
    ctx.close()
    with session_scope(e2e_db) as s:
        assert s.get(Program, ids["program"]).settings["enabled_models"] == ["tiny-md"]
        assert s.exec(select(MLModel)).one().sha256 == sha

    # The manager runs it on the deployment and watches it finish on the jobs page.
    ctx, page, problems = _signed_in(browser, base, "mgr")
    page.goto(base + f"/admin/areas/{ids['area']}/programs")
    page.click(f"#detect-{ids['program']}")  # the program's Run detector button
    page.wait_for_url(f"**/admin/areas/{ids['area']}/jobs?target=*")
    assert page.locator("#f-target").input_value() == f"program:{ids['program']}"
    assert page.locator("#f-model").input_value() == "tiny-md"
    page.click("#nav-admin-jobs")  # the side menu's entry
    page.wait_for_url(f"**/admin/areas/{ids['area']}/jobs")
    page.select_option("#f-target", f"deployment:{ids['deployment']}")
    assert page.locator("#f-model").input_value() == "tiny-md"  # the one model enabled for its program
    page.click("#run-detector")
    assert "Detection queued (tiny-md)." in page.locator(".flash.ok").inner_text()
    with session_scope(e2e_db) as s:
        job = s.exec(select(Job).where(Job.kind == "detect")).one()
    row = page.locator(f"#job-{job.id}")
    page.wait_for_function("id => document.getElementById('job-' + id).dataset.status === 'done'", arg=job.id,
                           timeout=60000)
    assert row.locator('[data-live="status"]').inner_text() == "done"
    assert row.locator('[data-live="count"]').inner_text() == "2 / 2"
    assert row.locator('[data-live="failures"]').inner_text() == "1"
    assert row.locator('[data-live="cancel"]').is_hidden()
    _shot(page, "jobs_done", backend)
    row.locator("a").first.click()
    page.wait_for_url(f"**/admin/jobs/{job.id}")
    failures = page.locator("#failures").inner_text()
    assert "IMG_0002.JPG" in failures and "IMG_0001.JPG" not in failures
    _shot(page, "job_failures", backend)
    with session_scope(e2e_db) as s:
        assert s.exec(select(Detection).where(Detection.model.startswith("tiny-md@"))).first() is not None

    # The audit log, filtered: the administrator's enabling of the model, the detections the job wrote.
    page.goto(base + f"/admin/areas/{ids['area']}/audit")
    page.fill("#f-user", "root")
    page.select_option("#f-entity", "program")
    page.click("#filter-audit")
    rows = page.locator("#audit tbody tr")
    assert rows.count() == 1 and "enabled_models" in rows.first.inner_text()
    _shot(page, "audit_filtered", backend)
    page.fill("#f-user", "")
    page.select_option("#f-entity", "detection")
    page.click("#filter-audit")
    assert page.locator("#audit tbody tr").count() >= 1
    page.fill("#f-from", "2020-02-01")
    page.fill("#f-to", "2020-01-01")
    page.click("#filter-audit")
    assert page.locator("#err-to").inner_text() == "The end date is before the start date."
    page.goto(base + f"/admin/areas/{ids['area']}/jobs")
    page.click("#lang-vi")
    page.wait_for_url(f"**/admin/areas/{ids['area']}/jobs")
    assert page.locator("h1").inner_text() == "Tác vụ"
    _shot(page, "jobs_vi", backend)
    # The filters' 422 answer (messages next to the fields) is the one failed load the console may show.
    assert not [p for p in problems if "status of 422" not in p], problems
    ctx.close()

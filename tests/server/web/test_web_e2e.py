"""End-to-end: a biologist reviews in headless Chromium (Debian's chromium,
driven by Playwright with executable_path) against a real ``saola serve`` on
a loopback port: sign in, review with the keyboard only, move a box, mark
blank, undo, switch language; then the database is checked. Screenshots go to
test-artifacts/ (gitignored)."""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlmodel import select

from webdata import MiniWorld, add_recording, build_review_data

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PG_ADMIN_URL = os.environ.get("SAOLA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def e2e_db(request, tmp_path):
    """A migrated database for the server: a SQLite file, or a fresh PostgreSQL database."""
    from server.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'e2e.db'}"
        upgrade(url)
        yield url
        return
    from sqlalchemy import create_engine, text

    name = f"saola_e2e_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        yield url
    finally:
        from server.db import dispose_engine

        dispose_engine(url)
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def server(e2e_db, tmp_path):
    """A real `saola serve` on a free loopback port with review data; (base url, app, data)."""
    from server import create_app

    env = {**os.environ, "SAOLA_DATABASE_URL": e2e_db, "SAOLA_DATA_DIR": str(tmp_path / "data"),
           "SAOLA_SECRET_KEY": "e2e-secret", "SAOLA_WORKER": "external", "SAOLA_LANGUAGE": "en",
           "SAOLA_LOG_LEVEL": "WARNING"}
    app = create_app({"DATABASE_URL": e2e_db, "DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": "e2e-secret",
                      "WORKER": "external", "TESTING": True})
    data = build_review_data(app, MiniWorld(app))
    port = _free_port()
    saola = Path(sys.executable).with_name("saola")
    cmd = [str(saola)] if saola.exists() else [sys.executable, "-c", "from server.cli import main; main()"]
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen(cmd + ["serve", "--host", "127.0.0.1", "--port", str(port)], env=env, cwd=REPO,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120  # a loaded machine (CI, shared) starts it slowly
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError as e:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("saola serve did not start: "
                                       + (tmp_path / "serve.log").read_text()[-2000:]) from e
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", app, data
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


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium chromium-driver (scripts/setup.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _shot(page, name: str, backend: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"review_{backend}_{name}.png"), full_page=True)


def _wait_sequence(page, seq_id: str, errors=()) -> None:
    try:
        page.wait_for_function("id => document.getElementById('stage').dataset.sequenceId === id", arg=seq_id,
                               timeout=10000)
    except Exception:
        status = page.locator("#status").inner_text() + " / shown: " + str(page.evaluate("document.getElementById('stage').dataset.sequenceId")) + " " + page.locator("#seqinfo").inner_text() + " url " + page.url
        raise AssertionError(f"sequence {seq_id} not shown; status {status!r}; page errors {list(errors)}") from None


def test_keyboard_review_end_to_end(server, browser, e2e_db):
    from server.db import session_scope
    from server.models import Detection, Observation, Sequence, User

    base, app, rd = server
    backend = "postgresql" if e2e_db.startswith("postgresql") else "sqlite"
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    # Sequences with machine boxes first (the one no detector processed comes last, not hidden).
    page.goto(base + "/login?next=/review%3Forder%3Ddetections_first%26deployment_id%3D" + rd.deployment.id)
    # Sign in with the keyboard.
    page.focus("#username")
    page.keyboard.type("bio")
    page.keyboard.press("Tab")
    page.keyboard.type("password123")
    page.keyboard.press("Enter")
    page.wait_for_url("**/review?order=detections_first&deployment_id=*")
    s0, s1, s2 = (s.id for s in rd.sequences[:3])
    _wait_sequence(page, s0, errors)
    page.wait_for_selector("#boxes .box")
    page.wait_for_function("() => document.querySelectorAll('#shortcuts li').length === 2")
    page.wait_for_selector("#progress-count")
    assert page.locator("#progress-count").get_attribute("data-total") == "5"
    _shot(page, "1_queue", backend)

    # Sequence 1: choose species 2 (the muntjac) with a number key, count 2, adult, accept with Enter.
    page.keyboard.press("2")
    assert "Muntiacus vuquangensis" in page.locator("#chosen").inner_text()
    page.keyboard.press("+")
    page.keyboard.press("l")
    page.keyboard.press("Enter")
    _wait_sequence(page, s1)
    page.wait_for_function("() => document.getElementById('progress-count').dataset.done === '1'")

    # Sequence 2: select its box with Tab, move it right 3 steps with Alt+arrows (saved after a pause).
    page.keyboard.press("Tab")
    page.wait_for_selector("#boxes .box.selected")
    for _ in range(3):
        page.keyboard.press("Alt+ArrowRight")
    page.wait_for_function("() => document.getElementById('status').textContent.length > 0", timeout=5000)
    page.wait_for_function("() => /Box saved/.test(document.getElementById('status').textContent)", timeout=5000)
    _shot(page, "2_box_moved", backend)
    # Mark it blank (b), then undo (u): it comes back, unreviewed.
    page.keyboard.press("b")
    _wait_sequence(page, s2)
    page.keyboard.press("u")
    _wait_sequence(page, s1)
    page.wait_for_function("() => /Undone/.test(document.getElementById('status').textContent)")
    # The help overlay lists the shortcuts.
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    assert page.locator("#help kbd", has_text="Alt+arrows").count() == 1
    _shot(page, "3_help", backend)
    page.keyboard.press("Escape")
    assert not page.locator("#help").is_visible()

    # Switch the language to Vietnamese.
    page.click("#lang-vi")
    page.wait_for_function("() => document.documentElement.lang === 'vi'")
    _wait_sequence(page, s1, errors)  # the queue restarts at the first unreviewed sequence
    assert "Phím tắt" in page.content() and "Chấp nhận" in page.locator("#btn-accept").inner_text()
    _shot(page, "4_vietnamese", backend)
    assert errors == []

    with session_scope(e2e_db) as s:
        obs = s.exec(select(Observation).where(Observation.sequence_id == s0)).all()
        assert [(o.taxon_id, o.count, o.life_stage, o.classified_by, o.observation_level, o.classification_method)
                for o in obs] == [(rd.taxa["muntjac"].id, 2, "adult", "bio", "event", "human")]
        assert s.get(Sequence, s0).review_status == "reviewed"
        assert s.get(Sequence, s1).review_status == "unreviewed"
        assert s.exec(select(Observation).where(Observation.sequence_id == s1)).all() == []
        det = s.get(Detection, rd.detections[rd.media[s1][0].id][0].id)
        assert det.bbox_x == pytest.approx(0.13) and det.extra["original_bbox"][0] == pytest.approx(0.1)
        assert s.exec(select(User).where(User.username == "bio")).one().language == "vi"
    ctx.close()


@pytest.mark.parametrize("e2e_db", ["sqlite"], indirect=True)  # the pages' SQL is covered on both by test_web_pages
def test_manager_map_and_calendar_in_the_browser(server, browser, e2e_db):
    from server.db import session_scope
    from server.models import Transect

    base, app, rd = server
    backend = "sqlite"
    with session_scope(e2e_db) as s:
        s.add(Transect(area_id=rd.area.id, name="T1", geometry={
            "type": "LineString", "coordinates": [[106.295, 17.495], [106.31, 17.52], [106.32, 17.51]]}))
    ctx = browser.new_context(viewport={"width": 1200, "height": 800})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/login")
    page.fill("#username", "manager")
    page.fill("#password", "password123")
    page.press("#password", "Enter")
    page.wait_for_url(base + "/")
    page.click(".overview-link")
    page.wait_for_selector("#deployments")
    _shot(page, "5_overview", backend)
    page.goto(base + f"/areas/{rd.area.id}/map")
    try:
        page.wait_for_function("() => document.getElementById('map').dataset.ready", timeout=10000)
    except Exception:
        raise AssertionError(f"the map did not draw; page errors {errors}") from None
    ready = page.locator("#map").get_attribute("data-ready")
    from server.web.manager_pages import leaflet_installed

    assert ready == ("leaflet" if leaflet_installed() else "svg")
    assert page.locator("#map").get_attribute("data-features") == "2"  # the station and the transect
    _shot(page, "6_map", backend)
    page.goto(base + f"/areas/{rd.area.id}/calendar")
    assert page.locator("#timeline g.deployment").count() == 1
    _shot(page, "7_calendar", backend)
    assert errors == []
    ctx.close()


@pytest.mark.parametrize("e2e_db", ["sqlite"], indirect=True)
def test_sound_review_with_the_keyboard(server, browser, e2e_db):
    from server.db import session_scope
    from server.models import Detection

    base, app, rd = server
    m, d = add_recording(app, MiniWorld(app), rd)
    ctx = browser.new_context(viewport={"width": 1300, "height": 800})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/login?next=/sound")
    page.fill("#username", "bio")
    page.fill("#password", "password123")
    page.press("#password", "Enter")
    page.wait_for_url(base + "/sound")
    page.click("text=REC_0001.WAV")
    page.wait_for_function("() => document.getElementById('spectrogram').naturalWidth > 0")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")  # the WAV loads
    assert page.evaluate("document.getElementById('player').duration") == pytest.approx(4.0, abs=0.05)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("v")
    page.wait_for_function("() => document.querySelector('.spectro .box').classList.contains('verified')")
    _shot(page, "8_sound", "sqlite")
    assert errors == []
    with session_scope(e2e_db) as s:
        assert s.get(Detection, d.id).review_status == "verified"
    ctx.close()

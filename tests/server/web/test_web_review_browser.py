"""Issue 12 in the browser (headless Debian chromium through Playwright, a real ``saola serve``, SQLite
and PostgreSQL): the demo's photos reviewed without a detector, the confidence triage with its
preview, local times, the labelled state in the detections export, the progress counter after
undo, and the help overlay and species chips at laptop sizes. Screenshots go to test-artifacts/.

Select them with ``-k "browser and (demo or triage or local or export or undo or overlay)"``."""
from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from sqlmodel import select

from test_web_e2e import _shot, _wait_sequence, browser, e2e_db, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _backend(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def _page(browser, base, path, size=(1400, 900), user="bio"):  # noqa: F811 - the fixture's value
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="en-US")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", "password123")
    page.press("#password", "Enter")
    page.wait_for_url(base + "/")
    page.goto(base + path)
    return ctx, page, errors


def _done(page) -> str:
    return page.locator("#progress-count").get_attribute("data-done")


def test_browser_demo_reviewed_without_a_detector(server, browser, e2e_db):  # noqa: F811
    """The demo's camera photos (server/ingest/demo.py, what `saola demo` ingests), no detector:
    the page says so and every sequence is labelled by hand (species search, blank, human)."""
    from server.db import session_scope
    from server.demo import SAMPLE_MEDIA
    from server.ingest.demo import ingest_demo_media
    from server.models import Detection, Media, Observation, Program, Sequence

    base, app, rd = server
    backend = _backend(e2e_db)
    with session_scope(e2e_db) as s:
        program = Program(area_id=rd.area.id, name="Camera traps 2026", protocol="camera-trap", season="2026")
        s.add(program)
        s.flush()
        program_id = program.id
    rep = ingest_demo_media(app, {"program_id": program_id}, SAMPLE_MEDIA)
    assert rep["sequences"] == 3
    ctx, page, errors = _page(browser, base, f"/review?program_id={program_id}")
    page.wait_for_selector("#progress-count")
    assert page.locator("#progress-count").get_attribute("data-total") == "3"
    page.wait_for_function("() => !document.getElementById('detector-note').hidden")
    assert "No detector has run on these photos" in page.locator("#detector-note").inner_text()
    page.wait_for_function("() => document.getElementById('image').naturalWidth > 0")
    assert page.locator("#boxes .box").count() == 0
    _assert_framed(page, "#detector-note")
    _shot(page, "demo_1_no_detector", backend)
    with session_scope(e2e_db) as s:
        order = [q.id for q in s.exec(select(Sequence).where(Sequence.deployment_id == rep["deployment_id"])
                                      .order_by(Sequence.event_start, Sequence.id))]
    _wait_sequence(page, order[0], errors)
    # 1: search the species by its Vietnamese name without diacritics, accept with Enter.
    page.keyboard.press("s")
    page.keyboard.type("sao la")
    page.wait_for_selector("#species-picker .choices li")
    page.keyboard.press("Enter")
    page.wait_for_function("() => /Pseudoryx/.test(document.getElementById('chosen').textContent)")
    page.keyboard.press("Enter")
    _wait_sequence(page, order[1], errors)
    # 2: blank.
    page.keyboard.press("b")
    _wait_sequence(page, order[2], errors)
    # 3: a person (observation type human), no species needed.
    page.keyboard.press("a")
    assert page.locator("#otype").input_value() == "human"
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('progress-count').dataset.done === '3'")
    _shot(page, "demo_2_all_reviewed", backend)
    assert errors == []
    ctx.close()
    with session_scope(e2e_db) as s:
        assert s.exec(select(Detection).join(Media, Media.id == Detection.media_id)
                      .where(Media.deployment_id == rep["deployment_id"])).all() == []  # no detector ran
        got = {}
        for sid in order:
            obs = s.exec(select(Observation).where(Observation.sequence_id == sid)).all()
            got[sid] = [(o.observation_type, o.classified_by) for o in obs]
        assert got == {order[0]: [("animal", "bio")], order[1]: [("blank", "bio")], order[2]: [("human", "bio")]}
        assert [s.get(Sequence, sid).review_status for sid in order] == ["reviewed", "blank", "reviewed"]


def test_browser_triage_with_its_preview_apply_and_undo(server, browser, e2e_db):  # noqa: F811
    from server.db import session_scope
    from server.models import Sequence

    base, app, rd = server
    backend = _backend(e2e_db)
    s1, s3 = rd.sequences[1].id, rd.sequences[3].id
    ctx, page, errors = _page(browser, base, f"/review?program_id={rd.program.id}")
    page.wait_for_selector("#progress-count")
    page.click("#triage summary")
    page.fill("#triage-threshold", "0.5")
    assert page.locator("#triage-apply").is_disabled()
    page.click("#triage-preview")
    page.wait_for_function("() => document.getElementById('triage-summary').dataset.sequences === '2'")
    summary = page.locator("#triage-summary").inner_text()
    assert "2 sequences (4 media)" in summary and "1 unreviewed sequences no detector has processed" in summary
    figs = page.locator("#triage-sample figure")
    assert figs.count() == 2
    assert [figs.nth(i).get_attribute("data-sequence-id") for i in range(2)] == [s1, s3]
    page.wait_for_function("() => [...document.querySelectorAll('#triage-sample img')].every(i => i.naturalWidth > 0)")
    assert page.locator("#triage-sample img").count() == 4
    assert "0.40" in figs.nth(0).inner_text() and "+07" in figs.nth(0).inner_text()
    _shot(page, "triage_1_preview", backend)
    page.click("#triage-apply")
    page.wait_for_function("() => /Marked 2 sequences blank/.test(document.getElementById('triage-summary').textContent)")
    page.wait_for_function("() => document.getElementById('progress-count').dataset.done === '2'")
    _shot(page, "triage_2_applied", backend)
    with session_scope(e2e_db) as s:
        assert [s.get(Sequence, x).review_status for x in (s1, s3)] == ["blank", "blank"]
    page.click("#triage-undo")
    page.wait_for_function("() => /Restored 2 sequences/.test(document.getElementById('triage-summary').textContent)")
    assert _done(page) == "0"
    assert errors == []
    ctx.close()
    with session_scope(e2e_db) as s:
        assert [s.get(Sequence, x).review_status for x in (s1, s3)] == ["unreviewed", "unreviewed"]


def test_browser_local_times_shown(server, browser, e2e_db):  # noqa: F811
    from server.db import session_scope
    from server.models import Media

    base, app, rd = server
    m0 = rd.media[rd.sequences[0].id][0]
    with session_scope(e2e_db) as s:
        s.get(Media, m0.id).captured_at_raw = datetime(2026, 3, 1, 12, 59, 40)  # the camera's clock ran slow
    ctx, page, errors = _page(browser, base, f"/review?deployment_id={rd.deployment.id}")
    _wait_sequence(page, rd.sequences[0].id, errors)
    # Stored 06:00 UTC, deployment in Vietnam: 13:00 +07, the camera's own reading on hover.
    assert "2026-03-01 13:00:00 +07" in page.locator("#seq-title").inner_text()
    t = page.locator("#media-time")
    assert t.inner_text().startswith("2026-03-01 13:00:00 +07")
    assert t.get_attribute("title") == "Camera clock: 2026-03-01 12:59:40"
    assert t.get_attribute("datetime") == "2026-03-01T06:00:00+00:00"
    _shot(page, "local_1_review", _backend(e2e_db))
    page.goto(base + "/alerts?all=1")
    page.goto(base + f"/areas/{rd.area.id}/field")
    assert "UTC" not in page.content()
    assert errors == []
    ctx.close()


def test_browser_labelled_state_in_the_detections_export(server, browser, e2e_db):  # noqa: F811
    base, app, rd = server
    s0 = rd.sequences[0]
    ctx, page, errors = _page(browser, base, f"/review?deployment_id={rd.deployment.id}")
    _wait_sequence(page, s0.id, errors)
    page.keyboard.press("Enter")  # accept the suggestion (saola) for the whole sequence
    _wait_sequence(page, rd.empty_sequence.id, errors)
    resp = page.request.get(base + f"/api/v1/deployments/{rd.deployment.id}/detections.csv")
    assert resp.status == 200
    rows = list(csv.DictReader(io.StringIO(resp.text())))
    mine = [r for r in rows if r["media_id"] in {m.id for m in rd.media[s0.id]}]
    assert len(mine) == 2
    assert {(r["review_status"], r["accepted_label"], r["reviewed_by"]) for r in mine} == \
        {("verified", "Pseudoryx nghetinhensis", "bio")}
    others = [r for r in rows if r["media_id"] not in {m.id for m in rd.media[s0.id]}]
    assert others and {r["review_status"] for r in others} == {"unreviewed"}
    assert errors == []
    ctx.close()


def test_browser_fixes_undo_counter_help_overlay_and_chips(server, browser, e2e_db):  # noqa: F811
    base, app, rd = server
    backend = _backend(e2e_db)
    ctx, page, errors = _page(browser, base, f"/review?deployment_id={rd.deployment.id}", size=(1366, 768))
    _wait_sequence(page, rd.sequences[0].id, errors)
    page.wait_for_function("() => document.querySelectorAll('#shortcuts li').length === 2")
    page.wait_for_selector("#progress-count")
    # At 768 px high the filters and counters pushed the photo half below the fold: the page now
    # brings the sequence's title, the whole photo and the label panel's Accept into the window.
    page.wait_for_function("() => document.getElementById('image').naturalWidth > 0")
    _assert_framed(page, "#seq-title")
    page.screenshot(path=str(_artifacts() / f"review_{backend}_fix_framed_1366.png"))
    # The counter follows an undo at once (it waited for the next 10-second refresh before).
    page.keyboard.press("Enter")
    _wait_sequence(page, rd.empty_sequence.id, errors)
    page.wait_for_function("() => document.getElementById('progress-count').dataset.done === '1'")
    page.keyboard.press("u")
    page.wait_for_function("() => /Undone/.test(document.getElementById('status').textContent)")
    assert _done(page) == "0"
    # Common-species chips at 1366 px: one line each, the whole name on hover.
    chips = page.evaluate("""() => [...document.querySelectorAll('#shortcuts li')].map(li => {
        const r = li.getBoundingClientRect(), k = li.querySelector('kbd').getBoundingClientRect();
        return {h: r.height, lh: parseFloat(getComputedStyle(li).lineHeight) || 20, top: r.top, ktop: k.top,
                title: li.title, right: r.right, panel: li.parentElement.getBoundingClientRect().right}; })""")
    assert len(chips) == 2
    for c in chips:
        assert c["h"] < 2 * c["lh"], chips          # not wrapped onto a second line
        assert c["right"] <= c["panel"] + 0.5, chips  # inside the panel
    assert chips[0]["top"] == chips[1]["top"]        # side by side
    assert chips[0]["title"] == "Saola (Pseudoryx nghetinhensis)"
    page.screenshot(path=str(_artifacts() / f"review_{backend}_fix_chips_1366.png"))
    # The help overlay opens at its top (title and close button in view) at 1366x768 and 1400x900.
    for w, h in ((1366, 768), (1400, 900)):
        page.set_viewport_size({"width": w, "height": h})
        page.keyboard.press("?")
        page.wait_for_selector("#help:not([hidden])")
        box = page.evaluate("""() => { const t = document.getElementById('help-title').getBoundingClientRect(),
            c = document.getElementById('help-card').getBoundingClientRect(),
            b = document.getElementById('help-close').getBoundingClientRect();
            return {title: t.top, card: c.top, bottom: c.bottom, close: b.top, closeBottom: b.bottom,
                    scroll: document.getElementById('help-card').scrollTop, vh: innerHeight}; }""")
        assert box["card"] >= 0 and box["bottom"] <= box["vh"], box
        assert box["title"] >= box["card"] and box["scroll"] == 0, box
        assert 0 <= box["close"] and box["closeBottom"] <= box["vh"], box
        assert page.locator("#help-title").is_visible() and page.locator("#help-close").is_visible()
        page.screenshot(path=str(_artifacts() / f"review_{backend}_fix_help_{w}x{h}.png"))
        page.keyboard.press("Escape")
        assert not page.locator("#help").is_visible()
    assert errors == []
    ctx.close()


def _assert_framed(page, top_selector: str) -> None:
    """``top_selector``, the whole photo and the Accept button are inside the window (no scrolling needed)."""
    page.wait_for_function("() => scrollY > 0")  # brought up once, when the first sequence was shown
    r = page.evaluate("""sel => { const box = q => document.querySelector(q).getBoundingClientRect();
        const t = box(sel), i = box('#image'), a = box('#btn-accept');
        return {top: t.top, img_top: i.top, img_bottom: i.bottom, img_h: i.height, accept: a.bottom, vh: innerHeight}; }""",
                      top_selector)
    assert 0 <= r["top"] < r["img_top"], r
    assert r["img_h"] > 200 and r["img_bottom"] <= r["vh"] and r["accept"] <= r["vh"], r


def _artifacts():
    from test_web_e2e import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS

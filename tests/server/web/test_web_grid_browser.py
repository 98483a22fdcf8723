"""Issue 12, items 2 and 6, in the browser (headless Debian chromium through Playwright, a real
``saola serve``, SQLite and PostgreSQL): a grid page selected with shift-click and the keyboard,
labelled in bulk and undone; drag-select in sequence mode and a bulk blank; the gallery filtered
by species and station, favourites; the species link of the overview page and a station of the map
opening the gallery. Screenshots at 1366x768 and 1920x1080 go to test-artifacts/.

Select them with ``-k "browser and (grid or bulk or gallery)"``."""
from __future__ import annotations

import pytest
from sqlmodel import select

from test_web_e2e import ARTIFACTS, browser, e2e_db, server  # noqa: F401 - fixtures
from test_web_review_browser import _backend, _page

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _shot(page, name: str, backend: str, full: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    w, h = page.viewport_size["width"], page.viewport_size["height"]
    page.screenshot(path=str(ARTIFACTS / f"grid_{backend}_{name}_{w}x{h}.png"), full_page=full)


def _tiles(page, n: int) -> None:
    page.wait_for_function("n => document.querySelectorAll('#grid .tile').length === n", arg=n, timeout=10000)
    page.wait_for_function("() => [...document.querySelectorAll('#grid .tile img')].every(i => i.complete && i.naturalWidth > 0)")


def _ids(page) -> list[str]:
    return page.evaluate("() => [...document.querySelectorAll('#grid .tile')].map(t => t.dataset.id)")


def _selected(page) -> list[str]:
    return page.evaluate("() => [...document.querySelectorAll('#grid .tile.selected')].map(t => t.dataset.id)")


def _status(page, pattern: str) -> None:
    page.wait_for_function("p => new RegExp(p).test(document.getElementById('status').textContent)", arg=pattern,
                           timeout=10000)


def test_browser_grid_shift_click_and_keyboard_selection_bulk_label_and_undo(server, browser, e2e_db):  # noqa: F811
    from server.db import session_scope
    from server.models import AuditLog, Observation, Sequence

    base, app, rd = server
    backend = _backend(e2e_db)
    ctx, page, errors = _page(browser, base, f"/review/grid?deployment_id={rd.deployment.id}", size=(1366, 768))
    _tiles(page, 9)  # 4 sequences of 2 photos and the one no detector ran on, all unreviewed
    ids = _ids(page)
    tiles = page.locator("#grid .tile")
    # Boxes are drawn on the thumbnails, scaled to the photo inside the tile.
    box = page.evaluate("""() => { const t = document.querySelector('#grid .tile'), f = t.querySelector('.frame'),
        b = t.querySelector('.box'); const fr = f.getBoundingClientRect(), br = b.getBoundingClientRect();
        return {x: (br.left - fr.left) / fr.width, y: (br.top - fr.top) / fr.height, w: br.width / fr.width}; }""")
    assert abs(box["x"] - 0.1) < 0.03 and abs(box["y"] - 0.2) < 0.03 and abs(box["w"] - 0.3) < 0.03, box
    assert "13:00:00 +07" in tiles.nth(0).locator("time").inner_text()
    # Mouse: click, then shift-click a range.
    tiles.nth(0).click()
    tiles.nth(3).click(modifiers=["Shift"])
    assert _selected(page) == ids[0:4]
    assert page.locator("#sel-count").get_attribute("data-n") == "4"
    _shot(page, "1_shift_click", backend)
    # Keyboard: shift+arrow extends from the anchor, Esc clears, Ctrl+A takes the page, Space toggles.
    page.keyboard.press("Shift+ArrowRight")
    assert _selected(page) == ids[0:5]
    page.keyboard.press("Escape")
    assert _selected(page) == []
    page.keyboard.press("Control+a")
    assert _selected(page) == ids
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Space")
    assert _selected(page) == [ids[1], ids[3]]
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    assert _selected(page) == ids[1:4]
    page.keyboard.press("Shift+ArrowLeft")
    assert _selected(page) == ids[1:3]
    # Back to the shift-click range of four; a species with a count, labelled in bulk with Enter.
    tiles.nth(0).click()
    tiles.nth(3).click(modifiers=["Shift"])
    page.keyboard.press("s")
    page.keyboard.type("sao la")
    page.wait_for_selector("#bulk-species-picker .choices li")
    page.keyboard.press("Enter")
    page.wait_for_function("() => /Pseudoryx/.test(document.getElementById('bulk-chosen').textContent)")
    page.fill("#bulk-count", "2")
    page.locator("#grid").focus()
    _shot(page, "2_species_chosen", backend)
    page.keyboard.press("Enter")
    _status(page, "Labelled 4 as Saola")
    _tiles(page, 5)  # the labelled ones left the unreviewed page
    assert _ids(page) == ids[4:]
    with session_scope(e2e_db) as s:
        obs = s.exec(select(Observation).where(Observation.media_id.in_(ids[:4]))).all()
        assert sorted((o.media_id, o.count, o.classified_by, o.observation_level) for o in obs) == \
            sorted((i, 2, "bio", "media") for i in ids[:4])
        assert s.get(Sequence, rd.sequences[0].id).review_status == "reviewed"
        assert s.exec(select(AuditLog).where(AuditLog.entity == "review_action")).one().actor == "bio"
    page.set_viewport_size({"width": 1920, "height": 1080})
    _shot(page, "3_labelled", backend)
    # One undo brings all four back.
    page.keyboard.press("u")
    _status(page, "Undone: 4 restored")
    _tiles(page, 9)
    assert _ids(page) == ids
    with session_scope(e2e_db) as s:
        assert s.exec(select(Observation).where(Observation.media_id.in_(ids[:4]))).all() == []
        assert s.get(Sequence, rd.sequences[0].id).review_status == "unreviewed"
    # The selection state at full HD: a few selected tiles among the others, the bar at the bottom.
    tiles.nth(1).click()
    tiles.nth(2).click(modifiers=["Control"])
    tiles.nth(6).click(modifiers=["Control"])
    _shot(page, "4_selection", backend)
    bar = page.locator("#bulkbar").bounding_box()
    assert bar["y"] + bar["height"] <= 1080 + 1
    assert errors == []
    ctx.close()


def test_browser_grid_drag_select_in_sequence_mode_and_bulk_blank(server, browser, e2e_db):  # noqa: F811
    from server.db import session_scope
    from server.models import Sequence

    base, app, rd = server
    backend = _backend(e2e_db)
    ctx, page, errors = _page(browser, base, f"/review/grid?deployment_id={rd.deployment.id}&mode=sequence",
                              size=(1366, 768))
    _tiles(page, 5)
    ids = _ids(page)
    assert page.locator("#grid .tile .n").first.inner_text() == "2 images"
    # Drag a rectangle from the gap before the first tile into the third one.
    r0 = page.locator("#grid .tile").nth(0).bounding_box()
    r2 = page.locator("#grid .tile").nth(2).bounding_box()
    page.mouse.move(r0["x"] - 3, r0["y"] + 10)
    page.mouse.down()
    page.mouse.move(r0["x"] + 40, r0["y"] + 40, steps=4)
    page.mouse.move(r2["x"] + 20, r2["y"] + 30, steps=6)
    page.wait_for_selector("#lasso")
    _shot(page, "5_drag", backend)
    page.mouse.up()
    assert _selected(page) == ids[0:3]
    assert page.locator("#lasso").count() == 0
    page.keyboard.press("b")
    _status(page, "Marked 3 blank")
    _tiles(page, 2)
    with session_scope(e2e_db) as s:
        assert [s.get(Sequence, i).review_status for i in ids] == ["blank"] * 3 + ["unreviewed"] * 2
    page.keyboard.press("Control+z")
    _status(page, "Undone: 3 restored")
    _tiles(page, 5)
    assert errors == []
    ctx.close()


def _label_saola(app, db_url, rd):
    """A person's label of sequence 0 (so the species shows in the overview's inventory)."""
    from server.db import session_scope
    from server.models import User
    from server.review.actions import save_label

    with app.test_request_context(), session_scope(db_url) as s:
        from flask import g

        g.user = s.get(User, rd.users["biologist"].id)
        seq = s.get(type(rd.sequences[0]), rd.sequences[0].id)
        save_label(s, g.user, seq, rd.area.id, {"taxon_id": rd.taxa["saola"].id, "count": 1})


def test_browser_gallery_filtered_by_species_and_station_with_favourites(server, browser, e2e_db):  # noqa: F811
    from server.db import session_scope
    from server.models import Location, Media

    base, app, rd = server
    backend = _backend(e2e_db)
    _label_saola(app, e2e_db, rd)
    with session_scope(e2e_db) as s:  # a second station in the area, with a photo of its own
        from server.services.deployments import build_deployment

        other = build_deployment(s, s.get(type(rd.program), rd.program.id), {"deployment_start": rd.deployment.deployment_start},
                                 location={"name": "S02", "latitude": 17.6, "longitude": 106.4})
        m = s.exec(select(Media).where(Media.sequence_id == rd.sequences[3].id)).first()
        m.deployment_id = other.id
        s02 = other.location_id
        s01 = s.get(type(rd.deployment), rd.deployment.id).location_id
        assert s.get(Location, s02).name == "S02"
    ctx, page, errors = _page(browser, base, f"/gallery?area_id={rd.area.id}", size=(1366, 768))
    _tiles(page, 9)  # every photo of the area, reviewed or not
    assert page.locator("#f-status").input_value() == "any"
    # Species: typed in the filter chip, without diacritics.
    page.click("#f-species")
    page.keyboard.type("sao la")
    page.wait_for_selector("#f-species-picker .choices li")
    page.keyboard.press("Enter")
    with page.expect_navigation():
        page.click("#f-apply")
    saola = sorted(x.id for x in rd.media[rd.sequences[0].id])
    _tiles(page, 2)
    assert sorted(_ids(page)) == saola
    assert "on" in page.locator(".chip[data-field=taxon_id]").get_attribute("class")
    _shot(page, "6_gallery_species", backend)
    # Station: S02 holds one photo (of the muntjac sequence); the species chip removed with its ×.
    with page.expect_navigation():
        page.locator(".chip[data-field=taxon_id] .unset").click()
    _tiles(page, 9)
    page.select_option("#f-station", s02)
    with page.expect_navigation():
        page.click("#f-apply")
    _tiles(page, 1)
    assert page.locator("#grid .tile .where").inner_text().startswith("S02")
    page.select_option("#f-station", s01)
    with page.expect_navigation():
        page.click("#f-apply")
    _tiles(page, 8)
    # Favourites: two photos starred with f, then the favourites chip.
    tiles = page.locator("#grid .tile")
    tiles.nth(0).click()
    tiles.nth(1).click(modifiers=["Shift"])
    page.keyboard.press("f")
    _status(page, "Added 2 to the favourites")
    page.wait_for_function("() => document.querySelectorAll('#grid .tile .star').length === 2")
    page.check("#f-favorite")
    with page.expect_navigation():
        page.click("#f-apply")
    _tiles(page, 2)
    _shot(page, "7_gallery_favourites", backend)
    page.set_viewport_size({"width": 1920, "height": 1080})
    _shot(page, "7_gallery_favourites", backend)
    with session_scope(e2e_db) as s:
        favs = s.exec(select(Media).where(Media.favorite.is_(True))).all()
        assert len(favs) == 2 and {m.favorite_by for m in favs} == {"bio"}
    assert errors == []
    ctx.close()


def test_browser_gallery_opens_from_the_overview_species_and_the_map_station(server, browser, e2e_db):  # noqa: F811
    base, app, rd = server
    backend = _backend(e2e_db)
    _label_saola(app, e2e_db, rd)
    ctx, page, errors = _page(browser, base, f"/areas/{rd.area.id}/overview", size=(1366, 768), user="manager")
    link = page.locator(f"#species tr[data-taxon='{rd.taxa['saola'].id}'] a.species-photos")
    link.click()
    page.wait_for_url(lambda u: "/gallery?" in u and f"taxon_id={rd.taxa['saola'].id}" in u)
    _tiles(page, 2)
    assert sorted(_ids(page)) == sorted(x.id for x in rd.media[rd.sequences[0].id])
    assert "Pseudoryx" in page.locator("#f-species").input_value()
    _shot(page, "8_from_overview", backend)
    # The map: a station's popup links to its photos.
    page.goto(base + f"/areas/{rd.area.id}/map")
    page.wait_for_function("() => document.getElementById('map').dataset.ready")
    if page.evaluate("document.getElementById('map').dataset.ready") == "leaflet":
        page.locator("#map path.leaflet-interactive").first.click()
    page.locator(".station-photos").first.click()
    page.wait_for_url(lambda u: "/gallery?" in u and "location_id=" in u)
    _tiles(page, 9)
    assert errors == []
    ctx.close()


def test_browser_grid_and_gallery_in_vietnamese_at_laptop_sizes(server, browser, e2e_db):  # noqa: F811
    """The walk-through's findings at 1366x768 and 1400x900 in Vietnamese (the longer labels): the bulk
    bar on one line with nothing untranslated in it, each tile's local time with its zone whole (it was
    cut to "S01 · 2026-03-01 13:00:0…"), the station on its own line, the camera clock on hover."""
    from datetime import datetime

    from server.db import session_scope
    from server.models import Media

    base, app, rd = server
    backend = _backend(e2e_db)
    m0 = rd.media[rd.sequences[0].id][0]
    with session_scope(e2e_db) as s:
        s.get(Media, m0.id).captured_at_raw = datetime(2026, 3, 1, 12, 59, 40)
    ctx, page, errors = _page(browser, base, "/", size=(1366, 768))
    with page.expect_navigation():
        page.click("#lang-vi")
    for path in (f"/review/grid?deployment_id={rd.deployment.id}", f"/gallery?area_id={rd.area.id}"):
        for w, h in ((1366, 768), (1400, 900)):
            page.set_viewport_size({"width": w, "height": h})
            page.goto(base + path)
            _tiles(page, 9)
            bar = page.evaluate("""() => { const b = document.getElementById('bulkbar');
                const tops = [...b.querySelectorAll('button, input, .count')].filter(e => e.offsetParent)
                    .map(e => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2));
                return {texts: [...b.querySelectorAll('button')].map(e => e.textContent.trim()),
                        rows: [...new Set(tops.map(t => Math.round(t / 12)))].length,
                        right: Math.max(...[...b.querySelectorAll('button')].map(e => e.getBoundingClientRect().right)),
                        vw: innerWidth}; }""")
            assert bar["rows"] == 1, (path, w, bar)          # one line: the buttons' middles on one row
            assert bar["right"] <= bar["vw"], (path, w, bar)
            assert "Gán loài" in bar["texts"][0] and any("Ảnh trống" in x for x in bar["texts"]), bar
            assert not any(x.split()[0] in ("Label", "Blank", "Human", "Vehicle", "Undo") for x in bar["texts"]), bar
            first = page.evaluate("""id => { const t = document.querySelector(`#grid .tile[data-id="${id}"]`),
                when = t.querySelector('time.when'), where = t.querySelector('.where');
                return {when: when.textContent, whole: when.scrollWidth <= when.clientWidth, title: when.title,
                        where: where.textContent, own: where.getBoundingClientRect().bottom <= when.getBoundingClientRect().top + 1}; }""",
                                  m0.id)
            assert first["when"] == "2026-03-01 13:00:00 +07" and first["whole"], first
            assert first["title"] == "Đồng hồ máy ảnh: 2026-03-01 12:59:40", first
            assert first["where"] == "S01" and first["own"], first
            _shot(page, "9_vi_" + path.split("?")[0].strip("/").replace("/", "_"), backend)
    assert errors == []
    ctx.close()

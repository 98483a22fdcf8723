"""Issue 13, items 5 and 8, in the browser (headless Debian chromium through Playwright, a real
``saola serve``, SQLite and PostgreSQL): a manager fills in a program's Camtrap DP metadata,
exports Camtrap DP from the exports page (refused first, next to the field, while the sampling
design is missing), follows the job to its download and the package validates against the
official Camtrap DP 1.0.2 schemas; the reports page's charts load and the Vietnamese PDF report
downloads. Screenshots at 1366x768 go to test-artifacts/.

Select them with ``-k "browser and manager"``."""
from __future__ import annotations

import io
import json
import zipfile

import pytest

from test_web_e2e import ARTIFACTS, browser, e2e_db, server  # noqa: F401 - fixtures
from test_web_review_browser import _backend, _page

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _shot(page, name: str, backend: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"exports_{backend}_{name}_1366x768.png"), full_page=False)


def test_browser_manager_exports_camtrap_dp_with_its_metadata_and_downloads_the_report(
        server, browser, e2e_db, tmp_path):  # noqa: F811
    from server.exports.validate import validate_camtrap_dp
    from server.jobs import drain

    base, app, rd = server
    backend = _backend(e2e_db)
    ctx, page, errors = _page(browser, base, f"/areas/{rd.area.id}/exports", size=(1366, 768), user="manager")
    assert page.locator("#nav-admin-exports").get_attribute("aria-current") == "page"
    # Camtrap DP of a program whose sampling design nobody stated: refused next to the field.
    page.select_option("#f-kind", "camtrap-dp")
    page.select_option("#f-program_id", rd.program.id)
    page.click("#start-export")
    assert "Fill in the Camtrap DP metadata" in page.locator("#err-program_id").inner_text()
    assert page.locator("#exports").count() == 0  # no job queued
    # The metadata form: a bad contributor role is refused next to the field, then saved.
    page.locator(f"#metadata tr[data-program='{rd.program.id}'] a.metadata-link").click()
    page.select_option("#f-sampling_design", "targeted")
    page.fill("#f-contributors", "Nguyễn Văn A; a@pnkb.vn; boss; PNKB")
    page.fill("#f-keywords", "camera traps, Annamites")
    page.fill("#f-citation", "PNKB (2026). Camera traps. Saola.")
    page.click("#save-metadata")
    assert "name; e-mail; role; organisation" in page.locator("#err-contributors").inner_text()
    page.fill("#f-contributors", "Nguyễn Văn A; a@pnkb.vn; principalInvestigator; PNKB\nPNKB National Park;;rightsHolder")
    _shot(page, "metadata", backend)
    page.click("#save-metadata")
    page.wait_for_url(f"{base}/areas/{rd.area.id}/exports")
    assert "Camtrap DP metadata of" in page.locator(".flash").first.inner_text()
    # The export, as a job: queued, run by a worker, its row updated live with the download.
    page.select_option("#f-kind", "camtrap-dp")
    page.select_option("#f-program_id", rd.program.id)
    page.click("#start-export")
    row = page.locator("#exports tbody tr").first
    assert row.get_attribute("data-status") == "queued"
    assert drain(app.config) >= 1
    page.wait_for_function("() => document.querySelector('#exports tbody tr').dataset.status === 'done'",
                           timeout=20000)
    _shot(page, "exports", backend)
    with page.expect_download() as dl:
        row.locator("[data-live=download]").click()
    pkg = tmp_path / "pkg"
    with zipfile.ZipFile(dl.value.path()) as z:
        z.extractall(pkg)
    assert validate_camtrap_dp(pkg) == []  # the official 1.0.2 profile and table schemas
    desc = json.loads((pkg / "datapackage.json").read_text())
    assert desc["project"]["samplingDesign"] == "targeted"
    assert desc["keywords"] == ["camera traps", "Annamites"]
    assert [c["role"] for c in desc["contributors"]] == ["principalInvestigator", "rightsHolder"]
    assert desc["bibliographicCitation"] == "PNKB (2026). Camera traps. Saola."

    # Reports: the analyses' charts load; the Vietnamese PDF report downloads.
    year = rd.deployment.deployment_start.year
    page.goto(f"{base}/areas/{rd.area.id}/reports?year={year}")
    page.wait_for_function("() => [...document.querySelectorAll('#charts img')].every(i => i.complete)")
    widths = page.evaluate("() => ['rai', 'diel-activity', 'species-accumulation'].map(n => "
                           "document.querySelector(`#charts figure[data-chart='${n}'] img`).naturalWidth)")
    assert all(w > 100 for w in widths), widths  # (occupancy and richness need records: the test below)
    _shot(page, "reports", backend)
    with page.expect_download(timeout=120000) as dl:
        page.click("#report-vi-pdf")
    pdf = dl.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    import pypdf

    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "Báo cáo" in text or "báo cáo" in text.lower(), text[:300]
    assert not [e for e in errors if "status of 422" not in e], errors  # 422: the refused forms above
    ctx.close()


def test_browser_manager_map_basemap_uploaded_and_served_from_mbtiles(server, browser, e2e_db, tmp_path):  # noqa: F811
    """Issue 13, item 6: the manager uploads an MBTiles file the test makes from the map page (a file
    that is not MBTiles is refused with the server's message), and the map draws its tiles, served by
    Saola's own tile route (no tile server on the internet)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from mbtiles_maker import make_mbtiles

    base, app, rd = server
    backend = _backend(e2e_db)
    tiles = make_mbtiles(tmp_path / "area.mbtiles", bounds=(106.2, 17.4, 106.4, 17.6), zooms=(11, 12, 13))
    bad = tmp_path / "notes.mbtiles"
    bad.write_bytes(b"not an sqlite file at all" * 10)
    ctx, page, errors = _page(browser, base, f"/areas/{rd.area.id}/map", size=(1366, 768), user="manager")
    assert "no background" in page.locator("#basemap-status").inner_text()
    page.set_input_files("#basemap-file", str(bad))
    page.click("#basemap-upload")
    page.wait_for_function("() => document.getElementById('basemap-status').dataset.state === 'error'")
    assert "SQLite" in page.locator("#basemap-status").inner_text() or "MBTiles" in page.locator(
        "#basemap-status").inner_text()
    page.set_input_files("#basemap-file", str(tiles))
    with page.expect_navigation():
        page.click("#basemap-upload")
    page.wait_for_function("() => document.getElementById('map').dataset.basemap === 'true'")
    page.wait_for_function("() => [...document.querySelectorAll('.basemap-tiles img')].some(i => i.complete && i.naturalWidth === 256)",
                           timeout=15000)
    srcs = page.evaluate("() => [...document.querySelectorAll('.basemap-tiles img')].map(i => i.src)")
    assert srcs and all(s.startswith(f"{base}/api/v1/areas/{rd.area.id}/basemap/") for s in srcs), srcs[:3]
    assert "zoom 11–13" in page.locator("#basemap-status").inner_text()
    # Stations coloured by effort, the legend with the same colours; the popup lists species as text.
    fill = page.evaluate("() => document.querySelector('path.leaflet-interactive[fill]:not([fill=\"none\"])')"
                         "?.getAttribute('fill')")
    legend = page.evaluate("() => [...document.querySelectorAll('#map-legend .dot')].map(d => d.style.backgroundColor)")
    assert len(legend) == 4 and fill, (fill, legend)
    import re

    rgb = "rgb(%d, %d, %d)" % tuple(int(fill[i:i + 2], 16) for i in (1, 3, 5))
    assert rgb in legend, (rgb, legend)
    assert re.match(r"^#[0-9a-f]{6}$", fill)
    _shot(page, "map_basemap", backend)
    assert not [e for e in errors if "status of 4" not in e], errors  # 4xx: the refused file, tiles outside
    ctx.close()


def test_browser_manager_map_popup_last_photos_and_rai_colours(server, browser, e2e_db):  # noqa: F811
    """Issue 13, item 6: a station's popup lists its last photos (thumbnails from the review pages'
    image route, built as DOM nodes) beside its species; the stations can be coloured by the RAI of a
    chosen species instead of effort, the legend matching the markers; in English and Vietnamese."""
    from datetime import timedelta

    from server.db import session_scope
    from server.models import Observation
    from webdata import T0

    base, app, rd = server
    backend = _backend(e2e_db)
    with session_scope(e2e_db) as s:
        for minutes in (0, 200):
            s.add(Observation(deployment_id=rd.deployment.id, event_start=T0 + timedelta(minutes=minutes),
                              event_end=T0 + timedelta(minutes=minutes), taxon_id=rd.taxa["saola"].id,
                              classified_by="bio"))
    for lang in ("en", "vi"):
        ctx, page, errors = _page(browser, base, f"/areas/{rd.area.id}/map", size=(1366, 768), user="manager")
        if lang == "vi":
            with page.expect_navigation():
                page.click("#lang-vi")
            page.goto(f"{base}/areas/{rd.area.id}/map")
            assert page.evaluate("document.documentElement.lang") == "vi"
        page.wait_for_function("() => document.getElementById('map').dataset.ready === 'leaflet'")
        marker = page.locator("path.leaflet-interactive").first
        marker.click()
        page.wait_for_function("() => document.querySelector('.station-photos-list')?.dataset.state === 'done'",
                               timeout=15000)
        page.wait_for_function("() => [...document.querySelectorAll('.station-photos-list img')]"
                               ".every(i => i.complete && i.naturalWidth > 0)", timeout=15000)
        srcs = page.evaluate("() => [...document.querySelectorAll('.station-photos-list img')].map(i => i.src)")
        assert len(srcs) == 6 and all("/review/media/" in u and u.endswith("/thumb.jpg") for u in srcs), srcs
        assert "Pseudoryx nghetinhensis" in page.locator(".leaflet-popup-content").inner_text()
        _shot(page, f"map_popup_{lang}", backend)
        page.keyboard.press("Escape")
        # Coloured by the RAI of the saola: marker and legend share the colour; the legend says so.
        page.select_option("#map-colour", "Pseudoryx nghetinhensis")
        page.wait_for_function("() => document.getElementById('map').dataset.colourBy === 'Pseudoryx nghetinhensis'")
        fill = page.evaluate("() => document.querySelector('path.leaflet-interactive[fill]:not([fill=\"none\"])')"
                             ".getAttribute('fill')")
        legend = page.evaluate("() => [...document.querySelectorAll('#map-legend .dot')].map(d => d.style.backgroundColor)")
        rgb = "rgb(%d, %d, %d)" % tuple(int(fill[i:i + 2], 16) for i in (1, 3, 5))
        assert fill == "#2171b5" and rgb in legend, (fill, legend)  # 2 events / 30 trap-nights = 6.67: 5-19.9
        title = page.locator("#map-legend-title").inner_text()
        assert ("RAI" in title) and "Pseudoryx nghetinhensis" in title
        labels = page.locator("#map-legend").inner_text()
        assert ("19,9" in labels) if lang == "vi" else ("19.9" in labels), labels
        marker.click()
        page.wait_for_selector(".leaflet-popup-content")
        text = page.locator(".leaflet-popup-content").inner_text()
        assert ("6,67" in text) if lang == "vi" else ("6.67" in text), text
        page.wait_for_timeout(400)  # the popup's fade-in
        page.screenshot(path=str(ARTIFACTS / f"exports_{backend}_map_rai_{lang}_full.png"), full_page=True)
        page.select_option("#map-colour", "")
        page.wait_for_function("() => document.getElementById('map').dataset.colourBy === 'effort'")
        assert page.evaluate("() => document.querySelectorAll('#map-legend .dot').length") == 4
        assert not errors, errors
        ctx.close()


def test_browser_manager_reports_occupancy_overlap_and_richness_charts(server, browser, e2e_db):  # noqa: F811
    """Issue 13, items 5 and 8: with a season of records at five stations, the reports page draws the
    occupancy, richness and activity overlap charts (the overlap's species chosen on the page) beside
    RAI, activity and accumulation, in English and Vietnamese; a year without records says why a
    chart cannot be drawn instead of showing a broken image."""
    from datetime import timedelta

    from server.db import session_scope
    from server.models import Deployment, Observation, Program
    from server.services.deployments import build_deployment
    from webdata import T0

    base, app, rd = server
    backend = _backend(e2e_db)
    saola, muntjac = rd.taxa["saola"], rd.taxa["muntjac"]
    with session_scope(e2e_db) as s:
        prog = s.get(Program, rd.program.id)
        deps = [s.get(Deployment, rd.deployment.id)]
        for i in range(2, 6):
            deps.append(build_deployment(s, prog, {"deployment_start": T0 - timedelta(days=10),
                                                   "deployment_end": T0 + timedelta(days=20)},
                                         location={"name": f"S0{i}", "latitude": 17.5 + 0.01 * i, "longitude": 106.3}))
        plan = {saola.id: {0: (-8, -1, 6, 13), 1: (-5, 10), 2: (2,)},  # station index: days from T0
                muntjac.id: {1: (-3, 4, 15), 3: (0, 8), 4: (12,)}}
        for taxon_id, stations in plan.items():
            hour = 12 if taxon_id == saola.id else 2  # the saola at night (+07), the muntjac by day
            for k, days in stations.items():
                for n, day in enumerate(days):
                    at = T0.replace(hour=hour, minute=0) + timedelta(days=day, hours=(3 * n + 2 * k) % 7 - 3,
                                                                     minutes=17 * n)
                    s.add(Observation(deployment_id=deps[k].id, event_start=at, event_end=at, taxon_id=taxon_id,
                                      classified_by="bio"))
    year = T0.year

    def charts_loaded(page) -> dict:
        figures = page.locator("#charts figure")
        for i in range(figures.count()):  # lazy images load once seen
            figures.nth(i).scroll_into_view_if_needed()
        page.wait_for_function("() => [...document.querySelectorAll('#charts figure')].every(f => f.dataset.state)",
                               timeout=60000)
        return page.evaluate("() => Object.fromEntries([...document.querySelectorAll('#charts figure')].map("
                             "f => [f.dataset.chart, [f.dataset.state, f.querySelector('img').naturalWidth, "
                             "f.querySelector('img').getAttribute('src'), f.querySelector('.chart-error').textContent]]))")

    ctx, page, errors = _page(browser, base, f"/areas/{rd.area.id}/reports?year={year}", size=(1366, 768),
                              user="manager")
    assert page.locator("#f-species-a").input_value() == "Pseudoryx nghetinhensis"  # recorded most
    assert page.locator("#f-species-b").input_value() == "Muntiacus vuquangensis"
    got = charts_loaded(page)
    assert set(got) == {"rai", "diel-activity", "species-accumulation", "occupancy", "richness", "overlap"}
    assert all(state == "done" and width > 300 for state, width, _src, _e in got.values()), {k: (v[0], v[1], v[3]) for k, v in got.items() if v[0] != "done" or v[1] <= 300}
    assert "occasion_length=7" in got["occupancy"][2] and "species_b=Muntiacus+vuquangensis" in got["overlap"][2]
    _shot(page, "reports_charts_en", backend)
    page.locator('#charts figure[data-chart="occupancy"]').scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"exports_{backend}_reports_charts_en_full.png"), full_page=True)
    # In Vietnamese: the charts are drawn in the page's language; the overlap's pair chosen on the page.
    with page.expect_navigation():
        page.click("#lang-vi")
    page.goto(f"{base}/areas/{rd.area.id}/reports?year={year}")
    page.select_option("#f-species-a", "Muntiacus vuquangensis")
    page.select_option("#f-species-b", "Pseudoryx nghetinhensis")
    with page.expect_navigation():
        page.click("#report-scope button[type=submit]")
    got = charts_loaded(page)
    assert all(state == "done" for state, *_rest in got.values()), got
    assert all("lang=vi" in src for _s, _w, src, _e in got.values())
    assert "species=Muntiacus+vuquangensis&species_b=Pseudoryx+nghetinhensis" in got["overlap"][2]
    page.screenshot(path=str(ARTIFACTS / f"exports_{backend}_reports_charts_vi_full.png"), full_page=True)
    # A year without records: the occupancy chart says why it cannot be drawn (no broken image).
    page.goto(f"{base}/areas/{rd.area.id}/reports?year={year - 1}")
    got = charts_loaded(page)
    assert "overlap" not in got  # no two recorded species to choose from
    state, _w, _src, message = got["occupancy"]
    assert state == "error" and message.startswith("Không thể vẽ biểu đồ này cho năm này:") and len(message) > 40
    assert page.locator('#charts figure[data-chart="occupancy"] img').is_hidden()
    assert not [e for e in errors if "status of 422" not in e], errors
    ctx.close()

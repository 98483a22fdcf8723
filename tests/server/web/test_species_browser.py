"""Issue 13, item 7, in the browser (headless Debian chromium through Playwright, SQLite and
PostgreSQL): after `saola init` (the real command, as an installer runs it) a real `saola serve`
shows the administrator the species reference page: several hundred taxa, higher taxa for partial
identifications, the IUCN, Vietnam Red Data Book 2007 and Decree 84 columns filled as the shipped
reference has them (Muntiacus vuquangensis: CR, EN, IB), found by a Vietnamese name typed without
diacritics; filters checked on the server; in Vietnamese and English. Screenshots at 1366x768 go
to test-artifacts/. Select it with ``-k "browser and admin"``."""
from __future__ import annotations

import csv
import os
import subprocess

import pytest

from saola_server import saola_command, serving

from test_web_e2e import ARTIFACTS, REPO, browser, e2e_db  # noqa: F401 - fixtures
from test_web_review_browser import _backend

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REFERENCE = REPO / "protocols" / "species" / "vn_reference.csv"
PASSWORD = "reference-check-2026"




@pytest.fixture
def initialised_server(e2e_db, tmp_path):  # noqa: F811 - the fixture
    """`saola init --admin` on an empty database, then `saola serve`; the base url."""
    env = {**os.environ, "SAOLA_DATABASE_URL": e2e_db, "SAOLA_DATA_DIR": str(tmp_path / "data"),
           "SAOLA_SECRET_KEY": "e2e-secret", "SAOLA_WORKER": "external", "SAOLA_LANGUAGE": "vi",
           "SAOLA_LOG_LEVEL": "WARNING"}
    init = subprocess.run(saola_command() + ["init", "--admin", "admin", "--password", PASSWORD], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert init.returncode == 0, init.stdout + init.stderr
    assert "species reference:" in init.stdout + init.stderr
    with serving(env, tmp_path / "serve.log", REPO) as base:
        yield base


def _cells(page, column: str) -> list[str]:
    return page.evaluate(f"() => [...document.querySelectorAll('#species tbody td.{column}')].map(td => td.textContent.trim())")


def test_browser_admin_species_reference_after_saola_init(initialised_server, browser, e2e_db):  # noqa: F811
    base = initialised_server
    backend = _backend(e2e_db)
    with REFERENCE.open(encoding="utf-8", newline="") as f:
        reference = {r["scientific_name"]: r for r in csv.DictReader(f)}
    assert len(reference) >= 300
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base + "/login")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(base + "/")
    page.goto(base + "/admin")
    page.click("#nav-admin-species")  # the administration menu leads to it
    page.wait_for_selector("#species")
    assert page.evaluate("document.documentElement.lang") == "vi"
    # Every taxon of the shipped reference, with the columns filled as the reference has them.
    names = page.evaluate("() => [...document.querySelectorAll('#species tbody tr')].map(tr => tr.dataset.taxon)")
    assert sorted(names) == sorted(reference)
    assert f"{len(reference)} trên {len(reference)} taxon" in page.locator("#species-count").inner_text()
    for column, key in (("iucn-cell", "iucn_category"), ("rdb", "vn_redlist_category"), ("decree84", "decree84_group"),
                        ("cites", "cites_appendix")):
        shown = dict(zip(names, _cells(page, column)))
        assert shown == {n: reference[n][key] for n in names}, column
        assert sum(1 for v in shown.values() if v) >= 20, column  # filled where they apply, not empty columns
    row = page.locator('#species tr[data-taxon="Muntiacus vuquangensis"]')
    assert [row.locator(f"td.{c}").inner_text().strip() for c in ("iucn-cell", "rdb", "decree84", "cites")] == \
        ["CR", "EN", "IB", "I"]
    assert "Mang lớn" in row.inner_text() and "loài" in row.inner_text()
    ranks = set(page.evaluate("() => [...document.querySelectorAll('#species tbody tr')].map(tr => tr.dataset.rank)"))
    assert {"species", "genus", "family", "order", "class"} <= ranks  # higher taxa for partial identifications
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"species_{backend}_reference_vi_1366x768.png"))
    # A Vietnamese name typed without its diacritics finds the muntjac; the threatened or protected species.
    page.fill("#f-q", "mang lon")
    page.click("#filter-species")
    page.wait_for_selector('#species tr[data-taxon="Muntiacus vuquangensis"]')
    page.goto(base + "/species?rank=species&status=listed")
    got = page.evaluate("() => [...document.querySelectorAll('#species tbody tr')].map(tr => [tr.dataset.taxon, tr.dataset.rank])")
    assert got and all(r == "species" for _n, r in got)
    assert {n for n, _r in got} == {n for n, r in reference.items() if r["rank"] == "species" and (
        r["iucn_category"] in ("CR", "EN", "VU") or r["vn_redlist_category"] or r["decree84_group"] or r["cites_appendix"])}
    # A value the page does not offer is refused next to its field.
    resp = page.goto(base + "/species?rank=tribe")
    assert resp.status == 400 and "Hãy chọn một bậc phân loại" in page.locator("#err-rank").inner_text()
    # In English.
    with page.expect_navigation():
        page.click("#lang-en")
    page.goto(base + "/species?q=Nesolagus")
    assert page.evaluate("document.documentElement.lang") == "en"
    row = page.locator('#species tr[data-taxon="Nesolagus timminsi"]')
    assert "Annamite striped rabbit" in row.inner_text() and row.locator("td.decree84").inner_text().strip() == "IB"
    page.goto(base + "/species")
    assert f"{len(reference)} of {len(reference)} taxa" in page.locator("#species-count").inner_text()
    page.screenshot(path=str(ARTIFACTS / f"species_{backend}_reference_en_1366x768.png"))
    assert not [e for e in errors if "status of 400" not in e], errors
    ctx.close()

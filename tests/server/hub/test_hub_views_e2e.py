"""Two area servers publish into a real hub (``saola serve`` with SAOLA_ROLE=hub, on SQLite and on
PostgreSQL); the hub's national dashboard and national synthesis report, read over HTTP by a national
viewer's bearer token, show both areas, PNKB's annual report sent by ``saola publish --report`` (after
15 March: late) and CTN's missing."""
from __future__ import annotations

import shutil

import requests

from server.db import session_scope
from tests.server.hub import hubhelp as h


def _token(hub_url, data_dir, name, area):
    r = h.saola(["hub", "add-peer", name, "--area", area], hub_url, data_dir, {"SAOLA_ROLE": "hub"})
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


def _national_viewer_token(hub_url) -> str:
    from server.auth.passwords import hash_password
    from server.auth.tokens import issue_token
    from server.models import User

    with session_scope(hub_url) as s:
        u = User(username="ministry", password_hash=hash_password("a-Long-pass-phrase-42"), is_national=True)
        s.add(u)
        s.flush()
        raw, _ = issue_token(s, u, kind="api", days=1)
        return raw


def test_hub_views_show_both_published_areas(db_url, hub_url, tmp_path, sqlite_template):
    pnkb_dir, ctn_dir, hub_dir = tmp_path / "pnkb", tmp_path / "ctn", tmp_path / "hub"
    h.seed_area(db_url, pnkb_dir, "PNKB")
    ctn_url = f"sqlite:///{tmp_path / 'ctn.db'}"  # the second area's own server database
    shutil.copy(sqlite_template, tmp_path / "ctn.db")
    h.seed_area(ctn_url, ctn_dir, "CTN")
    hub = h.start(h.hub_server(hub_url, hub_dir))
    try:
        for url, data_dir, name, code, extra in ((db_url, pnkb_dir, "pnkb", "PNKB", ["--report", "2025"]),
                                                  (ctn_url, ctn_dir, "ctn", "CTN", [])):
            token = _token(hub_url, hub_dir, name, code)
            r = h.saola(["publish", "--hub", hub.url, "--token", token, *extra], url, data_dir)
            assert r.returncode == 0, r.stderr
        auth = {"Authorization": f"Bearer {_national_viewer_token(hub_url)}"}
        r = requests.get(hub.url + "/national/summary.json?year=2026", headers=auth, timeout=120)
        assert r.status_code == 200, r.text[:500]
        areas = {a["code"]: a for a in r.json()["areas"]}
        assert set(areas) == {"PNKB", "CTN"}
        for a in areas.values():
            assert a["years"]["2026"]["trap_nights"] > 0 and a["years"]["2026"]["species"] == 2
            assert h.SENSITIVE in a["years"]["2026"]["priority"]
        r = requests.get(hub.url + "/national/summary.json?year=2025", headers=auth, timeout=120)
        status = {a["code"]: a["report"]["status"] for a in r.json()["areas"]}
        assert status == {"PNKB": "late", "CTN": "missing"}  # received after 15 March 2026
        html = requests.get(hub.url + "/national/report?year=2026&lang=vi", headers=auth, timeout=300).text
        assert "Báo cáo tổng hợp quan trắc đa dạng sinh học quốc gia năm 2026" in html
        assert "PNKB · Area PNKB" in html and "CTN · Area CTN" in html
        # without a sign-in or token: the sign-in page
        r = requests.get(hub.url + "/national/summary.json", timeout=30, allow_redirects=False)
        assert r.status_code == 302
    finally:
        hub.kill()

"""The hub's public read-only portal (issue 18, item 2): off by default, no sign-in, sensitive
stations generalised by the policy, no photos, limited per client address; network exports with
sensitive stations generalised. SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import json

import pytest

import hub_network as net
from server.auth.policy import generalise


@pytest.fixture
def app_config(app_config):
    return {**app_config, "PORTAL": True, "PORTAL_REQUESTS_PER_MIN": 1000}


@pytest.fixture
def network(app, world):
    with world.session() as s:
        return {code: a.id for code, a in net.build(s).items()}


def read_rows(path, tabs: bool = False) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t" if tabs else ","))


def exact_positions():
    return {(lat, lon) for rows in net.STATIONS.values() for _n, lat, lon in rows}


def test_hub_portal_is_public_and_generalises_sensitive_stations(app, client, network):
    r = client.get("/portal")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Phong Nha-Ke Bang" in page and "Cat Tien" in page
    area = client.get("/portal/areas/PNKB").get_data(as_text=True)
    assert net.SAOLA in area and net.MUNTJAC in area and "<img" not in area  # no photos at all
    geo = client.get("/portal/areas/PNKB/records.geojson").get_json()
    pts = {tuple(f["geometry"]["coordinates"][::-1]): f["properties"] for f in geo["features"]}
    p01 = next(s for s in net.STATIONS["PNKB"] if s[0] == "P01")
    cell = generalise(p01[1], p01[2])[:2]
    assert cell in pts and pts[cell]["generalised"] and net.SAOLA in pts[cell]["species"]
    assert (p01[1], p01[2]) not in pts  # the saola's station never exact, not even for its muntjac
    p02 = next(s for s in net.STATIONS["PNKB"] if s[0] == "P02")
    assert pts[(p02[1], p02[2])]["generalised"] is False  # a station of common species stays exact
    ct = client.get("/portal/areas/CT/records.geojson").get_json()
    c01 = next(s for s in net.STATIONS["CT"] if s[0] == "C01")
    shown = {tuple(f["geometry"]["coordinates"][::-1]) for f in ct["features"]}
    assert (c01[1], c01[2]) not in shown and generalise(c01[1], c01[2])[:2] in shown  # saola there in 2024
    assert client.get("/portal/areas/NOPE").status_code == 404
    # nothing of the portal reaches the national views or the photos
    assert client.get("/national").status_code == 302


def test_hub_portal_in_vietnamese(app, client, network):
    client.post("/lang/vi", data={"next": "/portal"})
    page = client.get("/portal/areas/PNKB").get_data(as_text=True)
    assert "Danh sách loài" in page and "Phong Nha-Kẻ Bàng" in page


def test_hub_portal_off_by_default(app_config, network):
    from server import create_app

    app = create_app({**app_config, "PORTAL": False})
    c = app.test_client()
    assert c.get("/portal").status_code == 404
    assert c.get("/portal/areas/PNKB/records.geojson").status_code == 404


def test_hub_portal_is_rate_limited(app_config, network):
    from server import create_app
    from server.web import portal_pages

    app = create_app({**app_config, "PORTAL_REQUESTS_PER_MIN": 3})
    portal_pages._WINDOW.counts.clear()
    c = app.test_client()
    codes = [c.get("/portal/areas/PNKB/records.geojson", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code
             for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
    r = c.get("/portal", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    # another address is not held by the first one's flood
    assert c.get("/portal", environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 200


def test_hub_network_exports_generalise_sensitive_stations(app, world, network, tmp_path):
    from server.exports.camtrap_dp import export_camtrap_dp
    from server.exports.dwca import export_dwca

    with world.session() as s:
        rep = export_camtrap_dp(s, tmp_path / "cdp", network=True, public=True, media_mode="link",
                                base_url="https://hub.example/media")
        assert rep.deployments == 10 and rep.person_media_excluded == 1
        export_dwca(s, tmp_path / "dwca", network=True, public=True)
    deps = read_rows(tmp_path / "cdp" / "deployments.csv")
    assert {d["locationName"] for d in deps} == {"P01", "P02", "C01", "C02", "C03"}  # both areas
    shown = {(float(d["latitude"]), float(d["longitude"])) for d in deps}
    for code, name in (("PNKB", "P01"), ("CT", "C01")):
        lat, lon = next((la, lo) for n, la, lo in net.STATIONS[code] if n == name)
        assert (lat, lon) not in shown, name  # every deployment there generalised, whatever it recorded
        assert generalise(lat, lon)[:2] in shown
    from server.exports.validate import validate_camtrap_dp

    assert validate_camtrap_dp(tmp_path / "cdp") == []  # the official Camtrap DP 1.0.2 profile and schemas
    pkg = json.loads((tmp_path / "cdp" / "datapackage.json").read_text(encoding="utf-8"))
    assert "National" in pkg["title"] or "network" in pkg["name"]
    events = read_rows(tmp_path / "dwca" / "event.txt", True)
    exact = exact_positions()
    p01 = next((la, lo) for n, la, lo in net.STATIONS["PNKB"] if n == "P01")
    assert all((float(e["decimalLatitude"]), float(e["decimalLongitude"])) != p01 for e in events)
    assert any((float(e["decimalLatitude"]), float(e["decimalLongitude"])) in exact for e in events)  # P02 exact
    occ = read_rows(tmp_path / "dwca" / "occurrence.txt", True)
    assert len(occ) == 9  # the person is no occurrence

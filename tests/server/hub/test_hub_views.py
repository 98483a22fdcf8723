"""The hub's national views (issue 18, item 2) over a two-area network built in the database:
dashboard figures, inventory, access (national viewers and administrators only), both languages.
SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone

import pytest

import hub_network as net
from server.reports.submissions import record_submission


def signin(client, username, password="password123"):
    with client.session_transaction() as sess:
        sess["csrf"] = "t"
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": "t"})
    assert r.status_code == 302, r.data[:300]


@pytest.fixture
def network(app, world):
    with world.session() as s:
        areas = net.build(s)
        ids = {code: a.id for code, a in areas.items()}
        record_submission(s, ids["PNKB"], 2025, "vi", pdf_sha256="a" * 64, source="publish",
                          received_at=datetime(2026, 3, 10, tzinfo=timezone.utc))
        record_submission(s, ids["CT"], 2024, "vi", pdf_sha256="b" * 64, source="publish",
                          received_at=datetime(2025, 3, 1, tzinfo=timezone.utc))
    return ids


def test_hub_dashboard_figures(app, world, network):
    from server.national.dashboard import national_summary

    with world.session() as s:
        ns = national_summary(s, 2025, date(2026, 4, 1))
        by = {a.area.code: a for a in ns.areas}
        assert by["PNKB"].years[2025].trap_nights == 120.0  # 2 stations x 60 days (1 March - 30 April)
        assert by["CT"].years[2025].trap_nights == 180.0
        assert by["CT"].years[2025].recorder_days == 8.0  # 10 days, 2 of them flooded
        assert by["PNKB"].years[2025].n_species == 2 and by["CT"].years[2025].n_species == 2
        assert ns.n_species(2025) == 3  # saola, leopard cat, muntjac over the network
        saola = by["PNKB"].years[2025].priority[net.SAOLA]
        assert (saola.detections, saola.stations_detected, saola.stations_surveyed) == (2, 1, 2)
        assert net.MUNTJAC not in by["PNKB"].years[2025].priority  # LC, no Decree 84 group
        lc = by["CT"].years[2025].priority[net.LEOPARD_CAT]
        assert lc.naive_occupancy == pytest.approx(2 / 3)
        # network naive occupancy: saola at 1 of 5 stations in 2025, 1 of 5 in 2024 (CT's C01)
        assert ns.network_priority(net.SAOLA, 2025).naive_occupancy == pytest.approx(1 / 5)
        assert ns.network_priority(net.SAOLA, 2024).stations_detected == 1
        assert ns.priority_names()[0] == net.SAOLA
        assert {a: by[a].report.status for a in by} == {"PNKB": "on_time", "CT": "missing"}
        assert ns.report_counts() == {"on_time": 1, "late": 0, "missing": 1, "not_yet_due": 0}
        early = national_summary(s, 2025, date(2026, 3, 1))
        assert {a.area.code: a.report.status for a in early.areas} == {"PNKB": "not_yet_due", "CT": "not_yet_due"}


def test_hub_inventory_csv(app, world, network):
    from server.national.inventory import build_inventory, inventory_csv

    with world.session() as s:
        inv = build_inventory(s)
        rows = list(csv.DictReader(io.StringIO(inventory_csv(inv))))
        by = {r["scientific_name"]: r for r in rows}
        assert set(by) == {net.SAOLA, net.LEOPARD_CAT, net.MUNTJAC}
        assert (by[net.SAOLA]["PNKB"], by[net.SAOLA]["CT"], by[net.SAOLA]["areas"]) == ("2", "1", "2")
        assert by[net.MUNTJAC]["PNKB"] == "3" and by[net.SAOLA]["decree84_group"] == "IB"
        assert by[net.SAOLA]["vietnamese_name"] == "Sao la" and by[net.SAOLA]["counted_as_species"] == "yes"
        only_2024 = {r["scientific_name"]: r for r in csv.DictReader(io.StringIO(inventory_csv(build_inventory(s, 2024))))}
        assert set(only_2024) == {net.SAOLA, net.MUNTJAC} and only_2024[net.SAOLA]["PNKB"] == "0"


def test_hub_inventory_csv_is_spreadsheet_safe(app, world, network):
    from sqlmodel import select

    from server.models import Taxon
    from server.national.inventory import build_inventory, inventory_csv

    with world.session() as s:
        t = s.exec(select(Taxon).where(Taxon.scientific_name == net.MUNTJAC)).one()
        t.english_name = '=HYPERLINK("http://x")'
    with world.session() as s:
        text = inventory_csv(build_inventory(s))
    assert "'=HYPERLINK" in text and ',=HYPERLINK' not in text


def test_hub_views_access(app, client, world, network):
    world.user("chief", admin=True)
    world.user("nation", language="vi")
    world.user("pnkbman", roles={network["PNKB"]: "manager"})
    with world.session() as s:
        from sqlmodel import select

        from server.models import User

        s.exec(select(User).where(User.username == "nation")).one().is_national = True
    for path in ("/national", "/national/inventory", "/national/inventory.csv", "/national/summary.json",
                 "/national/charts/effort.png"):
        r = client.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"], path  # anonymous: sign in
    signin(client, "pnkbman")
    for path in ("/national", "/national/inventory.csv", "/national/summary.json"):
        assert client.get(path).status_code == 403, path  # a manager of one area is not national
    assert b'id="nav-national"' not in client.get("/").data
    client.post("/logout", data={"csrf_token": "t"})
    for who in ("chief", "nation"):
        c = app.test_client()
        signin(c, who)
        r = c.get("/national?year=2025&on=2026-04-01")
        assert r.status_code == 200, r.data[:500]
        assert b'id="nav-national"' in r.data
        assert c.get("/national/charts/priority-trend.png?year=2025").data[:4] == b"\x89PNG"
        assert c.get("/national/inventory.csv").status_code == 200
    # bad input: clear 4xx
    assert c.get("/national?year=1900").status_code == 422
    assert c.get("/national?year=abc").status_code == 422
    assert c.get("/national?on=2026-13-40").status_code == 422
    assert c.get("/national/charts/nope.png").status_code == 404


def test_hub_dashboard_page_in_both_languages(app, world, network):
    world.user("nation", language="en")
    with world.session() as s:
        from sqlmodel import select

        from server.models import User

        s.exec(select(User).where(User.username == "nation")).one().is_national = True
    c = app.test_client()
    signin(c, "nation")
    en = c.get("/national?year=2025&on=2026-04-01").get_data(as_text=True)
    assert "National dashboard" in en and "On time" in en and "Missing" in en
    assert 'id="total-trap-nights">300<' in en and 'id="total-recorder-days">8<' in en
    c.post("/lang/vi", data={"csrf_token": c.get_cookie("session") and _csrf(c), "next": "/"})
    vi = c.get("/national?year=2025&on=2026-04-01").get_data(as_text=True)
    assert "Bảng tổng hợp quốc gia" in vi and "Đúng hạn" in vi and "Chưa nộp" in vi
    assert "Phong Nha-Kẻ Bàng" in vi
    # naive occupancy in the Vietnamese format: 0,20 (decimal comma)
    assert "0,20" in vi and "0.20" not in vi.split('id="priority"')[1]


def _csrf(client):
    with client.session_transaction() as sess:
        return sess["csrf"]


def test_hub_national_viewer_is_granted_by_administrators_only(app, client, world, runner):
    admin = world.user("chief", admin=True)
    me = world.user("someone")
    # a user cannot make themself a national viewer
    r = client.patch(f"/api/v1/users/{me.id}", json={"is_national": True}, headers=world.headers(me))
    assert r.status_code == 403
    r = client.patch(f"/api/v1/users/{me.id}", json={"is_national": True}, headers=world.headers(admin))
    assert r.status_code == 200 and r.get_json()["is_national"] is True
    res = runner.invoke(["users", "add", "nat2", "--password", "a-Long-pass-phrase-42", "--national"])
    assert res.exit_code == 0, res.output
    assert "national" in runner.invoke(["users", "list"]).output


def _national_client(app, world, language="en"):
    world.user("nation", language=language)
    with world.session() as s:
        from sqlmodel import select

        from server.models import User

        s.exec(select(User).where(User.username == "nation")).one().is_national = True
    c = app.test_client()
    signin(c, "nation")
    return c


def test_hub_national_synthesis_report(app, world, network):
    world.user("pnkbman", roles={network["PNKB"]: "manager"})
    m = app.test_client()
    signin(m, "pnkbman")
    assert m.get("/national/report?year=2025").status_code == 403
    assert m.get("/national/synthesis").status_code == 403
    c = _national_client(app, world)
    assert c.get("/national/synthesis?year=2025").status_code == 200
    vi = c.get("/national/report?year=2025&lang=vi&on=2026-04-01")
    assert vi.status_code == 200 and "default-src 'none'" in vi.headers["Content-Security-Policy"]
    html = vi.get_data(as_text=True)
    assert "Báo cáo tổng hợp quan trắc đa dạng sinh học quốc gia năm 2025" in html
    assert "Phong Nha-Kẻ Bàng" in html and "Cát Tiên" in html and "Đúng hạn" in html and "Chưa nộp" in html
    assert "Tổng toàn quốc" in html and "300" in html and "0,20" in html  # totals, Vietnamese decimals
    en = c.get("/national/report?year=2025&lang=en&on=2026-03-01").get_data(as_text=True)
    assert "National biodiversity monitoring synthesis 2025" in en and "Not yet due" in en
    assert net.SAOLA in en and "Annex: national species inventory 2025" in en
    pdf = c.get("/national/report?year=2025&lang=vi&format=pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert c.get("/national/report?year=2025&lang=fr").status_code == 422
    assert c.get("/national/report?year=2025&format=doc").status_code == 422


def test_hub_network_export_from_the_page(app, world, network):
    from sqlmodel import select

    from server.models import Job

    c = _national_client(app, world)
    assert c.post("/national/exports", data={"format": "exe", "csrf_token": _csrf(c)}).status_code == 422
    r = c.post("/national/exports", data={"format": "dwca", "csrf_token": _csrf(c)})
    assert r.status_code == 302
    from server.jobs import drain

    assert drain(app.config) == 1  # the test app queues jobs; run it here
    with world.session() as s:
        job = s.exec(select(Job).where(Job.kind == "export")).one()
    assert job.status == "done", job.error
    assert job.params["network"] and job.params["public"] and job.area_id is None
    page = c.get("/national/synthesis").get_data(as_text=True)
    assert f"/national/exports/{job.id}/download" in page
    z = c.get(f"/national/exports/{job.id}/download")
    status, head = z.status_code, z.data[:2]
    z.close()  # a streamed file answer
    assert status == 200 and head == b"PK"
    # another national viewer cannot take this user's export
    world.user("nation2")
    with world.session() as s:
        from server.models import User

        s.exec(select(User).where(User.username == "nation2")).one().is_national = True
    other = app.test_client()
    signin(other, "nation2")
    assert other.get(f"/national/exports/{job.id}/download").status_code == 404
    assert other.get("/national/exports/no-such-job/download").status_code == 404


def test_hub_dashboard_cache_follows_new_records(app, world, network):
    """The page and its charts share one computation, and a record published meanwhile shows at once."""
    from datetime import timedelta

    from sqlmodel import select

    from server.models import Deployment, Location, Observation, Taxon

    c = _national_client(app, world)
    url = "/national/summary.json?year=2025&on=2026-04-01"
    before = c.get(url).get_json()["priority_trends"][net.SAOLA]["2025"]["detections"]
    assert c.get(url).get_json()["priority_trends"][net.SAOLA]["2025"]["detections"] == before
    with world.session() as s:
        loc = s.exec(select(Location).where(Location.name == "C02")).one()
        dep = s.exec(select(Deployment).where(Deployment.location_id == loc.id,
                                              Deployment.camera_id == "C02-2025")).one()
        saola = s.exec(select(Taxon).where(Taxon.scientific_name == net.SAOLA)).one()
        t = datetime(2025, 3, 20, 22, tzinfo=timezone.utc)
        s.add(Observation(deployment_id=dep.id, event_start=t, event_end=t + timedelta(seconds=5),
                          taxon_id=saola.id, count=1))
    after = c.get(url).get_json()["priority_trends"][net.SAOLA]["2025"]
    assert after["detections"] == before + 1 and after["naive_occupancy"] == 0.4  # 2 of 5 stations

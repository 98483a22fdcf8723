"""Headless UI scenarios of issue 14 against a real `saola serve` (D1, D2, D8, D9, D11 and bad input).

The server runs this checkout on the test's database; the app runs in its own process (Kivy on
Mesa software GL) and talks to it over loopback like a tablet on the station's Wi-Fi. The UI runs
on SQLite only: the server paths it uses are tested on both databases in tests/sync and
tests/server/sync. Screenshots land in test-artifacts/mobile/.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from sqlmodel import select

from mobile_runner import run_scenario
from saola_server import Server

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.fixture
def field(db_url, world, tmp_path):
    """An area with a transect program, two rangers, the bundled species list (with alternative names)
    and a real server."""
    from server.services.taxa import load_reference

    area = world.area("BM", "VQG Bạch Mã")
    program = world.program(area.id, "Tuyến thú 2026", protocol="line-transect")
    lan = world.user("lan", roles={area.id: "ranger"})
    minh = world.user("minh", roles={area.id: "ranger"})
    with world.session() as s:  # the species reference shipped with Saola (vn_core.csv was folded into it)
        _, errors = load_reference(s)
    assert not errors
    srv = Server(db_url, tmp_path / "server-data").start()
    yield {"area": area, "program": program, "lan": lan, "minh": minh, "server": srv}
    srv.kill()


def _tablet_a_records_t08(field, tmp_path) -> tuple[str, list]:
    """Tablet A (Lan): walk T-08, 11 points about 110 m, stopped and synced (the sync client, real HTTP)."""
    from mobile.store import Store
    from mobile.sync import SyncClient

    a = Store(tmp_path / "tablet-a")
    a.set_setting("user", {"username": "lan"})
    t0 = time.time() - 3600
    wid = a.start_walk("line_transect@1.0", {"transect_id": "T-08", "observers": ["Lan"], "weather": "clear"},
                       program_id=field["program"].id)
    for i in range(11):
        a.add_track_point(wid, 16.2 + i * 1e-4, 107.85, t0 + 10 * i, 4.0)
    a.stop_walk(wid)
    r = requests.post(field["server"].url + "/api/v1/auth/device", timeout=10, json={
        "username": "lan", "password": "password123", "device_id": a.device_id, "device_name": "tablet A"})
    assert r.status_code == 201, r.text
    report = SyncClient(a, field["server"].url, r.json()["token"]).sync()
    assert report.ok, report.errors
    track = a.track(wid)
    a.close()
    return wid, track


def test_second_tablet_holds_the_first_tablets_walk_read_only(field, world, tmp_path, artifacts):
    from server.models import SurveyWalk

    t08, track_a = _tablet_a_records_t08(field, tmp_path)
    r = run_scenario(tmp_path, "scenario_two_tablets.py", str(tmp_path), str(artifacts), field["server"].url,
                     "minh", "password123", "VQG Bạch Mã", t08, timeout=600)
    # D2: after choosing the area, the program is the area's, not the offline placeholder.
    assert r["program_default"] == "Tuyến thú 2026" and r["program_choices"] == ["Tuyến thú 2026"]
    # D8: when the automatic sync ends, the home screen says so, when, and what waits; no progress line left.
    home = r["home"]
    assert home["sync_status"] == "Đã đồng bộ: gửi 0, 0 ảnh, nhận 2"  # T-08 started, then stopped
    assert home["last_sync"].startswith("Lần đồng bộ gần nhất: hôm nay ")
    assert home["pending"] == "Không có gì chờ gửi" and "Đang đồng bộ" not in str(home)
    # D1: B holds T-08 as A's walk, a reference: "Transect walk" opens a new walk of B's.
    assert r["t08_local"] == {"status": "reference", "origin": "remote", "owner": "lan", "point_count": 11,
                              "distance_m": pytest.approx(r["t08_local"]["distance_m"])}
    assert 100 < r["t08_local"]["distance_m"] < 125
    assert r["walk_screen"] == {"walk_id": None, "setup_shown": True, "active_walk": None}
    # D11: B's own records by default (none yet); the team's on request, in words, whose, read only.
    assert r["records_mine"] == {"count": "Chưa có bản ghi nào", "rows": []}
    team = r["records_team_vi"]
    assert team["count"] == "Cả nhóm: hiển thị 1/1" and team["button"] == "Xem bản ghi của tôi"
    (row_vi,) = team["rows"]
    assert row_vi.startswith("Lượt đi tuyến: T-08\n") and row_vi.endswith("· của lan, máy khác (chỉ xem)")
    (row_en,) = r["records_team_en"]
    assert row_en.startswith("Transect walk: T-08\n") and row_en.endswith("· by lan, another tablet (read only)")
    rec = r["record_screen"]
    assert rec["name"] == "record" and rec["owner"] == "Recorded on another tablet by lan: read only"
    assert rec["form_disabled"] and rec["actions_disabled"] and rec["actions_height"] == 0
    assert rec["transect_shown"] == "T-08" and "Track points: 11" in rec["stats"]
    # D9: after "Refresh from server" the species list is the server's, and Hoẵng still finds the muntjac.
    assert r["species_source"].startswith("program ")
    assert r["species_hoang"][0] == "Muntiacus vaginalis"
    assert r["after_observation"] == "walk"
    # B's own walk went to the server; A's track is whole there and on B.
    assert r["outbox_after"] == 0 and r["t08_after"] == {"status": "reference", "origin": "remote", "point_count": 11}
    assert r["home_after_own_walk"]["sync_status"].startswith("Đã đồng bộ: gửi 3")  # walk, observation, stop
    with world.session() as s:
        w08, wb = s.get(SurveyWalk, t08), s.get(SurveyWalk, r["b_walk"]["id"])
        assert w08.track == track_a and w08.created_by == field["lan"].id
        assert wb.created_by == field["minh"].id and wb.device_id != w08.device_id
        assert len(wb.track) == r["b_walk"]["points"] > 0
    for shot in r["shots"]:
        assert Path(shot).stat().st_size > 10_000


def _tablet_with_a_refused_walk(field, tmp_path) -> tuple[Path, str]:
    """What the app before this fix left on a tablet: walk T-11 recorded in offline mode, then sent after
    sign-in with no program (the old default) and refused by the real server, 0 pending."""
    from mobile.store import Store
    from mobile.sync import SyncClient

    work = tmp_path / "tablet"
    st = Store(work / "data")
    st.set_setting("offline", True)
    t0 = time.time() - 7200
    wid = st.start_walk("line_transect@1.0", {"transect_id": "T-11", "observers": ["Minh"], "weather": "clear"})
    for i in range(5):
        st.add_track_point(wid, 16.2 + i * 1e-4, 107.86, t0 + 10 * i, 4.0)
    st.stop_walk(wid)
    r = requests.post(field["server"].url + "/api/v1/auth/device", timeout=10, json={
        "username": "minh", "password": "password123", "device_id": st.device_id, "device_name": "tablet B"})
    assert r.status_code == 201, r.text
    area = field["area"]
    for key, value in (("server", field["server"].url), ("token", r.json()["token"]),
                       ("user", {"username": "minh"}), ("areas", [{"id": area.id, "name": area.name}]),
                       (f"programs:{area.id}", [{"id": field["program"].id, "name": field["program"].name}]),
                       ("area", {"id": area.id, "name": area.name}),
                       ("program", {"id": None, "name": "Ngoại tuyến (chưa có chương trình)"})):
        st.set_setting(key, value)
    client = SyncClient(st, field["server"].url, r.json()["token"])
    rows = st.outbox()
    _, _, body = client._call("POST", "/sync/push", json_body={
        "protocol_version": "1.0", "device_id": st.device_id, "mutations": [client._mutation(m) for m in rows]})
    for row, res in zip(rows, body["results"]):
        assert res["status"] == "rejected" and "unknown program None" in res["message"]
        st.complete_mutation(row["mutation_id"], "rejected", None, res["message"])
    assert st.outbox_count() == 0
    st.close()
    return work, wid


def test_offline_records_refused_walk_and_sync_status(field, world, tmp_path, artifacts):
    from server.models import FieldObservation, SurveyWalk

    work, wid = _tablet_with_a_refused_walk(field, tmp_path)
    r = run_scenario(tmp_path, "scenario_offline_records.py", str(work), str(artifacts), field["server"].url, wid,
                     timeout=600)
    assert r["screens"] == ["home"]
    # D2: the refused walk counts, with why, and records made offline say they wait for a program.
    start = r["home_start"]
    assert start["pending"].splitlines() == [
        "1 bản ghi tạo khi ngoại tuyến đang chờ chương trình: hãy chọn khu bảo tồn và chương trình",
        "1 bản ghi bị máy chủ từ chối: mở Bản ghi để sửa."]
    # Bad input: a full tablet at Save: told in Vietnamese, nothing written, the form kept as entered.
    assert r["full_disk"] == {"screen": "form", "threats": 0, "kept": {"threat_type": "snare", "count": 4},
                              "message": "Bộ nhớ máy đã đầy: chưa lưu được gì. Hãy giải phóng bớt dung lượng rồi "
                                         "bấm Lưu lần nữa."}
    # (the threat, made with an area chosen, goes to the area's one fitting program at once: D12)
    assert r["home_after_threat"]["pending"].splitlines() == ["1 bản ghi đang chờ gửi", *start["pending"].splitlines()]
    walk_row = next(t for t in r["records_rows"] if "T-11" in t)
    assert walk_row.startswith("Lượt đi tuyến: T-11\n") and walk_row.endswith("· bị từ chối")
    ws = r["walk_screen"]
    assert ws["name"] == "record" and ws["owner"] == "Ghi trên máy này" and ws["editable"]
    assert ws["state"] == ("Máy chủ từ chối: bản ghi tạo khi ngoại tuyến, chưa có chương trình. Hãy chọn khu bảo tồn "
                           "và chương trình: bản ghi sẽ được gửi lại.")
    assert r["resend_without_program"] == ("Tạo khi ngoại tuyến: đang chờ chương trình (hãy chọn khu bảo tồn và "
                                           "chương trình)")
    # Choosing the area: the program is the area's by default, and both records take it.
    assert r["program_default"] == "Tuyến thú 2026"
    assert r["home_assigned"]["sync_status"] == "1 bản ghi tạo khi ngoại tuyến nay thuộc chương trình Tuyến thú 2026"
    assert r["home_assigned"]["pending"] == "2 bản ghi đang chờ gửi"
    # D8 and bad input: a captive portal's page is named as such, in both languages; nothing lost or sent.
    portal = r["home_portal"]
    assert portal["sync_status"].startswith("Mạng trả về một trang web, không phải máy chủ Saola")
    assert portal["sync_status"].endswith("Không mất dữ liệu.") and "HTTP" not in portal["sync_status"]
    assert portal["pending"] == "2 bản ghi đang chờ gửi" and r["outbox_after_portal"] == 2
    assert portal["last_sync"] == r["home_assigned"]["last_sync"]  # the last sync that worked
    assert r["home_portal_en"]["sync_status"].startswith("The network answered with a web page, not the Saola server")
    # The real server: sent, the time shown, nothing waits; then the walk corrected and sent again.
    synced = r["home_synced"]
    assert synced["sync_status"].startswith("Đã đồng bộ: gửi 2, 0 ảnh")
    assert synced["last_sync"].startswith("Lần đồng bộ gần nhất: hôm nay ") and synced["pending"] == "Không có gì chờ gửi"
    assert r["walk_row_synced"].endswith("· đã đồng bộ")
    assert r["walk_saved"]["message"] == "Đã lưu: sẽ được gửi ở lần đồng bộ tới"
    assert r["pending_final"] == {"waiting": 0, "rejected": 0, "conflict": 0, "unassigned": 0}, r["refused_final"]
    assert r["walk_final"] == {"sync_state": "synced", "program_id": field["program"].id}
    with world.session() as s:
        w = s.get(SurveyWalk, wid)
        assert (w.program_id, len(w.track), w.weather, w.status) == (field["program"].id, 5, "fog", "done")
        (threat,) = s.exec(select(FieldObservation)).all()
        assert threat.program_id == field["program"].id and threat.protocol.startswith("threat_incident")

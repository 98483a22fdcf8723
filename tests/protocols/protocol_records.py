"""Good records for every protocol and record type (the base the bad-record tests mutate)."""
from __future__ import annotations

import copy
import hashlib

import pytest

SHA = hashlib.sha256(b"setup photo").hexdigest()
LOC = {"lat": 16.1964, "lon": 107.8563, "accuracy_m": 6.0}

GOOD = {
    ("line_transect", "walk"): {
        "transect_id": "T-07", "transect_bearing_deg": 45, "start_time": "2026-03-01T06:30:00+07:00",
        "end_time": "2026-03-01T09:10:00+07:00", "observers": ["Nguyễn Văn An", "Lê Thị Hoa"], "weather": "fog",
        "track": [[107.8563, 16.1964, "2026-03-01T06:30:05+07:00", 6.0], [107.8564, 16.1965, 1772321405.0, None]],
        "note": "Đường trơn sau mưa",
        # line_transect 1.1: the patrol and its summary (SMART-like), made by the app on stop
        "patrol_type": "foot", "team_leader": "Nguyễn Văn An", "team": ["Hồ Văn Tư (kiểm lâm)"],
        "distance_m": 1830.5, "walking_time_min": 152.0,
        "record_counts": [{"record": "observation", "type": "sighting", "count": 3},
                          {"record": "threat", "type": "snare", "count": 14}],
    },
    ("line_transect", "observation"): {
        "observed_at": "2026-03-01T07:12:00+07:00", "taxon": "Pygathrix nemaeus", "sign_type": "sighting",
        "count": 5, "distance_m": 40, "bearing_deg": 135, "transect_bearing_deg": 45,
        "perpendicular_distance_m": 40.0, "location": LOC, "habitat": "evergreen_forest", "photos": [SHA],
        "note": "Đàn kiếm ăn trên tán",
    },
    ("camera_trap", "deployment"): {
        "station_id": "CT-12", "camera_serial": "BR-0042", "camera_model": "Browning BTC-8E", "sd_card": "SD-118",
        "start_time": "2026-02-01T10:00:00+07:00", "location": LOC, "height_m": 0.5, "heading_deg": 270,
        "bait": False, "habitat": "limestone", "feature_type": "trail", "battery_percent": 100,
        "setup_photo": [SHA],
    },
    ("camera_trap", "service"): {
        "deployment_id": "dep-1", "visit_time": "2026-03-01T10:00:00+07:00", "camera_working": False,
        "malfunction": "battery_empty", "last_image_time": "2026-02-20T03:11:00+07:00", "battery_percent": 0,
        "batteries_replaced": True, "sd_card_swapped": True, "new_sd_card": "SD-119",
        "malfunction_notes": "Pin hết từ tuần trước",
    },
    ("camera_trap", "retrieval"): {
        "deployment_id": "dep-1", "end_time": "2026-04-01T10:00:00+07:00", "camera_working": True,
        "battery_percent": 40, "sd_card": "SD-119",
    },
    ("acoustic_recorder", "deployment"): {
        "station_id": "AR-3", "recorder_serial": "AM-1234", "recorder_model": "AudioMoth 1.2", "sd_card": "SD-7",
        "start_time": "2026-02-01T10:00:00+07:00", "location": LOC, "height_m": 1.5, "schedule": "duty_cycle",
        "duty_on_min": 1, "duty_off_min": 9, "gain_db": 30, "sample_rate_hz": 48000,
        "timezone": "Asia/Ho_Chi_Minh", "battery_percent": 100,
    },
    ("acoustic_recorder", "retrieval"): {
        "deployment_id": "dep-2", "end_time": "2026-03-01T10:00:00+07:00", "recorder_working": False,
        "malfunction": "water_damage", "last_recording_time": "2026-02-15T05:00:00+07:00",
    },
    ("gibbon_listening_post", "session"): {
        "post_id": "LP-2", "observers": ["Trần Đức Minh"], "start_time": "2026-03-02T05:00:00+07:00",
        "end_time": "2026-03-02T08:00:00+07:00", "location": LOC, "weather": "clear",
        "groups": [
            {"group_no": 1, "first_call_time": "05:42", "bearing_deg": 210, "distance_m": 600, "call_type": "duet",
             "taxon": "Nomascus leucogenys"},
            {"group_no": 2, "first_call_time": "06:05", "bearing_deg": 15, "distance_m": 1200,
             "call_type": "male_solo"},
        ],
    },
    ("threat_incident", "incident"): {
        "observed_at": "2026-03-03T14:00:00+07:00", "threat_type": "snare", "count": 14, "location": LOC,
        "action_taken": "removed", "patrol_id": "PT-2026-03", "photos": [SHA], "note": "Bẫy dây phanh",
    },
}


@pytest.fixture
def good():
    """A deep copy of a good record: good(protocol, record_type)."""
    return lambda name, rt: copy.deepcopy(GOOD[(name, rt)])

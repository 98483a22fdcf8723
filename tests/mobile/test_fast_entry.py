"""Fast entry, decimal commas, programs per form and the walk summary, headless (issue 14: items 4, 5; D6, D12)."""
from __future__ import annotations

from datetime import datetime

import pytest

import protocols
from mobile import entry, programs
from mobile.numbers import accepts_typing, format_decimal, parse_decimal
from mobile.store import Store
from mobile.walksummary import computed_summary, duration_text, record_counts, walking_seconds

LT = protocols.load("line_transect")


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path)
    yield s
    s.close()


def obs(store, taxon=None, sign="dung", walk_id=None, **extra):
    data = {"observed_at": "2026-03-01T07:00:00+07:00", "sign_type": sign, "count": 1, **extra}
    if taxon:
        data["taxon"] = taxon
    else:
        data["unidentified"] = True
    return store.save_record("observation", LT.key, "observation", data, walk_id=walk_id)


# -- D6: decimal comma ----------------------------------------------------------------
@pytest.mark.parametrize("text, value", [("0,5", 0.5), ("0.5", 0.5), ("400", 400), ("12,25", 12.25), (",5", 0.5),
                                         ("-3,5", -3.5), (" 7 ", 7), ("1,", 1.0)])
def test_both_decimal_separators_are_read(text, value):
    assert parse_decimal(text) == value and type(parse_decimal(text)) is type(value)


@pytest.mark.parametrize("text", ["", "abc", "1,2,3", "1.000,5", "0,5 m", "--1", ","])
def test_what_is_not_a_number_is_not_guessed(text):
    assert parse_decimal(text) is None


def test_typing_keeps_only_a_number_in_the_making():
    assert all(accepts_typing(t) for t in ("", "-", "0", "0,", "0,5", "12.", ".5"))
    assert not any(accepts_typing(t) for t in ("0,5,", "1.2.", "a", "1-"))


def test_numbers_are_shown_in_the_readers_language():
    assert format_decimal(0.5, "vi") == "0,5" and format_decimal(0.5, "en") == "0.5"
    assert format_decimal(400, "vi") == "400" and format_decimal(400.0, "en") == "400"
    assert format_decimal(28.2843, "vi", digits=1) == "28,3" and format_decimal(1.0, "vi", digits=2) == "1"
    assert format_decimal(0.1 + 0.2, "en") == "0.3" and format_decimal(None, "vi") == ""


# -- item 4: recent and frequent species, repeat, sticky fields ------------------------
def test_recent_species_first_then_frequent(store):
    for _ in range(5):
        obs(store, "Muntiacus vuquangensis")
    obs(store, "Pygathrix nemaeus")
    obs(store, None)  # unidentified: not a species to offer
    for name in ("Sus scrofa", "Macaca mulatta", "Rusa unicolor", "Hylobates lar"):
        obs(store, name)
    ranked = entry.species_ranking(store, recent=3, total=5)
    # the three newest, then the most frequent of the rest (muntjac, 5 times)
    assert ranked == ["Hylobates lar", "Rusa unicolor", "Macaca mulatta", "Muntiacus vuquangensis", "Sus scrofa"]
    assert entry.species_ranking(Store(store.root / "other")) == []


def test_pulled_records_of_other_devices_are_not_offered(store):
    obs(store, "Pygathrix nemaeus")
    rid = obs(store, "Sus scrofa")
    with store._tx() as db:  # as mobile.sync.apply_changes stores another device's record
        db.execute("UPDATE observations SET origin='remote' WHERE id=?", (rid,))
    assert entry.species_ranking(store) == ["Pygathrix nemaeus"]


def test_recent_species_are_the_signed_in_rangers_own(store):
    store.set_setting("user", {"username": "an"})
    obs(store, "Sus scrofa")
    store.set_setting("user", {"username": "hoa"})  # the same tablet, another ranger
    obs(store, "Pygathrix nemaeus")
    assert entry.species_ranking(store) == ["Pygathrix nemaeus"]
    store.set_setting("user", {"username": "an"})
    assert entry.species_ranking(store) == ["Sus scrofa"]
    store.set_setting("user", None)  # offline: the device's records
    assert set(entry.species_ranking(store)) == {"Sus scrofa", "Pygathrix nemaeus"}


def test_repeat_last_observation_copies_what_repeats_not_time_place_or_measures(store):
    assert entry.repeat_values(store) is None
    w = store.start_walk(LT.key, {"transect_id": "T1", "observers": ["An"], "weather": "clear"})
    obs(store, "Pygathrix nemaeus", sign="sighting", walk_id=w, count=4, distance_m=40, bearing_deg=135,
        habitat="bamboo", location={"lat": 16.2, "lon": 107.8}, note="trên tán", photos=["a" * 64])
    assert entry.repeat_values(store, w) == {"taxon": "Pygathrix nemaeus", "sign_type": "sighting", "count": 4,
                                             "habitat": "bamboo"}
    # a new walk without observations repeats the device's last one
    store.stop_walk(w)
    w2 = store.start_walk(LT.key, {"transect_id": "T2", "observers": ["An"], "weather": "clear"})
    assert entry.repeat_values(store, w2)["taxon"] == "Pygathrix nemaeus"


def test_sticky_fields_per_walk(store):
    rt_walk, rt_obs = LT.record_type("walk"), LT.record_type("observation")
    assert entry.sticky_values(store, rt_walk.fields) == {}
    entry.remember(store, {"observers": ["An", "Hoa"], "weather": "fog", "patrol_type": "foot", "team": [],
                           "transect_id": "T1"}, entry.WALK_STICKY, walk_id="w1")
    entry.remember(store, {"habitat": "bamboo", "taxon": "Sus scrofa"}, entry.OBSERVATION_STICKY, walk_id="w1")
    assert entry.sticky_values(store, rt_walk.fields) == {"observers": ["An", "Hoa"], "weather": "fog",
                                                          "patrol_type": "foot"}
    assert entry.sticky_values(store, rt_obs.fields, walk_id="w1") == {"habitat": "bamboo"}
    # outside that walk (a camera trap, another walk) the habitat is not carried over
    cam = protocols.load("camera_trap").record_type("deployment")
    assert entry.sticky_values(store, cam.fields) == {}
    entry.remember(store, {"observers": ["Tư"], "weather": "clear"}, entry.WALK_STICKY, walk_id="w2")
    assert entry.sticky_values(store, rt_obs.fields, walk_id="w2") == {}
    assert entry.sticky_values(store, rt_walk.fields)["observers"] == ["Tư"]


# -- D12: the program of each form ------------------------------------------------------
PROGRAMS = [{"id": "p-lt", "name": "Transects 2026", "protocol": "line-transect"},
            {"id": "p-ct", "name": "Camera traps 2026", "protocol": "camera-trap"},
            {"id": "p-lt2", "name": "Night transects", "protocol": "line_transect@1.1"}]


def area(store, plist=PROGRAMS):
    store.set_setting("area", {"id": "a1", "name": "Bạch Mã"})
    store.set_setting("programs:a1", plist)
    store.set_setting("program", plist[0])


def test_each_form_goes_to_a_program_whose_protocol_fits(store):
    area(store)
    assert programs.protocol_of({"protocol": "camera-trap"}) == "camera_trap"
    assert programs.protocol_of({"protocol": "acoustic"}) == "acoustic_recorder"
    program, candidates, none_fits = programs.resolve(store, "camera")
    assert program["id"] == "p-ct" and not none_fits  # the one fitting program, chosen by itself
    program, candidates, none_fits = programs.resolve(store, "walk")
    assert program is None and [p["id"] for p in candidates] == ["p-lt", "p-lt2"]  # several: ask
    programs.remember_choice(store, "walk", candidates[1])
    assert programs.resolve(store, "walk")[0]["id"] == "p-lt2"  # the answer is remembered
    program, candidates, none_fits = programs.resolve(store, "acoustic")
    assert program is None and none_fits and len(candidates) == 3  # none fits: choose among all, told so


def test_a_program_naming_no_protocol_fits_every_form(store):
    area(store, [{"id": "p1", "name": "Giám sát 2026"}])  # an older server's program
    assert programs.resolve(store, "camera")[0]["id"] == "p1"
    assert programs.resolve(store, "threat")[0]["id"] == "p1"


def test_a_walks_records_go_with_the_walk(store):
    area(store)
    walk = {"id": "w", "program_id": "p-lt2"}
    assert programs.resolve(store, "observation", walk)[0]["id"] == "p-lt2"
    assert programs.resolve(store, "threat", walk)[0]["id"] == "p-lt2"


def test_offline_keeps_the_area_screens_choice(store):
    store.set_setting("program", {"id": None, "name": "Offline"})
    assert programs.resolve(store, "camera") == ({"id": None, "name": "Offline"}, [], False)


def test_records_made_offline_take_a_program_that_fits_them(store):
    """D2 + D12: after sign-in, a camera deployment made offline goes to the camera-trap program."""
    dep = store.save_record("deployment", "camera_trap@1.0", "deployment", {"station_id": "CT-1"})
    walk = store.start_walk(LT.key, {"transect_id": "T1", "observers": ["An"], "weather": "clear"})
    ob = obs(store, "Sus scrofa", walk_id=walk)
    area(store)  # two line-transect programs, one camera-trap program
    assert {k: v["id"] for k, v in programs.offline_assignments(store).items()} == {"camera_trap": "p-ct"}
    for name, program in programs.offline_assignments(store).items():
        store.assign_program(program["id"], protocol=name)
    store.assign_program("p-lt2")  # the rest: the program the ranger chose
    assert store.get_record("deployment", dep)["program_id"] == "p-ct"
    assert store.get_walk(walk)["program_id"] == store.get_record("observation", ob)["program_id"] == "p-lt2"
    assert all(m["data"]["program_id"] in ("p-ct", "p-lt2") for m in store.outbox() if m["data"])
    dep_mutation = next(m for m in store.outbox() if m["record_id"] == dep)
    assert dep_mutation["data"]["program_id"] == "p-ct"


# -- item 5: the walk summary -----------------------------------------------------------
def test_the_summary_counts_the_walks_records_by_type(store):
    w = store.start_walk(LT.key, {"transect_id": "T1", "observers": ["An"], "weather": "clear"})
    for sign in ("sighting", "dung", "sighting"):
        obs(store, "Sus scrofa", sign=sign, walk_id=w)
    obs(store, "Sus scrofa", sign="call")  # another walk's: not counted
    store.save_record("threat", "threat_incident@1.0", "incident", {"threat_type": "snare", "count": 3}, walk_id=w)
    assert record_counts(store, w) == [{"record": "observation", "type": "sighting", "count": 2},
                                       {"record": "observation", "type": "dung", "count": 1},
                                       {"record": "threat", "type": "snare", "count": 1}]
    walk = dict(store.get_walk(w), distance_m=1830.46, walking_s=9130)
    summary = computed_summary(store, walk, LT.record_type("walk").field_names)
    assert summary["distance_m"] == 1830.5 and summary["walking_time_min"] == 152.2
    record = dict(walk["data"], **summary, end_time="2026-03-01T09:40:00+07:00")
    record["start_time"] = "2026-03-01T07:00:00+07:00"
    assert protocols.validate(LT, record, "walk") == []  # what the server validates too
    # a walk under 1.0 (an older server's definition) gets no field 1.0 does not have
    old = protocols.load("line_transect", "1.0").record_type("walk").field_names
    assert computed_summary(store, walk, old) == {}
    assert duration_text(152.2) == "2 h 32 min" and duration_text(7) == "7 min"


def test_walking_time_up_to_the_recorded_end_excludes_pauses():
    walk = {"started_at": "2026-03-01T07:00:00+07:00", "paused_total_s": 600.0, "paused_at": None, "walking_s": 1}
    assert walking_seconds(walk, "2026-03-01T08:00:00+07:00") == 3000.0
    # paused when stopped: the pause up to the end is not walking either
    paused_at = datetime.fromisoformat("2026-03-01T07:50:00+07:00").timestamp()
    assert walking_seconds(dict(walk, paused_at=paused_at), "2026-03-01T08:00:00+07:00") == 2400.0
    assert walking_seconds(walk) == 1  # no end yet: the store's live figure

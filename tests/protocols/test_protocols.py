"""Protocol definitions, validation of good and bad records for every protocol, versions."""
from __future__ import annotations

import copy
import json
import re

import pytest

import protocols
from protocol_records import GOOD
from protocols import ProtocolDefinitionError, ProtocolNotFound, ProtocolVersionError

NAMES = ["acoustic_recorder", "camera_trap", "gibbon_listening_post", "line_transect", "threat_incident"]
VIETNAMESE_MARKS = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.I)


def all_fields():
    for name in NAMES:
        p = protocols.load(name)
        for rt in p.records.values():
            for f in rt.fields:
                yield p, rt, f


def test_list_protocols():
    listed = protocols.list_protocols()
    assert [p["name"] for p in listed] == NAMES
    # The newest version of each; line_transect 1.1 added the walk summary (issue 14).
    assert {p["name"]: p["version"] for p in listed} == {**dict.fromkeys(NAMES, "1.0"), "line_transect": "1.1"}
    assert all(p["title"]["vi"] for p in listed)


def test_every_record_type_has_a_good_example():
    assert {(p.name, rt.name) for p, rt, _ in all_fields()} == set(GOOD)


@pytest.mark.parametrize("key", sorted(GOOD), ids=lambda k: f"{k[0]}.{k[1]}")
def test_good_records_validate(key, good):
    p = protocols.load(key[0])
    record = good(*key)
    assert protocols.validate(p, record, key[1]) == []
    # The record type may also travel inside the record, with the other meta keys.
    record.update(record_type=key[1], id="3f0e...", protocol=p.name, protocol_version=p.version)
    assert protocols.validate(p, record) == []
    assert protocols.complete(p, record, key[1]) == protocols.complete(p, protocols.complete(p, record), key[1])


def test_every_field_and_choice_is_labelled_in_both_languages():
    for p, _rt, f in all_fields():
        for labels in [f["label"]] + [c["label"] for c in f.get("choices", [])]:
            assert labels["en"].strip() and labels["vi"].strip(), (p.name, f["name"])
    vi_labels = [f["label"]["vi"] for _, _, f in all_fields()]
    # Real Vietnamese, not ASCII stand-ins: most labels carry diacritics.
    assert sum(bool(VIETNAMESE_MARKS.search(v)) for v in vi_labels) > 0.9 * len(vi_labels)


@pytest.mark.parametrize("key", sorted(GOOD), ids=lambda k: f"{k[0]}.{k[1]}")
def test_each_required_field_missing_is_reported_by_name(key, good):
    p = protocols.load(key[0])
    for f in p.record_type(key[1]).fields:
        if not f.get("required"):
            continue
        for empty in (None, "", []):
            record = good(*key)
            record[f["name"]] = empty
            if empty is None:
                del record[f["name"]]
            errors = protocols.validate(p, record, key[1])
            assert [(e.path, e.code) for e in errors] == [(f["name"], "required")], (f["name"], errors)
            assert errors[0].message("en") == f"{f['label']['en']} is required"
            assert errors[0].message("vi") == f"Cần nhập {f['label']['vi']}"


def _bad_value(f):
    """A value of the right type that breaks the field's rule, and the code expected."""
    if f["type"] == "choice":
        return "not-a-choice", "choice"
    if "allowed" in f:
        return 12345, "allowed"
    if "max" in f:
        return f["max"] + 1, "max"
    if "min" in f:
        return f["min"] - 1, "min"
    return None, None


def test_each_rule_is_enforced_for_every_field(good):
    checked = 0
    for p, rt, f in all_fields():
        value, code = _bad_value(f)
        if code is None:
            continue
        base = good(p.name, rt.name)
        if f["name"] in ("perpendicular_distance_m",):
            continue
        record = copy.deepcopy(base)
        record[f["name"]] = value
        codes = {(e.path, e.code) for e in protocols.validate(p, record, rt.name)}
        assert (f["name"], code) in codes, (p.name, rt.name, f["name"], codes)
        checked += 1
    assert checked >= 30  # every choice, range and allowed-values field of all five protocols


@pytest.mark.parametrize("field,value,code", [
    ("count", "3", "type_integer"),
    ("count", True, "type_integer"),
    ("count", 2.5, "type_integer"),
    ("distance_m", "forty", "type_number"),
    ("distance_m", float("nan"), "type_number"),
    ("unidentified", 1, "type_boolean"),
    ("observed_at", "2026-03-01 07:12", "datetime"),
    ("observed_at", "2026-03-01T07:12:00", "datetime"),  # no UTC offset
    ("location", {"lat": 95, "lon": 107}, "geopoint"),
    ("location", [16, 107], "type_object"),
    ("photos", ["abc"], "photo"),
    ("photos", "abc", "type_list"),
    ("note", "x" * 2001, "max_length"),
    ("taxon", {"vernacular": "voọc"}, "taxon"),
])
def test_bad_observation_values(good, field, value, code):
    p = protocols.load("line_transect")
    record = good("line_transect", "observation")
    record[field] = value
    errors = protocols.validate(p, record, "observation")
    assert code in {e.code for e in errors if e.path.startswith(field)}, errors


def test_conditional_requirements(good):
    p = protocols.load("line_transect")
    r = good("line_transect", "observation")
    del r["taxon"]
    assert [e.path for e in protocols.validate(p, r, "observation")] == ["taxon"]
    r["unidentified"] = True
    assert protocols.validate(p, r, "observation") == []
    # Distance and bearing are required for sightings and calls, not for dung.
    r = good("line_transect", "observation")
    for k in ("distance_m", "bearing_deg", "perpendicular_distance_m"):
        del r[k]
    assert {e.path for e in protocols.validate(p, r, "observation")} == {"distance_m", "bearing_deg"}
    r["sign_type"] = "dung"
    assert protocols.validate(p, r, "observation") == []
    c = protocols.load("camera_trap")
    s = good("camera_trap", "service")
    del s["malfunction"], s["new_sd_card"]
    assert {e.path for e in protocols.validate(c, s, "service")} == {"malfunction", "new_sd_card"}
    a = protocols.load("acoustic_recorder")
    d = good("acoustic_recorder", "deployment")
    d["schedule"] = "custom"
    assert [e.path for e in protocols.validate(a, d, "deployment")] == ["schedule_note"]


def test_time_order_rules(good):
    p = protocols.load("line_transect")
    w = good("line_transect", "walk")
    w["end_time"] = "2026-03-01T06:00:00+07:00"
    (e,) = protocols.validate(p, w, "walk")
    assert (e.path, e.code) == ("end_time", "not_before")
    assert e.message("en") == "End time must not be before Start time"
    assert e.message("vi") == "Thời gian kết thúc không được sớm hơn Thời gian bắt đầu"
    # Offsets are compared as instants: 23:30Z is after 06:30+07:00 the same day.
    w["end_time"] = "2026-02-28T23:30:00+00:00"
    assert protocols.validate(p, w, "walk") == []
    c = protocols.load("camera_trap")
    s = good("camera_trap", "service")
    s["last_image_time"] = "2026-03-05T00:00:00+07:00"
    assert [(e.path, e.code) for e in protocols.validate(c, s, "service")] == [("last_image_time", "not_after")]


def test_perpendicular_distance_computed_and_checked(good):
    p = protocols.load("line_transect")
    r = good("line_transect", "observation")
    del r["perpendicular_distance_m"]
    for bearing, expected in ((135, 40.0), (45, 0.0), (75, 20.0), (345, 34.6), (225, 0.0)):
        r["bearing_deg"] = bearing
        assert protocols.complete(p, r, "observation")["perpendicular_distance_m"] == expected
    r["bearing_deg"] = 135
    r["perpendicular_distance_m"] = 12.0
    (e,) = protocols.validate(p, r, "observation")
    assert (e.path, e.code) == ("perpendicular_distance_m", "computed")
    assert "40.0" in e.message("en") and "40.0" in e.message("vi")
    assert protocols.perpendicular_distance(100, 30, 0) == 50.0


def test_group_list_errors_name_the_group(good):
    p = protocols.load("gibbon_listening_post")
    r = good("gibbon_listening_post", "session")
    r["groups"][1]["bearing_deg"] = 400
    del r["groups"][0]["distance_m"]
    r["groups"].append("not a group")
    errors = {(e.path, e.code) for e in protocols.validate(p, r)}
    assert errors == {("groups[1].bearing_deg", "max"), ("groups[0].distance_m", "required"),
                      ("groups[2]", "type_object")}
    msg = next(e for e in protocols.validate(p, r) if e.code == "max")
    assert msg.message("en") == "Compass bearing must be at most 360° (got 400)"
    assert msg.message("vi") == "Góc phương vị phải nhỏ hơn hoặc bằng 360° (nhận được 400)"
    assert protocols.complete(p, r)["groups"][0]["group_no"] == 1


def test_unknown_fields_and_record_types(good):
    p = protocols.load("threat_incident")
    r = good("threat_incident", "incident")
    r["snares"] = 3
    (e,) = protocols.validate(p, r)
    assert (e.path, e.code) == ("snares", "unknown_field")
    (e,) = protocols.validate(p, good("threat_incident", "incident"), "sighting")
    assert e.code == "record_type" and "threat_incident@1.0" in e.message("en")
    assert protocols.validate(p, ["not", "a", "dict"])[0].code == "not_an_object"
    assert protocols.validate(p, good("threat_incident", "incident"))[:1] == []


def test_track_and_timezone_and_sample_rate(good):
    p = protocols.load("line_transect")
    w = good("line_transect", "walk")
    w["track"].append([200, 16, "2026-03-01T06:30:05+07:00", 5])
    assert [(e.path, e.code) for e in protocols.validate(p, w, "walk")] == [("track[2]", "track_point")]
    a = protocols.load("acoustic_recorder")
    for tz, ok in (("Asia/Ho_Chi_Minh", True), ("UTC+07:00", True), ("UTC", True), ("+7", False), ("ICT", False)):
        d = good("acoustic_recorder", "deployment")
        d["timezone"] = tz
        assert (protocols.validate(a, d) == []) is ok, tz


def test_error_to_dict_for_api_answers(good):
    p = protocols.load("threat_incident")
    r = good("threat_incident", "incident")
    r["count"] = 0
    (e,) = protocols.validate(p, r)
    assert e.to_dict() == {"field": "count", "code": "min", "message": "Count must be at least 1 (got 0)"}
    assert e.to_dict("vi")["message"] == "Số lượng phải lớn hơn hoặc bằng 1 (nhận được 0)"
    assert str(e) == "count: Count must be at least 1 (got 0)"


# -- definitions ------------------------------------------------------------------
def definition():
    return json.loads(json.dumps(protocols.load("threat_incident").to_dict()))


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d.update(version="1"), "version '1' is not of the form 'major.minor'"),
    (lambda d: d.update(name="Threat"), "'name' 'Threat' must be lower_snake_case"),
    (lambda d: d["records"]["incident"]["fields"][0].update(type="float"), "fields[0] (observed_at): type 'float'"),
    (lambda d: d["records"]["incident"]["fields"][0]["label"].pop("vi"), "fields[0] (observed_at): label must give"),
    (lambda d: d["records"]["incident"]["fields"][0].update(colour="red"), "unknown key(s) ['colour']"),
    (lambda d: d["records"]["incident"]["fields"][1].update(choices=[]), "needs a non-empty 'choices' list"),
    (lambda d: d["records"]["incident"]["fields"][1].update(choices="nope"), "shared choice list 'nope'"),
    (lambda d: d["records"]["incident"]["fields"][0].update(choices=[]), "only choice fields take 'choices'"),
    (lambda d: d["records"]["incident"]["fields"][2].update(required_if={"field": "ghost", "in": ["x"]}),
     "fields[2] (count): required_if must be"),
    (lambda d: d["records"]["incident"]["fields"][2].update(min=10, max=1), "min 10 is greater than max 1"),
    (lambda d: d["records"]["incident"]["fields"].append(dict(d["records"]["incident"]["fields"][0])),
     "field names must be unique"),
    (lambda d: d.update(records={}), "'records' must map"),
])
def test_bad_definitions_are_rejected_with_file_and_field(mutate, message):
    d = definition()
    mutate(d)
    with pytest.raises(ProtocolDefinitionError) as exc:
        protocols.load_definition(d, source="threat_incident.json")
    assert str(exc.value).startswith("threat_incident.json")
    assert message in str(exc.value)


def test_load_unknown_name_or_version():
    with pytest.raises(ProtocolNotFound, match="no protocol named 'bird_point_count'; available: acoustic_recorder"):
        protocols.load("bird_point_count")
    with pytest.raises(ProtocolNotFound, match="has no version '9.9'; available: 1.0, 1.1"):
        protocols.load("line_transect", "9.9")
    assert protocols.load("line_transect", "1.0").key == "line_transect@1.0"
    assert protocols.load("line_transect").key == "line_transect@1.1"
    with pytest.raises(ProtocolNotFound, match="has no record type 'sighting'"):
        protocols.load("line_transect").record_type("sighting")


def test_definition_round_trips_through_json():
    for name in NAMES:
        p = protocols.load(name)
        again = protocols.load_definition(json.loads(json.dumps(p.to_dict(), ensure_ascii=False)))
        assert again.to_dict() == p.to_dict()


# -- versions -----------------------------------------------------------------------
def test_versions():
    assert protocols.parse_version("1.10") == (1, 10)
    for bad in ("1", "1.0.0", "v1.0", "01.0", "", None):
        with pytest.raises(ProtocolVersionError):
            protocols.parse_version(bad)
    assert protocols.is_compatible("1.0", "1.7") and protocols.is_compatible("1.7", "1.0")
    assert not protocols.is_compatible("1.0", "2.0")
    protocols.check_compatibility("line_transect", "1.0", "1.4")
    with pytest.raises(ProtocolVersionError) as exc:
        protocols.check_compatibility("line_transect", "1.2", "2.0")
    assert exc.value.message("en").startswith("Protocol 'line_transect' version 2.0 is newer than this app supports (1.x)")
    assert exc.value.message("vi").startswith("Giao thức 'line_transect' phiên bản 2.0 mới hơn")
    with pytest.raises(ProtocolVersionError, match="older than this app's 2.x"):
        protocols.check_compatibility("line_transect", "2.0", "1.5")

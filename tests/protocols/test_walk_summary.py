"""line_transect 1.1: the patrol and walk summary (issue 14, item 5), and the minor-version rule.

A minor version only adds optional fields, so a record made under 1.0 (an older
tablet, a queued walk) is still valid under 1.1, and 1.0 stays loadable for the
server to validate what older tablets send.
"""
from __future__ import annotations

import copy

import pytest

import protocols
from protocols.loader import _bundled
from protocols.version import parse_version
from protocol_records import GOOD

SUMMARY_FIELDS = ("patrol_type", "team_leader", "team", "distance_m", "walking_time_min", "record_counts")


def _versions() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, version in _bundled():
        out.setdefault(name, []).append(version)
    return {n: sorted(v, key=parse_version) for n, v in out.items()}


def test_every_bundled_version_stays_loadable():
    versions = _versions()
    assert versions["line_transect"] == ["1.0", "1.1"]
    for name, vs in versions.items():
        for v in vs:
            assert protocols.load(name, v).key == f"{name}@{v}"


@pytest.mark.parametrize("name", sorted(n for n, vs in _versions().items() if len(vs) > 1))
def test_a_minor_version_only_adds_optional_fields(name):
    vs = _versions()[name]
    for older, newer in zip(vs, vs[1:]):
        if parse_version(older)[0] != parse_version(newer)[0]:
            continue
        old, new = protocols.load(name, older), protocols.load(name, newer)
        for rt in old.records.values():
            new_rt = new.record_type(rt.name)
            for f in rt.fields:
                assert new_rt.field(f["name"]) == f, f"{name} {newer} changed {rt.name}.{f['name']}"
            added = [f for f in new_rt.fields if f["name"] not in rt.field_names]
            assert all(not f.get("required") and "required_if" not in f and "required_unless" not in f
                       for f in added), f"{name} {newer} added a required field to {rt.name}"


def test_a_walk_recorded_under_1_0_is_valid_under_both():
    walk = {k: v for k, v in GOOD[("line_transect", "walk")].items() if k not in SUMMARY_FIELDS}
    for version in ("1.0", "1.1"):
        assert protocols.validate(protocols.load("line_transect", version), walk, "walk") == []
    # ...but 1.0 does not know the summary: a walk with it must say 1.1
    errors = protocols.validate(protocols.load("line_transect", "1.0"), GOOD[("line_transect", "walk")], "walk")
    assert {e.path for e in errors} == set(SUMMARY_FIELDS)
    assert {e.code for e in errors} == {"unknown_field"}


def test_the_summary_fields_are_filled_by_the_app_not_typed():
    rt = protocols.load("line_transect").record_type("walk")
    hidden = {f["name"] for f in rt.fields if f.get("widget") == "hidden"}
    assert hidden == {"distance_m", "walking_time_min", "record_counts"}
    # what the ranger enters at the start of a patrol
    assert rt.field("patrol_type")["default"] == "foot"
    assert [c["value"] for c in rt.field("patrol_type")["choices"]] == ["foot", "motorbike", "vehicle", "boat", "mixed"]


@pytest.mark.parametrize("change, path, code", [
    (lambda w: w.update(distance_m=-1), "distance_m", "min"),
    (lambda w: w.update(walking_time_min="2h"), "walking_time_min", "type_number"),
    (lambda w: w.update(patrol_type="helicopter"), "patrol_type", "choice"),
    (lambda w: w["record_counts"][0].update(count=0), "record_counts[0].count", "min"),
    (lambda w: w["record_counts"][1].update(record="deployment"), "record_counts[1].record", "choice"),
    (lambda w: w["record_counts"][1].pop("type"), "record_counts[1].type", "required"),
    (lambda w: w.update(record_counts={"sighting": 3}), "record_counts", "type_list"),
    (lambda w: w.update(team=["An", ""]), "team[1]", "empty"),
])
def test_a_bad_summary_is_refused_by_field(change, path, code):
    walk = copy.deepcopy(GOOD[("line_transect", "walk")])
    change(walk)
    errors = protocols.validate(protocols.load("line_transect"), walk, "walk")
    assert [(e.path, e.code) for e in errors] == [(path, code)]
    assert errors[0].message("vi") and errors[0].message("en") != errors[0].message("vi")

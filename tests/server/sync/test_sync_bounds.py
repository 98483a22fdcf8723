"""Sync documents carry dates within the accepted range (issue 17, finding 8 and item 3).

A tablet with a broken clock (year 9999) or a typo (year 1) is told so in
both languages, and nothing is stored; the same range applies in the app's
own validation (protocols), the API's schemas and imports.
"""
from __future__ import annotations

import uuid

import pytest
from sqlmodel import select

from server.bounds import EARLIEST_DATE, latest_date
from server.models import FieldObservation, SurveyWalk


@pytest.mark.parametrize("when", ["0001-01-01T07:30:00+07:00", "9999-12-31T23:59:59+00:00",
                                  "1969-12-31T23:00:00+00:00"])
def test_a_record_dated_outside_the_range_is_rejected(field, world, when):
    h = field.device(field.ranger, "tab-1")
    res = field.push(h, field.mutation("observation", str(uuid.uuid4()), field.obs_doc(observed_at=when)))[0]
    assert res["status"] == "rejected"
    err = next(e for e in res["errors"] if e["field"] == "observed_at")
    assert EARLIEST_DATE.isoformat() in err["en"] and latest_date().isoformat() in err["en"]
    assert "đồng hồ" in err["vi"]
    with world.session() as s:
        assert s.exec(select(FieldObservation)).all() == []


def test_an_envelope_dated_outside_the_range_is_rejected(field, world):
    h = field.device(field.ranger, "tab-1")
    doc = field.walk_doc()
    doc["recorded_at"] = "9999-12-31T23:59:59Z"
    res = field.push(h, field.mutation("walk", str(uuid.uuid4()), doc))[0]
    assert res["status"] == "rejected" and res["errors"][0]["field"] == "recorded_at"
    assert res["errors"][0]["vi"] and "check the device clock" in res["errors"][0]["en"]
    with world.session() as s:
        assert s.exec(select(SurveyWalk)).all() == []


def test_the_edges_of_the_range_are_accepted(field):
    h = field.device(field.ranger, "tab-1")
    res = field.push(h, field.mutation("observation", str(uuid.uuid4()),
                                       field.obs_doc(observed_at="1970-01-01T00:00:00+00:00")))[0]
    assert res["status"] == "applied", res


def test_protocols_refuse_dates_outside_the_range_in_both_languages():
    import protocols

    proto = protocols.load("line_transect", "1.0")
    rec = {"transect_id": "T1", "start_time": "9999-03-01T07:00:00+07:00", "observers": ["Lan"]}
    errors = protocols.validate(proto, rec, "walk")
    codes = {e.code for e in errors}
    assert "date_range" in codes
    err = next(e for e in errors if e.code == "date_range")
    assert "9999" in err.message("en") and "9999" in err.message("vi")


def test_imported_packages_and_cli_dates_are_bounded():
    from datetime import datetime

    from server.errors import ValidationError
    from server.exports.common import parse_time
    from server.services.deployments import normalise_times

    with pytest.raises(ValidationError, match="is not between 1970-01-01"):
        parse_time("9999-12-31T23:59:59-12:00", "deployments.csv row 2 deploymentEnd")
    with pytest.raises(ValidationError, match="deployment_start must be between"):
        normalise_times({"deployment_start": datetime(1, 1, 1)}, "Asia/Ho_Chi_Minh")

"""Hostile input gets a clear 4xx, never a 500 (issue 17, item 3 and finding 11).

Bounds live in server/bounds.py: JSON depth and finite numbers in every body,
page offsets, dates within 1970-01-01 .. ten years ahead, positions inside
recordings; constraint violations and full disks are answered without
database internals.
"""
from __future__ import annotations

import json

import pytest
from sqlmodel import func, select

from server.bounds import EARLIEST_DATE, MAX_JSON_DEPTH, latest_date
from server.models import Deployment, Location, Program, ProtectedArea


@pytest.fixture
def admin(world):
    return world.user("admin", admin=True)


@pytest.fixture
def admin_h(world, admin):
    return world.headers(admin)


def _post_raw(client, url, text, headers):
    return client.post(url, data=text, headers={**headers, "Content-Type": "application/json"})


def _count(world, model):
    with world.session() as s:
        return s.exec(select(func.count()).select_from(model)).one()


# ---- JSON bodies ----------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_deeply_nested_json_is_refused(client, admin_h, depth):
    body = '{"code": "X", "name": "X", "boundary": {"a": ' + "[" * depth + "]" * depth + "}}"
    r = _post_raw(client, "/api/v1/areas", body, admin_h)
    assert r.status_code == 400 and r.json["error"]["code"] == "too_deep"
    assert str(MAX_JSON_DEPTH) in r.json["error"]["message"]


def test_deeply_nested_sync_push_is_refused(client, admin_h):
    body = '{"mutations": [' + "[" * 1000 + "]" * 1000 + "]}"
    r = _post_raw(client, "/api/v1/sync/push", body, admin_h)
    assert r.status_code == 400 and r.json["error"]["code"] == "too_deep"


def test_nesting_within_the_limit_is_accepted(client, admin_h, world):
    a = world.area()
    inner = "[" * (MAX_JSON_DEPTH - 2) + "]" * (MAX_JSON_DEPTH - 2)
    body = '{"area_id": "%s", "name": "P", "settings": {"a": %s}}' % (a.id, inner)
    r = _post_raw(client, "/api/v1/programs", body, admin_h)
    assert r.status_code == 201, r.json
    assert _count(world, Program) == 1


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400", "1" * 30, "1" * 5000])
def test_numbers_must_be_finite(client, admin_h, world, literal):
    a = world.area()
    body = '{"area_id": "%s", "name": "S1", "elevation": %s}' % (a.id, literal)
    r = _post_raw(client, "/api/v1/locations", body, admin_h)
    assert r.status_code in (400, 422), r.json
    assert "out of range" in r.json["error"]["message"] or "not a JSON number" in r.json["error"]["message"]
    assert _count(world, Location) == 0


def test_float_fields_refuse_nan_given_as_a_string(client, admin_h, world):
    """pydantic reads "nan" and "inf" strings as floats; input schemas refuse them."""
    a = world.area()
    r = client.post("/api/v1/locations", json={"area_id": a.id, "name": "S1", "elevation": "inf"}, headers=admin_h)
    assert r.status_code == 422 and r.json["error"]["details"][0]["field"] == "elevation"
    r = client.get("/api/v1/review/next?min_confidence=nan", headers=admin_h)
    assert r.status_code == 422


def test_recording_positions_are_bounded(client, admin_h):
    r = client.post("/api/v1/review/media/00000000-0000-0000-0000-000000000000/labels",
                    json={"taxon_id": "x", "start_s": 1e308, "end_s": 1e308}, headers=admin_h)
    assert r.status_code == 422
    assert {d["field"] for d in r.json["error"]["details"]} >= {"start_s"}


# ---- pages ---------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["/api/v1/areas", "/api/v1/programs", "/api/v1/media", "/api/v1/sequences",
                                 "/api/v1/taxa", "/api/v1/jobs", "/api/v1/users"])
@pytest.mark.parametrize("offset", [str(10 ** 25), "-1", "99999999999"])
def test_huge_or_negative_offsets(client, admin_h, url, offset):
    r = client.get(f"{url}?offset={offset}", headers=admin_h)
    assert r.status_code == 422, r.get_data(as_text=True)[:200]
    assert r.json["error"]["details"][0]["field"] == "offset"


def test_huge_limit_and_cursor(client, admin_h):
    assert client.get(f"/api/v1/areas?limit={10 ** 25}", headers=admin_h).status_code == 422
    assert client.get(f"/api/v1/sync/pull?since={10 ** 25}", headers=admin_h).status_code == 422


# ---- dates ---------------------------------------------------------------------------------
def test_deployment_dates_within_range(client, admin_h, world):
    a = world.area()
    p = world.program(a.id)
    base = {"program_id": p.id, "location": {"name": "S"}}
    r = client.post("/api/v1/deployments", headers=admin_h, json={
        **base, "deployment_start": "0001-01-01T00:00:00Z", "deployment_end": "9999-12-31T00:00:00Z"})
    assert r.status_code == 422
    fields = {d["field"] for d in r.json["error"]["details"]}
    assert fields == {"deployment_start", "deployment_end"}
    assert EARLIEST_DATE.isoformat() in r.json["error"]["message"]
    assert latest_date().isoformat() in r.json["error"]["message"]
    assert _count(world, Deployment) == 0
    ok = client.post("/api/v1/deployments", headers=admin_h, json={**base, "deployment_start": "1970-01-01T08:00:00"})
    assert ok.status_code == 201
    r = client.patch(f"/api/v1/deployments/{ok.json['id']}", json={"deployment_end": "12000-01-01T00:00:00Z"},
                     headers=admin_h)
    assert r.status_code == 422
    r = client.post(f"/api/v1/deployments/{ok.json['id']}/intervals", headers=admin_h,
                    json={"start": "1970-01-02T00:00:00Z", "end": "9999-01-01T00:00:00Z"})
    assert r.status_code == 422 and r.json["error"]["details"][0]["field"] == "end"


def test_program_dates_within_range(client, admin_h, world):
    a = world.area()
    r = client.post("/api/v1/programs", json={"area_id": a.id, "name": "P", "start_date": "0001-01-01",
                                              "end_date": "9999-12-31"}, headers=admin_h)
    assert r.status_code == 422
    assert {d["field"] for d in r.json["error"]["details"]} == {"start_date", "end_date"}
    assert _count(world, Program) == 0
    p = world.program(a.id)
    r = client.patch(f"/api/v1/programs/{p.id}", json={"end_date": "1969-12-31"}, headers=admin_h)
    assert r.status_code == 422


@pytest.mark.parametrize("url", [
    "/api/v1/deployments?active_at=9999-12-31T23:59:59",
    "/api/v1/media?start=0001-01-01T00:00:00",
    "/api/v1/media?end=9999-12-31T23:59:59",
    "/api/v1/review/next?date_to=9999-12-31T23:59:59",
    "/api/v1/analytics/rai?area_id=X&start=0001-01-01&end=9999-12-31",
    "/api/v1/analytics/rai?area_id=X&year=1",
    "/api/v1/reports/annual?area_id=X&year=9999",
])
def test_query_dates_within_range(client, admin_h, url):
    r = client.get(url, headers=admin_h)
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    assert "between" in r.json["error"]["message"]


# ---- nulls and constraint violations -------------------------------------------------------
def test_null_password_is_refused(client, admin_h, admin):
    r = client.patch(f"/api/v1/users/{admin.id}", json={"password": None}, headers=admin_h)
    assert r.status_code == 422 and r.json["error"]["details"][0]["field"] == "password"
    r = client.patch(f"/api/v1/users/{admin.id}", json={"language": None}, headers=admin_h)
    assert r.status_code == 422
    assert client.post("/api/v1/auth/token", json={"username": "admin", "password": "password123"}).status_code == 201


def test_duplicate_names_the_field(client, admin_h):
    assert client.post("/api/v1/areas", json={"code": "X", "name": "X"}, headers=admin_h).status_code == 201
    r = client.post("/api/v1/areas", json={"code": "X", "name": "Y"}, headers=admin_h)
    assert r.status_code == 409
    assert r.json["error"]["message"] == "The code X is already used by another protected area."
    assert r.json["error"]["details"] == [{"field": "code", "message": "already used"}]


def _violations(world):
    """One IntegrityError of each kind, raised by the real database."""
    from sqlalchemy.exc import IntegrityError

    from sqlalchemy import text

    from server.models import Membership, Taxon, User

    a = world.area()
    with world.session() as s:
        genus = Taxon(scientific_name="Pseudoryx", rank="genus")
        s.add(genus)
        s.flush()
        s.add(Taxon(scientific_name="Pseudoryx nghetinhensis", parent_id=genus.id))
    out = {}
    cases = {
        "unique": lambda s: s.add(ProtectedArea(code=a.code, name="again")),
        "not_null": lambda s: s.add(User(username="nopass", password_hash=None)),
        "foreign_key": lambda s: s.add(Membership(user_id="no-such-user", area_id=a.id, role="viewer")),
        "in_use": lambda s: s.execute(text("DELETE FROM taxon WHERE id = :id"), {"id": genus.id}),
    }
    for kind, act in cases.items():
        with pytest.raises(IntegrityError) as info:
            with world.session() as s:
                act(s)
                s.flush()
        out[kind] = info.value
    return out


def test_integrity_errors_are_described_without_database_internals(world):
    from server.dberrors import integrity_error

    errs = _violations(world)
    answers = {k: integrity_error(e) for k, e in errs.items()}
    for kind, err in answers.items():
        text = json.dumps(err.to_dict())
        for internal in ("constraint failed", "violates", "SQL", "psycopg", "sqlite", "Key ("):
            assert internal not in text, (kind, text)
    assert answers["unique"].status == 409 and "protected area with this code" in answers["unique"].message
    assert answers["not_null"].status == 422 and "password_hash" in answers["not_null"].message
    assert answers["foreign_key"].status == 422 and "does not exist" in answers["foreign_key"].message
    assert answers["in_use"].status == 409 and "taxon is still used" in answers["in_use"].message


def test_null_in_a_required_column_is_a_clear_422(client, admin_h, world):
    """A PATCH that sends null for a required column gets a 4xx that names the field (no raw driver text)."""
    t = client.post("/api/v1/taxa", json={"scientific_name": "Muntiacus vuquangensis"}, headers=admin_h).json
    r = client.patch(f"/api/v1/taxa/{t['id']}", json={"rank": None}, headers=admin_h)
    assert r.status_code in (400, 422), r.json
    assert "rank" in r.get_data(as_text=True)
    assert "constraint failed" not in r.json["error"]["message"] and "violates" not in r.json["error"]["message"]


# ---- structured values inside JSON (found by fuzzing) -----------------------------------------
SQUARE = {"type": "Polygon", "coordinates": [[[106.0, 17.0], [106.5, 17.0], [106.5, 17.5], [106.0, 17.5],
                                              [106.0, 17.0]]]}


@pytest.mark.parametrize("boundary", [
    {"type": "Polygon", "coordinates": "x"},
    {"type": "Nope"},
    {"type": "Polygon", "coordinates": [[["a", None], [1, 2], [3, 4], [1, 2]]]},
    {"type": "Polygon", "coordinates": [[[1e308, 1.0], [1, 2], [3, 4], [1e308, 1.0]]]},
    {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 1]]]]},
    {"type": "FeatureCollection", "features": []},
])
def test_area_boundaries_are_polygons(client, admin_h, world, boundary):
    r = client.post("/api/v1/areas", json={"code": "X", "name": "X", "boundary": boundary}, headers=admin_h)
    assert r.status_code == 422 and r.json["error"]["details"][0]["field"] == "boundary", r.json
    a = world.area()
    r = client.patch(f"/api/v1/areas/{a.id}", json={"boundary": boundary}, headers=admin_h)
    assert r.status_code == 422


def test_a_polygon_boundary_is_accepted_and_drawn(client, admin_h, world):
    r = client.post("/api/v1/areas", json={"code": "X", "name": "X", "boundary": SQUARE}, headers=admin_h)
    assert r.status_code == 201 and r.json["boundary"] == SQUARE
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"]]}
    assert client.patch(f"/api/v1/areas/{r.json['id']}", json={"boundary": multi}, headers=admin_h).status_code == 200


def test_a_stored_bad_boundary_does_not_break_pages(client, admin_h, world):
    """Rows written before boundaries were checked: the report and the sync reference still answer."""
    from server.models import ProtectedArea

    a = world.area()
    world.program(a.id)
    with world.session() as s:
        s.get(ProtectedArea, a.id).boundary = {"type": "Polygon", "coordinates": "x"}
    assert client.get(f"/api/v1/reports/annual?area_id={a.id}&year=2026", headers=admin_h).status_code == 200
    assert client.get(f"/api/v1/sync/reference?area_id={a.id}", headers=admin_h).status_code == 200


@pytest.mark.parametrize("names", [5, "Pygathrix nemaeus", [1, [2]], [{"x": 1}], [""]])
def test_species_lists_are_lists_of_names(client, admin_h, world, names):
    a = world.area()
    r = client.post("/api/v1/programs", json={"area_id": a.id, "name": "P", "settings": {"species_list": names}},
                    headers=admin_h)
    assert r.status_code == 422, r.json
    p = world.program(a.id)
    r = client.patch(f"/api/v1/programs/{p.id}", json={"settings": {"species_list": names}}, headers=admin_h)
    assert r.status_code == 422
    # A row stored before the check: the species list and the sync reference still answer.
    from server.models import Program

    with world.session() as s:
        s.get(Program, p.id).settings = {"species_list": names}
    assert client.get(f"/api/v1/programs/{p.id}/species", headers=admin_h).status_code == 200
    assert client.get(f"/api/v1/sync/reference?area_id={a.id}", headers=admin_h).status_code == 200


@pytest.mark.parametrize("query", ["truncation_m=1e308", "bin_m=1e-300&truncation_m=1000"])
def test_histograms_have_a_bounded_number_of_bins(client, admin_h, world, query):
    a = world.area()
    r = client.get(f"/api/v1/analytics/distance-histogram?area_id={a.id}&{query}", headers=admin_h)
    assert r.status_code == 422 and "bins" in r.json["error"]["message"], r.get_data(as_text=True)[:300]


@pytest.mark.parametrize("body", [{"camera_delay": 10 ** 18}, {"camera_delay": 2 ** 31}])
def test_integer_fields_fit_their_columns(client, admin_h, world, body):
    a = world.area()
    dep = world.deployment(world.program(a.id))
    r = client.patch(f"/api/v1/deployments/{dep.id}", json=body, headers=admin_h)
    assert r.status_code == 422, r.get_data(as_text=True)[:300]
    r = client.post("/api/v1/locations", json={"area_id": a.id, "name": "S9", "coordinate_uncertainty": 2 ** 40},
                    headers=admin_h)
    assert r.status_code == 422


def test_a_value_the_database_cannot_store_is_a_422(world, db_url):
    """The net under the schemas: PostgreSQL's "integer out of range" is a 422 naming the problem."""
    from sqlalchemy.exc import DataError

    from server.dberrors import data_error
    from server.models import Location

    a = world.area()
    if db_url.startswith("sqlite"):  # SQLite keeps any 64-bit integer: nothing to refuse
        with world.session() as s:
            s.add(Location(area_id=a.id, name="S", coordinate_uncertainty=2 ** 40))
        return
    with pytest.raises(DataError) as info:
        with world.session() as s:
            s.add(Location(area_id=a.id, name="S", coordinate_uncertainty=2 ** 40))
            s.flush()
    err = data_error(info.value)
    assert err.status == 422 and err.message.startswith("a number is out of range")


def test_text_fields_are_bounded(client, admin_h, world):
    from server.bounds import MAX_TEXT

    a = world.area()
    dep = world.deployment(world.program(a.id))
    long = "x" * (MAX_TEXT + 1)
    r = client.patch(f"/api/v1/deployments/{dep.id}", json={"deployment_comments": long}, headers=admin_h)
    assert r.status_code == 422 and r.json["error"]["details"][0]["field"] == "deployment_comments"
    assert client.get(f"/api/v1/taxa?q={long}", headers=admin_h).status_code == 422
    ok = client.patch(f"/api/v1/deployments/{dep.id}", json={"deployment_comments": "x" * MAX_TEXT}, headers=admin_h)
    assert ok.status_code == 200


@pytest.mark.parametrize("query", [f"offset={10 ** 25}", "offset=-5", "offset=x", f"page={10 ** 25}",
                                   f"min_images={10 ** 30}"])
def test_page_parameters_never_500(client, world, query):
    from signin import sign_in

    a = world.area()
    world.user("boss", roles={a.id: "manager"})
    assert sign_in(client, "boss").status_code == 302
    for url in (f"/areas/{a.id}/field", "/sound", "/review/repeated"):
        r = client.get(f"{url}?{query}")
        assert r.status_code == 200, (url, r.status_code)

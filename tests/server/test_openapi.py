"""The OpenAPI document is generated from the code, covers every API route, refuses two
schemas with one name, and says what the server accepts and answers (the whole API is
fuzzed against it in test_schemathesis.py)."""
import pytest


@pytest.fixture
def admin_h(world):
    return world.headers(world.user("root", admin=True))



def test_openapi_document(client, app):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json
    assert doc["openapi"].startswith("3.1")
    api_rules = {(rule.rule, m) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1")
                 for m in rule.methods - {"HEAD", "OPTIONS"}}
    import re

    documented = {("/api/v1" + re.sub(r"{(\w+)}", r"<\1>", p)[len("/api/v1"):], m.upper())
                  for p, ops in doc["paths"].items() for m in ops}
    missing = {(r, m) for r, m in api_rules if (re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", r), m) not in documented}
    assert not missing, f"routes missing from OpenAPI: {sorted(missing)}"
    dep = doc["paths"]["/api/v1/deployments"]["post"]
    schema = doc["components"]["schemas"][dep["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    assert "deployment_start" in schema["required"]
    assert "limit" in {p["name"] for p in doc["paths"]["/api/v1/taxa"]["get"]["parameters"]}
    # every $ref resolves
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', r.get_data(as_text=True)))
    assert refs <= set(doc["components"]["schemas"])


# ---- one name, one schema ---------------------------------------------------------------------------------
def _spec(body=None, response=None, rule="/things"):
    from server.api.core import RouteSpec

    return RouteSpec(rule, ("POST",), "a thing", ("t",), body, None, response, False, 200, True)


def test_two_schemas_with_one_name_are_refused():
    from pydantic import BaseModel

    from server.api.openapi import SchemaNameClash, build_document

    class Thing(BaseModel):
        a: int

    first = Thing

    class Thing(BaseModel):  # noqa: F811 - a second model with the same name is the point
        b: str

    with pytest.raises(SchemaNameClash, match="two different schemas are named 'Thing'"):
        build_document("t", [_spec(first), _spec(Thing, rule="/other")])
    # the same class used twice is one schema
    doc = build_document("t", [_spec(first), _spec(first, rule="/other")])
    assert doc["components"]["schemas"]["Thing"]["required"] == ["a"]

    # two classes, equal schemas: still two models behind one name
    class Twin(BaseModel):
        a: int

    twin = Twin

    class Twin(BaseModel):  # noqa: F811
        a: int

    with pytest.raises(SchemaNameClash, match="two models are named 'Twin'"):
        build_document("t", [_spec(twin), _spec(Twin, rule="/other")])

    # models used inside others clash too
    class Inner(BaseModel):
        a: int

    class Outer(BaseModel):
        inner: Inner

    class Inner(BaseModel):  # noqa: F811
        b: str

    class Wrapper(BaseModel):
        inner: Inner

    with pytest.raises(SchemaNameClash, match="'Inner'"):
        build_document("t", [_spec(Outer), _spec(Wrapper, rule="/other")])


def test_the_api_document_builds_without_name_clashes(app):
    from server.api.openapi import build_document

    doc = build_document("t")
    # the two resolve schemas of issue 17 are one now
    ref = doc["paths"]["/api/v1/sync/conflicts/{conflict_id}/resolve"]["post"]["requestBody"]
    assert ref["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ResolveIn"}
    assert set(doc["components"]["schemas"]["ResolveIn"]["properties"]) == {"resolution", "choices", "merged"}


# ---- the document says what the server does ---------------------------------------------------------------
def _params(doc, path, method="get"):
    return {p["name"]: p for p in doc["paths"]["/api/v1" + path][method].get("parameters", [])}


@pytest.mark.parametrize("path", ["/taxa", "/areas", "/media", "/sequences", "/users", "/jobs", "/deployments"])
def test_page_ranges_are_documented_and_enforced(client, admin_h, path):
    doc = client.get("/api/v1/openapi.json").json
    params = _params(doc, path)
    limit, offset = params["limit"]["schema"], params["offset"]["schema"]
    assert (limit["minimum"], limit["maximum"], offset["minimum"]) == (1, 500, 0)
    top = offset["maximum"]
    url = "/api/v1" + path
    for query, status in [(f"limit={limit['maximum']}", 200), (f"limit={limit['maximum'] + 1}", 422),
                          ("limit=0", 422), (f"offset={top}", 200), (f"offset={top + 1}", 422), ("offset=-1", 422),
                          (f"offset={10**25}", 422)]:
        r = client.get(f"{url}?{query}", headers=admin_h)
        assert r.status_code == status, (path, query, r.get_data(as_text=True)[:300])


def test_error_answers_are_documented(client, admin_h):
    doc = client.get("/api/v1/openapi.json").json
    ops = [(p, m, op) for p, item in doc["paths"].items() for m, op in item.items()]
    for path, method, op in ops:
        codes = set(op["responses"])
        assert {"400", "401", "404", "422"} <= codes, (method, path)
        if "requestBody" in op:
            assert {"413", "415"} <= codes, (method, path)
        if op.get("security"):
            assert "403" in codes, (method, path)
        if method in ("post", "put", "patch", "delete"):
            assert "409" in codes, (method, path)
    assert set(doc["paths"]["/api/v1/areas/{area_id}"]["delete"]["responses"]["204"]) == {"description"}
    # and the server answers them as documented
    r = client.post("/api/v1/areas", data="x", headers=admin_h)
    assert r.status_code == 415 and r.json["error"]["code"] == "unsupported_media_type"
    r = client.get("/api/v1/health", headers={"Authorization": "Bearer saola_nope"})
    assert r.status_code == 401 and "401" in doc["paths"]["/api/v1/health"]["get"]["responses"]


def test_raw_answers_are_documented_with_their_content_types(client):
    doc = client.get("/api/v1/openapi.json").json

    def content(path, method="get"):
        return set(doc["paths"]["/api/v1" + path][method]["responses"][
            "201" if method == "post" and path.endswith("/media") else "200"]["content"])

    assert content("/media/{media_id}/spectrogram.png") == {"image/png"}
    assert content("/deployments/{deployment_id}/detections.csv") == {"text/csv"}
    assert content("/exports/{job_id}/download") == {"application/zip"}
    assert content("/analytics/{name}") == {"application/json", "text/csv"}
    assert content("/analytics/{name}/plot") == {"image/png"}
    assert content("/reports/annual") == {"text/html", "application/pdf"}
    assert content("/media/{media_id}/file") == {"image/*", "video/*", "audio/*"}
    assert content("/media/{media_id}/thumbnail") == content("/media/{media_id}/view") == {"image/*"}
    from server.analytics.registry import ANALYSES

    assert _params(doc, "/analytics/{name}")["name"]["schema"]["enum"] == list(ANALYSES)


def test_upload_routes_document_their_bodies(client):
    doc = client.get("/api/v1/openapi.json").json
    paths = doc["paths"]
    media = paths["/api/v1/deployments/{deployment_id}/media"]["post"]["requestBody"]["content"]
    assert media["multipart/form-data"]["schema"]["properties"]["files"]["items"]["format"] == "binary"
    tus = paths["/api/v1/uploads/{upload_id}"]["patch"]["requestBody"]["content"]
    assert tus["application/offset+octet-stream"]["schema"] == {"type": "string", "format": "binary"}
    sink = paths["/api/v1/diagnostics/upload-sink"]["put"]["requestBody"]
    assert sink["required"] is False and "application/octet-stream" in sink["content"]


def test_path_ids_are_documented_and_anything_else_is_a_404(client, admin_h):
    doc = client.get("/api/v1/openapi.json").json
    area_id = _params(doc, "/areas/{area_id}")["area_id"]["schema"]
    assert area_id["pattern"].startswith("^[0-9A-Za-z]")
    # a NUL byte or a long string never reaches the database (PostgreSQL refuses NUL in text: a 500)
    for bad in ("%00", "a%00bcdefgh", "x" * 200, "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"):
        r = client.get(f"/api/v1/areas/{bad}", headers=admin_h)
        assert r.status_code == 404 and r.json["error"]["code"] == "not_found", bad


def test_text_with_nul_is_a_422_on_both_databases(client, admin_h):
    for url in ("/api/v1/taxa?q=%00", "/api/v1/areas?q=a%00b", "/api/v1/deployments?area_id=%00"):
        r = client.get(url, headers=admin_h)
        assert r.status_code == 422 and "NUL" in r.json["error"]["message"], url
    for body in ({"code": "A1", "name": "a\u0000b"}, {"code": "A1", "name": "a", "boundary": {"k\u0000": 1}}):
        r = client.post("/api/v1/areas", json=body, headers=admin_h)
        assert r.status_code == 422 and "NUL" in r.json["error"]["message"], body
    # an escaped backslash before u0000 is text, not a NUL
    r = client.post("/api/v1/areas", json={"code": "A1", "name": "a\\u0000b"}, headers=admin_h)
    assert r.status_code == 201 and r.json["name"] == "a\\u0000b"


def test_times_are_iso_text_only(client, admin_h, world):
    doc = client.get("/api/v1/openapi.json").json
    assert _params(doc, "/deployments")["active_at"]["schema"]["format"] == "date-time"
    assert client.get("/api/v1/deployments?active_at=2026-03-01T00:00:00Z", headers=admin_h).status_code == 200
    for bad in ("0.5", "1700000000", "2026-03-01", "soon"):
        r = client.get(f"/api/v1/deployments?active_at={bad}", headers=admin_h)
        assert r.status_code == 422 and "ISO 8601" in r.json["error"]["message"], bad
    a = world.area()
    # JSON bodies take JSON types, as documented: no numbers for times, no "60" for 60, no 0 for false
    for extra in ({"start_date": 20260301}, {"sequence_gap_s": "60"}, {"start_date": "2026-03-01T00:00:00Z"}):
        r = client.post("/api/v1/programs", json={"area_id": a.id, "name": "P", **extra}, headers=admin_h)
        assert r.status_code == 422, extra
    r = client.post("/api/v1/programs", json={"area_id": a.id, "name": "P", "start_date": "2026-03-01",
                                              "sequence_gap_s": 60}, headers=admin_h)
    assert r.status_code == 201, r.json


def _date_time(value) -> bool:
    """RFC 3339 date-time (with an offset), what OpenAPI's format date-time means."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None and "T" in value
    except (TypeError, ValueError):
        return False


def validate_answer(doc, path, method, status, body):
    """Validate ``body`` against the document's schema for that answer, date-time formats checked."""
    import jsonschema

    schema = doc["paths"]["/api/v1" + path][method]["responses"][str(status)]["content"]["application/json"]["schema"]
    checker = jsonschema.FormatChecker()
    checker.checks("date-time")(_date_time)
    validator = jsonschema.Draft202012Validator({**schema, "components": doc["components"]}, format_checker=checker)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, errors


def test_media_answers_match_their_schema_with_a_camera_time(client, admin_h, world, app):
    """captured_at_raw is the camera's own clock without a zone: documented as such, not as a date-time."""
    from datetime import datetime, timezone

    from server.models import Media

    a = world.area()
    dep = world.deployment(world.program(a.id))
    with world.session() as s:
        m = Media(sha256="a" * 64, deployment_id=dep.id, file_name="IMG_0001.JPG", media_type="image/jpeg",
                  size_bytes=10, storage_key="x/a.jpg", captured_at_raw=datetime(2026, 3, 1, 6, 30),
                  captured_at=datetime(2026, 2, 28, 23, 30, tzinfo=timezone.utc), utc_offset_min=420)
        s.add(m)
        s.flush()
        media_id = m.id
    doc = client.get("/api/v1/openapi.json").json
    one = client.get(f"/api/v1/media/{media_id}", headers=admin_h)
    assert one.status_code == 200 and one.json["captured_at_raw"] == "2026-03-01T06:30:00"
    validate_answer(doc, "/media/{media_id}", "get", 200, one.json)
    page = client.get("/api/v1/media", headers=admin_h)
    validate_answer(doc, "/media", "get", 200, page.json)

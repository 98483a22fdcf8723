"""OpenAPI 3.1 document generated from the registered routes and their schemas."""
from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from .core import SPECS, RouteSpec

_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {}},
        "required": ["code", "message"]}},
    "required": ["error"],
}


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components.setdefault(model.__name__, schema)
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(spec: RouteSpec, method: str, components: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": spec.summary, "tags": list(spec.tags) or ["misc"],
                          "operationId": f"{method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', spec.rule).strip('_')}"}
    if spec.description:
        op["description"] = spec.description
    params = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
              for p in _PARAM.findall(spec.rule)]
    if spec.query is not None:
        qs = spec.query.model_json_schema()
        required = set(qs.get("required", []))
        for name, prop in qs.get("properties", {}).items():
            params.append({"name": name, "in": "query", "required": name in required,
                           "schema": {k: v for k, v in prop.items() if k != "title"}})
    if params:
        op["parameters"] = params
    if spec.body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _schema_ref(spec.body, components)}}}
    elif spec.content_type:
        op["requestBody"] = {"required": True, "content": {spec.content_type: {"schema": {}}}}
    responses: dict[str, Any] = {}
    if spec.response is not None:
        ref = _schema_ref(spec.response, components)
        if spec.many:
            schema: dict[str, Any] = {"type": "array", "items": ref}
        elif spec.query is not None and "limit" in spec.query.model_fields:
            schema = {"type": "object", "properties": {
                "items": {"type": "array", "items": ref}, "total": {"type": "integer"},
                "limit": {"type": "integer"}, "offset": {"type": "integer"},
                "next_offset": {"type": ["integer", "null"]}}}
        else:
            schema = ref
        responses[str(spec.status)] = {"description": "OK", "content": {"application/json": {"schema": schema}}}
    else:
        responses[str(spec.status)] = {"description": "OK"}
    err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for code, text in {400: "Bad request", 401: "Not signed in", 403: "Forbidden", 404: "Not found",
                       422: "Invalid input", **spec.extra_responses}.items():
        if code == 401 and not spec.auth:
            continue
        responses[str(code)] = {"description": text, **err}
    op["responses"] = responses
    if spec.auth:
        op["security"] = [{"bearer": []}, {"session": []}]
    return op


def build_document(version: str) -> dict[str, Any]:
    """The OpenAPI document of every registered route."""
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for spec in SPECS:
        path = "/api/v1" + _PARAM.sub(r"{\1}", spec.rule)
        for method in spec.methods:
            paths.setdefault(path, {})[method.lower()] = _operation(spec, method, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Saola API", "version": version,
                 "description": "Biodiversity field-survey and camera-trap platform. "
                                "Authenticate with 'Authorization: Bearer <token>' "
                                "(saola tokens create USER, or POST /api/v1/auth/token)."},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": components, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
    }

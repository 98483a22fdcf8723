"""OpenAPI 3.1 document generated from the registered routes and their schemas.

What the document says is what the server does: parameter and body schemas are
the pydantic models the routes validate with (constraints included), every
error status a route can answer is listed, and non-JSON answers (PNG, CSV, zip,
media files) are described with their content types. Two different schemas may
not share a component name: building the document raises
:class:`SchemaNameClash` instead of silently keeping one of them.
"""
from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from .core import ID_PATTERN, SPECS, RouteSpec

_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_CONVERTER = re.compile(r"<([^:<>]+):([^<>]+)>")
# Flask's converters: what each accepts (anything else is a 404 from the router).
_CONVERTED = {"int": {"type": "integer", "minimum": 0}, "float": {"type": "number", "minimum": 0}}
REF = "#/components/schemas/{model}"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {}},
        "required": ["code", "message"]}},
    "required": ["error"],
}
ERROR_TEXT = {
    400: "Bad request (malformed JSON, a bad header)",
    401: "Not signed in, or an unknown, expired or revoked token",
    403: "Signed in without the role this needs",
    404: "No such object, or one in a protected area you are not a member of",
    409: "Conflicts with the stored state",
    413: "Body too large",
    415: "Body of the wrong content type",
    422: "Invalid input (each bad field is listed in details)",
}
ID_SCHEMA = {"type": "string", "pattern": ID_PATTERN, "description": "a UUID"}


class SchemaNameClash(ValueError):
    """Two different schemas would be published under one component name."""


class _Components:
    """The ``components/schemas`` being built, refusing a second, different schema under a taken name."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
        self.origin: dict[str, str] = {"Error": f"{__name__}.ERROR_SCHEMA"}
        self.models: dict[str, type[BaseModel]] = {}

    def add(self, name: str, schema: dict[str, Any], origin: str) -> None:
        known = self.schemas.get(name)
        if known is None:
            self.schemas[name] = schema
            self.origin[name] = origin
        elif known != schema:
            raise SchemaNameClash(f"two different schemas are named {name!r}: {self.origin[name]} and {origin}; "
                                  "rename one of them")

    def model(self, model: type[BaseModel], mode: str = "validation") -> dict[str, Any]:
        """A $ref to ``model``'s schema (and the models it uses), registered under their names."""
        schema = model.model_json_schema(ref_template=REF, mode=mode)
        origin = f"{model.__module__}.{model.__qualname__}"
        for name, sub in schema.pop("$defs", {}).items():
            self.add(name, sub, f"{origin} (a model it uses)")
        name = model.__name__
        self.add(name, schema, origin)
        if self.models.setdefault(name, model) is not model:
            # Even with equal schemas: two models behind one name drift apart at the next change.
            raise SchemaNameClash(f"two models are named {name!r}: {self.origin[name]} and {origin}; "
                                  "rename one of them")
        return {"$ref": REF.format(model=name)}


def _query_parameters(model: type[BaseModel], components: _Components) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    origin = f"{model.__module__}.{model.__qualname__}"
    for name, sub in schema.pop("$defs", {}).items():
        components.add(name, sub, f"{origin} (a model it uses)")
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        description = prop.pop("description", None)
        # A query parameter is absent or a string: it is never null.
        variants = [v for v in prop.get("anyOf", []) if v.get("type") != "null"]
        if "anyOf" in prop and len(variants) == 1:
            prop = {**{k: v for k, v in prop.items() if k != "anyOf"}, **variants[0]}
            if prop.get("default", 0) is None:
                del prop["default"]
        param = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if prop.get("type") == "array":
            param.update(style="form", explode=True)
        if description:
            param["description"] = description
        params.append(param)
    return params


def _path_parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    params = []
    converters = {name: conv for conv, name in _CONVERTER.findall(spec.rule)}
    for name in _PARAM.findall(spec.rule):
        schema: Any = spec.path.get(name)
        if callable(schema):
            schema = schema()
        if schema is None and converters.get(name) in _CONVERTED:
            schema = _CONVERTED[converters[name]]
        if schema is None:
            schema = ID_SCHEMA if name.endswith("_id") else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _request_body(spec: RouteSpec, components: _Components) -> dict[str, Any] | None:
    if spec.body is not None:
        return {"required": True, "content": {"application/json": {"schema": components.model(spec.body)}}}
    if spec.content_type == "multipart/form-data":
        schema = {"type": "object", "properties": {"files": {"type": "array", "items": {
            "type": "string", "format": "binary"}}}}
        return {"required": True, "content": {spec.content_type: {"schema": schema}}}
    if spec.content_type:  # raw bytes: an empty body is zero bytes, not a missing one
        return {"required": False, "content": {spec.content_type: {"schema": {"type": "string",
                                                                              "format": "binary"}}}}
    return None


def _success(spec: RouteSpec, components: _Components) -> dict[str, Any]:
    if spec.status == 204:
        return {"description": "Done (no content)"}
    if spec.response is not None:
        ref = components.model(spec.response, "serialization")
        if spec.many:
            schema: dict[str, Any] = {"type": "array", "items": ref}
        elif spec.query is not None and {"limit", "offset"} <= set(spec.query.model_fields):  # a Page
            schema = {"type": "object", "required": ["items", "total", "limit", "offset", "next_offset"],
                      "properties": {"items": {"type": "array", "items": ref}, "total": {"type": "integer"},
                                     "limit": {"type": "integer"}, "offset": {"type": "integer"},
                                     "next_offset": {"type": ["integer", "null"]}}}
        else:
            schema = ref
        return {"description": "OK", "content": {"application/json": {"schema": schema}}}
    content = {}
    for media_type in spec.produces:
        content[media_type] = {"schema": {} if media_type.endswith("json") else {"type": "string",
                                                                                 "format": "binary"}}
    return {"description": "OK", "content": content}


def _errors(spec: RouteSpec, method: str) -> dict[int, Any]:
    """Every error status the route can answer (declared ones override the general text)."""
    codes = {400, 401, 404, 422}  # 401: a bad token is refused even on public routes
    if spec.auth:
        codes.add(403)
    if spec.body is not None or spec.content_type:
        codes |= {413, 415}
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        codes.add(409)  # a write that conflicts with the stored state (e.g. a unique name taken)
    out = {c: ERROR_TEXT[c] for c in sorted(codes)}
    out.update(spec.extra_responses)
    return out


def _operation(spec: RouteSpec, method: str, components: _Components) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": spec.summary, "tags": list(spec.tags) or ["misc"],
                          "operationId": f"{method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', spec.rule).strip('_')}"}
    if spec.description:
        op["description"] = spec.description
    params = _path_parameters(spec)
    params += [{"name": name, "in": "header", "required": True, "schema": schema}
               for name, schema in spec.headers.items()]
    if spec.query is not None:
        params += _query_parameters(spec.query, components)
    if params:
        op["parameters"] = params
    body = _request_body(spec, components)
    if body is not None:
        op["requestBody"] = body
    success = _success(spec, components)
    responses: dict[str, Any] = {str(spec.status): success}
    err = {"content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}}
    for code, text in _errors(spec, method).items():
        if isinstance(text, tuple):  # (description, model): this answer's body is that model
            text, model = text
            responses[str(code)] = {"description": text, "content": {"application/json": {
                "schema": components.model(model, "serialization")}}}
            continue
        # Another success code (an upload's 201 when something was ingested) answers the same content.
        responses[str(code)] = {**(err if code >= 400 else success), "description": text}
    op["responses"] = dict(sorted(responses.items()))
    if spec.auth:
        op["security"] = [{"bearer": []}, {"session": []}]
    return op


def build_document(version: str, specs: list[RouteSpec] | None = None) -> dict[str, Any]:
    """The OpenAPI document of every registered route (or of ``specs``).

    Raises SchemaNameClash when two different schemas share a name.
    """
    components = _Components()
    paths: dict[str, Any] = {}
    for spec in SPECS if specs is None else specs:
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
        "components": {"schemas": components.schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session"}}},
    }


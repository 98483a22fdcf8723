"""API plumbing: the blueprint, a route decorator that also describes the route
for the OpenAPI document, strict JSON body parsing, pagination and errors.

Routes are declared with :func:`endpoint`; the OpenAPI document at
``/api/v1/openapi.json`` is generated from these declarations and the
pydantic schemas they name, so it cannot drift from the code.
"""
from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Iterable

from flask import Blueprint, current_app, jsonify, request
from pydantic import BaseModel, Field, ValidationError as PydanticValidationError
from sqlalchemy import func
from sqlmodel import Session, select

from ..bounds import MAX_JSON_DEPTH, MAX_OFFSET, json_depth
from ..errors import NotFound, SaolaError, ValidationError

api = Blueprint("api", __name__, url_prefix="/api/v1")

# Ids in paths: server-made UUIDs, or ids a field tablet made offline (the sync protocol's record ids).
ID_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z_.:-]{7,63}$"
_ID = re.compile(ID_PATTERN)


@api.url_value_preprocessor
def _ids_only(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A path id that cannot be an id is a 404 before any query (a NUL byte would be a PostgreSQL error)."""
    for name, value in (values or {}).items():
        if name.endswith("_id") and not (isinstance(value, str) and _ID.match(value)):
            raise NotFound(f"no such {name[:-3]}: {value!r}" if len(str(value)) <= 80 else f"no such {name[:-3]}")


@dataclass
class RouteSpec:
    rule: str
    methods: tuple[str, ...]
    summary: str
    tags: tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: type[BaseModel] | None
    many: bool
    status: int
    auth: bool
    description: str = ""
    # status -> description, or (description, model) when that answer's body is not the error schema
    extra_responses: dict[int, Any] = field(default_factory=dict)
    content_type: str | None = None  # non-JSON bodies (uploads)
    produces: tuple[str, ...] = ("application/json",)  # media types of a raw route's success answer
    path: dict[str, Any] = field(default_factory=dict)  # schemas of path parameters that are not ids
    headers: dict[str, Any] = field(default_factory=dict)  # schemas of request headers the route requires


SPECS: list[RouteSpec] = []


def _format_pydantic(err: PydanticValidationError) -> list[dict[str, Any]]:
    out = []
    for e in err.errors(include_url=False):
        loc = ".".join(str(p) for p in e["loc"]) or "(body)"
        out.append({"field": loc, "message": e["msg"], "type": e["type"]})
    return out


def _summary(problems: list[dict[str, Any]]) -> str:
    return "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])


class _BadNumber(ValueError):
    """A JSON number the API refuses (not finite, or beyond 64-bit integers)."""


_INT64 = 2 ** 63


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _BadNumber(f"number {text[:40]} is out of range (numbers must be finite)")
    return value


def _int64(text: str) -> int:
    if len(text) > 20:  # longer than any 64-bit integer: refuse before converting
        raise _BadNumber(f"integer {text[:20]}... is out of range (at most 64-bit integers)")
    value = int(text)
    if not -_INT64 <= value < _INT64:
        raise _BadNumber(f"integer {text} is out of range (at most 64-bit integers)")
    return value


def _no_constant(name: str) -> Any:
    raise _BadNumber(f"{name} is not a JSON number (numbers must be finite)")


def parse_json_body() -> Any:
    """The request body as JSON, or a 400/413/415/422 error naming the problem.

    Beyond well-formed UTF-8 JSON within the size limit, numbers must be finite
    64-bit values and nesting at most ``bounds.MAX_JSON_DEPTH`` levels deep
    (server/bounds.py): every later step can assume sane input.
    """
    limit = current_app.config["MAX_JSON_MB"] * 1024 * 1024
    if request.content_length is not None and request.content_length > limit:
        raise SaolaError(f"JSON body too large: {request.content_length} bytes (limit {limit})",
                         status=413, code="too_large")
    ctype = request.mimetype or ""
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise SaolaError(f"expected Content-Type application/json, got {ctype or 'none'}",
                         status=415, code="unsupported_media_type")
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise SaolaError(f"JSON body too large (limit {limit} bytes)", status=413, code="too_large")
    too_deep = SaolaError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep", code="too_deep")
    try:
        data = json.loads(raw.decode("utf-8"), parse_float=_finite_float, parse_int=_int64,
                          parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise SaolaError("request body is not UTF-8", code="malformed_json") from None
    except json.JSONDecodeError as e:
        raise SaolaError(f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}",
                         code="malformed_json") from None
    except _BadNumber as e:
        raise ValidationError(str(e), details=[{"field": "(body)", "message": str(e)}]) from None
    except RecursionError:  # nested ~1,000 deep: the parser's own stack ran out
        raise too_deep from None
    # Cheap first test: fewer opening brackets than the limit cannot nest beyond it.
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and json_depth(data) > MAX_JSON_DEPTH:
        raise too_deep
    if b"\\u0000" in raw and _has_nul(data):
        raise _nul_error("(body)")
    return data


def _has_nul(value: Any) -> bool:
    """True when a string (or key) anywhere in parsed JSON holds a NUL character."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _nul_error(field: str) -> ValidationError:
    # PostgreSQL cannot store or even compare text with NUL: refused here, the same on both databases.
    msg = f"{field}: text may not contain NUL characters (\\u0000)"
    return ValidationError(msg, details=[{"field": field, "message": "NUL character"}])


def validate(schema: type[BaseModel], data: Any, where: str = "body") -> BaseModel:
    """Validate ``data`` against ``schema``; 422 listing every bad field.

    A JSON body is validated strictly, as the JSON it arrived as: 0 is not false and "3" is
    not 3, as the OpenAPI document says (query parameters, always text, convert as usual).
    """
    try:
        if where == "body":
            return schema.model_validate_json(json.dumps(data), strict=True)
        return schema.model_validate(data)
    except PydanticValidationError as e:
        problems = _format_pydantic(e)
        raise ValidationError(f"invalid {where}: {_summary(problems)}", details=problems) from None


_HUGE_INT = re.compile(r"\s*[+-]?0*\d{20,}\s*")  # more digits than any 64-bit integer


def _query_args(schema: type[BaseModel]) -> BaseModel:
    data: dict[str, Any] = {}
    for key in request.args:
        values = request.args.getlist(key)
        for v in values:
            if "\x00" in v or "\x00" in key:
                raise _nul_error(key.replace("\x00", "?"))
            if _HUGE_INT.fullmatch(v):  # would overflow the database's integers
                msg = f"{key}: {v.strip()[:24]}... is out of range (at most 64-bit integers)"
                raise ValidationError(msg, details=[{"field": key, "message": "out of range"}])
        data[key] = values if len(values) > 1 else values[0]
    return validate(schema, data, "query parameters")


def dump(obj: Any, schema: type[BaseModel] | None) -> Any:
    """Serialise a model row / dict through ``schema`` to JSON-able data."""
    if schema is None:
        return obj
    if isinstance(obj, schema):
        return obj.model_dump(mode="json")
    return schema.model_validate(obj, from_attributes=True).model_dump(mode="json")


def endpoint(rule: str, methods: Iterable[str] = ("GET",), *, summary: str, tags: Iterable[str] = (),
             body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
             response: type[BaseModel] | None = None, many: bool = False, status: int = 200,
             auth: bool = True, description: str = "", responses: dict[int, Any] | None = None,
             content_type: str | None = None, raw: bool = False, produces: Iterable[str] = ("application/json",),
             path: dict[str, Any] | None = None, headers: dict[str, Any] | None = None) -> Callable:
    """Register an API route and describe it for OpenAPI.

    The view receives ``body=`` (validated schema instance) and ``query=`` when
    those schemas are given. It returns a row/dict (dumped through ``response``),
    a list (with ``many``), a ``Page`` (paginated list), or a Flask response when
    ``raw`` is true (``produces`` then names its media types for the document).
    Path parameters named ``*_id`` are ids (UUIDs; any other value is a 404);
    ``path`` gives the schema of any other (a dict, or a function returning
    one when the document is built); ``headers`` the schemas of required request headers.
    """
    methods = tuple(m.upper() for m in methods)

    def deco(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def view(**kwargs):
            if auth:
                from ..auth.permissions import current_user

                current_user()
            if body is not None:
                kwargs["body"] = validate(body, parse_json_body())
            if query is not None:
                kwargs["query"] = _query_args(query)
            result = fn(**kwargs)
            if raw:
                return result
            if isinstance(result, Page):
                payload = {"items": [dump(r, response) for r in result.items], "total": result.total,
                           "limit": result.limit, "offset": result.offset,
                           "next_offset": result.next_offset}
            elif many:
                payload = [dump(r, response) for r in result]
            elif result is None:
                return "", 204
            else:
                payload = dump(result, response)
            return jsonify(payload), status

        endpoint_name = fn.__module__.rsplit(".", 1)[-1] + "_" + fn.__name__
        api.add_url_rule(rule, endpoint=endpoint_name, view_func=view, methods=list(methods))
        SPECS.append(RouteSpec(rule, methods, summary, tuple(tags), body, query, response, many,
                               status, auth, description or (fn.__doc__ or "").strip(),
                               dict(responses or {}), content_type, tuple(produces), dict(path or {}),
                               dict(headers or {})))
        return view

    return deco


MAX_LIMIT = 500
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description=f"items per page (at most {MAX_LIMIT})")]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET, description="items to skip (next_offset of the previous page)")]


class PageQuery(BaseModel):
    """Pagination parameters shared by list endpoints."""

    model_config = {"extra": "forbid", "allow_inf_nan": False}
    limit: Limit = 50
    offset: Offset = 0


@dataclass
class Page:
    items: list
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        n = self.offset + len(self.items)
        return n if n < self.total else None


def paginate(session: Session, stmt, query: PageQuery, order_by=None) -> Page:
    """Run ``stmt`` for one page; limit is capped at MAX_LIMIT, offset within 0..MAX_OFFSET."""
    if query.limit < 1 or query.limit > MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {MAX_LIMIT}",
                              details=[{"field": "limit", "message": "out of range"}])
    if not 0 <= query.offset <= MAX_OFFSET:
        raise ValidationError(f"offset must be between 0 and {MAX_OFFSET}",
                              details=[{"field": "offset", "message": "out of range"}])
    total = session.exec(select(func.count()).select_from(stmt.order_by(None).subquery())).one()
    if order_by is not None:
        stmt = stmt.order_by(*order_by) if isinstance(order_by, (list, tuple)) else stmt.order_by(order_by)
    items = list(session.exec(stmt.offset(query.offset).limit(query.limit)))
    return Page(items, total, query.limit, query.offset)

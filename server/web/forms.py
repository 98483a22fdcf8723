"""Server-side validation of the administration forms, with a message next to each field.

The forms are checked with the API's own schemas (server/api/schemas.py), so a page and
the API accept the same values; pydantic's errors are turned into short messages in the
user's language, keyed by field name. The templates show them with the ``field`` macro
of ``admin_forms.html``. Errors raised by the services (:class:`server.errors.SaolaError`
with ``details`` naming a field) land next to that field too.
"""
from __future__ import annotations

from typing import Any, Mapping, TypeVar

from pydantic import BaseModel, ValidationError as PydanticError

from protocols.i18n import N_

from ..errors import SaolaError
from ..i18n import gettext as _

M = TypeVar("M", bound=BaseModel)
#: The key of a message that belongs to no single field (shown above the form).
FORM = "_form"


#: Messages of the schemas' own validators (English in server/api/schemas.py), as the forms say them.
KNOWN = {"end_date is before start_date": N_("The end date is before the start date.")}


def _number(value: Any) -> Any:
    """A bound as people write it: 90, not 90.0."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _message(err: Mapping[str, Any]) -> str:
    kind, ctx = err.get("type", ""), {k: _number(v) for k, v in (err.get("ctx") or {}).items()}
    if kind == "missing" or (kind == "string_too_short" and ctx.get("min_length") == 1) or (
            kind in ("string_type", "datetime_type", "date_type") and err.get("input") is None):
        return _("This field is required.")
    if kind == "string_too_short":
        return _("Enter at least {n} characters.", n=ctx.get("min_length"))
    if kind == "string_too_long":
        return _("Enter at most {n} characters.", n=ctx.get("max_length"))
    if kind == "string_pattern_mismatch":
        return _("Use only letters, digits and . _ - (no spaces).")
    if kind in ("greater_than_equal", "greater_than"):
        return _("Enter a value of at least {n}.", n=ctx.get("ge", ctx.get("gt")))
    if kind in ("less_than_equal", "less_than"):
        return _("Enter a value of at most {n}.", n=ctx.get("le", ctx.get("lt")))
    if kind in ("int_parsing", "int_from_float", "float_parsing", "int_type", "float_type"):
        return _("Enter a number.")
    if kind.startswith("datetime"):
        return _("Enter a date and time as YYYY-MM-DD HH:MM.")
    if kind.startswith("date"):
        return _("Enter a date as YYYY-MM-DD.")
    if kind in ("literal_error", "enum"):
        return _("Choose one of the listed values.")
    text = str(err.get("msg", "")).removeprefix("Value error, ")
    if text in KNOWN:
        return _(KNOWN[text])
    return _("Not accepted: {reason}", reason=text)


def validate(schema: type[M], data: dict[str, Any], *, where: Mapping[str, str] | None = None
             ) -> tuple[M | None, dict[str, str]]:
    """(the schema's object, {}) or (None, {field: message}).

    ``where`` sends an error of the whole object (a model validator, e.g. dates in the wrong
    order) to a field: ``{"": "end_date"}``.
    """
    try:
        return schema.model_validate(data), {}
    except PydanticError as e:
        errors: dict[str, str] = {}
        for err in e.errors(include_url=False):
            loc = err.get("loc") or ()
            key = str(loc[0]) if loc else ""
            key = (where or {}).get(key, key) or FORM
            errors.setdefault(key, _message(err))
        return None, errors


def service_errors(err: SaolaError, default_field: str = FORM) -> dict[str, str]:
    """The field messages of a service's error (its ``details``), else the message above the form."""
    details = err.details
    if isinstance(details, dict) and details.get("field"):
        return {str(details["field"]): err.message}
    if isinstance(details, list):
        out = {str(d["field"]): str(d.get("message") or err.message) for d in details
               if isinstance(d, dict) and d.get("field")}
        if out:
            return {k: err.message if len(out) == 1 else v for k, v in out.items()}
    return {default_field: err.message}


def text(form: Mapping[str, str], name: str) -> str | None:
    """A trimmed text field, None when empty (optional columns stay NULL)."""
    value = (form.get(name) or "").strip()
    return value or None


def number(form: Mapping[str, str], name: str) -> str | float | None:
    """A number field as a float for the schema (a decimal comma accepted), the raw text when not a
    number (so the schema reports it), None when empty."""
    value = (form.get(name) or "").strip().replace(",", ".")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return value

"""Validation errors with Vietnamese and English messages.

An error keeps its code and parameters rather than a finished sentence, so the
app shows it in the ranger's language and the server answers in English with
the same field path. The messages are English templates translated through
:mod:`protocols.i18n` (``locale/vi.po``).
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from pathlib import Path

from .i18n import Catalog, N_

TEXT = Catalog(Path(__file__).parent / "locale")

# {label} is the field's label in the message's language; other parameters
# are filled from FieldError.params. The Vietnamese text is in locale/vi.po.
TEMPLATES: dict[str, str] = {
    "required": N_("{label} is required"),
    "unknown_field": N_("{label} is not a field of this record"),
    "type_string": N_("{label} must be text"),
    "type_integer": N_("{label} must be a whole number"),
    "type_number": N_("{label} must be a number"),
    "type_boolean": N_("{label} must be yes or no"),
    "type_list": N_("{label} must be a list"),
    "type_object": N_("{label} must be an object"),
    "datetime": N_("{label} must be a date and time with a UTC offset, like 2026-03-01T07:30:00+07:00 "
                   "(got {value!r})"),
    "date": N_("{label} must be a date like 2026-03-01 (got {value!r})"),
    "date_range": N_("{label} must be between {earliest} and {latest} (got {value!r}); check the device clock"),
    "time": N_("{label} must be a time like 05:45 (got {value!r})"),
    "timezone": N_("{label} must be a time zone like Asia/Ho_Chi_Minh or UTC+07:00 (got {value!r})"),
    "min": N_("{label} must be at least {min}{unit} (got {value})"),
    "max": N_("{label} must be at most {max}{unit} (got {value})"),
    "allowed": N_("{label} must be one of {allowed} (got {value})"),
    "choice": N_("{label}: {value!r} is not one of {choices}"),
    "max_length": N_("{label} is longer than {max_length} characters"),
    "empty": N_("{label} must not be empty"),
    "min_items": N_("{label} needs at least {min_items} item(s)"),
    "max_items": N_("{label} has more than {max_items} items"),
    "not_before": N_("{label} must not be before {other}"),
    "not_after": N_("{label} must not be after {other}"),
    "geopoint": N_("{label} must have latitude in [-90, 90] and longitude in [-180, 180]"),
    "track_point": N_("{label} point {index} must be [longitude, latitude, time, accuracy_m]"),
    "photo": N_("{label} item {index} must be a SHA-256 hex digest (64 characters)"),
    "taxon": N_("{label} must be a scientific name or a taxon id"),
    "computed": N_("{label} is {value} but {expected} follows from the distance and bearings"),
    "record_type": N_("record type {value!r} is not part of protocol {protocol}; expected one of {choices}"),
    "not_an_object": N_("a record must be a JSON object"),
}


def _unit(unit: str | None) -> str:
    """Unit as printed after a number: "°" sticks to it, others follow a space."""
    if not unit:
        return ""
    return "°" if unit == "deg" else f" {unit}"


@dataclass(frozen=True)
class FieldError:
    """One problem with one field of a record.

    ``path`` names the field ("groups[2].bearing_deg"); ``labels`` holds its
    label per language so the message reads like the form the ranger sees.
    """

    path: str
    code: str
    params: dict = dc_field(default_factory=dict, compare=False, hash=False)
    labels: dict = dc_field(default_factory=dict, compare=False, hash=False)

    def message(self, lang: str = "en") -> str:
        """The human message in ``lang`` ("vi" or "en"), e.g. "Species is required"."""
        lang = "vi" if lang == "vi" else "en"
        template = TEXT.gettext(TEMPLATES[self.code], lang)
        params = dict(self.params)
        params["label"] = self.labels.get(lang) or self.path
        for key in ("other",):
            if isinstance(params.get(key), dict):
                params[key] = params[key].get(lang) or params[key].get("en")
        params["unit"] = _unit(params.get("unit"))
        return template.format(**params)

    def to_dict(self, lang: str = "en") -> dict:
        """JSON-able form for API answers: field, code and the message."""
        return {"field": self.path, "code": self.code, "message": self.message(lang)}

    def __str__(self) -> str:
        return f"{self.path}: {self.message('en')}"

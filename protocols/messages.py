"""Validation errors with Vietnamese and English messages.

An error keeps its code and parameters rather than a finished sentence, so the
app shows it in the ranger's language and the server answers in English with
the same field path.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dc_field

# {label} is the field's label in the message's language; other parameters
# are filled from FieldError.params.
TEMPLATES: dict[str, dict[str, str]] = {
    "required": {"en": "{label} is required", "vi": "Cần nhập {label}"},
    "unknown_field": {"en": "{label} is not a field of this record", "vi": "{label} không phải là trường của bản ghi này"},
    "type_string": {"en": "{label} must be text", "vi": "{label} phải là văn bản"},
    "type_integer": {"en": "{label} must be a whole number", "vi": "{label} phải là số nguyên"},
    "type_number": {"en": "{label} must be a number", "vi": "{label} phải là số"},
    "type_boolean": {"en": "{label} must be yes or no", "vi": "{label} phải là có hoặc không"},
    "type_list": {"en": "{label} must be a list", "vi": "{label} phải là một danh sách"},
    "type_object": {"en": "{label} must be an object", "vi": "{label} phải là một đối tượng"},
    "datetime": {
        "en": "{label} must be a date and time with a UTC offset, like 2026-03-01T07:30:00+07:00 (got {value!r})",
        "vi": "{label} phải là ngày giờ có múi giờ, ví dụ 2026-03-01T07:30:00+07:00 (nhận được {value!r})",
    },
    "date": {"en": "{label} must be a date like 2026-03-01 (got {value!r})", "vi": "{label} phải là ngày dạng 2026-03-01 (nhận được {value!r})"},
    "date_range": {
        "en": "{label} must be between {earliest} and {latest} (got {value!r}); check the device clock",
        "vi": "{label} phải nằm trong khoảng {earliest} đến {latest} (nhận được {value!r}); hãy kiểm tra đồng hồ của máy",
    },
    "time": {"en": "{label} must be a time like 05:45 (got {value!r})", "vi": "{label} phải là giờ dạng 05:45 (nhận được {value!r})"},
    "timezone": {
        "en": "{label} must be a time zone like Asia/Ho_Chi_Minh or UTC+07:00 (got {value!r})",
        "vi": "{label} phải là múi giờ dạng Asia/Ho_Chi_Minh hoặc UTC+07:00 (nhận được {value!r})",
    },
    "min": {"en": "{label} must be at least {min}{unit} (got {value})", "vi": "{label} phải lớn hơn hoặc bằng {min}{unit} (nhận được {value})"},
    "max": {"en": "{label} must be at most {max}{unit} (got {value})", "vi": "{label} phải nhỏ hơn hoặc bằng {max}{unit} (nhận được {value})"},
    "allowed": {"en": "{label} must be one of {allowed} (got {value})", "vi": "{label} phải là một trong các giá trị {allowed} (nhận được {value})"},
    "choice": {"en": "{label}: {value!r} is not one of {choices}", "vi": "{label}: {value!r} không thuộc các lựa chọn {choices}"},
    "max_length": {"en": "{label} is longer than {max_length} characters", "vi": "{label} dài quá {max_length} ký tự"},
    "empty": {"en": "{label} must not be empty", "vi": "{label} không được để trống"},
    "min_items": {"en": "{label} needs at least {min_items} item(s)", "vi": "{label} cần ít nhất {min_items} mục"},
    "max_items": {"en": "{label} has more than {max_items} items", "vi": "{label} có nhiều hơn {max_items} mục"},
    "not_before": {"en": "{label} must not be before {other}", "vi": "{label} không được sớm hơn {other}"},
    "not_after": {"en": "{label} must not be after {other}", "vi": "{label} không được muộn hơn {other}"},
    "geopoint": {
        "en": "{label} must have latitude in [-90, 90] and longitude in [-180, 180]",
        "vi": "{label} phải có vĩ độ trong [-90, 90] và kinh độ trong [-180, 180]",
    },
    "track_point": {
        "en": "{label} point {index} must be [longitude, latitude, time, accuracy_m]",
        "vi": "{label}: điểm thứ {index} phải có dạng [kinh độ, vĩ độ, thời gian, độ chính xác m]",
    },
    "photo": {
        "en": "{label} item {index} must be a SHA-256 hex digest (64 characters)",
        "vi": "{label}: mục thứ {index} phải là mã SHA-256 (64 ký tự hex)",
    },
    "taxon": {
        "en": "{label} must be a scientific name or a taxon id",
        "vi": "{label} phải là tên khoa học hoặc mã loài",
    },
    "computed": {
        "en": "{label} is {value} but {expected} follows from the distance and bearings",
        "vi": "{label} là {value} nhưng theo khoảng cách và góc phương vị phải là {expected}",
    },
    "record_type": {
        "en": "record type {value!r} is not part of protocol {protocol}; expected one of {choices}",
        "vi": "loại bản ghi {value!r} không thuộc giao thức {protocol}; cần một trong {choices}",
    },
    "not_an_object": {"en": "a record must be a JSON object", "vi": "bản ghi phải là một đối tượng JSON"},
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
        template = TEMPLATES[self.code][lang]
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

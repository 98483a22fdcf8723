"""Load protocol definitions (JSON data files) and check that they are well formed.

A definition file holds one version of one protocol::

    {"name": "line_transect", "version": "1.0", "title": {"en": ..., "vi": ...},
     "settings": {...}, "records": {"walk": {"label": ..., "fields": [...]}, ...}}

A field is a JSON object: name, type, label {en, vi}, and optionally unit,
required, required_if / required_unless {field, equals | in}, min, max,
allowed, choices (a list, or the name of a shared list in ``_common.json``),
max_length, min_items, max_items, default, not_before / not_after (another
datetime field), computed {function, args}, widget (a hint for the app),
item_fields (for group_list). Mistakes in a definition raise
ProtocolDefinitionError naming the file and the field, at load time.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .geometry import COMPUTED
from .version import ProtocolVersionError, parse_version

DEFINITIONS_DIR = Path(__file__).with_name("definitions")
LANGUAGES = ("en", "vi")

FIELD_TYPES = frozenset({
    "string", "text", "integer", "number", "boolean", "choice", "datetime", "date", "time",
    "timezone", "taxon", "photos", "string_list", "geopoint", "track", "group_list",
})
FIELD_KEYS = frozenset({
    "name", "type", "label", "unit", "required", "required_if", "required_unless", "min", "max",
    "allowed", "choices", "max_length", "min_items", "max_items", "default", "not_before",
    "not_after", "computed", "widget", "item_fields", "help",
})
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class ProtocolDefinitionError(ValueError):
    """A protocol definition file is malformed (the message names file and field)."""


class ProtocolNotFound(LookupError):
    """No bundled or supplied definition has that protocol name (and version)."""


@dataclass(frozen=True)
class RecordType:
    """One kind of record a protocol collects (a walk, an observation, a service visit...)."""

    name: str
    label: dict
    fields: tuple

    def field(self, name: str) -> dict:
        """The field definition called ``name`` (KeyError if absent)."""
        for f in self.fields:
            if f["name"] == name:
                return f
        raise KeyError(f"record type {self.name!r} has no field {name!r}")

    @property
    def field_names(self) -> list[str]:
        """Field names in form order."""
        return [f["name"] for f in self.fields]


@dataclass(frozen=True)
class Protocol:
    """A loaded, checked protocol definition."""

    name: str
    version: str
    title: dict
    description: dict
    settings: dict
    records: dict  # record type name -> RecordType, in definition order
    source: str

    @property
    def major(self) -> int:
        """Major version number."""
        return parse_version(self.version)[0]

    @property
    def key(self) -> str:
        """"name@version", the value stored with every record made under it."""
        return f"{self.name}@{self.version}"

    def record_type(self, name: str | None = None) -> RecordType:
        """The record type ``name``; without a name, the protocol's only (or first) one."""
        if name is None:
            return next(iter(self.records.values()))
        try:
            return self.records[name]
        except KeyError:
            raise ProtocolNotFound(
                f"protocol {self.name} {self.version} has no record type {name!r}; "
                f"it has {', '.join(self.records)}"
            ) from None

    def setting(self, name: str, default=None):
        """A protocol setting such as gps_accuracy_max_m, or ``default``."""
        return self.settings.get(name, default)

    def to_dict(self) -> dict:
        """The definition as plain JSON-able data (shared choices already resolved)."""
        return {
            "name": self.name,
            "version": self.version,
            "title": dict(self.title),
            "description": dict(self.description),
            "settings": dict(self.settings),
            "records": {
                rt.name: {"label": dict(rt.label), "fields": copy.deepcopy(list(rt.fields))}
                for rt in self.records.values()
            },
        }


def _common() -> dict:
    path = DEFINITIONS_DIR / "_common.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"choices": {}}


def _check_label(label, where: str, what: str = "label") -> None:
    if not isinstance(label, dict) or any(not isinstance(label.get(lang), str) or not label[lang].strip()
                                          for lang in LANGUAGES):
        raise ProtocolDefinitionError(f"{where}: {what} must give non-empty 'en' and 'vi' text")


def _check_field(f, where: str, shared_choices: dict, siblings: set[str]) -> dict:
    if not isinstance(f, dict):
        raise ProtocolDefinitionError(f"{where}: a field must be a JSON object")
    name = f.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ProtocolDefinitionError(f"{where}: field name {name!r} must be lower_snake_case")
    where = f"{where} ({name})"
    unknown = set(f) - FIELD_KEYS
    if unknown:
        raise ProtocolDefinitionError(f"{where}: unknown key(s) {sorted(unknown)}")
    if f.get("type") not in FIELD_TYPES:
        raise ProtocolDefinitionError(f"{where}: type {f.get('type')!r} is not one of {sorted(FIELD_TYPES)}")
    _check_label(f.get("label"), where)
    f = dict(f)
    if f["type"] == "choice":
        choices = f.get("choices")
        if isinstance(choices, str):
            if choices not in shared_choices:
                raise ProtocolDefinitionError(f"{where}: shared choice list {choices!r} is not in _common.json")
            choices = shared_choices[choices]
        if not isinstance(choices, list) or not choices:
            raise ProtocolDefinitionError(f"{where}: a choice field needs a non-empty 'choices' list")
        values = set()
        for i, c in enumerate(choices):
            if not isinstance(c, dict) or not isinstance(c.get("value"), str):
                raise ProtocolDefinitionError(f"{where}: choices[{i}] needs a string 'value'")
            _check_label(c.get("label"), f"{where}: choices[{i}] ({c['value']})")
            if c["value"] in values:
                raise ProtocolDefinitionError(f"{where}: choice {c['value']!r} appears twice")
            values.add(c["value"])
        f["choices"] = copy.deepcopy(choices)
    elif "choices" in f:
        raise ProtocolDefinitionError(f"{where}: only choice fields take 'choices'")
    for key in ("min", "max"):
        if key in f and (isinstance(f[key], bool) or not isinstance(f[key], (int, float))):
            raise ProtocolDefinitionError(f"{where}: {key} must be a number")
    if "min" in f and "max" in f and f["min"] > f["max"]:
        raise ProtocolDefinitionError(f"{where}: min {f['min']} is greater than max {f['max']}")
    for key in ("required_if", "required_unless"):
        cond = f.get(key)
        if cond is None:
            continue
        if not isinstance(cond, dict) or cond.get("field") not in siblings or not ({"equals", "in"} & set(cond)):
            raise ProtocolDefinitionError(
                f"{where}: {key} must be {{'field': <another field of this record>, 'equals'|'in': ...}}"
            )
    for key in ("not_before", "not_after"):
        if key in f and f[key] not in siblings:
            raise ProtocolDefinitionError(f"{where}: {key} names {f[key]!r}, not a field of this record")
    if "computed" in f:
        comp = f["computed"]
        if (not isinstance(comp, dict) or comp.get("function") not in COMPUTED
                or not all(a in siblings for a in comp.get("args", []))):
            raise ProtocolDefinitionError(
                f"{where}: computed needs a known function ({sorted(COMPUTED)}) and args naming fields"
            )
    if f["type"] == "group_list":
        items = f.get("item_fields")
        if not isinstance(items, list) or not items:
            raise ProtocolDefinitionError(f"{where}: a group_list needs 'item_fields'")
        inner = {i.get("name") for i in items if isinstance(i, dict)}
        f["item_fields"] = [
            _check_field(item, f"{where}.item_fields[{i}]", shared_choices, inner)
            for i, item in enumerate(items)
        ]
    return f


def load_definition(data: dict, source: str = "<definition>") -> Protocol:
    """Check a definition (e.g. parsed JSON from the server) and return a Protocol.

    Raises ProtocolDefinitionError naming ``source`` and the offending field.
    """
    if not isinstance(data, dict):
        raise ProtocolDefinitionError(f"{source}: a protocol definition must be a JSON object")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ProtocolDefinitionError(f"{source}: 'name' {name!r} must be lower_snake_case")
    try:
        parse_version(data.get("version"))
    except ProtocolVersionError as exc:
        raise ProtocolDefinitionError(f"{source}: {exc}") from None
    _check_label(data.get("title"), source, "title")
    records = data.get("records")
    if not isinstance(records, dict) or not records:
        raise ProtocolDefinitionError(f"{source}: 'records' must map record type names to definitions")
    shared = _common().get("choices", {})
    loaded = {}
    for rt_name, rt in records.items():
        where = f"{source}: records.{rt_name}"
        if not _NAME.match(rt_name) or not isinstance(rt, dict):
            raise ProtocolDefinitionError(f"{where}: record type must be lower_snake_case with an object value")
        _check_label(rt.get("label"), where)
        fields = rt.get("fields")
        if not isinstance(fields, list) or not fields:
            raise ProtocolDefinitionError(f"{where}: 'fields' must be a non-empty list")
        names = [f.get("name") for f in fields if isinstance(f, dict)]
        if len(set(names)) != len(names):
            raise ProtocolDefinitionError(f"{where}: field names must be unique")
        checked = tuple(_check_field(f, f"{where}.fields[{i}]", shared, set(names)) for i, f in enumerate(fields))
        loaded[rt_name] = RecordType(rt_name, dict(rt["label"]), checked)
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise ProtocolDefinitionError(f"{source}: 'settings' must be an object")
    return Protocol(
        name=name,
        version=data["version"],
        title=dict(data["title"]),
        description=dict(data.get("description") or data["title"]),
        settings=dict(settings),
        records=loaded,
        source=source,
    )


# Parsed once per process: the server validates every pushed record against its
# protocol, and re-reading the definition files each time was a fifth of a push.
# Entries are keyed on the files' modification time and size, so an edited or
# added definition is picked up without a restart.
_CACHE: dict[str, tuple[tuple, Protocol]] = {}
_INDEX: dict[str, tuple[tuple, dict[tuple[str, str], Path]]] = {}


def _signature(paths) -> tuple:
    out = []
    for path in paths:
        st = path.stat()
        out.append((path.name, st.st_mtime_ns, st.st_size))
    return tuple(out)


def _bundled() -> dict[tuple[str, str], Path]:
    """(name, version) -> file of every bundled definition (parsed again only when a file changed)."""
    files = sorted(DEFINITIONS_DIR.glob("*.json"))
    paths = [p for p in files if not p.name.startswith("_")]
    sig = _signature(files)  # _common.json too: its shared choice lists are part of every definition
    cached = _INDEX.get(str(DEFINITIONS_DIR))
    if cached is not None and cached[0] == sig:
        return cached[1]
    index = {}
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ProtocolDefinitionError(f"{path.name}: not valid JSON: {exc}") from None
        index[(data.get("name"), data.get("version"))] = path
    _INDEX[str(DEFINITIONS_DIR)] = (sig, index)
    return index


def load_file(path: str | Path) -> Protocol:
    """Load and check one definition file (cached until the file changes)."""
    path = Path(path)
    common = DEFINITIONS_DIR / "_common.json"
    sig = _signature([path] + ([common] if common.exists() else []))
    key = str(path.resolve())
    cached = _CACHE.get(key)
    if cached is None or cached[0] != sig:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ProtocolDefinitionError(f"{path.name}: not valid JSON: {exc}") from None
        cached = _CACHE[key] = (sig, load_definition(data, source=path.name))
    return cached[1]


def list_protocols() -> list[dict]:
    """Bundled protocols, newest version of each: name, version, title (en/vi)."""
    newest: dict[str, tuple] = {}
    for (name, version), path in _bundled().items():
        v = parse_version(version)
        if name not in newest or v > newest[name][0]:
            newest[name] = (v, path)
    out = []
    for name in sorted(newest):
        p = load_file(newest[name][1])
        out.append({"name": p.name, "version": p.version, "title": dict(p.title)})
    return out


def load(name: str, version: str | None = None) -> Protocol:
    """Load bundled protocol ``name`` (newest version, or exactly ``version``).

    Raises ProtocolNotFound listing what is available.
    """
    candidates = {v: p for (n, v), p in _bundled().items() if n == name}
    if not candidates:
        known = sorted({n for n, _ in _bundled()})
        raise ProtocolNotFound(f"no protocol named {name!r}; available: {', '.join(known)}")
    if version is None:
        version = max(candidates, key=parse_version)
    elif version not in candidates:
        raise ProtocolNotFound(
            f"protocol {name!r} has no version {version!r}; available: {', '.join(sorted(candidates))}"
        )
    return load_file(candidates[version])

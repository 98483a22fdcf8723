"""Offline validation of a Camtrap DP package against the official profile and table schemas.

The official profile and table schemas ship with Saola (MIT, unchanged, in
``camtrap-dp-1.0.2/`` beside this module, with their licence); another folder
with the same files can be passed instead. Nothing is fetched:

* ``datapackage.json`` is checked against the Camtrap DP profile (JSON Schema)
  with its remote references resolved locally: the GeoJSON schema Frictionless
  ships, and the generic Data Package schema replaced by Frictionless' own
  Data Package checks (next point).
* The package is opened with Frictionless, each resource's schema URL swapped
  for the local table schema, and validated as one package, so types,
  constraints, primary keys and foreign keys between the tables are checked.
"""
from __future__ import annotations

import json
from pathlib import Path

#: The packaged Camtrap DP 1.0.2 profile and table schemas (see the README there).
STANDARDS_DIR = Path(__file__).resolve().parent / "camtrap-dp-1.0.2"


def _profile_errors(descriptor: dict, standards: Path) -> list[str]:
    import frictionless
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    profile = json.loads((standards / "camtrap-dp-profile.json").read_text(encoding="utf-8"))
    geojson_path = Path(frictionless.__file__).parent / "assets" / "profiles" / "geojson.json"
    geojson = json.loads(geojson_path.read_text(encoding="utf-8"))
    registry = Registry().with_resources([
        ("http://json.schemastore.org/geojson.json", Resource.from_contents(geojson, default_specification=DRAFT4)),
        # Checked by Frictionless' Package validation instead (see module docstring).
        ("https://specs.frictionlessdata.io/schemas/data-package.json",
         Resource.from_contents({}, default_specification=DRAFT4)),
    ])
    validator = jsonschema.Draft4Validator(profile, registry=registry,
                                           format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    return [f"datapackage.json: {'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in validator.iter_errors(descriptor)]


def validate_camtrap_dp(package_dir: str | Path, standards_dir: str | Path | None = None, *,
                        limit_rows: int | None = None) -> list[str]:
    """Every problem found in the package (empty list: valid).

    ``standards_dir`` holds the official files; by default the copies shipped with Saola.
    """
    import frictionless

    pkg = Path(package_dir)
    standards = Path(standards_dir) if standards_dir is not None else STANDARDS_DIR
    descriptor = json.loads((pkg / "datapackage.json").read_text(encoding="utf-8"))
    problems = _profile_errors(descriptor, standards)
    local = dict(descriptor)
    local["profile"] = "data-package"
    resources = []
    for r in descriptor.get("resources", []):
        r = dict(r)
        if r.get("name") in ("deployments", "media", "observations"):
            schema = json.loads((standards / f"{r['name']}-table-schema.json").read_text(encoding="utf-8"))
            r["schema"] = schema
            resources.append(r)
    local["resources"] = resources
    package = frictionless.Package(local, basepath=str(pkg))
    options = {"limit_rows": limit_rows} if limit_rows else {}
    report = package.validate(checklist=frictionless.Checklist(), **options)
    for task in report.tasks:
        for err in task.errors:
            where = f"{task.name}"
            if getattr(err, "row_number", None):
                where += f" row {err.row_number}"
            if getattr(err, "field_name", None):
                where += f" field {err.field_name}"
            problems.append(f"{where}: {err.message}")
    for err in report.errors:
        problems.append(f"package: {err.message}")
    return problems

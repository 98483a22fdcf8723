"""Schemathesis hooks of tests/server/test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

Random ids only ever reach the 404 of an operation. Path and query parameters
named like the seeded objects (``area_id``, ``media_id``, ...) take, in some
generated cases, the id of a real seeded object (listed in SAOLA_FUZZ_IDS as
JSON ``{"area_id": [...], ...}``), so requests also reach the code behind the
lookup: permissions, validation and the answer itself.
"""
from __future__ import annotations

import json
import os

import schemathesis
from hypothesis import strategies as st

IDS: dict[str, list[str]] = json.loads(os.environ.get("SAOLA_FUZZ_IDS", "{}"))


def _with_real_ids(values: dict | None):
    if not values:
        return st.just(values)
    return st.fixed_dictionaries({k: st.sampled_from([*IDS[k], v]) if k in IDS and isinstance(v, str) else st.just(v)
                                  for k, v in values.items()})


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    return _with_real_ids(path_parameters)


@schemathesis.hook
def flatmap_query(context, query):
    return _with_real_ids(query)


@schemathesis.hook
def before_load_schema(context, raw_schema):
    """Bodies the document describes as binary strings of any media type (a resumable upload's
    application/offset+octet-stream, a basemap's application/vnd.sqlite3) are sent as plain bytes."""
    known = {"application/json", "multipart/form-data", "application/octet-stream"}
    for item in raw_schema.get("paths", {}).values():
        for op in item.values():
            for media_type, body in (op.get("requestBody", {}).get("content") or {}).items():
                if media_type not in known and body.get("schema", {}).get("format") == "binary":
                    schemathesis.serializer.alias(media_type, "application/octet-stream")
                    known.add(media_type)

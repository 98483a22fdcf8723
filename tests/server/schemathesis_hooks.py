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


# The resumable upload's PATCH body is plain bytes, like application/octet-stream.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

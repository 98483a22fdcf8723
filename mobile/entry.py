"""Fast entry from what this device already recorded (issue 14, item 4); stdlib only, tested headless.

- recent and frequent species of the ranger on this device, for the species picker
  and the one-tap species buttons of the observation form;
- "repeat last observation": the last one's species, sign, count and habitat, with a
  new time and position;
- sticky fields: observers, weather, patrol type and team carry from one walk to
  the next, and habitat from one observation to the next within a walk.

Everything is read from the store (records of this device, and of the signed-in
ranger when the store knows record owners), so it survives a restart.
"""
from __future__ import annotations

import json
from collections import Counter

# Copied by "repeat last observation"; time, position, distance, bearing, photos and
# note are the new sighting's own.
REPEATED = ("taxon", "unidentified", "sign_type", "count", "habitat")
# Walk fields offered again at the start of the next walk.
WALK_STICKY = ("observers", "weather", "patrol_type", "team_leader", "team")
# Observation fields offered again within the same walk.
OBSERVATION_STICKY = ("habitat",)
STICKY_KEY = "entry.sticky"


def own_records(store, table: str, limit: int, walk_id: str | None = None,
                record_type: str | None = None) -> list[dict]:
    """The newest ``limit`` records of ``table`` made on this device (by the signed-in ranger), newest first.

    Pulled records of other devices (``origin='remote'``) are left out: they are not what
    this ranger keeps recording. Records made offline (no owner) count for whoever signs in.
    """
    where, args = ["deleted=0", "origin='local'"], []
    user = store.username()
    if user:
        where.append("(owner IS NULL OR owner=?)")
        args.append(user)
    if walk_id is not None:
        where.append("walk_id=?")
        args.append(walk_id)
    if record_type is not None:
        where.append("record_type=?")
        args.append(record_type)
    sql = f"SELECT * FROM {table} WHERE {' AND '.join(where)} ORDER BY created_at DESC, rowid DESC LIMIT ?"
    with store._lock:
        rows = store._db.execute(sql, (*args, limit)).fetchall()
    out = []
    for r in rows:
        d = dict(r)
        try:
            d["data"] = json.loads(d["data"])
        except (TypeError, ValueError):
            continue
        out.append(d)
    return out


def _taxon(data: dict) -> str | None:
    t = data.get("taxon")
    if isinstance(t, dict):
        t = t.get("scientific_name") or t.get("id")
    return t if isinstance(t, str) and t.strip() else None


def species_ranking(store, recent: int = 4, total: int = 8, window: int = 300) -> list[str]:
    """Scientific names to offer first: the ``recent`` last distinct species, then the most frequent.

    Counted over this ranger's last ``window`` observations on this device.
    """
    rows = own_records(store, "observations", window, record_type="observation")
    names = [n for n in (_taxon(r["data"]) for r in rows) if n]
    order: list[str] = []
    for n in names:
        if n not in order:
            order.append(n)
    ranked = order[:recent]
    counts = Counter(names)
    by_frequency = sorted(order, key=lambda n: (-counts[n], order.index(n)))
    ranked += [n for n in by_frequency if n not in ranked][:max(0, total - len(ranked))]
    return ranked


def last_observation(store, walk_id: str | None = None) -> dict | None:
    """The last observation to repeat: of this walk when in one (else the last of this device), or None."""
    rows = own_records(store, "observations", 1, walk_id=walk_id, record_type="observation")
    if not rows and walk_id is not None:
        rows = own_records(store, "observations", 1, record_type="observation")
    return rows[0] if rows else None


def repeat_values(store, walk_id: str | None = None) -> dict | None:
    """The fields "repeat last observation" copies into a new form, or None when there is none yet."""
    last = last_observation(store, walk_id)
    if last is None:
        return None
    return {k: last["data"][k] for k in REPEATED if k in last["data"]}


def remember(store, values: dict, names, walk_id: str | None = None) -> None:
    """Remember the sticky fields ``names`` of a saved form or a started walk (empty values forget nothing).

    A new ``walk_id`` starts the walk's observation fields afresh (habitat changes from
    one transect to the next).
    """
    sticky = store.get_setting(STICKY_KEY) or {}
    kept = dict(sticky.get("values") or {})
    current = sticky.get("walk_id")
    if walk_id is not None and walk_id != current:
        for k in OBSERVATION_STICKY:
            kept.pop(k, None)
        current = walk_id
    kept.update({k: values[k] for k in names if values.get(k) not in (None, "", [])})
    store.set_setting(STICKY_KEY, {"walk_id": current, "values": kept})


def sticky_values(store, fields, walk_id: str | None = None) -> dict:
    """Values to prefill for ``fields`` (protocol field dicts) of a new form.

    Walk fields come from the last walk (for the next walk, a listening post...);
    observation fields only within the same walk (never a camera trap's habitat).
    """
    sticky = store.get_setting(STICKY_KEY) or {}
    values = sticky.get("values") or {}
    same_walk = walk_id is not None and sticky.get("walk_id") == walk_id
    out = {}
    for f in fields:
        name = f["name"]
        if name in values and (name in WALK_STICKY or (name in OBSERVATION_STICKY and same_walk)):
            out[name] = values[name]
    return out

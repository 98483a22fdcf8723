"""Property: any interleaving of edits, pushes, pulls and failures on two devices ends with
both devices and the server agreeing on every record."""
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st_
from sqlmodel import select

from synchelp import Faulty, FlaskSession
from server.models import FieldObservation

ACTIONS = st_.lists(st_.tuples(
    st_.sampled_from(["create", "edit", "edit", "edit", "delete", "sync", "sync", "sync_fail_drop",
                      "sync_fail_lose", "pull"]),
    st_.integers(0, 1),        # which device
    st_.integers(0, 2),        # which record (index into known ids)
    st_.integers(1, 4),        # a count value (few values: equal edits happen too)
    st_.booleans(),            # which field to edit (count or note)
), min_size=4, max_size=16)


def _server_state(world, program_id):
    with world.session() as s:
        rows = s.exec(select(FieldObservation).where(FieldObservation.program_id == program_id))
        return {o.id: (None if o.deleted else o.data["data"]) for o in rows}


def _device_state(store):
    out = {}
    for r in store.records("observation", include_deleted=True):
        out[r["id"]] = None if r["deleted"] else r["data"]
    return out


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(actions=ACTIONS)
def test_two_devices_converge(site_factory, actions):
    site, world = site_factory()
    stores = [site.store(f"d{uuid.uuid4().hex[:6]}"), site.store(f"d{uuid.uuid4().hex[:6]}")]
    sessions = [Faulty(FlaskSession(site.app)), Faulty(FlaskSession(site.app))]
    clients = [site.client(stores[0], session=sessions[0], retries=0),
               site.client(stores[1], user=site.ranger2, session=sessions[1], retries=0)]
    # Both devices start from shared records, as after a first sync at the station.
    ids: list[str] = [site.observation(stores[0], count=1), site.observation(stores[0], count=2)]
    clients[0].sync()
    clients[1].sync()
    for action, dev, idx, value, which in actions:
        store, client, sess = stores[dev], clients[dev], sessions[dev]
        if action == "create":
            ids.append(site.observation(store, count=value))
        elif action in ("edit", "delete") and ids:
            rid = ids[idx % len(ids)]
            rec = store.get_record("observation", rid)
            if rec is None or rec["deleted"]:
                continue
            if action == "delete":
                store.delete_record("observation", rid)
            else:
                data = dict(rec["data"])
                data["count" if which else "note"] = value if which else f"note {value}"
                store.save_record("observation", "line_transect@1.0", "observation", data, record_id=rid,
                                  program_id=site.program.id)
        elif action == "sync":
            client.sync()
        elif action == "pull":
            client.pull()
        elif action.startswith("sync_fail"):
            sess.plan = {sess.n + 1: "drop" if action.endswith("drop") else "lose"}
            client.sync()
            sess.plan = {}
    # Quiesce: the network is back and both devices sync until nothing is left to say.
    for _ in range(2):
        for c in clients:
            assert c.sync().ok
    server = _server_state(world, site.program.id)
    for store in stores:
        assert store.outbox_count() == 0
        local = _device_state(store)
        # every record either side knows is the same on the device and the server
        for rid, data in server.items():
            assert local.get(rid, "missing") == data, (rid, local.get(rid), data)
        for rid, data in local.items():
            assert server.get(rid, "missing") == data or data is None

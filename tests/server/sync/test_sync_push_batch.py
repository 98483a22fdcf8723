"""A push is one batch: lookups once, protocol files parsed once per process, bookkeeping rows in bulk,
and still one savepoint, one change-log entry, one audit entry and one stored answer per mutation."""
import pathlib
import uuid

import pytest
from sqlmodel import func, select

import protocols
from server import audit
from server.models import AuditLog, FieldObservation, SurveyWalk, SyncChange, SyncMutation


def _count(world, model, *where):
    with world.session() as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def test_protocol_files_are_not_reread_for_each_pushed_record(field, monkeypatch):
    h = field.device(field.ranger, "tab-1")
    field.push(h, field.mutation("observation", str(uuid.uuid4()), field.obs_doc()))  # a cold cache may parse
    reads = []
    real = pathlib.Path.read_text

    def read_text(path, *a, **kw):
        if path.parent == protocols.loader.DEFINITIONS_DIR:
            reads.append(path.name)
        return real(path, *a, **kw)

    monkeypatch.setattr(pathlib.Path, "read_text", read_text)
    res = field.push(h, *[field.mutation("observation", str(uuid.uuid4()), field.obs_doc(count=1 + i % 5))
                          for i in range(100)])
    assert [r["status"] for r in res] == ["applied"] * 100
    assert reads == []


def test_one_batch_of_creates_updates_duplicates_and_rejections(field, world):
    h = field.device(field.ranger, "tab-1")
    walk_id, obs_id = str(uuid.uuid4()), str(uuid.uuid4())
    first = field.mutation("observation", obs_id, field.obs_doc(walk_id))
    batch = [field.mutation("walk", walk_id, field.walk_doc()), first,
             field.mutation("observation", obs_id, field.obs_doc(walk_id, count=9), op="update", base=1),
             first,  # the same mutation twice in one push
             field.mutation("observation", str(uuid.uuid4()), field.obs_doc(taxon="Felis imaginaria")),
             field.mutation("observation", obs_id, None, op="delete", base=2),
             {"mutation_id": "short"}]
    res = field.push(h, *batch)
    assert [r["status"] for r in res] == ["applied", "applied", "applied", "duplicate", "rejected", "applied",
                                          "rejected"]
    assert res[3]["original_status"] == "applied" and res[3]["seq"] == res[1]["seq"]
    assert res[0]["seq"] < res[1]["seq"] < res[2]["seq"] < res[5]["seq"]
    assert [res[2]["revision"], res[5]["revision"]] == [2, 3]
    pulled = field.pull(h).json["changes"]
    assert [(c["seq"], c["record_id"], c["revision"], c["op"]) for c in pulled] == [
        (res[0]["seq"], walk_id, 1, "upsert"), (res[1]["seq"], obs_id, 1, "upsert"),
        (res[2]["seq"], obs_id, 2, "upsert"), (res[5]["seq"], obs_id, 3, "delete")]
    with world.session() as s:
        obs = s.get(FieldObservation, obs_id)
        assert obs.count == 9 and obs.walk_id == walk_id and obs.revision == 3 and obs.deleted
        assert obs.taxon_id is not None
        entries = list(s.exec(select(AuditLog).where(AuditLog.entity_id == obs_id).order_by(AuditLog.id)))
        assert [e.action for e in entries] == ["create", "update", "delete"]
        assert entries[1].before["count"] == 3 and entries[1].actor == "lan (device tab-1)"
        assert entries[1].after == entries[2].before and entries[2].after is None
        walk = s.get(SurveyWalk, walk_id)
        assert walk.observers == ["Lan"]
        # the audit entry holds what the ORM's snapshot of the stored row holds
        assert s.exec(select(AuditLog).where(AuditLog.entity_id == walk_id)).one().after == audit.snapshot(walk)
    # every well-formed mutation's answer is stored once (the malformed one is not)
    assert _count(world, SyncMutation) == 5
    again = field.push(h, *batch)
    assert [r["status"] for r in again] == ["duplicate"] * 6 + ["rejected"]
    assert [r["seq"] for r in again[:3]] == [r["seq"] for r in res[:3]]
    assert _count(world, SyncChange) == 4 and _count(world, AuditLog, AuditLog.entity == "field_observation") == 3


@pytest.mark.parametrize("failure", ["after its write", "in the database"])
def test_a_mutation_that_fails_is_rolled_back_alone(field, world, monkeypatch, failure):
    from server.sync import batch as batch_mod, documents

    h = field.device(field.ranger, "tab-1")
    ids = [str(uuid.uuid4()) for _ in range(3)]
    if failure == "after its write":
        real = batch_mod.PushBatch.add_change

        def add_change(self, values, answer):
            if values["record_id"] == ids[1]:  # its row is written already, inside its savepoint
                raise RuntimeError("disk on fire")
            return real(self, values, answer)

        monkeypatch.setattr(batch_mod.PushBatch, "add_change", add_change)
    else:
        real_project = documents.project

        def project(lookups, entity, row, doc, program):
            real_project(lookups, entity, row, doc, program)
            if row.id == ids[1]:
                row.taxon_id = "no-such-taxon"  # the foreign key refuses the INSERT

        monkeypatch.setattr("server.sync.service.project", project)
    muts = [field.mutation("observation", i, field.obs_doc()) for i in ids]
    res = field.push(h, *muts)
    assert [r["status"] for r in res] == ["applied", "rejected", "applied"]
    assert res[1]["message"].startswith("server error: ")
    with world.session() as s:
        assert s.get(FieldObservation, ids[1]) is None
        assert {c.record_id for c in s.exec(select(SyncChange))} == {ids[0], ids[2]}
    assert _count(world, SyncMutation) == 2 and _count(world, AuditLog, AuditLog.entity_id == ids[1]) == 0
    monkeypatch.undo()
    retry = field.push(h, *muts)
    assert [r["status"] for r in retry] == ["duplicate", "applied", "duplicate"]

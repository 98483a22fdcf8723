"""The hub's side of publishing: a batch of one peer's records into the standard tables.

Rules (see :mod:`server.hub.protocol`):

- a record id the hub holds for **another peer**, or that the hub holds without any peer (its own
  data), is refused with 403 and the whole batch writes nothing;
- a reference to a record of another peer is refused the same way; to a record the hub has not
  received, 422 (the publisher sends parents first);
- the same content hash is a no-op (``same``); a batch whose ``rev`` is not above the record's
  stored revision writes nothing for it (``stale``: a replayed or delayed batch);
- a tombstone deletes the row (children follow by the tables' cascades) and keeps the id's owner,
  so an old copy can never come back;
- area-level rows (programs, stations, transects) land in the peer's protected area whatever the
  payload says; taxa are matched by scientific name (added when the hub lacks one); users of the
  area server are nobody at the hub.
"""
from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Optional

from sqlalchemy import and_, delete, insert, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session, col, select

from ..errors import Forbidden, SaolaError, ValidationError
from ..models import HubPeer, HubRecord, Media, ProtectedArea, Taxon, utcnow
from .kinds import AREA_FIELDS, BY_NAME, Kind, parsers
from .protocol import MAX_BATCH_RECORDS, SHA256

RECORD_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.:-]{0,63}$")
EXT = re.compile(r"^[a-z0-9]{1,8}$")
TAXON_FIELDS = ("rank", "vietnamese_name", "english_name", "taxon_group", "iucn_category", "vn_redlist_category",
                "decree84_group", "cites_appendix", "sensitive", "lineage")


def _check_shape(rev: Any, records: Any) -> None:
    if isinstance(rev, bool) or not isinstance(rev, int) or rev < 1:
        raise ValidationError("rev must be a positive whole number (the area server's publishing revision)",
                              details={"field": "rev"})
    if not isinstance(records, list) or len(records) > MAX_BATCH_RECORDS:
        raise ValidationError(f"records must be a list of at most {MAX_BATCH_RECORDS}", details={"field": "records"})
    for i, r in enumerate(records):
        where = f"records[{i}]"
        if not isinstance(r, dict):
            raise ValidationError(f"{where} must be an object", details={"field": where})
        kind, rid = r.get("kind"), r.get("id")
        if kind != "area" and kind not in BY_NAME:
            raise ValidationError(f"{where}: unknown kind {kind!r} (one of area, {', '.join(BY_NAME)})",
                                  details={"field": f"{where}.kind"})
        if not isinstance(rid, str) or not RECORD_ID.match(rid):
            raise ValidationError(f"{where}: id must be a record id of at most 64 letters, digits, _ . : -",
                                  details={"field": f"{where}.id"})
        if r.get("deleted") is True:
            continue
        if not isinstance(r.get("hash"), str) or not SHA256.match(r["hash"]):
            raise ValidationError(f"{where}: hash must be the SHA-256 (hex) of the record",
                                  details={"field": f"{where}.hash"})
        if not isinstance(r.get("data"), dict):
            raise ValidationError(f"{where}: data must be an object", details={"field": f"{where}.data"})


class _Taxa:
    """Taxon names of the area server -> taxon ids of the hub (added when missing)."""

    def __init__(self, session: Session):
        self.s = session
        self.ids: dict[str, str] = {}

    def resolve(self, names: set[str], described: dict[str, Any]) -> None:
        todo = [n for n in names if n not in self.ids]
        if not todo:
            return
        for tid, name in self.s.exec(select(Taxon.id, Taxon.scientific_name)
                                     .where(col(Taxon.scientific_name).in_(todo))).all():
            self.ids[name] = tid
        for name in todo:
            if name in self.ids:
                continue
            got = described.get(name)
            info: dict[str, Any] = got if isinstance(got, dict) else {}
            vals = {f: info.get(f) for f in TAXON_FIELDS if info.get(f) is not None}
            vals["sensitive"] = bool(vals.get("sensitive", False))
            t = Taxon(scientific_name=name[:200], search_text=name.lower(), source="hub")
            for f, v in vals.items():
                setattr(t, f, v)
            self.s.add(t)
            self.s.flush()
            self.ids[name] = t.id


def _owners(session: Session, pairs: dict[str, set[str]]) -> dict[tuple[str, str], HubRecord]:
    out: dict[tuple[str, str], HubRecord] = {}
    for kind, ids in pairs.items():
        ids_l = list(ids)
        for i in range(0, len(ids_l), 900):
            for hr in session.exec(select(HubRecord).where(HubRecord.kind == kind,
                                                           col(HubRecord.record_id).in_(ids_l[i:i + 900]))):
                out[(kind, hr.record_id)] = hr
    return out


def _existing_ids(session: Session, kind: Kind, ids: list[str]) -> set[str]:
    model: Any = kind.model
    out: set[str] = set()
    for i in range(0, len(ids), 900):
        out |= set(session.exec(select(model.id).where(col(model.id).in_(ids[i:i + 900]))))
    return out


def _refused(kind: str, rid: str, why: str) -> Forbidden:
    return Forbidden(f"{kind} {rid} {why}; this area server's credentials cannot write it",
                     code="not_owner", details={"kind": kind, "id": rid})


def apply_batch(session: Session, peer: HubPeer, rev: Any, records: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Write one batch of ``peer``'s records; returns ``{"results": [...], "last_rev": n}``.

    Each result is ``{"kind", "id", "status"}`` with status ``applied``, ``deleted``, ``same``,
    ``stale`` or ``conflict`` (with ``reason``). Raises 403 (another peer's record, nothing
    written) or 422 (a malformed record or an unknown reference, nothing written).
    """
    _check_shape(rev, records)
    wanted: dict[str, set[str]] = defaultdict(set)
    for r in records:
        wanted[r["kind"]].add(r["id"])
        kind = BY_NAME.get(r["kind"])
        if kind is not None and not r.get("deleted"):
            for column, target in kind.refs.items():
                v = r["data"].get(column)
                if isinstance(v, str):
                    wanted[target].add(v)
    owners = _owners(session, wanted)
    # Another peer's records are refused before anything is written.
    for (k, rid), owner in owners.items():
        if owner.peer_id != peer.id and rid in {r["id"] for r in records if r["kind"] == k}:
            raise _refused(k, rid, "belongs to another area server")
    for k, ids in wanted.items():
        kind = BY_NAME.get(k)
        if kind is None:
            continue
        unowned = _existing_ids(session, kind, [i for i in ids if (k, i) not in owners])
        if unowned:
            rid = sorted(unowned)[0]
            raise _refused(k, rid, "exists at the hub without having been published by this area server")

    # Media are unique by SHA-256 across the hub: the same file published by two areas is a conflict.
    shas = [r["data"].get("sha256") for r in records if r["kind"] == "media" and not r.get("deleted")]
    shas = [x for x in shas if isinstance(x, str)]
    media_shas: dict[str, str] = {}
    for i in range(0, len(shas), 900):
        media_shas.update({sha: mid for mid, sha in session.exec(
            select(Media.id, Media.sha256).where(col(Media.sha256).in_(shas[i:i + 900]))).all()})
    results: list[dict[str, Any]] = []
    taxa = _Taxa(session)
    # The ownership rows as plain values: written in bulk at the end of the batch.
    state: dict[tuple[str, str], _Owner] = {key: _Owner(hr.peer_id, hr.content_hash, hr.rev, hr.deleted, False)
                                            for key, hr in owners.items()}
    touched: dict[tuple[str, str], _Owner] = {}
    now = utcnow()
    pending: list[tuple[Kind, list[dict], list[dict]]] = []  # (kind, inserts, updates) not yet written

    def flush_pending() -> None:
        for kind, inserts, updates in pending:
            model: Any = kind.model
            if inserts:
                session.execute(insert(model), inserts)
            if updates:
                session.execute(update(model), updates)
        pending.clear()

    def own(kind: str, rid: str) -> Optional[bool]:
        """True: this peer's live record; False: another peer's; None: not at the hub (or deleted)."""
        o = state.get((kind, rid))
        if o is None:
            return None
        if o.peer_id != peer.id:
            return False
        return None if o.deleted else True

    try:
        for idx, r in enumerate(records):
            k, rid = r["kind"], r["id"]
            o = state.get((k, rid))
            deleted = r.get("deleted") is True
            if o is not None and (o.deleted if deleted else o.content_hash == r["hash"] and not o.deleted):
                results.append({"kind": k, "id": rid, "status": "same"})
                continue
            if o is not None and o.rev >= rev:
                results.append({"kind": k, "id": rid, "status": "stale"})
                continue
            if k == "area":
                if not deleted:
                    area = session.get(ProtectedArea, peer.area_id)
                    assert area is not None
                    for f in AREA_FIELDS:
                        if f in r["data"]:
                            setattr(area, f, r["data"][f])
                    session.add(area)
            elif deleted:
                flush_pending()
                model: Any = BY_NAME[k].model
                session.execute(delete(model).where(model.id == rid))
            else:
                kind = BY_NAME[k]
                values = _row_values(session, kind, r, peer, taxa, own, idx)
                if k == "media":
                    clash = media_shas.get(values["sha256"])
                    if clash is not None and clash != rid:
                        results.append({"kind": k, "id": rid, "status": "conflict",
                                        "reason": "the hub holds the same file (SHA-256) as another media"})
                        continue
                if not pending or pending[-1][0] is not kind:
                    pending.append((kind, [], []))
                if o is not None and not o.deleted:
                    pending[-1][2].append(values)
                else:
                    pending[-1][1].append(_new_row(kind, values))
            if o is None:
                o = _Owner(peer.id, "", 0, False, True)
                state[(k, rid)] = o
            o.content_hash = "deleted" if deleted else r["hash"]
            o.rev, o.deleted = rev, deleted
            touched[(k, rid)] = o
            results.append({"kind": k, "id": rid, "status": "deleted" if deleted else "applied"})
        flush_pending()
        rows = [{"kind": k, "record_id": rid, "peer_id": o.peer_id, "content_hash": o.content_hash, "rev": o.rev,
                 "deleted": o.deleted, "received_at": now} for (k, rid), o in touched.items()]
        new_rows = [r for r, o in zip(rows, touched.values()) if o.new]
        old_rows = [r for r, o in zip(rows, touched.values()) if not o.new]
        if new_rows:
            session.execute(insert(HubRecord), new_rows)
        if old_rows:
            session.execute(update(HubRecord), old_rows)
        peer.last_rev = max(peer.last_rev or 0, rev)
        peer.last_seen_at = now
        session.add(peer)
        session.flush()
    except (IntegrityError, DataError) as e:
        session.rollback()
        raise ValidationError(f"the batch does not fit the hub's tables: {str(e.orig).splitlines()[0][:300]}",
                              code="bad_batch") from None
    except (TypeError, ValueError) as e:
        session.rollback()
        raise ValidationError(f"malformed record: {e}", code="bad_batch") from None
    return {"results": results, "last_rev": peer.last_rev}


@dataclass
class _Owner:
    """An ownership row of the batch: who owns the record, its hash and revision (``new``: no row yet)."""

    peer_id: str
    content_hash: str
    rev: int
    deleted: bool
    new: bool


def _const(value: Any) -> Any:
    return value


@functools.lru_cache(maxsize=None)
def _defaults(kind_name: str) -> dict[str, Callable[[], Any]]:
    """Each column's default of a kind's table model (what the model would fill in)."""
    from pydantic_core import PydanticUndefined

    out: dict[str, Callable[[], Any]] = {}
    for name, f in BY_NAME[kind_name].model.model_fields.items():
        if f.default_factory is not None:
            out[name] = f.default_factory  # type: ignore[assignment]
        elif f.default is not PydanticUndefined:
            out[name] = functools.partial(_const, f.default)
    return out


def _new_row(kind: Kind, values: dict[str, Any]) -> dict[str, Any]:
    """A full row to insert: the values sent, the model's defaults for the rest (local columns)."""
    defaults = _defaults(kind.name)
    return {c: values[c] if c in values else defaults[c]() for c in kind.columns() if c in values or c in defaults}


def _row_values(session: Session, kind: Kind, r: dict, peer: HubPeer, taxa: _Taxa, own, idx: int) -> dict[str, Any]:
    data: dict[str, Any] = r["data"]
    columns = set(kind.columns())
    unknown = set(data) - columns
    if unknown:
        raise ValidationError(f"records[{idx}]: {kind.name} has no field {sorted(unknown)[0]!r}",
                              details={"field": f"records[{idx}].data"})
    conv = parsers(kind)
    values: dict[str, Any] = {}
    for c, v in data.items():
        if c in kind.local:
            continue
        values[c] = conv[c](v) if c in conv and v is not None else v
    values["id"] = r["id"]
    if kind.area_column:
        values[kind.area_column] = peer.area_id
    for c in kind.users:
        values[c] = None
    names = {values[c] for c in kind.taxon_columns if isinstance(values.get(c), str)}
    described = r.get("taxa")
    taxa.resolve(names, described if isinstance(described, dict) else {})
    for c in kind.taxon_columns:
        if isinstance(values.get(c), str):
            values[c] = taxa.ids[values[c]]
    for c, target in kind.refs.items():
        v = values.get(c)
        if v is None:
            continue
        mine = own(target, v) if isinstance(v, str) else None
        if mine is False:
            raise _refused(target, v, f"(referred to by {kind.name} {r['id']}) belongs to another area server")
        if mine is None:
            raise ValidationError(f"records[{idx}]: {kind.name} {r['id']} refers to {target} {v!r}, which this "
                                  "area server has not published (parents are sent first)",
                                  code="unknown_reference", details={"field": f"records[{idx}].data.{c}"})
    if kind.name == "media":
        sha = values.get("sha256")
        if not isinstance(sha, str) or not SHA256.match(sha):
            raise ValidationError(f"records[{idx}]: media sha256 must be 64 hex digits")
        key = str(values.get("storage_key") or "")
        ext = key.rsplit(".", 1)[-1].lower() if "." in key.rsplit("/", 1)[-1] else ""
        from ..storage import LocalMediaStore

        # The key is the hub's own content address, never a path the area chose.
        values["storage_key"] = LocalMediaStore.key_for(sha, ext if EXT.match(ext) else "")
    return values


def owned_media_many(session: Session, peer: HubPeer, shas: list[str]) -> dict[str, Media]:
    """The media among ``shas`` (by SHA-256) that ``peer`` published and has not deleted."""
    out: dict[str, Media] = {}
    for i in range(0, len(shas), 900):
        q = (select(Media).join(HubRecord, and_(col(HubRecord.record_id) == col(Media.id), col(HubRecord.kind) == "media"))
             .where(col(Media.sha256).in_(shas[i:i + 900]), HubRecord.peer_id == peer.id,
                    col(HubRecord.deleted).is_(False)))
        out.update({m.sha256: m for m in session.exec(q)})
    return out


def owned_media(session: Session, peer: HubPeer, sha256: str) -> Optional[Media]:
    """The media with ``sha256`` when ``peer`` published it (files are accepted only for those)."""
    m = session.exec(select(Media).where(Media.sha256 == sha256)).first()
    if m is None:
        return None
    hr = session.get(HubRecord, ("media", m.id))
    return m if hr is not None and hr.peer_id == peer.id and not hr.deleted else None


class NotAHub(SaolaError):
    """This server is not configured as a hub."""

    status = 404
    code = "not_a_hub"

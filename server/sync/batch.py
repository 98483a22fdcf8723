"""One sync push as a batch: what it looks up is loaded once, what it writes besides records goes in bulk.

A push carries up to 500 mutations and stays exactly-once with a SAVEPOINT per
mutation. Done one at a time through the ORM, each mutation cost a dozen queries,
four ORM objects and a re-read of every protocol file (about 120 observations/s).
Per push, this module:

* takes the change-log lock first (PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
  already serialises writers), so a retry of a push still running waits for it
  and then finds its answers;
* loads with one query each the user's stored answers for the batch's mutation
  ids, the walk and observation rows it names (and the walks observations point
  to), their programs, the taxa by name and the photos already stored, and
  checks the caller's role once per protected area;
* opens a mutation's SAVEPOINT at its first write and writes its record row with
  SQL Core (an INSERT or an UPDATE, no ORM object);
* keeps the mutation's change-log entry, audit entry and answer until the end of
  the push (dropped with its savepoint if it fails) and inserts them then, one
  multi-row INSERT per table in mutation order; the change-log sequence numbers
  come back into the answers before those are stored.

A mutation that reads the change log (a base revision older than the record's:
merge or conflict) or other tables (camera forms) first writes out what is
pending, outside any savepoint. Every lookup also works for what was not
loaded up front, with one query.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Iterable, Iterator

from sqlalchemy import bindparam, select, text
from sqlmodel import Session

from .. import audit
from ..auth.permissions import has_role
from ..models import AuditLog, FieldObservation, Media, Program, SurveyWalk, SyncChange, SyncMutation, Taxon, User
from ..models import utcnow
from ..services.taxa import find_taxa
from .documents import ENTITIES, load_protocol, photos_of, taxon_name

_CHUNK = 500  # ids per IN (...) list
_SAVEPOINT = "saola_mutation"  # the savepoint of a mutation's record write
_STATEMENTS: dict[tuple[str, str], Any] = {}


class Record(SimpleNamespace):
    """The column values of one walk or observation row, read and set like the ORM row's attributes."""

    def values(self) -> dict[str, Any]:
        """Column name -> value."""
        return dict(vars(self))


def lock_change_log(s: Session) -> None:
    """Serialise writers of the change log until commit.

    Pull hands out changes by sequence number, so a change must never commit
    after one with a higher number (a device would skip it). SQLite already
    serialises writers (BEGIN IMMEDIATE); PostgreSQL takes an advisory lock.
    """
    if s.get_bind().dialect.name == "postgresql":
        s.exec(text("SELECT pg_advisory_xact_lock(7211001)"))


def _chunks(items: Iterable[str]) -> Iterator[list[str]]:
    items = list(items)
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


def _insert(table) -> Any:
    """INSERT INTO <table>, built once per table (SQLAlchemy then reuses its compiled form as is)."""
    stmt = _STATEMENTS.get(("insert", table.name))
    if stmt is None:
        stmt = _STATEMENTS["insert", table.name] = table.insert()
    return stmt


def _update(table) -> Any:
    """UPDATE <table> SET <the columns given> WHERE id = :_id, built once per table."""
    stmt = _STATEMENTS.get(("update", table.name))
    if stmt is None:
        stmt = _STATEMENTS["update", table.name] = table.update().where(table.c.id == bindparam("_id"))
    return stmt


class PushBatch:
    """The lookups, staged writes and pending bulk rows of one push (or one resolved conflict)."""

    def __init__(self, s: Session, user: User, device_id: str | None):
        self.s, self.user, self.device_id = s, user, device_id
        self.who = audit.actor()
        self._protocols: dict[str, Any] = {}
        self._programs: dict[str, Program | None] = {}
        self._roles: dict[str, bool] = {}
        self._taxa: dict[str, str | None] = {}
        self._photos: dict[str, bool] = {}
        self._records: dict[tuple[type, str], Record | None] = {}
        self._answered: dict[str, dict] = {}  # mutation id -> this user's stored answer
        self._checked: set[str] = set()  # mutation ids looked up in sync_mutation
        self._connection: Any = None
        self._raw_cursor: Any = None
        # What the current mutation did, kept once it is known to have worked.
        self._savepoint: Any = None
        self._orm_savepoint = False
        self._staged_records: dict[tuple[type, str], Record] = {}
        self._staged_changes: list[tuple[dict, dict]] = []
        self._staged_audits: list[dict] = []
        self._staged_answer: tuple[str, dict] | None = None
        # Rows of finished mutations, inserted by flush().
        self._changes: list[tuple[dict, dict]] = []  # (sync_change values, the answer to get its seq)
        self._audits: list[dict] = []
        self._answers: list[dict] = []
        self._pending: set[str] = set()  # mutation ids whose answers are not inserted yet

    # ---- loading ----------------------------------------------------------------------
    def prefetch(self, raws: list) -> None:
        """Load in a few queries what the mutations ``raws`` will look up (malformed ones are skipped)."""
        mids: set[str] = set()
        ids: dict[type, set[str]] = {}
        program_ids: set[str] = set()
        names: set[str] = set()
        shas: set[str] = set()
        for raw in raws:
            if not isinstance(raw, dict):
                continue
            if isinstance(raw.get("mutation_id"), str):
                mids.add(raw["mutation_id"])
            model = ENTITIES.get(raw.get("entity")) if isinstance(raw.get("entity"), str) else None
            if model is not None and isinstance(raw.get("record_id"), str):
                ids.setdefault(model, set()).add(raw["record_id"])
            doc = raw.get("data")
            if not isinstance(doc, dict):
                continue
            if isinstance(doc.get("program_id"), str):
                program_ids.add(doc["program_id"])
            if isinstance(doc.get("walk_id"), str):
                ids.setdefault(SurveyWalk, set()).add(doc["walk_id"])
            rec = doc.get("data")
            if isinstance(rec, dict):
                name = taxon_name(rec)
                if isinstance(name, str):
                    names.add(name)
                shas.update(photos_of(rec))
        self._load_answers(mids)
        for model, wanted in ids.items():
            program_ids.update(r.program_id for r in self._load_records(model, wanted).values())
        self._load_programs(program_ids)
        self._load_taxa(names)
        self._load_photos(shas)

    def _load_answers(self, mids: Iterable[str]) -> None:
        mids = [m for m in mids if m not in self._checked]
        for part in _chunks(mids):
            self._answered.update(self.s.execute(
                select(SyncMutation.mutation_id, SyncMutation.response)
                .where(SyncMutation.user_id == self.user.id, SyncMutation.mutation_id.in_(part))).all())
        self._checked.update(mids)

    def _load_records(self, model: type, ids: Iterable[str]) -> dict[str, Record]:
        table = model.__table__  # type: ignore[attr-defined]
        found: dict[str, Record] = {}
        ids = [i for i in ids if (model, i) not in self._records]
        conn = self._conn()
        for part in _chunks(ids):
            for row in conn.execute(select(table).where(table.c.id.in_(part))).mappings():
                found[row["id"]] = Record(**row)
        for i in ids:
            self._records[(model, i)] = found.get(i)
        return found

    def _load_programs(self, ids: Iterable[str]) -> None:
        ids = [i for i in ids if i not in self._programs]
        for part in _chunks(ids):
            for p in self.s.execute(select(Program).where(Program.id.in_(part))).scalars():
                self._programs[p.id] = p
        for i in ids:
            self._programs.setdefault(i, None)

    def _load_taxa(self, names: Iterable[str]) -> None:
        names = [n for n in names if n not in self._taxa]
        if not names:
            return
        found = {n: (t.id if t is not None else None) for n, t in find_taxa(self.s, names).items()}
        by_id = [n for n, t in found.items() if t is None]  # a taxon may also be named by its id
        for part in _chunks(by_id):
            for tid in self.s.execute(select(Taxon.id).where(Taxon.id.in_(part))).scalars():
                found[tid] = tid
        self._taxa.update(found)

    def _load_photos(self, shas: Iterable[str]) -> None:
        shas = [h for h in shas if h not in self._photos]
        present: set[str] = set()
        for part in _chunks(shas):
            present.update(self.s.execute(select(Media.sha256).where(Media.sha256.in_(part))).scalars())
        self._photos.update((h, h in present) for h in shas)

    # ---- lookups (documents.Lookups and the push's checks) ----------------------------
    def protocol(self, key: Any) -> Any:
        """The protocol ``name@version`` (DocumentError when unknown)."""
        if isinstance(key, str) and key in self._protocols:
            return self._protocols[key]
        proto = load_protocol(key)
        self._protocols[key] = proto
        return proto

    def program(self, program_id: str) -> Program | None:
        """A program by id, or None."""
        self._load_programs([program_id])
        return self._programs[program_id]

    def may_write(self, area_id: str) -> bool:
        """Whether the pushing user is a ranger (or above) in ``area_id``."""
        if area_id not in self._roles:
            self._roles[area_id] = has_role(self.s, self.user, area_id, "ranger")
        return self._roles[area_id]

    def record(self, model: type, record_id: str) -> Record | None:
        """The current column values of a walk or observation row, or None when it is not stored."""
        key = (model, record_id)
        if key in self._staged_records:
            return self._staged_records[key]
        if key not in self._records:
            self._load_records(model, [record_id])
        return self._records[key]

    def walk_exists(self, walk_id: str) -> bool:
        """Whether the walk is stored (deleted ones too)."""
        return self.record(SurveyWalk, walk_id) is not None

    def taxon_id(self, name: str) -> str | None:
        """The taxon a record names (scientific, Vietnamese or English name, or id), or None."""
        self._load_taxa([name])
        return self._taxa[name]

    def photos_present(self, shas: list[str]) -> bool:
        """Whether every photo is stored already."""
        self._load_photos(shas)
        return all(self._photos[h] for h in shas)

    def answer_for(self, mutation_id: str) -> dict | None:
        """This user's stored answer to ``mutation_id`` (earlier in this push included), or None."""
        if mutation_id in self._pending:
            self.flush()  # its sequence number is not known before the insert
        self._load_answers([mutation_id])
        return self._answered.get(mutation_id)

    # ---- writing ------------------------------------------------------------------------
    def begin_write(self, orm: bool = False) -> None:
        """Open the current mutation's SAVEPOINT (at its first write).

        ``orm``: the mutation also writes through the ORM session (conflicts, camera
        forms), whose objects must be rolled back with it: a session savepoint. Plain
        record writes take the connection's, which costs a fraction.
        """
        if self._savepoint is None:
            if orm:
                self._savepoint = self.s.begin_nested()
            else:
                # Straight to the driver: SQLAlchemy's nested transaction object costs ~10x the
                # statements themselves, and nothing else in this push uses it meanwhile.
                self._cursor().execute(f"SAVEPOINT {_SAVEPOINT}")
                self._savepoint = _SAVEPOINT
            self._orm_savepoint = orm
        elif orm and not self._orm_savepoint:
            raise RuntimeError("an ORM write after a Core savepoint was opened: call begin_write(orm=True) first")

    def _conn(self) -> Any:
        if self._connection is None:
            self._connection = self.s.connection()
        return self._connection

    def _cursor(self) -> Any:
        if self._raw_cursor is None:
            self._raw_cursor = self._conn().connection.cursor()
        return self._raw_cursor

    def save_record(self, model: type, record: Record, created: bool) -> None:
        """INSERT or UPDATE the record's row."""
        self.begin_write()
        table = model.__table__  # type: ignore[attr-defined]
        values = record.values()
        conn = self._conn()
        if created:
            conn.execute(_insert(table), values)
        else:
            rid = values.pop("id")
            conn.execute(_update(table), {**values, "_id": rid})
        self._staged_records[(model, record.id)] = record

    def add_change(self, values: dict, answer: dict) -> None:
        """A change-log entry; ``answer["seq"]`` gets its sequence number when it is inserted."""
        self._staged_changes.append(({**values, "at": utcnow()}, answer))

    def add_audit(self, values: dict) -> None:
        """An audit entry (``audit.entry_values``)."""
        self._staged_audits.append(values)

    def remember(self, mutation_id: str, answer: dict) -> None:
        """Store ``answer`` as this user's answer to ``mutation_id`` (for retries)."""
        self._staged_answer = (mutation_id, answer)

    def finish_mutation(self) -> None:
        """The current mutation worked: release its savepoint and keep what it staged."""
        if self._savepoint == _SAVEPOINT:
            self._cursor().execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        elif self._savepoint is not None:
            self._savepoint.commit()
        self._savepoint = None
        self._records.update(self._staged_records)
        self._changes += self._staged_changes
        self._audits += self._staged_audits
        if self._staged_answer is not None:
            mid, answer = self._staged_answer
            self._answers.append({"user_id": self.user.id, "mutation_id": mid, "device_id": self.device_id,
                                  "response": answer, "at": utcnow()})
            self._answered[mid] = answer
            self._checked.add(mid)
            self._pending.add(mid)
        self._clear_staged()

    def abandon_mutation(self) -> None:
        """The current mutation failed: roll back its savepoint and forget what it staged."""
        try:
            if self._savepoint == _SAVEPOINT:
                self._cursor().execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
                self._cursor().execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
            elif self._savepoint is not None:
                self._savepoint.rollback()
        finally:
            self._savepoint = None
            self._clear_staged()

    def _clear_staged(self) -> None:
        self._staged_records, self._staged_changes, self._staged_audits = {}, [], []
        self._staged_answer = None

    def flush(self) -> None:
        """Insert the change-log entries, audit entries and answers of the finished mutations."""
        if self._savepoint is not None:
            raise RuntimeError("flush() inside a mutation's savepoint would tie earlier mutations to it")
        conn = self._conn()
        if self._changes:
            table = SyncChange.__table__  # type: ignore[attr-defined]
            stmt = table.insert().returning(table.c.seq, sort_by_parameter_order=True)
            seqs = conn.execute(stmt, [values for values, _ in self._changes]).scalars().all()
            for seq, (_, answer) in zip(seqs, self._changes, strict=True):
                answer["seq"] = seq
        if self._audits:
            conn.execute(AuditLog.__table__.insert(), self._audits)  # type: ignore[attr-defined]
        if self._answers:
            conn.execute(SyncMutation.__table__.insert(), self._answers)  # type: ignore[attr-defined]
        self._changes, self._audits, self._answers = [], [], []
        self._pending.clear()

    def close(self) -> None:
        """Close the driver cursor the savepoints used (the transaction stays the caller's)."""
        if self._raw_cursor is not None:
            self._raw_cursor.close()
            self._raw_cursor = None

    def forget_orm_records(self) -> None:
        """Drop ORM copies of walk and observation rows (loaded by camera-form effort updates):
        later writes in this push go through SQL Core and would leave them stale."""
        for obj in list(self.s.identity_map.values()):
            if isinstance(obj, (FieldObservation, SurveyWalk)):
                self.s.expunge(obj)

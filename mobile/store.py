"""The field app's local store: stdlib sqlite3, every record written the moment it is saved.

Rangers work for days without a network and the app may be killed at any
time (battery, Android's task killer, a fall). So:

- every save is one short ``BEGIN IMMEDIATE`` transaction, committed before
  the call returns, in WAL mode with ``synchronous=FULL`` (survives power loss);
- every record has a device-generated UUID, so saving twice or syncing twice
  never doubles it;
- a record row and its outbox mutation are written in the same transaction,
  so no saved change can miss the outbox;
- a walk's state (active / paused / done) and each track point are rows, so a
  killed app finds its walk on restart and carries on recording.

Records pulled from the server that another device made are *references*
(``origin='remote'``): shown, never edited here, and a walk of another tablet
is never "in progress" on this one (status ``reference``): only the tablet
that records a walk changes its track.

The schema carries its version in ``PRAGMA user_version`` and is migrated step
by step on open (``MIGRATIONS``), keeping every unsynced record.

The outbox is what the sync client (push) reads: one row per local change
with mutation_id, entity, record_id, op, base_revision, data, device_time and
gps_time, in the order made. A row leaves the outbox only when the server
answered for it (``complete_mutation``).

Imports nothing outside the standard library (runs on Android, tested headless).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import shutil
import sqlite3
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

# Version 1: the first store (settings.schema_version only). Version 2: record ownership
# (origin, device_id, owner), walks of other tablets as references, photos removed after
# upload to keep within the storage budget, incremental vacuum. Add a step to MIGRATIONS
# with each new version; tests/mobile/test_store_migrations.py builds every earlier one.
SCHEMA_VERSION = 2

# Local entity name -> table. The sync client sends these entity names.
ENTITIES = {
    "walk": "walks",
    "observation": "observations",
    "deployment": "deployments",
    "threat": "threats",
}
SYNC_STATES = ("pending", "synced", "conflict", "rejected")
# reference: a walk another tablet records (read-only here, never resumed).
WALK_STATES = ("active", "paused", "done", "reference")
ORIGINS = ("local", "remote")  # made on this device / pulled from another one
PHOTO_BUDGET_MB = 2048  # default photo storage budget (setting "photo_budget_mb")
LOW_DISK_BYTES = 200 * 1024 * 1024  # warn below this much free space on the tablet

_RECORD_COLUMNS = """
    id TEXT PRIMARY KEY,
    program_id TEXT,
    protocol TEXT NOT NULL,
    record_type TEXT NOT NULL,
    data TEXT NOT NULL,
    summary TEXT NOT NULL DEFAULT '',
    latitude REAL,
    longitude REAL,
    recorded_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0,
    sync_state TEXT NOT NULL DEFAULT 'pending',
    sync_error TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    origin TEXT NOT NULL DEFAULT 'local',
    device_id TEXT,
    owner TEXT
"""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS walks (
    {_RECORD_COLUMNS},
    status TEXT NOT NULL DEFAULT 'active',
    started_at TEXT NOT NULL,
    ended_at TEXT,
    paused_at REAL,
    paused_total_s REAL NOT NULL DEFAULT 0,
    segment INTEGER NOT NULL DEFAULT 0,
    distance_m REAL NOT NULL DEFAULT 0,
    point_count INTEGER NOT NULL DEFAULT 0,
    last_lat REAL, last_lon REAL, last_t REAL, last_segment INTEGER
);
CREATE TABLE IF NOT EXISTS track_points (
    walk_id TEXT NOT NULL REFERENCES walks(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    segment INTEGER NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    t REAL NOT NULL,
    accuracy_m REAL,
    altitude_m REAL,
    PRIMARY KEY (walk_id, seq)
);
CREATE TABLE IF NOT EXISTS observations ({_RECORD_COLUMNS}, walk_id TEXT REFERENCES walks(id));
CREATE TABLE IF NOT EXISTS threats ({_RECORD_COLUMNS}, walk_id TEXT REFERENCES walks(id));
CREATE TABLE IF NOT EXISTS deployments ({_RECORD_COLUMNS}, deployment_id TEXT);
CREATE TABLE IF NOT EXISTS photos (
    sha256 TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    media_type TEXT,
    original_name TEXT,
    created_at TEXT NOT NULL,
    upload_offset INTEGER NOT NULL DEFAULT 0,
    uploaded INTEGER NOT NULL DEFAULT 0,
    removed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS photo_links (
    sha256 TEXT NOT NULL REFERENCES photos(sha256),
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    PRIMARY KEY (sha256, entity, record_id)
);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    mutation_id TEXT NOT NULL UNIQUE,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    op TEXT NOT NULL,
    base_revision INTEGER NOT NULL,
    data TEXT,
    device_time TEXT NOT NULL,
    gps_time TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS ix_outbox_record ON outbox(entity, record_id);
CREATE INDEX IF NOT EXISTS ix_observations_page ON observations(updated_at, id);
CREATE INDEX IF NOT EXISTS ix_observations_walk ON observations(walk_id);
CREATE INDEX IF NOT EXISTS ix_threats_page ON threats(updated_at, id);
CREATE INDEX IF NOT EXISTS ix_deployments_page ON deployments(updated_at, id);
CREATE INDEX IF NOT EXISTS ix_walks_page ON walks(updated_at, id);
CREATE INDEX IF NOT EXISTS ix_walks_status ON walks(status);
"""


class StoreError(ValueError):
    """A store call got something it cannot save (the message says which argument)."""


class ReadOnlyRecord(StoreError):
    """The record was made on another device: it is a reference here, never changed."""


class StorageFull(StoreError):
    """The tablet's storage is full: nothing of the call was written (free space and try again)."""


class NewerStore(StoreError):
    """The database was written by a newer version of the app: it is left untouched."""


def _is_full(exc: BaseException) -> bool:
    return (isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower()) or \
        (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT))


# -- migrations: PRAGMA user_version steps --------------------------------------------
def _columns(db, table: str) -> set:
    return {r[1] for r in db.execute(f"PRAGMA table_info({table})")}


def _step_1_to_2(db) -> None:
    """Ownership of records (issue 14, D1), photos removed after upload, incremental vacuum."""
    for table in ENTITIES.values():
        have = _columns(db, table)
        for name, decl in (("origin", "TEXT NOT NULL DEFAULT 'local'"), ("device_id", "TEXT"), ("owner", "TEXT")):
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
    if "removed" not in _columns(db, "photos"):
        db.execute("ALTER TABLE photos ADD COLUMN removed INTEGER NOT NULL DEFAULT 0")
    # Version 1 stored other tablets' walks pulled without an end as 'paused' although nobody
    # paused them here (a pause here always sets paused_at), and pulled ended ones with a
    # track in their data but no track point here. Both are references, never resumable.
    db.execute("UPDATE walks SET status='reference', origin='remote' WHERE status='paused' AND paused_at IS NULL")
    for wid, data in db.execute("SELECT id, data FROM walks WHERE status='done' AND point_count=0").fetchall():
        try:
            track = json.loads(data).get("track")
        except ValueError:
            track = None
        if track:
            db.execute("UPDATE walks SET status='reference', origin='remote' WHERE id=?", (wid,))
    # Which of the other records came from other devices only the server knows: pull all
    # changes again once (they now carry each record's device and maker).
    db.execute("DELETE FROM settings WHERE key='sync.since'")
    # A database made without auto_vacuum switches to incremental only through one full
    # VACUUM, which cannot run inside this transaction: Store.maintenance() runs it after a
    # sync, when no walk is being recorded.
    db.execute("INSERT INTO settings(key, value) VALUES ('store.vacuum_pending', 'true')"
               " ON CONFLICT(key) DO UPDATE SET value=excluded.value")


# version -> the step that takes a database of that version to the next one
MIGRATIONS = {1: _step_1_to_2}


def utc_iso(t: float | None = None) -> str:
    """ISO 8601 UTC with offset, millisecond precision (what records and the outbox carry)."""
    t = time.time() if t is None else t
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (mean Earth radius 6,371,008.8 m)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371008.8 * math.asin(min(1.0, math.sqrt(a)))


def _summary(data: dict) -> str:
    # A short line for the records list, chosen once at save time so paging
    # 10,000 rows never parses JSON.
    taxon = data.get("taxon")
    if isinstance(taxon, dict):
        taxon = taxon.get("scientific_name") or taxon.get("id")
    for value in (taxon, "unidentified" if data.get("unidentified") else None, data.get("threat_type"),
                  data.get("station_id"), data.get("transect_id"), data.get("post_id"), data.get("deployment_id")):
        if value:
            return str(value)[:120]
    return ""


def _location_of(data: dict, location: dict | None):
    loc = location or data.get("location")
    if isinstance(loc, dict) and loc.get("lat") is not None and loc.get("lon") is not None:
        return float(loc["lat"]), float(loc["lon"])
    return None, None


class Store:
    """The app's database and photo folder under ``root`` (the app's private storage).

    Thread-safe: the GPS thread adds track points while the UI saves records.
    """

    def __init__(self, root: str | os.PathLike, *, clock=time.time):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.photo_dir = self.root / "photos"
        self.photo_dir.mkdir(exist_ok=True)
        self.path = self.root / "saola.db"
        self._clock = clock
        self._lock = threading.RLock()
        self._tx_depth = 0  # > 0 while this store's lock holder is inside a transaction
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a write
        # transaction takes the lock up front instead of failing half-way.
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30)
        self._db.row_factory = sqlite3.Row
        if self._db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0:
            # A new database: incremental auto-vacuum must be chosen before the first table.
            self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._device_id: str | None = None
        try:
            self._open_schema()
        except BaseException:
            self._db.close()
            raise

    def _open_schema(self) -> None:
        """Create the schema, or migrate an older one step by step (each step one transaction)."""
        db = self._db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise NewerStore(f"{self.path} was written by a newer version of the app (store version {version}; "
                             f"this app knows up to {SCHEMA_VERSION}): update the app; nothing was changed")
        if version == SCHEMA_VERSION:
            return
        with self._tx():
            version = db.execute("PRAGMA user_version").fetchone()[0]  # another process may have done it
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if version == 0 and "settings" not in tables:
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                version = SCHEMA_VERSION
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            elif version == 0:  # version 1 wrote its number into settings only
                row = db.execute("SELECT value FROM settings WHERE key='schema_version'").fetchone()
                version = int(json.loads(row[0])) if row else 1
        while version < SCHEMA_VERSION:
            with self._tx():
                if db.execute("PRAGMA user_version").fetchone()[0] > version:
                    version = db.execute("PRAGMA user_version").fetchone()[0]
                    continue
                MIGRATIONS[version](db)
                version += 1
                db.execute(f"PRAGMA user_version={version}")
        self.set_setting("schema_version", SCHEMA_VERSION)

    @property
    def schema_version(self) -> int:
        """The store's schema version (PRAGMA user_version)."""
        with self._lock:
            return self._db.execute("PRAGMA user_version").fetchone()[0]

    # -- plumbing ---------------------------------------------------------
    @contextlib.contextmanager
    def _tx(self):
        with self._lock:
            if self._tx_depth:  # inside transaction() on this thread: joins it, one commit at its end
                self._tx_depth += 1
                try:
                    yield self._db
                finally:
                    self._tx_depth -= 1
                return
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._tx_depth = 1
                try:
                    yield self._db
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
                else:
                    self._db.execute("COMMIT")
            except (sqlite3.OperationalError, OSError) as e:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if _is_full(e):
                    raise StorageFull(f"the tablet's storage is full ({e}); nothing was written") from e
                raise
            finally:
                self._tx_depth = 0

    def transaction(self):
        """Make the store calls inside one transaction (all or nothing, one flush to disk).

        The sync client records a whole push's answers this way: with
        ``synchronous=FULL`` each commit waits for the disk, once per batch
        instead of once per record.
        """
        return self._tx()

    def close(self) -> None:
        """Close the database (a checkpoint folds the WAL back into the file)."""
        with self._lock:
            self._db.close()

    def now(self) -> str:
        """Current device time as ISO UTC."""
        return utc_iso(self._clock())

    # -- settings (session, selections, cached reference data) -----------
    def get_setting(self, key: str, default=None):
        """A JSON setting, or ``default``."""
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_setting(self, key: str, value) -> None:
        """Store a JSON-able setting (None deletes it)."""
        with self._tx() as db:
            if value is None:
                db.execute("DELETE FROM settings WHERE key=?", (key,))
            else:
                db.execute("INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                           (key, json.dumps(value, ensure_ascii=False)))

    @property
    def device_id(self) -> str:
        """This installation's id, made once (sent when registering the device)."""
        if self._device_id is None:
            value = self.get_setting("device_id")
            if not value:
                value = str(uuid.uuid4())
                self.set_setting("device_id", value)
            self._device_id = value
        return self._device_id

    def username(self) -> str | None:
        """The signed-in ranger's user name (None when working offline)."""
        user = self.get_setting("user")
        return user.get("username") if isinstance(user, dict) else None

    # -- outbox -------------------------------------------------------------
    def _enqueue(self, db, entity, record_id, op, base_revision, data, gps_time):
        mutation_id = str(uuid.uuid4())
        db.execute(
            "INSERT INTO outbox(mutation_id, entity, record_id, op, base_revision, data, device_time, gps_time)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (mutation_id, entity, record_id, op, base_revision,
             None if data is None else json.dumps(data, ensure_ascii=False), self.now(), gps_time),
        )
        return mutation_id

    def outbox(self, limit: int | None = None, after_seq: int = 0) -> list[dict]:
        """Pending mutations in the order they were made (oldest first), after ``after_seq``.

        Each row says whether its record has a program yet (``held``: made in offline
        mode before a program was chosen; the sync client keeps it until one is).
        """
        cases = " ".join(f"WHEN '{e}' THEN (SELECT program_id IS NULL FROM {t} WHERE id=o.record_id)"
                         for e, t in ENTITIES.items())
        sql = f"SELECT o.*, COALESCE(CASE o.entity {cases} END, 0) AS held FROM outbox o WHERE o.seq > ? ORDER BY o.seq"
        args: tuple = (after_seq,)
        if limit:
            sql += " LIMIT ?"
            args = (after_seq, limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["data"] = json.loads(d["data"]) if d["data"] is not None else None
            d["held"] = bool(d["held"])
            out.append(d)
        return out

    def outbox_count(self) -> int:
        """Number of mutations waiting to be pushed."""
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def complete_mutation(self, mutation_id: str, status: str, revision: int | None = None,
                          error: str | None = None) -> None:
        """Record the server's answer to a pushed mutation (for the sync client).

        ``applied``/``duplicate``: the row leaves the outbox and the record takes
        the server revision; it is ``synced`` once no later mutation of it waits.
        ``conflict``/``rejected``: the row leaves the outbox and the record is
        flagged so the ranger sees it. Anything else (a network failure) keeps
        the row and counts the attempt.
        """
        with self._tx() as db:
            row = db.execute("SELECT entity, record_id FROM outbox WHERE mutation_id=?", (mutation_id,)).fetchone()
            if row is None:
                return  # already completed: answering twice is harmless
            table = ENTITIES[row["entity"]]
            if status in ("applied", "duplicate", "conflict", "rejected"):
                db.execute("DELETE FROM outbox WHERE mutation_id=?", (mutation_id,))
                if revision is not None:
                    db.execute(f"UPDATE {table} SET revision=? WHERE id=?", (revision, row["record_id"]))
                waiting = db.execute("SELECT 1 FROM outbox WHERE entity=? AND record_id=? LIMIT 1",
                                     (row["entity"], row["record_id"])).fetchone()
                if status in ("conflict", "rejected"):
                    db.execute(f"UPDATE {table} SET sync_state=?, sync_error=? WHERE id=?",
                               (status, error, row["record_id"]))
                elif not waiting:
                    db.execute(f"UPDATE {table} SET sync_state='synced', sync_error=NULL WHERE id=?",
                               (row["record_id"],))
            else:
                db.execute("UPDATE outbox SET attempts=attempts+1, last_error=? WHERE mutation_id=?",
                           (error or status, mutation_id))

    # -- generic records ------------------------------------------------------
    def _writable(self, db, entity: str, record_id: str):
        """The record's row, refused when another device made it (a read-only reference here)."""
        row = db.execute(f"SELECT * FROM {ENTITIES[entity]} WHERE id=?", (record_id,)).fetchone()
        if row is not None and row["origin"] == "remote":
            raise ReadOnlyRecord(f"{entity} {record_id} was recorded on another device"
                                 f"{' by ' + row['owner'] if row['owner'] else ''}: it is read-only here")
        return row

    def save_record(self, entity: str, protocol: str, record_type: str, data: dict, *,
                    record_id: str | None = None, program_id: str | None = None,
                    walk_id: str | None = None, deployment_id: str | None = None,
                    location: dict | None = None, recorded_at: str | None = None,
                    photos: list[str] | None = None, gps_time: str | None = None) -> str:
        """Create or update a record and queue its mutation, atomically. Returns the record id.

        ``data`` is the protocol record as validated by the form. ``photos``
        are sha256 digests from ``add_photo`` to link to the record. A record
        another device made is read-only (ReadOnlyRecord). Correcting a
        rejected record queues it again (the server creates it if it never did).
        """
        if entity not in ENTITIES or entity == "walk":
            raise StoreError(f"entity {entity!r} is not one of observation, deployment, threat")
        if not isinstance(data, dict):
            raise StoreError(f"data for {entity} must be a dict, not {type(data).__name__}")
        table = ENTITIES[entity]
        payload = json.dumps(data, ensure_ascii=False)
        lat, lon = _location_of(data, location)
        now = self.now()
        device, owner = self.device_id, self.username()
        with self._tx() as db:
            existing = self._writable(db, entity, record_id) if record_id else None
            record_id = record_id or str(uuid.uuid4())
            extra_col, extra_val = (("walk_id", walk_id) if entity in ("observation", "threat")
                                    else ("deployment_id", deployment_id or record_id))
            if existing is None:
                db.execute(
                    f"INSERT INTO {table}(id, program_id, protocol, record_type, data, summary, latitude, longitude,"
                    f" recorded_at, created_at, updated_at, {extra_col}, device_id, owner)"
                    f" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (record_id, program_id, protocol, record_type, payload, _summary(data), lat, lon,
                     recorded_at or now, now, now, extra_val, device, owner),
                )
                op, base = "create", 0
            else:
                program_id = program_id or existing["program_id"]
                db.execute(
                    f"UPDATE {table} SET data=?, summary=?, latitude=?, longitude=?, updated_at=?, program_id=?,"
                    f" sync_state='pending', sync_error=NULL WHERE id=?",
                    (payload, _summary(data), lat, lon, now, program_id, record_id),
                )
                op, base = "update", existing["revision"]
            for sha in photos or ():
                db.execute("INSERT OR IGNORE INTO photo_links(sha256, entity, record_id) VALUES (?,?,?)",
                           (sha, entity, record_id))
            mutation = {"protocol": protocol, "record_type": record_type, "program_id": program_id,
                        "recorded_at": recorded_at or (existing["recorded_at"] if existing is not None else now),
                        "data": data}
            if entity in ("observation", "threat"):
                mutation["walk_id"] = walk_id if existing is None else (walk_id or existing["walk_id"])
            else:
                mutation["deployment_id"] = extra_val if existing is None else (deployment_id or
                                                                                existing["deployment_id"])
            self._enqueue(db, entity, record_id, op, base, mutation, gps_time)
        return record_id

    def delete_record(self, entity: str, record_id: str) -> None:
        """Mark a record deleted and queue a delete (the server keeps a tombstone)."""
        table = ENTITIES[entity]
        with self._tx() as db:
            row = self._writable(db, entity, record_id)
            if row is None:
                raise StoreError(f"no {entity} with id {record_id}")
            db.execute(f"UPDATE {table} SET deleted=1, sync_state='pending', updated_at=? WHERE id=?",
                       (self.now(), record_id))
            self._enqueue(db, entity, record_id, "delete", row["revision"], None, None)

    def _mutation_of(self, entity: str, row) -> dict:
        """The full sync document of a stored record (what a re-send carries)."""
        doc = {"protocol": row["protocol"], "record_type": row["record_type"], "program_id": row["program_id"],
               "data": json.loads(row["data"])}
        if entity == "walk":
            doc["status"] = row["status"]
            if row["status"] == "done":
                doc["distance_m"] = round(row["distance_m"], 1)
        else:
            doc["recorded_at"] = row["recorded_at"]
            if entity == "deployment":
                doc["deployment_id"] = row["deployment_id"]
            else:
                doc["walk_id"] = row["walk_id"]
        return doc

    def resend(self, entity: str, record_id: str) -> str:
        """Queue a record's whole current version again (a rejected or conflicting one, once corrected).

        Returns the mutation id. The server creates the record if it never
        accepted it. Read-only references are refused.
        """
        with self._tx() as db:
            row = self._writable(db, entity, record_id)
            if row is None or row["deleted"]:
                raise StoreError(f"no {entity} with id {record_id}")
            if row["program_id"] is None:
                raise StoreError(f"{entity} {record_id} has no program yet: choose the area and program first")
            db.execute(f"UPDATE {ENTITIES[entity]} SET sync_state='pending', sync_error=NULL WHERE id=?",
                       (record_id,))
            return self._enqueue(db, entity, record_id, "update", row["revision"], self._mutation_of(entity, row),
                                 None)

    def assign_program(self, program_id: str, protocol: str | None = None) -> int:
        """Give every record made before a program was chosen (offline mode) this program.

        ``protocol`` (a protocol name, e.g. "camera_trap"): only the records made with it
        (each kind of record to a program whose protocol fits, issue 14 D12).
        Their queued mutations are rewritten to carry it; records the server
        already refused for lacking one are queued again. Returns how many
        records took the program.
        """
        if not program_id:
            raise StoreError("assign_program needs a program id")
        changed = 0
        only = " AND (protocol=? OR protocol LIKE ?)" if protocol else ""
        args = (protocol, f"{protocol}@%") if protocol else ()
        with self._tx() as db:
            for entity, table in ENTITIES.items():
                rows = db.execute(f"SELECT * FROM {table} WHERE program_id IS NULL AND origin='local'{only}",
                                  args).fetchall()
                for row in rows:
                    db.execute(f"UPDATE {table} SET program_id=? WHERE id=?", (program_id, row["id"]))
                    changed += 1
                    queued = db.execute("SELECT seq, data FROM outbox WHERE entity=? AND record_id=?",
                                        (entity, row["id"])).fetchall()
                    for q in queued:
                        if q["data"] is not None:
                            doc = json.loads(q["data"])
                            doc["program_id"] = program_id
                            db.execute("UPDATE outbox SET data=? WHERE seq=?",
                                       (json.dumps(doc, ensure_ascii=False), q["seq"]))
                    if row["sync_state"] == "rejected" and not queued and not row["deleted"]:
                        fresh = db.execute(f"SELECT * FROM {table} WHERE id=?", (row["id"],)).fetchone()
                        db.execute(f"UPDATE {table} SET sync_state='pending', sync_error=NULL WHERE id=?",
                                   (row["id"],))
                        self._enqueue(db, entity, row["id"], "update", row["revision"],
                                      self._mutation_of(entity, fresh), None)
        return changed

    def get_record(self, entity: str, record_id: str) -> dict | None:
        """One record as a dict with its data parsed, or None."""
        table = ENTITIES[entity]
        with self._lock:
            row = self._db.execute(f"SELECT * FROM {table} WHERE id=?", (record_id,)).fetchone()
        if row is None:
            return None
        d = dict(row)
        d["data"] = json.loads(d["data"])
        d["entity"] = entity
        d["read_only"] = d["origin"] == "remote"
        return d

    def records(self, entity: str, *, walk_id: str | None = None, include_deleted: bool = False) -> list[dict]:
        """All records of an entity (optionally of one walk), oldest first."""
        table = ENTITIES[entity]
        where, args = ["1=1"], []
        if walk_id is not None:
            where.append("walk_id=?")
            args.append(walk_id)
        if not include_deleted:
            where.append("deleted=0")
        with self._lock:
            rows = self._db.execute(f"SELECT id FROM {table} WHERE {' AND '.join(where)} ORDER BY created_at, id",
                                    args).fetchall()
        return [self.get_record(entity, r[0]) for r in rows]

    def count_records(self, entity: str, *, walk_id: str | None = None) -> int:
        """How many (not deleted) records an entity has, optionally within one walk."""
        table = ENTITIES[entity]
        sql, args = f"SELECT COUNT(*) FROM {table} WHERE deleted=0", []
        if walk_id is not None:
            sql += " AND walk_id=?"
            args.append(walk_id)
        with self._lock:
            return self._db.execute(sql, args).fetchone()[0]

    def _scope_sql(self, scope: str) -> tuple[str, list]:
        if scope == "team":
            return "", []
        if scope != "mine":
            raise StoreError(f"scope must be 'mine' or 'team', got {scope!r}")
        user = self.username()
        if user:
            return " AND (origin='local' OR owner=?)", [user]
        return " AND origin='local'", []

    def records_page(self, entities=("observation", "threat", "deployment", "walk"), limit: int = 50,
                     cursor: tuple | None = None, scope: str = "team") -> tuple[list[dict], tuple | None]:
        """One page of the records list, newest first: (rows, next cursor or None).

        ``scope``: ``mine`` (made on this tablet or by the signed-in ranger) or
        ``team`` (everything this tablet holds). Keyset paging on (updated_at,
        id): page 200 costs what page 1 costs, which matters with 10,000
        records on a tablet.
        """
        scope_sql, scope_args = self._scope_sql(scope)
        parts, args = [], []
        for entity in entities:
            table = ENTITIES[entity]
            link = ("walk_id" if entity in ("observation", "threat") else
                    "deployment_id" if entity == "deployment" else "NULL")
            sql = (f"SELECT '{entity}' AS entity, id, protocol, record_type, summary, recorded_at, updated_at,"
                   f" sync_state, sync_error, origin, owner, {link} AS link FROM {table} WHERE deleted=0{scope_sql}")
            args += scope_args
            if cursor:
                sql += " AND (updated_at < ? OR (updated_at = ? AND id < ?))"
                args += [cursor[0], cursor[0], cursor[1]]
            parts.append(sql)
        sql = " UNION ALL ".join(parts) + " ORDER BY updated_at DESC, id DESC LIMIT ?"
        args.append(limit + 1)
        with self._lock:
            rows = [dict(r) for r in self._db.execute(sql, args).fetchall()]
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = (rows[-1]["updated_at"], rows[-1]["id"]) if more and rows else None
        return rows, nxt

    def count_page_records(self, scope: str = "team") -> int:
        """How many records the list shows in ``scope`` (see records_page)."""
        scope_sql, scope_args = self._scope_sql(scope)
        total = 0
        with self._lock:
            for table in ENTITIES.values():
                total += self._db.execute(f"SELECT COUNT(*) FROM {table} WHERE deleted=0{scope_sql}",
                                          scope_args).fetchone()[0]
        return total

    def stations(self) -> dict:
        """Deployment id -> station id, for naming service and retrieval visits in lists."""
        out = {}
        with self._lock:
            for rid, dep, data in self._db.execute(
                    "SELECT id, deployment_id, data FROM deployments WHERE record_type='deployment' AND deleted=0"):
                station = json.loads(data).get("station_id")
                if station:
                    out[dep or rid] = station
                    out[rid] = station
        return out

    def sync_counts(self) -> dict:
        """Records per sync state over all entities, e.g. {"pending": 3, "synced": 120}."""
        counts = dict.fromkeys(SYNC_STATES, 0)
        with self._lock:
            for table in ENTITIES.values():
                for state, n in self._db.execute(
                        f"SELECT sync_state, COUNT(*) FROM {table} WHERE deleted=0 GROUP BY sync_state"):
                    counts[state] = counts.get(state, 0) + n
        return counts

    def pending_counts(self) -> dict:
        """What still needs the ranger or the network, over this tablet's own records.

        ``waiting``: records with changes not yet answered by the server;
        ``rejected``: refused by the server (open, correct, send again);
        ``conflict``: kept by the server for a biologist; ``unassigned``:
        made in offline mode, waiting for a program to be chosen.
        """
        out = {"waiting": 0, "rejected": 0, "conflict": 0, "unassigned": 0}
        with self._lock:
            out["waiting"] = self._db.execute(
                "SELECT COUNT(*) FROM (SELECT DISTINCT entity, record_id FROM outbox)").fetchone()[0]
            for table in ENTITIES.values():
                for state, n in self._db.execute(
                        f"SELECT sync_state, COUNT(*) FROM {table} WHERE origin='local' AND deleted=0"
                        f" AND sync_state IN ('rejected', 'conflict') GROUP BY sync_state"):
                    out[state] += n
                out["unassigned"] += self._db.execute(
                    f"SELECT COUNT(*) FROM {table} WHERE origin='local' AND program_id IS NULL").fetchone()[0]
        return out

    # -- walks ----------------------------------------------------------------
    def start_walk(self, protocol: str, data: dict, *, program_id: str | None = None,
                   walk_id: str | None = None, gps_time: str | None = None) -> str:
        """Start a transect walk (status active) and queue its creation. Returns its id."""
        if self.active_walk() is not None:
            raise StoreError("a walk is already in progress; stop it before starting another")
        walk_id = walk_id or str(uuid.uuid4())
        now = self.now()
        data = dict(data)
        data.setdefault("start_time", now)
        device, owner = self.device_id, self.username()
        with self._tx() as db:
            db.execute(
                "INSERT INTO walks(id, program_id, protocol, record_type, data, summary, recorded_at, created_at,"
                " updated_at, status, started_at, device_id, owner) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (walk_id, program_id, protocol, "walk", json.dumps(data, ensure_ascii=False), _summary(data),
                 data["start_time"], now, now, "active", data["start_time"], device, owner),
            )
            self._enqueue(db, "walk", walk_id, "create", 0,
                          {"protocol": protocol, "record_type": "walk", "program_id": program_id,
                           "status": "active", "data": data}, gps_time)
        return walk_id

    def active_walk(self) -> dict | None:
        """The walk in progress on this tablet (active or paused), or None. The app resumes it on start.

        Walks of other tablets are references and never in progress here.
        """
        with self._lock:
            row = self._db.execute("SELECT id FROM walks WHERE status IN ('active','paused') AND deleted=0"
                                   " AND origin='local' ORDER BY created_at DESC LIMIT 1").fetchone()
        return self.get_walk(row[0]) if row else None

    def get_walk(self, walk_id: str) -> dict | None:
        """A walk with its data and live statistics (distance, points, walking time)."""
        walk = self.get_record("walk", walk_id)
        if walk is None:
            return None
        started = datetime.fromisoformat(walk["started_at"]).timestamp()
        end = datetime.fromisoformat(walk["ended_at"]).timestamp() if walk["ended_at"] else self._clock()
        paused = walk["paused_total_s"] + ((self._clock() - walk["paused_at"]) if walk["paused_at"] else 0)
        walk["walking_s"] = max(0.0, end - started - paused)
        return walk

    def add_track_point(self, walk_id: str, lat: float, lon: float, t: float,
                        accuracy_m: float | None = None, altitude_m: float | None = None) -> int:
        """Append a (filtered) GPS fix to a walk's track, committed at once. Returns its sequence number.

        Distance only accumulates within a segment: after a pause or a restart
        the straight line across the gap is not walked distance.
        """
        with self._tx() as db:
            w = db.execute("SELECT status, segment, point_count, last_lat, last_lon, last_segment, distance_m, origin"
                           " FROM walks WHERE id=?", (walk_id,)).fetchone()
            if w is None:
                raise StoreError(f"no walk with id {walk_id}")
            if w["status"] != "active" or w["origin"] != "local":
                raise StoreError(f"walk {walk_id} is {w['status']}; track points are only recorded while active")
            seq = w["point_count"]
            distance = w["distance_m"]
            if w["last_lat"] is not None and w["last_segment"] == w["segment"]:
                distance += haversine_m(w["last_lat"], w["last_lon"], lat, lon)
            db.execute("INSERT INTO track_points(walk_id, seq, segment, lat, lon, t, accuracy_m, altitude_m)"
                       " VALUES (?,?,?,?,?,?,?,?)", (walk_id, seq, w["segment"], lat, lon, t, accuracy_m, altitude_m))
            db.execute("UPDATE walks SET point_count=?, distance_m=?, last_lat=?, last_lon=?, last_t=?, last_segment=?"
                       " WHERE id=?", (seq + 1, distance, lat, lon, t, w["segment"], walk_id))
        return seq

    def track(self, walk_id: str) -> list[list]:
        """The walk's track as [[lon, lat, t_iso, accuracy_m], ...] (the server's SurveyWalk.track shape)."""
        with self._lock:
            rows = self._db.execute("SELECT lon, lat, t, accuracy_m FROM track_points WHERE walk_id=? ORDER BY seq",
                                    (walk_id,)).fetchall()
        return [[r[0], r[1], utc_iso(r[2]), r[3]] for r in rows]

    def _set_walk_status(self, walk_id: str, status: str, allowed_from: tuple) -> dict:
        w = self.get_walk(walk_id)
        if w is None:
            raise StoreError(f"no walk with id {walk_id}")
        if w["origin"] == "remote":
            raise ReadOnlyRecord(f"walk {walk_id} is recorded on another device"
                                 f"{' by ' + w['owner'] if w['owner'] else ''}: only that device changes it")
        if w["status"] not in allowed_from:
            raise StoreError(f"walk {walk_id} is {w['status']}; cannot make it {status}")
        return w

    def pause_walk(self, walk_id: str) -> None:
        """Pause recording (the pause is not counted as walking time)."""
        self._set_walk_status(walk_id, "paused", ("active",))
        with self._tx() as db:
            db.execute("UPDATE walks SET status='paused', paused_at=?, updated_at=? WHERE id=?",
                       (self._clock(), self.now(), walk_id))

    def resume_walk(self, walk_id: str) -> None:
        """Resume a paused walk, or continue one found active after a restart; a new track segment starts."""
        w = self._set_walk_status(walk_id, "active", ("paused", "active"))
        with self._tx() as db:
            paused = (self._clock() - w["paused_at"]) if w["paused_at"] else 0.0
            db.execute("UPDATE walks SET status='active', paused_at=NULL, paused_total_s=paused_total_s+?,"
                       " segment=segment+1, updated_at=? WHERE id=?", (paused, self.now(), walk_id))

    def stop_walk(self, walk_id: str, data: dict | None = None, gps_time: str | None = None) -> dict:
        """End the walk: set end_time, attach the track and queue the final update. Returns the walk."""
        w = self._set_walk_status(walk_id, "done", ("active", "paused"))
        merged = dict(w["data"])
        merged.update(data or {})
        merged.setdefault("end_time", self.now())
        merged["track"] = self.track(walk_id)
        now = self.now()
        with self._tx() as db:
            paused = (self._clock() - w["paused_at"]) if w["paused_at"] else 0.0
            db.execute("UPDATE walks SET status='done', ended_at=?, paused_at=NULL, paused_total_s=paused_total_s+?,"
                       " data=?, summary=?, updated_at=?, sync_state='pending' WHERE id=?",
                       (merged["end_time"], paused, json.dumps(merged, ensure_ascii=False), _summary(merged),
                        now, walk_id))
            self._enqueue(db, "walk", walk_id, "update", w["revision"],
                          {"protocol": w["protocol"], "record_type": "walk", "program_id": w["program_id"],
                           "status": "done", "distance_m": round(w["distance_m"], 1), "data": merged}, gps_time)
        return self.get_walk(walk_id)

    def update_walk(self, walk_id: str, data: dict) -> dict:
        """Correct a finished walk's fields (transect, observers, weather, note) and queue it again.

        The track, times and distance stay as recorded. Refused for walks of
        other devices and walks still in progress.
        """
        w = self._set_walk_status(walk_id, "done", ("done",))
        merged = dict(w["data"])
        merged.update({k: v for k, v in data.items() if k not in ("track", "start_time", "end_time")})
        with self._tx() as db:
            db.execute("UPDATE walks SET data=?, summary=?, updated_at=?, sync_state='pending', sync_error=NULL"
                       " WHERE id=?", (json.dumps(merged, ensure_ascii=False), _summary(merged), self.now(), walk_id))
            row = db.execute("SELECT * FROM walks WHERE id=?", (walk_id,)).fetchone()
            if row["program_id"] is not None:
                self._enqueue(db, "walk", walk_id, "update", row["revision"], self._mutation_of("walk", row), None)
        return self.get_walk(walk_id)

    # -- photos ---------------------------------------------------------------
    def add_photo(self, source: str | os.PathLike, media_type: str | None = None) -> str:
        """Copy a photo into app storage, named by its SHA-256; returns the digest.

        The copy is written to a temporary name, fsynced, then renamed, so a
        kill never leaves a truncated photo under a valid name. Adding the same
        bytes twice stores them once. A full disk raises StorageFull and
        leaves nothing behind.
        """
        source = Path(source)
        if not source.is_file():
            raise StoreError(f"photo {source} does not exist or is not a file")
        digest = hashlib.sha256()
        with open(source, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        sha = digest.hexdigest()
        with self._lock:
            known = self._db.execute("SELECT removed FROM photos WHERE sha256=?", (sha,)).fetchone()
        if known is not None and not known[0]:
            return sha
        ext = source.suffix.lower() if len(source.suffix) <= 6 else ""
        target = self.photo_dir / sha[:2] / f"{sha}{ext}"
        tmp = target.with_name(target.name + ".part")
        try:
            target.parent.mkdir(exist_ok=True)
            shutil.copyfile(source, tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            if _is_full(e):
                raise StorageFull(f"the tablet's storage is full: photo {source.name} was not added") from e
            raise
        with self._tx() as db:
            db.execute("INSERT INTO photos(sha256, path, size_bytes, media_type, original_name, created_at)"
                       " VALUES (?,?,?,?,?,?) ON CONFLICT(sha256) DO UPDATE SET removed=0, path=excluded.path",
                       (sha, str(target.relative_to(self.root)), target.stat().st_size,
                        media_type or _guess_media_type(ext), source.name, self.now()))
        return sha

    def photo(self, sha256: str) -> dict | None:
        """A stored photo's row with its absolute path, or None."""
        with self._lock:
            row = self._db.execute("SELECT * FROM photos WHERE sha256=?", (sha256,)).fetchone()
        if row is None:
            return None
        d = dict(row)
        d["abs_path"] = str(self.root / d["path"])
        return d

    def photos_of(self, entity: str, record_id: str) -> list[str]:
        """SHA-256 digests of the photos linked to a record."""
        with self._lock:
            return [r[0] for r in self._db.execute(
                "SELECT sha256 FROM photo_links WHERE entity=? AND record_id=? ORDER BY sha256", (entity, record_id))]

    def pending_photos(self) -> list[dict]:
        """Photos not yet fully uploaded (for the resumable upload in the sync client)."""
        with self._lock:
            return [dict(r) for r in self._db.execute("SELECT * FROM photos WHERE uploaded=0 ORDER BY created_at")]

    def set_photo_upload(self, sha256: str, offset: int, done: bool = False) -> None:
        """Remember how many bytes of a photo the server has (resume from there)."""
        with self._tx() as db:
            db.execute("UPDATE photos SET upload_offset=?, uploaded=? WHERE sha256=?", (offset, int(done), sha256))

    def photo_storage(self) -> dict:
        """Photo storage against its budget, and the tablet's free space.

        ``used``: bytes of photos kept here; ``waiting``: of which not yet
        uploaded (never removed); ``budget``: the limit (setting
        ``photo_budget_mb``); ``free``: free bytes on the tablet; ``level``:
        ``ok``, ``warn`` (80 % of the budget, or under 200 MB free) or
        ``full`` (photos waiting for upload alone fill the budget, or under
        50 MB free).
        """
        budget = int(float(self.get_setting("photo_budget_mb", PHOTO_BUDGET_MB)) * 1024 * 1024)
        with self._lock:
            used, waiting = self._db.execute(
                "SELECT COALESCE(SUM(size_bytes), 0), COALESCE(SUM(CASE WHEN uploaded=0 THEN size_bytes END), 0)"
                " FROM photos WHERE removed=0").fetchone()
        free = shutil.disk_usage(self.root).free
        level = "ok"
        if used >= 0.8 * budget or free < LOW_DISK_BYTES:
            level = "warn"
        if waiting >= budget or free < LOW_DISK_BYTES // 4:
            level = "full"
        return {"used": used, "waiting": waiting, "budget": budget, "free": free, "level": level}

    def free_photo_space(self) -> int:
        """Over the budget: remove local copies of photos the server already holds, oldest first.

        Photos not yet uploaded are never removed. Returns the bytes freed.
        """
        info = self.photo_storage()
        excess = info["used"] - int(0.8 * info["budget"])
        freed = 0
        if excess <= 0:
            return 0
        with self._lock:
            rows = self._db.execute("SELECT sha256, path, size_bytes FROM photos WHERE uploaded=1 AND removed=0"
                                    " ORDER BY created_at").fetchall()
        for sha, path, size in rows:
            if freed >= excess:
                break
            with self._tx() as db:
                db.execute("UPDATE photos SET removed=1 WHERE sha256=?", (sha,))
            (self.root / path).unlink(missing_ok=True)
            freed += size
        return freed

    # -- housekeeping -----------------------------------------------------------
    def maintenance(self) -> dict:
        """Give free pages back to the tablet after a sync (the outbox rows are gone).

        Incremental vacuum; a database from before version 2 first takes one
        full VACUUM to switch to incremental (skipped while a walk is being
        recorded: the GPS service writes to the store, and retried next time).
        Returns {"vacuum": "full" | "incremental" | "skipped", "freed_pages": n}.
        """
        with self._lock:
            before = self._db.execute("PRAGMA page_count").fetchone()[0]
            if self.get_setting("store.vacuum_pending"):
                if self.active_walk() is not None:
                    return {"vacuum": "skipped", "freed_pages": 0}
                try:
                    self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
                    self._db.execute("VACUUM")
                except sqlite3.OperationalError as e:  # busy (the service), or no room for the copy
                    return {"vacuum": "skipped", "freed_pages": 0, "error": str(e)}
                self.set_setting("store.vacuum_pending", None)
                kind = "full"
            else:
                # sqlite3's execute() steps a statement once, and this pragma frees one page per step:
                # executescript runs it to the end (no transaction is open here).
                self._db.executescript("PRAGMA incremental_vacuum;")
                kind = "incremental"
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            after = self._db.execute("PRAGMA page_count").fetchone()[0]
        return {"vacuum": kind, "freed_pages": before - after}


def _guess_media_type(ext: str) -> str:
    return {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".heic": "image/heic",
            ".webp": "image/webp"}.get(ext, "application/octet-stream")

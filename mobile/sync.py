"""Sync client: pushes the outbox, uploads photos resumably, pulls server changes.

Rules that keep a ranger's data safe (each has a fault test):

- push before pull, in batches, oldest first; a row leaves the outbox only
  when the server answered ``applied`` or ``duplicate`` for it (``conflict``
  and ``rejected`` leave it too, but flag the record so the ranger sees it);
- a retry sends the same ``mutation_id``: a response lost after the server
  applied the change is answered ``duplicate``, never applied twice;
- any answer that is not the sync protocol's JSON envelope (a captive
  portal's HTML page with status 200, a proxy error) is a failure, never data;
- network failures and 5xx answers are retried with exponential backoff and
  full jitter; after the last try the outbox is simply kept for next time;
- photos upload tus-style: the client asks the server's offset and sends only
  the missing bytes; the server verifies the SHA-256 at the end;
- records made in offline mode before a program was chosen are held back
  (the server would refuse them) until the ranger chooses one;
- pulled records of other devices are stored as read-only references: a walk
  another tablet records never becomes "in progress" here;
- every sync ends with its outcome stored (``sync.last``: when, what was sent
  and received, and the kind of failure), which the home screen shows;
- a full disk on the tablet stops the sync with nothing lost (the answer is
  not recorded, the mutation stays queued, the server answers it
  ``duplicate`` next time).

Imports nothing outside the standard library at import time (``requests`` is
loaded lazily), so it runs on Android and in headless tests.
"""
from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

PROTOCOL_VERSION = "1.0"
CURSOR_KEY = "sync.since"
LAST_KEY = "sync.last"  # the outcome of the last sync (see SyncClient.sync)
# What went wrong, for the ranger (mobile/syncstatus.py words each one):
ERROR_KINDS = ("offline", "portal", "server", "auth", "refused", "protocol", "disk_full", "local", "busy")
# Big enough that per-request overhead is small on a good link, small enough that a
# dropped connection on a field station's link loses little (the upload resumes).
CHUNK = 8 * 1024 * 1024


class SyncError(Exception):
    """Sync could not finish; nothing local was lost (the outbox keeps what was not answered).

    ``kind`` is one of ERROR_KINDS: offline (no answer), portal (an answer that is
    not Saola's, e.g. a Wi-Fi sign-in page), server (5xx), auth (401: sign in
    again), refused (another 4xx), protocol (a malformed envelope), disk_full
    and local (the tablet's side), busy (a sync already runs).
    """

    def __init__(self, message: str, status: int | None = None, retryable: bool = True, kind: str | None = None):
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        if kind is None:
            kind = ("offline" if status is None else "server" if status >= 500 else "auth" if status == 401
                    else "refused")
        self.kind = kind


@dataclass
class Progress:
    """What the app shows while syncing."""

    phase: str = "idle"  # push | upload | pull | done | failed
    records_total: int = 0
    records_done: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    pulled: int = 0
    message: str = ""


@dataclass
class SyncReport:
    pushed: dict = field(default_factory=dict)  # status -> count
    uploaded_photos: int = 0
    uploaded_bytes: int = 0
    pulled: int = 0
    resynced: bool = False
    held: int = 0  # mutations kept back: their record has no program yet (offline mode)
    errors: list = field(default_factory=list)
    error_kind: str | None = None  # ERROR_KINDS, for the first error
    error_status: int | None = None  # its HTTP status, if any

    @property
    def ok(self) -> bool:
        return not self.errors


class SyncClient:
    """Syncs one :class:`mobile.store.Store` with a Saola server."""

    def __init__(self, store, server: str, token: str, *, session=None, batch_size: int = 100,
                 retries: int = 5, backoff_s: float = 0.5, backoff_max_s: float = 60.0, timeout_s: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep, rng: Callable[[], float] = random.random,
                 on_progress: Callable[[Progress], None] | None = None, chunk_size: int = CHUNK):
        server = (server or "").strip().rstrip("/")
        if not server.startswith(("http://", "https://")):
            raise SyncError(f"server address {server!r} must start with http:// or https://", retryable=False)
        self.store, self.server, self.token = store, server, token
        self._session = session
        self.batch_size, self.retries = batch_size, retries
        self.backoff_s, self.backoff_max_s, self.timeout_s = backoff_s, backoff_max_s, timeout_s
        self.sleep, self.rng = sleep, rng
        self.on_progress = on_progress
        self.chunk_size = chunk_size
        self.progress = Progress()
        self._lock = threading.Lock()

    # -- transport ----------------------------------------------------------------
    @property
    def session(self):
        if self._session is None:
            import requests

            self._session = requests.Session()
        return self._session

    def _emit(self, **kw) -> None:
        for k, v in kw.items():
            setattr(self.progress, k, v)
        if self.on_progress:
            self.on_progress(self.progress)

    def _once(self, method: str, path: str, *, json_body: Any = None, data: bytes | None = None,
              headers: dict | None = None, params: dict | None = None, ok: tuple = (200, 201)) -> tuple[int, dict, dict]:
        hdrs = {"Authorization": f"Bearer {self.token}", "Accept": "application/json", **(headers or {})}
        kw: dict = {"headers": hdrs, "timeout": self.timeout_s}
        if json_body is not None:
            kw["data"] = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        elif data is not None:
            kw["data"] = data
        if params:
            kw["params"] = params
        try:
            resp = self.session.request(method, f"{self.server}/api/v1{path}", **kw)
        except Exception as exc:  # requests' ConnectionError, Timeout, ChunkedEncodingError...
            raise SyncError(f"{method} {path}: no answer ({exc.__class__.__name__}: {exc})", kind="offline") from None
        ctype = resp.headers.get("Content-Type", "")
        body = None
        if ctype.split(";")[0].strip() == "application/json":
            try:
                body = resp.json()
            except ValueError:
                body = None
        if not isinstance(body, dict):
            # A captive portal answers 200 with HTML: that is a failure, never data.
            raise SyncError(f"{method} {path}: not a Saola answer (HTTP {resp.status_code}, "
                            f"{ctype or 'no content type'}; a captive portal or proxy?)", resp.status_code,
                            kind="server" if resp.status_code >= 500 else "portal")
        if resp.status_code not in ok:
            err = body.get("error") if isinstance(body.get("error"), dict) else {}
            retryable = resp.status_code >= 500 or resp.status_code in (408, 429)
            e = SyncError(f"{method} {path}: HTTP {resp.status_code}: {err.get('message', '')}", resp.status_code,
                          retryable)
            e.body = body  # type: ignore[attr-defined]
            raise e
        return resp.status_code, dict(resp.headers), body

    def _call(self, method: str, path: str, **kw) -> tuple[int, dict, dict]:
        """``_once`` with retries: exponential backoff with full jitter on retryable failures."""
        attempt = 0
        while True:
            try:
                return self._once(method, path, **kw)
            except SyncError as e:
                attempt += 1
                if not e.retryable or attempt > self.retries:
                    raise
                delay = min(self.backoff_max_s, self.backoff_s * (2 ** (attempt - 1))) * self.rng()
                self._emit(message=f"retrying in {delay:.1f} s: {e}")
                self.sleep(delay)

    # -- the three phases -------------------------------------------------------------
    def sync(self) -> SyncReport:
        """Push, upload photos, pull, then tidy the store. Never raises for network or disk trouble:
        see ``report.errors`` and ``report.error_kind``; the outcome is also stored (``sync.last``)."""
        if not self._lock.acquire(blocking=False):
            return SyncReport(errors=["a sync is already running"], error_kind="busy")
        report = SyncReport()
        started = time.time()
        try:
            try:
                self.push(report)
                self.upload_photos(report)
                self.pull(report)
            except (sqlite3.Error, OSError) as e:  # the tablet's side: nothing answered was lost
                from .store import _is_full

                raise SyncError(f"the tablet could not store the answer: {e}",
                                kind="disk_full" if _is_full(e) else "local") from e
            except Exception as e:
                from .store import StorageFull

                if isinstance(e, StorageFull):
                    raise SyncError(str(e), kind="disk_full") from e
                raise
            self._tidy()
        except SyncError as e:
            report.errors.append(str(e))
            report.error_kind = e.kind
            report.error_status = e.status
        finally:
            self._record(report, started)
            self._lock.release()
        # Last, so whoever shows progress finds the outcome already stored.
        self._emit(phase="done" if report.ok else "failed", message=report.errors[0] if report.errors else "")
        return report

    def _tidy(self) -> None:
        # After a good sync: free pages left by the answered outbox, keep photos within budget.
        try:
            self.store.maintenance()
            self.store.free_photo_space()
        except Exception:  # housekeeping must never turn a good sync into a failure
            pass

    def _record(self, report: SyncReport, started: float) -> None:
        """Store the outcome for the home screen (last sync time, counts, kind of failure)."""
        from .store import utc_iso

        last = {"at": utc_iso(), "started_at": utc_iso(started), "ok": report.ok,
                "pushed": dict(report.pushed), "pulled": report.pulled, "photos": report.uploaded_photos,
                "held": report.held, "error_kind": report.error_kind, "error_status": report.error_status,
                "error": report.errors[0][:500] if report.errors else None}
        try:
            previous = self.store.get_setting(LAST_KEY) or {}
            if report.ok:
                last["ok_at"] = last["at"]
            elif previous.get("ok_at"):
                last["ok_at"] = previous["ok_at"]
            self.store.set_setting(LAST_KEY, last)
        except Exception:  # a full disk cannot record it: the report still says what happened
            pass

    def push(self, report: SyncReport | None = None) -> SyncReport:
        report = report or SyncReport()
        total = self.store.outbox_count()
        self._emit(phase="push", records_total=total, records_done=0)
        done = 0
        after = 0
        while True:
            rows = self.store.outbox(limit=self.batch_size, after_seq=after)
            if not rows:
                break
            after = rows[-1]["seq"]
            # Made in offline mode and no program chosen yet: the server would refuse them.
            batch = [row for row in rows if not row["held"]]
            report.held += len(rows) - len(batch)
            if not batch:
                continue
            mutations = [self._mutation(row) for row in batch]
            _, _, body = self._call("POST", "/sync/push", json_body={
                "protocol_version": PROTOCOL_VERSION, "device_id": self.store.device_id, "mutations": mutations})
            results = body.get("results")
            if body.get("protocol_version") is None or not isinstance(results, list) or len(results) != len(batch):
                raise SyncError("push: the answer is not a sync envelope with one result per mutation",
                                kind="protocol")
            progressed = False
            for sent, res in zip(mutations, results):  # check every answer before acting on any
                if not isinstance(res, dict) or res.get("mutation_id") != sent["mutation_id"]:
                    raise SyncError("push: results do not match the mutations sent", kind="protocol")
                if res.get("status") not in ("applied", "duplicate", "conflict", "rejected"):
                    raise SyncError(f"push: unknown status {res.get('status')!r}", kind="protocol")
            with self.store.transaction():  # the batch's answers in one commit
                for sent, res in zip(mutations, results):
                    status = counted = res["status"]
                    if status == "duplicate" and res.get("original_status") in ("applied", "conflict", "rejected"):
                        # A retry of a mutation the server already answered (the answer was lost):
                        # act on that first answer, e.g. a conflict must still show the server's version.
                        status = res["original_status"]
                    error = res.get("message")
                    if status == "rejected" and res.get("errors"):
                        # Both languages, so the reason shows in whichever the ranger reads (syncstatus).
                        error = json.dumps({lang: "; ".join(e.get(lang) or e.get("en") or "" for e in res["errors"])
                                            for lang in ("en", "vi")}, ensure_ascii=False)
                    self.store.complete_mutation(sent["mutation_id"], status, res.get("revision"), error)
                    if status in ("applied", "conflict") and (res.get("server_data") or res.get("server_deleted")):
                        # Merged on the server, or kept the server's version: show what the server holds.
                        adopt(self.store, sent["entity"], sent["record_id"], res.get("revision"),
                              res.get("server_data"), deleted=bool(res.get("server_deleted")))
                    report.pushed[counted] = report.pushed.get(counted, 0) + 1
                    progressed = True
                    done += 1
            self._emit(records_done=done)
            if not progressed:
                break
        return report

    def _mutation(self, row: dict) -> dict:
        data = row["data"]
        return {"mutation_id": row["mutation_id"], "entity": row["entity"], "record_id": row["record_id"],
                "op": row["op"], "base_revision": row["base_revision"], "data": data,
                "device_time": row["device_time"], "gps_time": row["gps_time"]}

    def upload_photos(self, report: SyncReport | None = None) -> SyncReport:
        report = report or SyncReport()
        photos = self.store.pending_photos()
        total = sum(p["size_bytes"] - p.get("upload_offset", 0) for p in photos)
        self._emit(phase="upload", bytes_total=total, bytes_done=0)
        sent_total = 0
        for p in photos:
            _, _, up = self._call("POST", "/uploads", json_body={
                "sha256": p["sha256"], "size": p["size_bytes"], "file_name": p.get("original_name"),
                "media_type": p.get("media_type") if p.get("media_type") != "application/octet-stream" else None})
            offset = int(up.get("offset", 0))
            path = p["path"]
            with open(path if path.startswith("/") else str(self.store.root / path), "rb") as f:
                while offset < p["size_bytes"]:
                    f.seek(offset)
                    chunk = f.read(self.chunk_size)
                    try:
                        _, headers, up = self._call("PATCH", f"/uploads/{up['id']}", data=chunk, headers={
                            "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"})
                    except SyncError as e:
                        self.store.set_photo_upload(p["sha256"], offset, False)
                        if e.status == 409:  # the server holds a different offset: continue from there
                            offset = int(getattr(e, "body", {}).get("error", {}).get("details", {}).get("offset", 0))
                            continue
                        if e.status == 422:  # hash mismatch: the server reset; start again next sync
                            self.store.set_photo_upload(p["sha256"], 0, False)
                        raise
                    sent_total += int(up["offset"]) - offset
                    offset = int(up["offset"])
                    # The server's offset is the truth (asked again on resume), so the local copy is
                    # only written when the photo is done or the upload breaks off (below).
                    self._emit(bytes_done=sent_total)
            if offset >= p["size_bytes"]:
                self.store.set_photo_upload(p["sha256"], offset, True)
                report.uploaded_photos += 1
        report.uploaded_bytes += sent_total
        return report

    def pull(self, report: SyncReport | None = None) -> SyncReport:
        report = report or SyncReport()
        since = int(self.store.get_setting(CURSOR_KEY, 0) or 0)
        self._emit(phase="pull", pulled=0)
        while True:
            try:
                _, _, body = self._call("GET", "/sync/pull", params={"since": since, "limit": 500})
            except SyncError as e:
                if e.status == 410 and since != 0:  # older than the tombstone horizon: resync from zero
                    since = 0
                    report.resynced = True
                    continue
                raise
            changes = body.get("changes")
            if body.get("protocol_version") is None or not isinstance(changes, list) or "next_since" not in body:
                raise SyncError("pull: the answer is not a sync envelope", kind="protocol")
            apply_changes(self.store, changes)
            since = int(body["next_since"])
            self.store.set_setting(CURSOR_KEY, since)
            report.pulled += len(changes)
            self._emit(pulled=report.pulled)
            if not body.get("has_more"):
                break
        return report


def apply_changes(store, changes: list[dict]) -> None:
    """Write pulled changes into the local store, atomically per page.

    A record with local changes still waiting in the outbox is not overwritten:
    the local edit is pushed and the server decides (merge or conflict).
    Records another device made (the change names its device) are stored as
    read-only references; a walk of another tablet gets status ``reference``,
    never active or paused, so it can never be resumed, stopped or re-sent here.
    """
    from .store import ENTITIES, _location_of, _summary

    own = store.device_id
    with store._tx() as db:
        for ch in changes:
            table = ENTITIES.get(ch.get("entity"))
            if table is None:
                continue
            rid = ch["record_id"]
            existing = db.execute(f"SELECT revision, origin FROM {table} WHERE id=?", (rid,)).fetchone()
            knows_device = "device_id" in ch and ch["device_id"] is not None
            if existing is None:
                remote = not knows_device or ch["device_id"] != own
            else:
                remote = (ch["device_id"] != own) if knows_device else existing["origin"] == "remote"
            origin = "remote" if remote else "local"
            if existing is not None and knows_device:
                # Who made it is the server's word (a store migrated from version 1 learns it here).
                db.execute(f"UPDATE {table} SET origin=?, device_id=?, owner=COALESCE(?, owner) WHERE id=?",
                           (origin, ch["device_id"], ch.get("owner"), rid))
                if table == "walks" and remote:
                    db.execute("UPDATE walks SET status='reference' WHERE id=?", (rid,))
            waiting = db.execute("SELECT 1 FROM outbox WHERE entity=? AND record_id=? LIMIT 1",
                                 (ch["entity"], rid)).fetchone()
            if waiting:
                continue
            if existing is not None and existing["revision"] >= ch["revision"]:
                continue
            if ch["op"] == "delete":
                if existing is not None:
                    db.execute(f"UPDATE {table} SET deleted=1, revision=?, sync_state='synced' WHERE id=?",
                               (ch["revision"], rid))
                continue
            doc = ch.get("data") or {}
            rec = doc.get("data") or {}
            lat, lon = _location_of(rec, None)
            payload = json.dumps(rec, ensure_ascii=False)
            now = store.now()
            if existing is None:
                cols = ["id", "program_id", "protocol", "record_type", "data", "summary", "latitude", "longitude",
                        "recorded_at", "created_at", "updated_at", "revision", "sync_state", "origin", "device_id",
                        "owner"]
                vals = [rid, doc.get("program_id"), doc.get("protocol", ""), doc.get("record_type", ""), payload,
                        _summary(rec), lat, lon, doc.get("recorded_at") or rec.get("start_time") or now, now, now,
                        ch["revision"], "synced", origin, ch.get("device_id"), ch.get("owner")]
                if table == "walks":
                    # Another tablet's walk is a reference; one of this device's own that this
                    # store lost cannot be continued either (its track points are not here).
                    cols += ["status", "started_at", "ended_at", "distance_m", "point_count"]
                    vals += ["reference" if remote else "done", rec.get("start_time") or now, rec.get("end_time"),
                             *_walk_measures(doc)]
                elif table == "deployments":
                    cols.append("deployment_id")
                    vals.append(doc.get("deployment_id") or rid)
                else:
                    walk = doc.get("walk_id")
                    if walk and db.execute("SELECT 1 FROM walks WHERE id=?", (walk,)).fetchone():
                        cols.append("walk_id")
                        vals.append(walk)
                db.execute(f"INSERT INTO {table}({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", vals)
            else:
                # A newer server revision (e.g. a biologist's resolution) clears a conflict flag.
                db.execute(f"UPDATE {table} SET data=?, summary=?, latitude=?, longitude=?, updated_at=?, revision=?,"
                           f" sync_state='synced', sync_error=NULL, deleted=0 WHERE id=?",
                           (payload, _summary(rec), lat, lon, now, ch["revision"], rid))
                if table == "walks" and remote:
                    distance, points = _walk_measures(doc)
                    db.execute("UPDATE walks SET started_at=COALESCE(?, started_at), ended_at=?, distance_m=?,"
                               " point_count=? WHERE id=?",
                               (rec.get("start_time"), rec.get("end_time"), distance, points, rid))


def _walk_measures(doc: dict) -> tuple[float, int]:
    """Distance and point count of a pulled walk (what its recording tablet measured)."""
    track = (doc.get("data") or {}).get("track") or []
    distance = doc.get("distance_m")
    return (float(distance) if isinstance(distance, (int, float)) else 0.0), len(track)


def _row_values(doc: dict) -> tuple:
    from .store import _location_of, _summary

    rec = doc.get("data") or {}
    lat, lon = _location_of(rec, None)
    return json.dumps(rec, ensure_ascii=False), _summary(rec), lat, lon


def adopt(store, entity: str, record_id: str, revision: int | None, doc: dict | None, deleted: bool = False) -> None:
    """Replace a local record with the server's version, unless newer local edits still wait to be pushed."""
    from .store import ENTITIES

    table = ENTITIES.get(entity)
    if table is None:
        return
    with store._tx() as db:
        if db.execute("SELECT 1 FROM outbox WHERE entity=? AND record_id=? LIMIT 1", (entity, record_id)).fetchone():
            return
        if deleted or doc is None:
            db.execute(f"UPDATE {table} SET deleted=1, revision=COALESCE(?, revision) WHERE id=?",
                       (revision, record_id))
            return
        payload, summary, lat, lon = _row_values(doc)
        db.execute(f"UPDATE {table} SET data=?, summary=?, latitude=?, longitude=?, updated_at=?,"
                   f" revision=COALESCE(?, revision), deleted=0 WHERE id=?",
                   (payload, summary, lat, lon, store.now(), revision, record_id))


class AutoSync:
    """Runs a sync when the network comes back, and every ``interval_s`` while it is up.

    ``probe`` answers whether the server is reachable (default: GET /api/v1/health).
    """

    def __init__(self, client: SyncClient, interval_s: float = 300.0, probe_s: float = 15.0,
                 probe: Callable[[], bool] | None = None):
        self.client, self.interval_s, self.probe_s = client, interval_s, probe_s
        self.probe = probe or self._health
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_report: SyncReport | None = None
        self.online = False

    def _health(self) -> bool:
        try:
            resp = self.client.session.get(f"{self.client.server}/api/v1/health", timeout=5)
            # "degraded" (503) is a server low on disk space: reachable, and a push it cannot store
            # answers 507 and is retried, so the tablet keeps syncing while it can.
            return resp.status_code in (200, 503) and resp.headers.get("Content-Type", "").startswith(
                "application/json") and resp.json().get("status") in ("ok", "degraded")
        except Exception:
            return False

    def step(self, now: float, last_sync: float | None) -> float | None:
        """One probe; syncs when the network just came back or the interval passed. Returns the sync time."""
        up = self.probe()
        came_back = up and not self.online
        self.online = up
        if up and (came_back or last_sync is None or now - last_sync >= self.interval_s):
            self.last_report = self.client.sync()
            return now
        return last_sync

    def start(self) -> None:
        def loop():
            last = None
            while not self._stop.is_set():
                last = self.step(time.monotonic(), last)
                self._stop.wait(self.probe_s)

        self._thread = threading.Thread(target=loop, name="saola-autosync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)

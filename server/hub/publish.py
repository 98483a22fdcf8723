"""The area server's side of publishing: what changed since the hub last acknowledged it, in
batches, then thumbnails, then (by policy) originals and the annual report.

Incremental without trusting any log of writes: each run builds every published record of the
area as the hub will see it (sensitive positions through the one policy), hashes it, and sends
what differs from ``publish_state`` (the hashes the hub acknowledged), then a tombstone for each
acknowledged id that no longer exists. A record changed by ingest, review, the API, tablet sync
or a command is therefore re-published, and a run cut off anywhere (hub gone, network down,
process killed) leaves ``publish_state`` at the last acknowledged batch: the next run sends the
rest, and the hub's content hashes make anything sent twice a no-op.
"""
from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import requests
from sqlalchemy import delete
from sqlmodel import Session, col, select

from ..auth import policy
from ..db import session_scope
from ..models import Media, ProtectedArea, PublishState, ServerState, Taxon, utcnow
from .kinds import AREA_FIELDS, KINDS, Kind, media_of
from .protocol import BATCH_RECORDS, BUNDLE_BYTES, CHUNK_BYTES, TOKEN_HEADER, b64, content_hash, hub_key, jsonable

log = logging.getLogger("saola.hub")
PAGE = 1000
TAXON_INFO = ("rank", "vietnamese_name", "english_name", "taxon_group", "iucn_category", "vn_redlist_category",
              "decree84_group", "cites_appendix", "sensitive", "lineage")


class PublishError(Exception):
    """Publishing stopped: the hub refused (status and its message) or could not be reached."""

    def __init__(self, message: str, status: Optional[int] = None, code: Optional[str] = None):
        super().__init__(message)
        self.status, self.code = status, code


@dataclass
class Options:
    """What one run publishes and how."""

    hub_url: str
    token: str
    area_code: str = ""
    max_kbps: int = 0
    thumbnails: bool = True
    originals: bool = False
    precise_positions: bool = False
    report_years: tuple[int, ...] = ()
    report_languages: tuple[str, ...] = ("vi", "en")
    full: bool = False  # forget what the hub acknowledged: send everything (the hub's hashes skip the same)
    batch: int = BATCH_RECORDS
    timeout_s: float = 120.0


@dataclass
class Report:
    """What a run did."""

    sent: Counter = field(default_factory=Counter)  # records applied at the hub, by kind
    deleted: Counter = field(default_factory=Counter)
    same: int = 0
    stale: int = 0
    conflicts: list[str] = field(default_factory=list)
    files: Counter = field(default_factory=Counter)  # files stored at the hub, by variant
    retried_chunks: int = 0
    bytes_sent: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"{n} {k}" for k, n in sorted(self.sent.items())]
        dels = [f"{n} {k}" for k, n in sorted(self.deleted.items())]
        files = [f"{n} {k}" for k, n in sorted(self.files.items())]
        return (f"published: {', '.join(parts) or 'nothing new'}; deleted: {', '.join(dels) or 'none'}; "
                f"files: {', '.join(files) or 'none'}; unchanged at the hub: {self.same}; "
                f"{len(self.conflicts)} conflict(s); {self.bytes_sent / 1e6:.1f} MB in {self.seconds:.1f} s")


class Throttle:
    """Keeps the average rate of bytes sent under ``kbps`` kilobits per second (0: no cap)."""

    def __init__(self, kbps: int):
        self.rate = kbps * 1000 / 8  # bytes per second
        self.start = time.monotonic()
        self.sent = 0

    def take(self, n: int) -> None:
        self.sent += n
        if self.rate <= 0:
            return
        due = self.start + self.sent / self.rate
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)


class HubClient:
    """HTTP calls to the hub with the peer token, the bandwidth cap and clear errors."""

    def __init__(self, url: str, token: str, max_kbps: int = 0, timeout_s: float = 120.0):
        self.url = url.rstrip("/")
        self.http = requests.Session()
        self.http.headers[TOKEN_HEADER] = token
        self.throttle = Throttle(max_kbps)
        self.timeout = timeout_s

    def call(self, method: str, path: str, *, json_body: Any = None, data: Optional[bytes] = None,
             headers: Optional[dict] = None, ok: tuple[int, ...] = ()) -> tuple[int, Any]:
        import json

        body = json.dumps(json_body, separators=(",", ":")).encode() if json_body is not None else data
        hdrs = dict(headers or {})
        if json_body is not None:
            hdrs["Content-Type"] = "application/json"
        if body:
            self.throttle.take(len(body))
        try:
            r = self.http.request(method, self.url + path, data=body, headers=hdrs, timeout=self.timeout)
        except requests.RequestException as e:
            raise PublishError(f"the hub at {self.url} cannot be reached ({type(e).__name__}); nothing is lost: "
                               "the next run goes on from what the hub acknowledged") from None
        try:
            payload = r.json()
        except ValueError:
            payload = None
        if r.status_code >= 400 and r.status_code not in ok:
            err = (payload or {}).get("error", {}) if isinstance(payload, dict) else {}
            raise PublishError(f"the hub refused {method} {path}: {r.status_code} "
                               f"{err.get('message') or r.reason}", r.status_code, err.get("code"))
        return r.status_code, payload


# ---- state ----------------------------------------------------------------------------------------
def _state(session: Session, hub: str, kind: str) -> dict[str, str]:
    return dict(session.exec(select(PublishState.record_id, PublishState.content_hash)
                             .where(PublishState.hub == hub, PublishState.kind == kind)).all())


def _remember(url: str, hub: str, acks: list[tuple[str, str, Optional[str]]]) -> None:
    """Record what the hub acknowledged: (kind, id, hash), or (kind, id, None) for a deletion."""
    if not acks:
        return
    from sqlalchemy import insert

    with session_scope(url) as s:
        by_kind: dict[str, list[str]] = {}
        for k, i, _h in acks:
            by_kind.setdefault(k, []).append(i)
        for k, ids in by_kind.items():
            for j in range(0, len(ids), 900):
                s.execute(delete(PublishState).where(col(PublishState.hub) == hub, col(PublishState.kind) == k,
                                                     col(PublishState.record_id).in_(ids[j:j + 900])))
        now = utcnow()
        rows = {(k, i): h for k, i, h in acks}  # the last answer for an id counts
        values = [{"hub": hub, "kind": k, "record_id": i, "content_hash": h, "published_at": now}
                  for (k, i), h in rows.items() if h is not None]
        if values:
            s.execute(insert(PublishState), values)


def _next_rev(url: str, hub: str, hub_last: int) -> int:
    """The next publishing revision: above every one this server sent and every one the hub saw."""
    key = f"hub_rev:{hub}"
    with session_scope(url) as s:
        row = s.get(ServerState, key)
        current = int(row.value) if row is not None and isinstance(row.value, int) else 0
        nxt = max(current, int(hub_last or 0)) + 1
        if row is None:
            row = ServerState(key=key, value=nxt)
        row.value, row.updated_at = nxt, utcnow()
        s.add(row)
        return nxt


# ---- payloads -------------------------------------------------------------------------------------
class Builder:
    """Records of one area as the hub may see them (the policy's role for the hub), with their hashes."""

    def __init__(self, session: Session, role: Optional[str], taxa: dict[str, Taxon]):
        self.s = session
        self.role = role
        self.taxa = taxa  # id -> taxon, loaded once per run

    def _taxon(self, tid: Optional[str], taxa: dict[str, Any]) -> Optional[str]:
        t = self.taxa.get(tid) if tid else None
        if t is None:
            return None
        taxa[t.scientific_name] = {f: getattr(t, f) for f in TAXON_INFO}
        return t.scientific_name

    def page(self, kind: Kind, rows: list[Any]) -> list[dict[str, Any]]:
        views: list[Any] = rows
        if kind.name == "location":
            views = policy.location_view(self.s, rows, lambda _r: self.role)
        elif kind.name == "media":
            views = policy.media_view(self.s, rows, lambda _r: self.role)
        out = []
        for row in views:
            get = row.get if isinstance(row, dict) else (lambda c, r=row: getattr(r, c))
            data = {c: jsonable(get(c)) for c in kind.columns() if c not in kind.local}
            for c in kind.users:
                data[c] = None
            taxa: dict[str, Any] = {}
            sensitive = False
            for c in kind.taxon_columns:
                tid = data.get(c)
                sensitive = sensitive or policy.is_sensitive(self.taxa.get(tid) if tid else None)
                data[c] = self._taxon(tid, taxa)
            if kind.name == "field_observation":
                self._field_position(data, sensitive)
            rec = {"kind": kind.name, "id": data["id"], "data": data}
            if taxa:
                rec["taxa"] = taxa
            rec["hash"] = content_hash({"data": data, "taxa": taxa})
            out.append(rec)
        return out

    def _field_position(self, data: dict, sensitive: bool) -> None:
        pos = policy.position_for(data.get("latitude"), data.get("longitude"), sensitive=sensitive, role=self.role)
        if not pos.generalised:
            return
        data["latitude"], data["longitude"] = pos.lat, pos.lon
        inner = data.get("data")
        if isinstance(inner, dict) and isinstance(inner.get("location"), dict):
            loc = inner["location"]
            g = policy.position_for(loc.get("lat"), loc.get("lon"), sensitive=True, role=self.role)
            data["data"] = {**inner, "location": {"lat": g.lat, "lon": g.lon, "accuracy_m": g.uncertainty_m,
                                                  "generalised": True}}


def _area(session: Session, code: str) -> ProtectedArea:
    if code:
        area = session.exec(select(ProtectedArea).where(ProtectedArea.code == code)).first()
        if area is None:
            raise PublishError(f"no protected area with code {code!r} on this server")
        return area
    areas = list(session.exec(select(ProtectedArea)).all())
    if len(areas) != 1:
        raise PublishError(f"this server has {len(areas)} protected areas: say which one to publish "
                           "(--area CODE or SAOLA_HUB_AREA)")
    return areas[0]


def _pages(url: str, kind: Kind, area_id: str) -> Iterator[tuple[Session, list[Any]]]:
    """The area's rows of ``kind`` in pages by id, each page in a short read session of its own."""
    model: Any = kind.model
    last = ""
    while True:
        with session_scope(url, read_only=True) as s:  # never the write lock while batches are sent
            rows = list(s.exec(select(model).where(kind.scope(area_id), model.id > last)
                               .order_by(model.id).limit(PAGE)))
            if not rows:
                return
            yield s, rows
            last = rows[-1].id


# ---- the run --------------------------------------------------------------------------------------
class Publisher:
    """One publishing run of one area to one hub."""

    def __init__(self, config: dict[str, Any], opts: Options, progress: Optional[Callable[[str], None]] = None):
        self.url = config["DATABASE_URL"]
        self.config = config
        self.opts = opts
        self.hub = hub_key(opts.hub_url)
        self.client = HubClient(opts.hub_url, opts.token, opts.max_kbps, opts.timeout_s)
        self.report = Report()
        self.progress = progress or (lambda _m: None)
        self.role = policy.hub_role(opts.precise_positions)
        self.hub_last = 0

    def run(self) -> Report:
        t0 = time.monotonic()
        try:
            _s, hello = self.client.call("GET", "/api/v1/hub/hello")
            self.hub_last = int(hello.get("last_rev") or 0)
            if self.opts.full:
                with session_scope(self.url) as s:
                    s.execute(delete(PublishState).where(col(PublishState.hub) == self.hub))
            with session_scope(self.url) as s:
                area = _area(s, self.opts.area_code)
                area_id = area.id
                area_rec = {f: jsonable(getattr(area, f)) for f in AREA_FIELDS}
            self._records(area_id, area_rec)
            if self.opts.thumbnails:
                self._thumbnails(area_id)
            if self.opts.originals:
                self._originals(area_id)
            else:  # originals the hub asked for (`saola hub want-originals`)
                _st, wanted = self.client.call("GET", "/api/v1/hub/wanted")
                if wanted.get("originals"):
                    self._originals(area_id, set(wanted["originals"]))
            for year in self.opts.report_years:
                self._report(area_id, year)
        finally:
            self.report.bytes_sent = self.client.throttle.sent
            self.report.seconds = time.monotonic() - t0
        return self.report

    # records
    def _send(self, batch: list[dict]) -> None:
        if not batch:
            return
        rev = _next_rev(self.url, self.hub, self.hub_last)
        _st, answer = self.client.call("POST", "/api/v1/hub/batches", json_body={"rev": rev, "records": batch})
        self.hub_last = max(self.hub_last, int(answer.get("last_rev") or 0))
        by_key = {(r["kind"], r["id"]): r for r in batch}
        acks: list[tuple[str, str, Optional[str]]] = []
        for res in answer.get("results", []):
            rec = by_key.get((res.get("kind"), res.get("id")))
            if rec is None:
                continue
            status = res.get("status")
            if status in ("applied", "same"):
                if rec.get("deleted"):
                    acks.append((rec["kind"], rec["id"], None))
                else:
                    acks.append((rec["kind"], rec["id"], rec["hash"]))
                if status == "same":
                    self.report.same += 1
                else:
                    self.report.sent[rec["kind"]] += 1
            elif status == "deleted":
                acks.append((rec["kind"], rec["id"], None))
                self.report.deleted[rec["kind"]] += 1
            elif status == "stale":
                self.report.stale += 1
            else:
                self.report.conflicts.append(f"{rec['kind']} {rec['id']}: {res.get('reason') or status}")
        _remember(self.url, self.hub, acks)
        self.progress(f"{sum(self.report.sent.values())} records published")

    def _records(self, area_id: str, area_rec: dict) -> None:
        batch: list[dict] = []

        def add(rec: dict) -> None:
            batch.append(rec)
            if len(batch) >= self.opts.batch:
                self._send(batch)
                batch.clear()

        with session_scope(self.url) as s:
            known = _state(s, self.hub, "area")
        h = content_hash({"data": area_rec, "taxa": {}})
        if known.get(area_id) != h:
            add({"kind": "area", "id": area_id, "hash": h, "data": area_rec})
        seen: dict[str, set[str]] = {}
        with session_scope(self.url) as s:
            taxa = {t.id: t for t in s.exec(select(Taxon))}
            for t in taxa.values():
                s.expunge(t)
        for kind in KINDS:
            with session_scope(self.url) as s:
                known = _state(s, self.hub, kind.name)
            ids: set[str] = set()
            for s, rows in _pages(self.url, kind, area_id):
                for rec in Builder(s, self.role, taxa).page(kind, rows):
                    ids.add(rec["id"])
                    if known.get(rec["id"]) != rec["hash"]:
                        add(rec)
            seen[kind.name] = ids
        self._send(batch)
        batch.clear()
        # Tombstones, children first, so that the hub never holds a child of a deleted parent.
        for kind in reversed(KINDS):
            with session_scope(self.url) as s:
                gone = sorted(set(_state(s, self.hub, kind.name)) - seen[kind.name])
            for rid in gone:
                add({"kind": kind.name, "id": rid, "deleted": True})
            self._send(batch)
            batch.clear()

    # files
    def _media_rows(self, area_id: str) -> Iterator[tuple[Session, list[Media]]]:
        last = ""
        while True:
            with session_scope(self.url, read_only=True) as s:
                rows = list(s.exec(select(Media).where(col(Media.id).in_(media_of(area_id)), Media.id > last)
                                   .order_by(Media.id).limit(PAGE)))
                if not rows:
                    return
                yield s, rows
                last = rows[-1].id

    def _published_media(self) -> dict[str, str]:
        with session_scope(self.url) as s:
            return _state(s, self.hub, "media")

    def _thumbnails(self, area_id: str) -> None:
        from ..ingest.derivatives import thumb_key
        from ..storage import stores_from_config

        _store, derivatives = stores_from_config(self.config)
        published = self._published_media()
        with session_scope(self.url) as s:
            sent = _state(s, self.hub, "file:thumb")
        bundle: list[dict] = []
        size = 0
        for s, rows in self._media_rows(area_id):
            people = set()
            if not policy.sees_clear_images(self.role):  # photos of people stay in the area
                ids = [m.id for m in rows]
                people = set(s.exec(select(Media.id).where(col(Media.id).in_(ids), policy.person_media_clause())))
            for m in rows:
                if m.id not in published or m.id in people or not m.has_derivatives:
                    continue
                key = thumb_key(m.sha256)
                if not derivatives.exists(key):
                    continue
                with derivatives.open(key) as fh:
                    data = fh.read()
                sha = hashlib.sha256(data).hexdigest()
                if sent.get(m.sha256) == sha:
                    continue
                bundle.append({"sha256": sha, "variant": "thumb", "media_sha256": m.sha256, "data": b64(data)})
                size += len(data)
                if size >= BUNDLE_BYTES:
                    self._send_bundle(bundle)
                    bundle, size = [], 0
        self._send_bundle(bundle)

    def _send_bundle(self, bundle: list[dict], attempt: int = 0) -> None:
        if not bundle:
            return
        _st, answer = self.client.call("POST", "/api/v1/hub/files/bundle", json_body={"files": bundle})
        acks, again = [], []
        by_sha = {(f["sha256"], f["variant"]): f for f in bundle}
        for res in answer.get("files", []):
            f = by_sha.get((res.get("sha256"), res.get("variant")))
            if f is None:
                continue
            if res.get("status") == "stored":
                acks.append(("file:thumb", f["media_sha256"], f["sha256"]))
                self.report.files[f["variant"]] += 1
            else:
                again.append(f)
        _remember(self.url, self.hub, acks)
        if again and attempt < 3:
            self.report.retried_chunks += len(again)
            self._send_bundle(again, attempt + 1)
        elif again:
            raise PublishError(f"{len(again)} file(s) refused by the hub three times (corrupted on the way?)")

    def send_file(self, path: Path, sha256: str, variant: str, ext: str = "") -> None:
        """Send one file in resumable chunks, each with its SHA-256; a refused chunk is sent again."""
        size = path.stat().st_size
        _st, ans = self.client.call("POST", "/api/v1/hub/files",
                                    json_body={"sha256": sha256, "variant": variant, "size": size, "ext": ext or None})
        offset = int(ans.get("offset") or 0)
        tries = 0
        with open(path, "rb") as fh:
            while not ans.get("complete"):
                fh.seek(offset)
                chunk = fh.read(CHUNK_BYTES)
                status, ans = self.client.call(
                    "PATCH", f"/api/v1/hub/files/{variant}/{sha256}" + (f"?ext={ext}" if ext else ""), data=chunk,
                    headers={"Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset),
                             "Upload-Length": str(size),
                             "Upload-Checksum": "sha256 " + hashlib.sha256(chunk).hexdigest()}, ok=(409, 422))
                if status in (409, 422):
                    err = (ans or {}).get("error", {})
                    tries += 1
                    if tries > 5 or err.get("code") not in ("offset_mismatch", "checksum_mismatch",
                                                            "file_hash_mismatch"):
                        raise PublishError(f"the hub refused {variant} {sha256[:12]}…: {err.get('message')}")
                    self.report.retried_chunks += 1
                    offset = int((err.get("details") or {}).get("offset") or 0)
                    ans = {"complete": False}
                    continue
                offset = int(ans.get("offset") or 0)
        self.report.files[variant] += 1

    def _originals(self, area_id: str, only: Optional[set[str]] = None) -> None:
        """Send the originals of published media (``only``: those SHA-256, the hub's request)."""
        from ..storage import stores_from_config
        from ..storage_s3 import materialise

        store, _d = stores_from_config(self.config)
        published = self._published_media()
        with session_scope(self.url) as s:
            sent = _state(s, self.hub, "file:original")
        for s, rows in self._media_rows(area_id):
            people = set()
            if not policy.sees_clear_images(self.role):
                people = set(s.exec(select(Media.id).where(col(Media.id).in_([m.id for m in rows]),
                                                           policy.person_media_clause())))
            todo = [(m.sha256, m.storage_key) for m in rows
                    if m.id in published and m.id not in people and m.sha256 not in sent
                    and (only is None or m.sha256 in only)]
            for sha, key in todo:
                path = store.path(key)
                materialise(path)
                if not path.is_file():
                    continue
                self.send_file(path, sha, "original")
                _remember(self.url, self.hub, [("file:original", sha, sha)])

    def _report(self, area_id: str, year: int) -> None:
        from ..reports import write_report

        for lang in self.opts.report_languages:
            with tempfile.TemporaryDirectory() as tmp, session_scope(self.url, read_only=True) as s:
                paths = write_report(s, tmp, year, area_id=area_id, lang=lang)
                shas = {}
                for fmt, p in paths.items():
                    shas[fmt] = _sha_file(p)
                    self.send_file(p, shas[fmt], "report", fmt)
            _st, ans = self.client.call("POST", "/api/v1/hub/reports", json_body={
                "year": year, "language": lang, "pdf_sha256": shas.get("pdf"), "html_sha256": shas.get("html")})
            _remember(self.url, self.hub, [("file:report", f"{year}:{lang}",
                                            content_hash({"pdf": shas.get("pdf"), "html": shas.get("html")}))])


def _sha_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def options_from_config(config: dict[str, Any], **over: Any) -> Options:
    """Options from the settings (SAOLA_HUB_*), overridden by ``over`` (command-line flags)."""
    opts = Options(hub_url=config.get("HUB_URL") or "", token=config.get("HUB_TOKEN") or "",
                   area_code=config.get("HUB_AREA") or "", max_kbps=int(config.get("HUB_MAX_KBPS") or 0),
                   originals=bool(config.get("HUB_ORIGINALS")),
                   precise_positions=bool(config.get("HUB_PRECISE_POSITIONS")))
    for k, v in over.items():
        if v is not None:
            setattr(opts, k, v)
    if not opts.hub_url:
        raise PublishError("no hub to publish to: give --hub URL or set SAOLA_HUB_URL")
    if not opts.token:
        raise PublishError("no hub token: give --token or set SAOLA_HUB_TOKEN (from `saola hub add-peer` at the hub)")
    return opts


def publish(config: dict[str, Any], opts: Options, progress: Optional[Callable[[str], None]] = None) -> Report:
    """Publish the area to the hub once (see the module docstring)."""
    return Publisher(config, opts, progress).run()

"""Typed settings registry.

Every setting Saola reads lives here, with its type, default and help text.
Values come from ``SAOLA_*`` environment variables, then from the ``config``
mapping given to :func:`server.create_app` (tests), in that order of
increasing precedence. ``saola config`` prints the registry, and a test fails
when a setting has no help text or is missing from the README.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


@dataclass(frozen=True)
class Setting:
    """One configurable value: its name (without prefix), type, default and help."""

    name: str
    type: Callable[[str], Any]
    default: Any
    help: str

    @property
    def env(self) -> str:
        """The environment variable that sets this value."""
        return f"SAOLA_{self.name}"


def _bool(value: str) -> bool:
    v = str(value).strip().lower()
    if v in {"1", "true", "yes", "on"}:
        return True
    if v in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


REGISTRY: dict[str, Setting] = {}


def register(name: str, type: Callable[[str], Any], default: Any, help: str) -> Setting:
    """Add a setting to the registry (used by subsystems that own a setting)."""
    if name in REGISTRY:
        raise ValueError(f"setting {name} registered twice")
    s = Setting(name, type, default, help)
    REGISTRY[name] = s
    return s


register("DATA_DIR", str, "./saola-data",
         "Folder for the SQLite database, the media store and derivatives.")
register("DATABASE_URL", str, "",
         "SQLAlchemy URL of the database; empty means SQLite at DATA_DIR/saola.db. "
         "PostgreSQL: postgresql+psycopg://user@host:5432/dbname")
register("SECRET_KEY", str, "",
         "Key that signs browser sessions and CSRF tokens; empty means a random key "
         "kept in DATA_DIR/secret_key so sessions survive restarts.")
register("MEDIA_DIR", str, "",
         "Content-addressed media store root; empty means DATA_DIR/media.")
register("MEDIA_URL", str, "",
         "Media in object storage: s3://bucket/prefix (originals under prefix/originals/, derivatives under "
         "prefix/derivatives/, so workers on other machines reach them); empty means the local MEDIA_DIR. "
         "`saola storage migrate` moves a store between the two.")
register("S3_ENDPOINT_URL", str, "",
         "Endpoint of an S3-compatible service (MinIO, Ceph, Garage: http://host:9000); empty means AWS S3.")
register("S3_ACCESS_KEY_ID", str, "",
         "Access key of the S3 bucket; empty means boto3's usual sources (AWS_* variables, ~/.aws, roles).")
register("S3_SECRET_ACCESS_KEY", str, "", "Secret key belonging to S3_ACCESS_KEY_ID.")
register("S3_REGION", str, "us-east-1", "Region of the S3 bucket.")
register("S3_PART_MB", int, 8,
         "Part size of multipart uploads to S3, in MiB (at least 5); larger files are sent in parts.")
register("S3_PRESIGN_S", int, 300,
         "Lifetime in seconds of the presigned S3 links that originals are downloaded from, where the policy "
         "gives the caller the unmodified original (never for blurred or cleaned copies); 0 streams every "
         "download through the server.")
register("MEDIA_CACHE_DIR", str, "",
         "Local cache of S3 objects that code needs as files (image decoding, ffmpeg, detectors); "
         "empty means DATA_DIR/s3-cache.")
register("MEDIA_CACHE_MB", int, 2048,
         "Size of the local S3 cache in MiB; least recently used files beyond it are dropped (they stay in S3).")
register("FTP_HOST", str, "0.0.0.0", "Address `saola ftp` (the cellular camera upload endpoint) listens on.")
register("FTP_PORT", int, 2121, "Port of `saola ftp` (21 needs root; forward it, or set the cameras to this port).")
register("FTP_PASSIVE_PORTS", str, "",
         "Passive-mode data ports of `saola ftp`, e.g. 60000-60100 (open them in the firewall); empty means any.")
register("FTP_CERTFILE", str, "",
         "PEM certificate (chain) for FTPS: with it `saola ftp` speaks explicit TLS (AUTH TLS); empty means plain FTP.")
register("FTP_KEYFILE", str, "", "PEM private key of FTP_CERTFILE; empty means the key is in the certificate file.")
register("FTP_TLS_REQUIRED", bool, True,
         "With a certificate: refuse to sign cameras in (and to move data) without TLS. Turn off only for "
         "cameras that cannot do FTPS.")
register("IMAP_URL", str, "",
         "Mailbox cameras e-mail their photos to, read by `saola mail-poll`: imaps://USER@HOST[:PORT][/FOLDER] "
         "(TLS), or imap://... (STARTTLS, or plain only with IMAP_PLAIN); empty means no mailbox.")
register("IMAP_PASSWORD", str, "", "Password of the IMAP_URL mailbox's user.")
register("IMAP_PLAIN", bool, False,
         "Allow an imap:// mailbox without STARTTLS (a mail server on the same machine only).")
register("IMAP_INTERVAL_S", int, 300, "Seconds between two readings of the mailbox by `saola mail-poll`.")
register("IMAP_MAX_MESSAGE_MB", int, 60,
         "Larger messages are not downloaded (marked refused in the mailbox): a camera sends a few photos.")
register("IMAP_DONE_FOLDER", str, "Saola-ingested",
         "Mailbox folder a message moves to once its photos are stored (refused ones go to <this>-refused).")
register("HOST", str, "127.0.0.1", "Address `saola serve` listens on.")
register("PORT", int, 5000, "Port `saola serve` listens on.")
register("THREADS", int, 8, "Worker threads of the production WSGI server.")
register("MAX_REQUEST_MB", int, 512,
         "Largest request body accepted, in MiB (uploads of camera cards are big).")
register("MAX_JSON_MB", int, 8, "Largest JSON request body accepted, in MiB.")
register("MIN_FREE_MB", int, 1024,
         "Free disk space, in MiB, below which /api/v1/health answers 503 'degraded' for DATA_DIR or MEDIA_DIR "
         "(uploads, sync and sign-in answer 507 once the disk is full).")
register("MAX_IMAGE_MPIXELS", int, 64,
         "Largest image decoded, in megapixels (width x height); bigger photos are refused before "
         "decoding (decompression bombs: a 17 KiB PNG can declare 12,000 x 12,000 pixels).")
register("BASEMAP_MAX_MB", int, 512,
         "Largest offline basemap (MBTiles) a manager may upload for a protected area, in MiB; "
         "uploads are also bounded by MAX_REQUEST_MB.")
register("TOKEN_DAYS", int, 90, "Default lifetime of API and device bearer tokens, in days.")
register("TOKEN_MAX_DAYS", int, 365,
         "Longest lifetime anyone (administrators too) may choose for a bearer token, in days; "
         "longer requests are refused (422).")
register("SESSION_HOURS", int, 12, "Lifetime of a browser sign-in session, in hours.")
register("TRUSTED_PROXIES", int, 0,
         "Number of reverse proxies in front of Saola whose X-Forwarded-For and X-Forwarded-Proto "
         "headers are believed (client address for sign-in limits, https scheme); 0: none, the client "
         "address is the TCP peer and those headers are ignored.")
register("RATELIMIT_URL", str, "",
         "Where sign-in failure counters and lockouts live so that every server process agrees: "
         "empty means the database; redis://host:6379/N uses Redis.")
register("LOGIN_ADDRESS_FAILURES", int, 10,
         "Wrong sign-ins from one client address (any usernames) before that address must wait; "
         "lower than the account limit so a single attacker is stopped before the account locks.")
register("LOGIN_ACCOUNT_FAILURES", int, 20,
         "Wrong sign-ins to one username (from any addresses) before that account must wait. "
         "Bearer tokens already issued (tablets' sync) keep working during the wait.")
register("LOGIN_LOCKOUT_S", int, 60,
         "First wait, in seconds, once a limit is reached; each further wrong sign-in after a "
         "wait doubles it, up to LOGIN_LOCKOUT_MAX_S.")
register("LOGIN_LOCKOUT_MAX_S", int, 900, "Longest wait after wrong sign-ins, in seconds (the cap of the doubling).")
register("LOGIN_FORGET_S", int, 3600,
         "Seconds without a wrong sign-in after which an address's or account's failures are forgotten.")
register("LOGIN_CONCURRENCY", int, 2,
         "Password checks (Argon2, CPU- and memory-heavy) run at once per server process; as many "
         "more may wait, further sign-ins are answered 503 at once so a flood cannot take every thread.")
register("HTTPS", bool, False,
         "The site is served over HTTPS (directly or behind a TLS proxy): session cookies get the "
         "Secure flag and responses an HSTS header. Requests a trusted proxy marks as https get both anyway.")
# The public read-only portal of a hub (server/web/portal_pages.py).
register("PORTAL", bool, False,
         "Serve the public read-only portal (/portal): species lists, effort and maps of records of every "
         "protected area without sign-in; sensitive stations generalised, no photos. Off by default.")
register("PORTAL_REQUESTS_PER_MIN", int, 120,
         "Requests one client address may make to the public portal per minute (then 429 with Retry-After).")
register("CARD_CHUNK_KB", int, 8192,
         "Size in KiB of the pieces a browser card upload is sent in (each one request with its SHA-256; "
         "bounded by MAX_REQUEST_MB).")
register("DEFAULT_TIMEZONE", str, "Asia/Ho_Chi_Minh",
         "Time zone assumed for camera clocks when a deployment names none.")
register("SEQUENCE_GAP_S", int, 60,
         "Default gap in seconds that splits images of a deployment into sequences.")
register("WORKER", str, "inprocess",
         "Job runner: 'inprocess' (threads in the server, no broker), 'external' "
         "(`saola worker` processes poll the database) or 'celery' (needs BROKER_URL).")
register("WORKER_THREADS", int, 1, "Threads of the in-process worker.")
register("BROKER_URL", str, "", "Celery broker URL, e.g. redis://127.0.0.1:6379/0.")
register("JOB_LEASE_S", int, 300,
         "Seconds a worker holds a job before the reaper hands it to another worker.")
register("JOB_MAX_ATTEMPTS", int, 3, "Attempts before a job is marked failed.")
register("DETECTOR_MODEL", str, "",
         "Name of the registered detector model run automatically after ingest; empty: none.")
register("VIDEO_EVERY_S", float, 1.0,
         "Seconds between the video frames the detector looks at (a program's settings "
         "video_every_s or video_frames_per_s take precedence).")
register("CLASSIFIER_MODEL", str, "",
         "Name of the registered species classifier run on animal detections; empty: none.")
register("ROLE", str, "area",
         "What this server is: 'area' (a protected area's server) or 'hub' (the national hub that area servers "
         "publish to: `saola hub add-peer`, the /api/v1/hub routes).")
register("HUB_URL", str, "",
         "Area server: URL of the national hub to publish to (`saola publish`, the periodic publishing job); "
         "empty: not publishing.")
register("HUB_TOKEN", str, "", "Area server: the hub token `saola hub add-peer` printed at the hub.")
register("HUB_AREA", str, "",
         "Area server: code of the protected area to publish; empty means the server's only area.")
register("HUB_PUBLISH_MINUTES", int, 0,
         "Area server with HUB_URL: queue a publishing job every so many minutes (0: only `saola publish`).")
register("HUB_MAX_KBPS", int, 0,
         "Area server: bandwidth cap of publishing, in kilobits per second (0: none), for slow or metered links.")
register("HUB_ORIGINALS", bool, False,
         "Area server: also publish the original photos, videos and recordings, after every record and "
         "thumbnail (off: records and thumbnails only; `saola publish --originals` sends them once).")
register("HUB_PRECISE_POSITIONS", bool, False,
         "Area server: the hub is trusted with exact positions of sensitive species (Decree 84 group IB, "
         "IUCN CR/EN); off: they leave the area generalised to a 0.1 degree cell, and photos of people stay.")
register("LANGUAGE", str, "vi", "Default interface language: 'vi' or 'en'.")
register("LOG_LEVEL", str, "INFO", "Python logging level.")


def load(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Resolve every setting: defaults, then environment, then ``overrides``.

    Keys of ``overrides`` may be given with or without the ``SAOLA_`` prefix.
    Raises ``ValueError`` naming the variable when a value has the wrong type.
    """
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    over = {k.removeprefix("SAOLA_"): v for k, v in (overrides or {}).items()}
    for name, s in REGISTRY.items():
        value = s.default
        if s.env in env:
            try:
                value = s.type(env[s.env]) if s.type is not bool else _bool(env[s.env])
            except ValueError as e:
                raise ValueError(f"{s.env}: {e}") from None
        if name in over:
            value = over[name]
        out[name] = value
    return out


def resolve_paths(cfg: dict[str, Any]) -> dict[str, Any]:
    """Fill the derived defaults (database URL, media dir, secret key)."""
    data = Path(cfg["DATA_DIR"]).expanduser().resolve()
    cfg["DATA_DIR"] = str(data)
    if not cfg["DATABASE_URL"]:
        cfg["DATABASE_URL"] = f"sqlite:///{data / 'saola.db'}"
    if not cfg["MEDIA_DIR"]:
        cfg["MEDIA_DIR"] = str(data / "media")
    if not cfg["SECRET_KEY"]:
        data.mkdir(parents=True, exist_ok=True)
        keyfile = data / "secret_key"
        if not keyfile.exists():
            keyfile.write_text(secrets.token_hex(32))
            keyfile.chmod(0o600)
        cfg["SECRET_KEY"] = keyfile.read_text().strip()
    return cfg


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, help) for each setting, for ``saola config``."""
    return [(s.env, repr(s.default), s.help) for s in REGISTRY.values()]

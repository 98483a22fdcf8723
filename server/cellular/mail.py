"""Cellular cameras that e-mail their photos: ``saola mail-poll`` reads them from a mailbox.

Some 4G camera traps cannot do FTP and send each photo as an e-mail attachment instead. The
installation gives them one mailbox (``SAOLA_IMAP_URL``); each camera login names the address its
camera sends from (``CameraLogin.mail_from``). A poll reads the unseen messages, finds the camera
by the sender address, stages the photo and video attachments and ingests them exactly as FTP
uploads are ingested (:class:`server.cellular.receiver.Receiver`: matched by serial and time
within the camera's area, duplicates by hash, a CameraUpload row per file, shown on the area's
Cellular cameras page).

A message is moved out of the watched folder only after its files are stored, so a crash or a
database outage at any point leaves it unseen and the next poll takes it again (the hashes make
the second ingest a no-op). Messages from unknown or switched-off senders, messages over the
size limit and messages without a photo are moved to the refused folder and logged; nothing
from them is stored. A sender address can be forged like any e-mail header: the mailbox should be
one only the cameras know, and photos still land only in the deployments of that camera's area.
"""
from __future__ import annotations

import email
import email.policy
import imaplib
import logging
import os
import re
import ssl
import uuid
from dataclasses import dataclass, field
from email.utils import getaddresses
from pathlib import Path
from typing import Optional
from urllib.parse import unquote, urlsplit

from .files import refusal
from .receiver import RECEIVED, Camera, Receiver, record, staging_root

log = logging.getLogger("saola.cellular.mail")

#: Attachments taken from one message at most (cameras send 1-10 photos per message).
MAX_ATTACHMENTS = 50
#: Content types that are taken without a file name (some cameras send an unnamed image/jpeg part).
_UNNAMED = {"image/jpeg": ".jpg", "image/jpg": ".jpg", "video/mp4": ".mp4", "video/quicktime": ".mov",
            "video/avi": ".avi", "video/x-msvideo": ".avi"}


class MailboxError(Exception):
    """The mailbox cannot be used (bad setting, unreachable, sign-in refused); the message says why."""


@dataclass(frozen=True)
class Mailbox:
    """Where to read: the parsed ``SAOLA_IMAP_URL`` and its companions."""

    host: str
    port: int
    user: str
    password: str
    folder: str
    security: str  # "tls" (imaps), "starttls" or "plain"
    done_folder: str
    max_bytes: int

    @property
    def refused_folder(self) -> str:
        return f"{self.done_folder}-refused"


@dataclass
class PollReport:
    """What one poll did."""

    messages: int = 0
    files: int = 0
    refused_messages: int = 0
    failed_messages: int = 0
    reasons: list[str] = field(default_factory=list)


def mailbox_from_config(cfg) -> Mailbox:
    """The mailbox of ``SAOLA_IMAP_*``; MailboxError says what is wrong with the settings."""
    url = (cfg.get("IMAP_URL") or "").strip()
    if not url:
        raise MailboxError("no mailbox is set: set SAOLA_IMAP_URL, e.g. imaps://cameras@mail.example.org/INBOX")
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps"):
        raise MailboxError(f"SAOLA_IMAP_URL must start with imaps:// or imap://, not {parts.scheme or url!r}")
    if not parts.hostname:
        raise MailboxError("SAOLA_IMAP_URL names no mail server host")
    user = unquote(parts.username or "")
    password = unquote(parts.password or "") or (cfg.get("IMAP_PASSWORD") or "")
    if not user or not password:
        raise MailboxError("the mailbox needs a user (in SAOLA_IMAP_URL) and a password (SAOLA_IMAP_PASSWORD)")
    try:
        port = parts.port or (993 if parts.scheme == "imaps" else 143)
    except ValueError as e:
        raise MailboxError(f"SAOLA_IMAP_URL: {e}") from None
    if parts.scheme == "imaps":
        security = "tls"
    else:
        security = "plain" if cfg.get("IMAP_PLAIN") else "starttls"
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    limit = int(cfg.get("IMAP_MAX_MESSAGE_MB") or 60)
    return Mailbox(parts.hostname, port, user, password, folder, security,
                   (cfg.get("IMAP_DONE_FOLDER") or "Saola-ingested").strip(), limit * 1024 * 1024)


def connect(box: Mailbox, timeout: float = 60) -> imaplib.IMAP4:
    """A signed-in connection with the watched folder selected."""
    where = f"{box.host}:{box.port}"
    try:
        if box.security == "tls":
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(box.host, box.port, ssl_context=ssl.create_default_context(),
                                                    timeout=timeout)
        else:
            conn = imaplib.IMAP4(box.host, box.port, timeout=timeout)
    except (OSError, imaplib.IMAP4.error) as e:
        raise MailboxError(f"cannot reach the mail server {where}: {e}") from None
    try:
        if box.security == "starttls":
            if "STARTTLS" not in conn.capabilities:
                raise MailboxError(f"the mail server {where} offers no STARTTLS: use imaps://, or set "
                                   "SAOLA_IMAP_PLAIN for a server on this machine")
            try:
                conn.starttls(ssl.create_default_context())
            except (OSError, imaplib.IMAP4.error) as e:
                raise MailboxError(f"cannot start TLS with the mail server {where}: {e}") from None
        try:
            conn.login(box.user, box.password)
        except imaplib.IMAP4.error as e:
            raise MailboxError(f"the mail server {where} refused the sign-in of {box.user}: {_text(e)}") from None
        typ, data = conn.select(_quote(box.folder))
        if typ != "OK":
            raise MailboxError(f"no folder {box.folder!r} in the mailbox of {box.user}: {_text(data)}")
        for name in (box.done_folder, box.refused_folder):
            conn.create(_quote(name))  # NO when it exists already: fine
    except BaseException:
        _close(conn)
        raise
    return conn


def _close(conn: imaplib.IMAP4) -> None:
    try:
        conn.logout()
    except (OSError, imaplib.IMAP4.error):
        conn.shutdown()


def attachments(msg: email.message.Message) -> list[tuple[str, bytes]]:
    """The files of a message: parts with a file name, and unnamed photo/video parts."""
    out: list[tuple[str, bytes]] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        name = part.get_filename()
        ctype = part.get_content_type()
        if not name:
            if ctype not in _UNNAMED:
                continue  # the message's text
            name = f"attachment-{len(out) + 1}{_UNNAMED[ctype]}"
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        out.append((safe_name(name), payload))
        if len(out) >= MAX_ATTACHMENTS:
            break
    return out


def safe_name(name: str) -> str:
    """A file name from a mail header, without folders or control characters."""
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return (name or "attachment")[-200:]


def cameras_by_sender(url: str) -> dict[str, tuple[Camera, bool]]:
    """Every login with a sender address: address -> (camera, active)."""
    from sqlmodel import col, select

    from ..db import session_scope
    from ..models import CameraLogin

    with session_scope(url, read_only=True) as s:
        rows = s.exec(select(CameraLogin).where(col(CameraLogin.mail_from).is_not(None)))
        return {c.mail_from: (Camera(c.id, c.username, c.area_id, c.camera_serial), c.active)
                for c in rows if c.mail_from}


def poll_once(app, box: Mailbox, conn: Optional[imaplib.IMAP4] = None) -> PollReport:
    """Read every unseen message of the watched folder once; see the module's docstring."""
    rep = PollReport()
    own = conn is None
    conn = conn or connect(box)
    try:
        typ, data = conn.uid("SEARCH", "UNSEEN")  # type: ignore[arg-type]
        if typ != "OK":
            raise MailboxError(f"the mail server refused to list the unseen messages: {_text(data)}")
        uids = [u.decode() for u in (data[0] or b"").split()]
        senders = cameras_by_sender(app.config["DATABASE_URL"])
        for uid in uids:
            rep.messages += 1
            _one_message(app, box, conn, uid, senders, rep)
    finally:
        if own:
            _close(conn)
    return rep


def _one_message(app, box: Mailbox, conn: imaplib.IMAP4, uid: str, senders: dict, rep: PollReport) -> None:
    url = app.config["DATABASE_URL"]
    typ, data = conn.uid("FETCH", uid, "(RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM SENDER)])")
    if typ != "OK" or not data or not isinstance(data[0], tuple):
        rep.failed_messages += 1
        rep.reasons.append(f"message {uid}: cannot read its headers ({_text(data)})")
        return
    m = re.search(rb"RFC822\.SIZE (\d+)", data[0][0])
    size = int(m.group(1)) if m else 0
    head = email.message_from_bytes(data[0][1], policy=email.policy.default)
    addresses = [a.lower() for _n, a in getaddresses(head.get_all("From", []) + head.get_all("Sender", [])) if a]
    found = next((senders[a] for a in addresses if a in senders), None)
    sender = addresses[0] if addresses else "(no sender)"
    if found is None or not found[1]:
        why = "no camera login names this sender address" if found is None else "the camera's login is switched off"
        _refuse(box, conn, uid, rep, f"message {uid} from {sender}: {why}; moved to {box.refused_folder}")
        return
    camera = found[0]
    if size > box.max_bytes:
        record(url, camera, f"(e-mail from {sender})", "refused",
               f"the message is {size // (1024 * 1024)} MB, more than SAOLA_IMAP_MAX_MESSAGE_MB", size=size)
        _refuse(box, conn, uid, rep, f"message {uid} from {sender}: {size} bytes, over the limit")
        return
    typ, data = conn.uid("FETCH", uid, "(BODY.PEEK[])")
    if typ != "OK" or not data or not isinstance(data[0], tuple):
        rep.failed_messages += 1
        rep.reasons.append(f"message {uid}: cannot download it ({_text(data)}); tried again at the next poll")
        return
    msg = email.message_from_bytes(data[0][1], policy=email.policy.default)
    files = attachments(msg)
    staged: list[str] = []
    root = staging_root(app.config)
    for name, payload in files:
        refused = refusal(name)
        if refused:
            record(url, camera, name, "refused", refused, size=len(payload))
            continue
        staged.append(_stage(root, camera, name, payload))
    if not files:
        record(url, camera, f"(e-mail from {sender})", "refused", "the message carries no photo or video")
        _refuse(box, conn, uid, rep, f"message {uid} from {sender}: no attachment")
        return
    try:
        Receiver(app).ingest([(camera, p) for p in staged])
        left = [p for p in staged if os.path.exists(p)]
    except Exception as e:  # the database or the store failed: keep the message for the next poll
        log.exception("ingest of message %s failed", uid)
        left = staged
        rep.reasons.append(f"message {uid}: ingest failed ({e}); tried again at the next poll")
    if left:
        for p in left:  # the message stays the source: no copy waits in the staging folder
            Path(p).unlink(missing_ok=True)
        rep.failed_messages += 1
        if not rep.reasons or not rep.reasons[-1].startswith(f"message {uid}:"):
            rep.reasons.append(f"message {uid}: its files were not stored; tried again at the next poll")
        return
    rep.files += len(staged)
    _move(conn, uid, box.done_folder)


def _stage(root: Path, camera: Camera, name: str, payload: bytes) -> str:
    """Write an attachment where the receiver expects finished uploads (whole, then renamed)."""
    dest = root / RECEIVED / camera.login_id / f"{uuid.uuid4().hex}--{name}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.part")
    with open(tmp, "wb") as f:
        f.write(payload)
    os.replace(tmp, dest)
    return str(dest)


def _refuse(box: Mailbox, conn: imaplib.IMAP4, uid: str, rep: PollReport, why: str) -> None:
    log.warning("%s", why)
    rep.refused_messages += 1
    rep.reasons.append(why)
    _move(conn, uid, box.refused_folder)


def _move(conn: imaplib.IMAP4, uid: str, folder: str) -> None:
    """Move a message (seen) to ``folder``: MOVE where the server has it, else copy, delete, expunge."""
    conn.uid("STORE", uid, "+FLAGS", r"(\Seen)")
    if "MOVE" in conn.capabilities:
        typ, data = conn.uid("MOVE", uid, _quote(folder))
        if typ == "OK":
            return
    typ, data = conn.uid("COPY", uid, _quote(folder))
    if typ != "OK":
        raise MailboxError(f"cannot move message {uid} to {folder!r}: {_text(data)}")
    conn.uid("STORE", uid, "+FLAGS", r"(\Deleted)")
    conn.expunge()


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(x) -> str:
    if isinstance(x, (list, tuple)):
        x = b" ".join(i for i in x if isinstance(i, bytes)) if any(isinstance(i, bytes) for i in x) else str(x)
    if isinstance(x, Exception):
        x = x.args[0] if x.args else str(x)
    return x.decode(errors="replace") if isinstance(x, bytes) else str(x)

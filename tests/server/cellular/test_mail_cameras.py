"""Cellular cameras that e-mail their photos, read by ``saola mail-poll`` from a real IMAP server
(Dovecot, see imap_helpers.py) with Python's imaplib, on SQLite and PostgreSQL: attachments ingested
as FTP uploads are (serial and time within the camera's area, duplicates by hash, a CameraUpload
row per file), messages moved out only once stored, unknown senders / switched-off logins /
oversized messages refused with nothing stored, an ingest failure leaving the message for the next
poll, a wrong mailbox password and a server without STARTTLS refused with a clear message."""
from __future__ import annotations

import hashlib
import imaplib
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import select

from ftp_helpers import photo, self_signed
from imap_helpers import PASSWORD, USER, Dovecot
from server.cellular.logins import create_login, set_active
from server.cellular.mail import Mailbox, MailboxError, mailbox_from_config, poll_once
from server.errors import ValidationError
from server.models import CameraUpload, Media
from signin import form_token, sign_in


@pytest.fixture
def dovecot():
    server = Dovecot()
    yield server
    server.stop()


def _box(port: int, **kw) -> Mailbox:
    base = dict(host="127.0.0.1", port=port, user=USER, password=PASSWORD, folder="INBOX", security="plain",
                done_folder="Saola-ingested", max_bytes=5 * 1024 * 1024)
    base.update(kw)
    return Mailbox(**base)  # type: ignore[arg-type]


def _setup(world, mail_from="cam7@sim.example.vn"):
    area = world.area("PNKB", "Phong Nha - Ke Bang")
    program = world.program(area.id, name="Cellular cameras")
    dep = world.deployment(program, location_name="PNKB-S07", camera_id="CAM-MAIL-7",
                           deployment_start=datetime(2026, 3, 1, tzinfo=timezone.utc),
                           deployment_end=datetime(2026, 3, 31, tzinfo=timezone.utc), timezone="Asia/Ho_Chi_Minh")
    with world.session() as s:
        login, _pw = create_login(s, area.id, "cam07", camera_serial="CAM-MAIL-7", mail_from=mail_from)
        login_id = login.id
    return area, dep, login_id


def _send(port: int, sender: str, files: list[tuple[str, bytes, str]], subject="IMG") -> None:
    """Deliver a message into the mailbox as the camera's mail provider would (IMAP APPEND)."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Trail camera <{sender}>", USER, subject
    msg.set_content("Camera 07 battery 80%")
    for name, data, ctype in files:
        main, sub = ctype.split("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    conn = imaplib.IMAP4("127.0.0.1", port)
    conn.login(USER, PASSWORD)
    typ, _ = conn.append("INBOX", None, None, msg.as_bytes())
    assert typ == "OK"
    conn.logout()


def _folder_count(port: int, folder: str, criterion="ALL") -> int:
    conn = imaplib.IMAP4("127.0.0.1", port)
    conn.login(USER, PASSWORD)
    typ, _ = conn.select(f'"{folder}"', readonly=True)
    if typ != "OK":
        conn.logout()
        return 0
    _typ, data = conn.search(None, criterion)
    conn.logout()
    return len((data[0] or b"").split())


def _uploads(world) -> dict[str, CameraUpload]:
    with world.session() as s:
        return {u.file_name: u for u in s.exec(select(CameraUpload))}


def _media(world) -> dict[str, Media]:
    with world.session() as s:
        return {m.sha256: m for m in s.exec(select(Media))}


def test_mail_attachments_are_ingested_by_serial_and_moved_out_once_stored(app, world, dovecot):
    _area, dep, _login = _setup(world)
    first = photo("2026:03:02 06:15:01")  # no serial in EXIF: the login's serial places it
    second = photo("2026:03:02 06:15:02", color=(10, 200, 30))
    _send(dovecot.port, "CAM7@sim.example.vn", [("IMG_0001.JPG", first, "image/jpeg"),
                                                  ("IMG_0002.JPG", second, "image/jpeg"),
                                                  ("status.txt", b"battery 80%", "text/plain")])
    rep = poll_once(app, _box(dovecot.port))
    assert (rep.messages, rep.files, rep.refused_messages, rep.failed_messages) == (1, 2, 0, 0), rep.reasons
    media = _media(world)
    for data in (first, second):
        m = media[hashlib.sha256(data).hexdigest()]
        assert m.deployment_id == dep.id and m.file_path.startswith("cam07/")
    ups = _uploads(world)
    assert ups["IMG_0001.JPG"].status == "ingested" and ups["IMG_0002.JPG"].status == "ingested"
    assert ups["status.txt"].status == "refused" and "'.txt' files are not accepted" in ups["status.txt"].reason
    # The message left the watched folder for the done folder, seen; nothing waits in staging.
    assert _folder_count(dovecot.port, "INBOX") == 0
    assert _folder_count(dovecot.port, "Saola-ingested", "SEEN") == 1
    assert not [p for p in (Path(app.config["DATA_DIR"]) / "cellular").rglob("*") if p.is_file()]
    # A second poll finds nothing; the same photo e-mailed again is a duplicate, stored once.
    assert poll_once(app, _box(dovecot.port)).messages == 0
    _send(dovecot.port, "cam7@sim.example.vn", [("IMG_0001_again.JPG", first, "image/jpeg")])
    rep = poll_once(app, _box(dovecot.port))
    assert rep.files == 1 and len(_media(world)) == 2
    assert _uploads(world)["IMG_0001_again.JPG"].status == "duplicate"


def test_mail_from_unknown_or_switched_off_cameras_is_refused_and_nothing_stored(app, world, dovecot):
    _area, _dep, login_id = _setup(world)
    _send(dovecot.port, "stranger@example.org", [("IMG_0001.JPG", photo(), "image/jpeg")])
    rep = poll_once(app, _box(dovecot.port))
    assert rep.refused_messages == 1 and rep.files == 0
    assert "no camera login names this sender address" in rep.reasons[0]
    with world.session() as s:
        from server.models import CameraLogin

        set_active(s, s.get(CameraLogin, login_id), False)
    _send(dovecot.port, "cam7@sim.example.vn", [("IMG_0002.JPG", photo(color=(1, 2, 3)), "image/jpeg")])
    rep = poll_once(app, _box(dovecot.port))
    assert rep.refused_messages == 1 and "switched off" in rep.reasons[0]
    assert _media(world) == {}
    assert _folder_count(dovecot.port, "INBOX") == 0 and _folder_count(dovecot.port, "Saola-ingested-refused") == 2


def test_mail_over_the_size_limit_or_without_photo_is_refused_with_a_reason(app, world, dovecot):
    _setup(world)
    _send(dovecot.port, "cam7@sim.example.vn", [("IMG_0001.JPG", photo(size=(1600, 1200)), "image/jpeg")])
    rep = poll_once(app, _box(dovecot.port, max_bytes=4_000))
    assert rep.refused_messages == 1 and rep.files == 0
    _send(dovecot.port, "cam7@sim.example.vn", [], subject="Low battery")
    rep = poll_once(app, _box(dovecot.port))
    assert rep.refused_messages == 1
    with world.session() as s:
        reasons = [u.reason for u in s.exec(select(CameraUpload)) if u.status == "refused"]
    assert len(reasons) == 2
    assert any("more than SAOLA_IMAP_MAX_MESSAGE_MB" in r for r in reasons)
    assert any("carries no photo" in r for r in reasons)
    assert _media(world) == {}


def test_mail_left_unseen_when_ingest_fails_and_taken_at_the_next_poll(app, world, dovecot, monkeypatch):
    _area, dep, _login = _setup(world)
    data = photo("2026:03:03 01:00:00")
    _send(dovecot.port, "cam7@sim.example.vn", [("IMG_0009.JPG", data, "image/jpeg")])
    from server.cellular import receiver

    def broken(self, batch):
        raise OSError("disk full")

    monkeypatch.setattr(receiver.Receiver, "ingest", broken)
    rep = poll_once(app, _box(dovecot.port))
    assert rep.failed_messages == 1 and "disk full" in rep.reasons[0]
    assert _folder_count(dovecot.port, "INBOX", "UNSEEN") == 1  # still there, still unseen
    assert not [p for p in (Path(app.config["DATA_DIR"]) / "cellular").rglob("*") if p.is_file()]
    monkeypatch.undo()
    rep = poll_once(app, _box(dovecot.port))
    assert rep.files == 1 and rep.failed_messages == 0
    assert _media(world)[hashlib.sha256(data).hexdigest()].deployment_id == dep.id
    assert _folder_count(dovecot.port, "INBOX") == 0


def test_mail_poll_command_reports_and_refuses_a_wrong_password(app, world, dovecot, monkeypatch):
    from server.cli import main

    _setup(world)
    _send(dovecot.port, "cam7@sim.example.vn", [("IMG_0001.JPG", photo(), "image/jpeg")])
    monkeypatch.setenv("SAOLA_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("SAOLA_DATA_DIR", app.config["DATA_DIR"])
    monkeypatch.setenv("SAOLA_MEDIA_DIR", app.config["MEDIA_DIR"])
    monkeypatch.setenv("SAOLA_IMAP_URL", f"imap://{USER}@127.0.0.1:{dovecot.port}/INBOX")
    monkeypatch.setenv("SAOLA_IMAP_PLAIN", "1")
    monkeypatch.setenv("SAOLA_IMAP_PASSWORD", "wrong")
    r = CliRunner().invoke(main, ["mail-poll", "--once"])
    assert r.exit_code != 0 and f"refused the sign-in of {USER}" in r.output
    monkeypatch.setenv("SAOLA_IMAP_PASSWORD", PASSWORD)
    r = CliRunner().invoke(main, ["mail-poll", "--once"])
    assert r.exit_code == 0, r.output
    assert "1 message(s): 1 file(s) ingested, 0 refused" in r.output
    # Without SAOLA_IMAP_PLAIN an imap:// mailbox must offer STARTTLS: this one does not.
    monkeypatch.delenv("SAOLA_IMAP_PLAIN")
    r = CliRunner().invoke(main, ["mail-poll", "--once"])
    assert r.exit_code != 0 and "offers no STARTTLS" in r.output


def test_mail_over_imaps_with_a_verified_certificate(app, world, tmp_path, monkeypatch):
    cert, key = self_signed(tmp_path)
    server = Dovecot(cert=(cert, key))
    try:
        _setup(world)
        _send(server.port, "cam7@sim.example.vn", [("IMG_0001.JPG", photo(), "image/jpeg")])
        box = _box(server.tls_port, security="tls")
        # The test's certificate is not trusted yet: refused, not ingested.
        with pytest.raises(MailboxError, match="cannot reach the mail server"):
            poll_once(app, box)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        assert poll_once(app, box).files == 1
    finally:
        server.stop()


def test_mail_settings_are_checked_with_clear_messages():
    with pytest.raises(MailboxError, match="no mailbox is set"):
        mailbox_from_config({"IMAP_URL": ""})
    with pytest.raises(MailboxError, match="must start with imaps:// or imap://"):
        mailbox_from_config({"IMAP_URL": "pop3://a@b"})
    with pytest.raises(MailboxError, match="needs a user"):
        mailbox_from_config({"IMAP_URL": "imaps://mail.example.org"})
    box = mailbox_from_config({"IMAP_URL": "imaps://cams%40pa.vn@mail.example.org/Cameras", "IMAP_PASSWORD": "x",
                               "IMAP_MAX_MESSAGE_MB": 2, "IMAP_DONE_FOLDER": "Done"})
    assert (box.user, box.port, box.folder, box.security, box.max_bytes, box.refused_folder) == \
        ("cams@pa.vn", 993, "Cameras", "tls", 2 * 1024 * 1024, "Done-refused")
    assert mailbox_from_config({"IMAP_URL": "imap://u@h", "IMAP_PASSWORD": "x"}).security == "starttls"


def test_mail_sender_addresses_are_validated_and_unique(world):
    area = world.area("PNKB", "Phong Nha - Ke Bang")
    with world.session() as s:
        login, _pw = create_login(s, area.id, "cam01", mail_from=" Cam01@Example.ORG ")
        assert login.mail_from == "cam01@example.org"
    with world.session() as s:
        with pytest.raises(ValidationError, match="already used by another camera"):
            create_login(s, area.id, "cam02", mail_from="cam01@example.org")
    with world.session() as s:
        with pytest.raises(ValidationError, match="mail_from: an e-mail address"):
            create_login(s, area.id, "cam03", mail_from="Camera <cam03@example.org>")


def test_camera_page_and_api_carry_the_sender_address(app, world):
    area = world.area("PNKB", "Phong Nha - Ke Bang")
    manager = world.user("mgr", roles={area.id: "manager"})
    c = app.test_client()
    h = world.headers(manager)
    r = c.post(f"/api/v1/areas/{area.id}/camera-logins", json={"username": "cam05", "mail_from": "bad address"},
               headers=h)
    assert r.status_code == 422 and "mail_from" in r.get_data(as_text=True)
    r = c.post(f"/api/v1/areas/{area.id}/camera-logins", json={"username": "cam05", "mail_from": "c5@x.vn"},
               headers=h)
    assert r.status_code == 201 and r.get_json()["mail_from"] == "c5@x.vn"
    r = c.patch(f"/api/v1/camera-logins/{r.get_json()['id']}", json={"mail_from": "C5b@x.vn"}, headers=h)
    assert r.status_code == 200 and r.get_json()["mail_from"] == "c5b@x.vn"
    # The page: the address in the list, a taken address refused next to the field, in Vietnamese too.
    assert sign_in(c, "mgr").status_code == 302
    url = f"/admin/areas/{area.id}/cameras"
    page = c.get(url).get_data(as_text=True)
    assert "c5b@x.vn" in page and 'name="mail_from"' in page
    token = form_token(c, url)
    r = c.post(url, data={"username": "cam06", "mail_from": "c5b@x.vn", "csrf_token": token})
    assert r.status_code == 422 and 'id="err-mail_from"' in r.get_data(as_text=True)
    assert "already used by another camera" in r.get_data(as_text=True)
    r = c.post(url, data={"username": "cam06", "mail_from": "c6@x.vn", "csrf_token": token})
    assert r.status_code == 201 and "c6@x.vn" in r.get_data(as_text=True)


def test_config_values_do_not_print_secrets(monkeypatch):
    from server.cli import main

    monkeypatch.setenv("SAOLA_IMAP_PASSWORD", "hunter2-imap")
    monkeypatch.setenv("SAOLA_S3_SECRET_ACCESS_KEY", "s3-secret-key")
    monkeypatch.setenv("SAOLA_DATABASE_URL", "postgresql://saola:pg-pass-9@db.example/saola")
    out = CliRunner().invoke(main, ["config", "--values"]).output
    assert "hunter2-imap" not in out and "s3-secret-key" not in out and "pg-pass-9" not in out
    assert "(set, not shown)" in out and "postgresql://saola:***@db.example/saola" in out


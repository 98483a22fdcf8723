"""The cellular camera FTP/FTPS endpoint with a real ftplib client against the real pyftpdlib server
(server/cellular/ftp.py on a TCP port), on SQLite and PostgreSQL: uploads ingested as they arrive,
matched by serial and time within the camera's area, duplicates by hash, wrong types refused and
recorded, a cut-off upload not ingested until resumed or re-sent, bad and revoked logins refused,
FTPS with TLS required, files left by a crash ingested at the next start."""
from __future__ import annotations

import ftplib
import hashlib
import io
import ssl
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlmodel import select

from ftp_helpers import RunningFTP, photo, self_signed, wait_thumbnails
from server.cellular.logins import create_login, reset_password, set_active
from server.models import CameraLogin, CameraUpload, Media


def _setup(world, area_code="PNKB", serial="CAM-4G-1"):
    area = world.area(area_code, f"Area {area_code}")
    program = world.program(area.id, name="Cellular cameras")
    dep = world.deployment(program, location_name=f"{area_code}-S01", camera_id=serial,
                           deployment_start=datetime(2026, 3, 1, tzinfo=timezone.utc),
                           deployment_end=datetime(2026, 3, 31, tzinfo=timezone.utc), timezone="Asia/Ho_Chi_Minh")
    return area, dep


def _login(world, area, username="cam01", serial="CAM-4G-1") -> str:
    with world.session() as s:
        _login_row, password = create_login(s, area.id, username, camera_serial=serial, label="Ridge trail")
    return password


def _uploads(world, status=None) -> list[CameraUpload]:
    with world.session() as s:
        stmt = select(CameraUpload).order_by(CameraUpload.received_at)
        if status:
            stmt = stmt.where(CameraUpload.status == status)
        return list(s.exec(stmt))


def _media(world) -> dict[str, Media]:
    with world.session() as s:
        return {m.sha256: m for m in s.exec(select(Media))}


@pytest.fixture
def ftp_server(app):
    server = RunningFTP(app)
    yield server
    server.stop()


def _connect(port, user, password) -> ftplib.FTP:
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", port, timeout=30)
    try:
        ftp.login(user, password)
    except BaseException:
        ftp.close()
        raise
    return ftp


def test_ftp_uploads_are_ingested_by_serial_and_time_with_duplicates_by_hash(app, world, ftp_server):
    area, dep = _setup(world)
    password = _login(world, area)
    no_serial = photo("2026:03:02 06:15:01")  # the camera writes no serial: its login's serial places it
    with_serial = photo("2026:03:02 06:15:02", serial="CAM-4G-1", color=(10, 200, 30))
    late = photo("2026:05:01 12:00:00", color=(200, 10, 30))  # after the deployment ended
    ftp = _connect(ftp_server.port, "cam01", password)
    assert "Saola" in ftp.getwelcome()
    ftp.mkd("DCIM")  # cameras make their own folders
    ftp.cwd("DCIM")
    for name, data in (("IMG_0001.JPG", no_serial), ("IMG_0002.JPG", with_serial), ("IMG_0003.JPG", late)):
        assert ftp.storbinary(f"STOR {name}", io.BytesIO(data)).startswith("226")
    ftp_server.settle()
    # The same photo again (a camera re-sends when it missed the 226): stored once, a duplicate.
    ftp.storbinary("STOR IMG_0001_retry.JPG", io.BytesIO(no_serial))
    ftp.quit()
    ftp_server.settle()

    media = _media(world)
    assert len(media) == 3
    first, second, third = (media[hashlib.sha256(d).hexdigest()] for d in (no_serial, with_serial, late))
    assert first.deployment_id == dep.id and second.deployment_id == dep.id
    assert first.file_name == "IMG_0001.JPG" and first.file_path == "cam01/IMG_0001.JPG"
    # Thumbnails: the background job ingest queued, from the stored original.
    assert wait_thumbnails(app, [first.id, second.id]) and app.extensions["saola.derivatives"].exists(
        f"thumb/{first.sha256[:2]}/{first.sha256[2:4]}/{first.sha256}.jpg")
    assert third.deployment_id is None and "outside_window" in third.flags
    ups = {u.file_name: u for u in _uploads(world)}
    assert [ups[n].status for n in ("IMG_0001.JPG", "IMG_0002.JPG", "IMG_0003.JPG", "IMG_0001_retry.JPG")] == \
        ["ingested", "ingested", "ingested", "duplicate"]
    assert ups["IMG_0001.JPG"].media_id == first.id and ups["IMG_0001_retry.JPG"].media_id == first.id
    assert "outside_window" in ups["IMG_0003.JPG"].flags and "no deployment" in ups["IMG_0003.JPG"].reason
    assert ups["IMG_0001.JPG"].size_bytes == len(no_serial)
    with world.session() as s:
        assert s.exec(select(CameraLogin)).one().last_upload_at is not None
    # Nothing is left in the staging folder once stored.
    staged = Path(app.config["DATA_DIR"]) / "cellular"
    assert not [p for p in staged.rglob("*") if p.is_file()]


def test_ftp_wrong_types_are_refused_with_a_reason_and_recorded(app, world, ftp_server):
    area, _dep = _setup(world)
    password = _login(world, area)
    ftp = _connect(ftp_server.port, "cam01", password)
    with pytest.raises(ftplib.error_perm) as e:
        ftp.storbinary("STOR report.txt", io.BytesIO(b"battery 80%"))
    assert str(e.value).startswith("553") and "'.txt' files are not accepted" in str(e.value)
    with pytest.raises(ftplib.error_perm, match="^553.*without an extension"):
        ftp.storbinary("STOR README", io.BytesIO(b"x"))
    with pytest.raises(ftplib.error_perm, match="^553.*STOR"):
        ftp.sendcmd("STOU")
    # A .jpg that is not a photo passes the name check and is refused by ingest, with its reason.
    ftp.storbinary("STOR fake.jpg", io.BytesIO(b"this is not a JPEG at all"))
    # The camera cannot read back or delete anything.
    with pytest.raises(ftplib.error_perm, match="^550"):
        ftp.retrbinary("RETR fake.jpg", lambda b: None)
    ftp.quit()
    ftp_server.settle()
    ups = {u.file_name: u for u in _uploads(world)}
    assert ups["report.txt"].status == "refused" and "not accepted" in ups["report.txt"].reason
    assert ups["README"].status == "refused"
    assert ups["fake.jpg"].status == "skipped" and ups["fake.jpg"].reason
    assert _media(world) == {}
    staged = Path(app.config["DATA_DIR"]) / "cellular"
    assert not [p for p in staged.rglob("*") if p.is_file()]


def test_ftp_cut_off_upload_is_not_ingested_and_a_resume_or_resend_completes(app, world, ftp_server):
    area, dep = _setup(world)
    password = _login(world, area)
    data = photo("2026:03:03 07:00:00", size=(640, 480))
    half = len(data) // 2
    ftp = _connect(ftp_server.port, "cam01", password)
    ftp.voidcmd("TYPE I")
    # The 4G link drops half-way: the data connection just ends (FTP sees an end of file).
    conn = ftp.transfercmd("STOR IMG_0100.JPG")
    conn.sendall(data[:half])
    conn.close()
    with pytest.raises(ftplib.error_temp, match="^451 Upload incomplete .*no end marker.*resume"):
        ftp.voidresp()  # a camera still listening hears why
    ftp_server.settle()
    assert _media(world) == {}
    cut = _uploads(world, "incomplete")
    assert len(cut) == 1 and "no end marker" in cut[0].reason and cut[0].size_bytes == half
    # The camera resumes where it stopped (REST + STOR): the whole photo is ingested.
    ftp.storbinary("STOR IMG_0100.JPG", io.BytesIO(data[half:]), rest=half)
    ftp_server.settle()
    m = _media(world)[hashlib.sha256(data).hexdigest()]
    assert m.deployment_id == dep.id and m.size_bytes == len(data)

    # Another is cut off, then sent again from the start: stored once, whole.
    other = photo("2026:03:03 07:00:05", color=(1, 2, 3), size=(640, 480))
    conn = ftp.transfercmd("STOR IMG_0101.JPG")
    conn.sendall(other[:1000])
    conn.close()
    with pytest.raises(ftplib.error_temp, match="^451"):
        ftp.voidresp()
    ftp.storbinary("STOR IMG_0101.JPG", io.BytesIO(other))
    ftp.quit()
    ftp_server.settle()
    media = _media(world)
    assert len(media) == 2 and media[hashlib.sha256(other).hexdigest()].size_bytes == len(other)
    statuses = [(u.file_name, u.status) for u in _uploads(world)]
    assert statuses == [("IMG_0100.JPG", "incomplete"), ("IMG_0100.JPG", "ingested"),
                        ("IMG_0101.JPG", "incomplete"), ("IMG_0101.JPG", "ingested")]


def test_ftp_refuses_bad_and_revoked_logins_and_keeps_areas_apart(app, world, ftp_server):
    area_a, dep_a = _setup(world, "PNKB", serial="CAM-4G-1")
    area_b, _dep_b = _setup(world, "CTN", serial="CAM-B")
    password = _login(world, area_a)
    # Area B's camera claims area A's serial: its photos never land in area A's deployment.
    password_b = _login(world, area_b, username="ctn-cam", serial="CAM-4G-1")
    with pytest.raises(ftplib.error_perm, match="^530"):
        _connect(ftp_server.port, "cam01", "wrong-password")
    with pytest.raises(ftplib.error_perm, match="^530"):
        _connect(ftp_server.port, "nobody", password)
    ftp = _connect(ftp_server.port, "ctn-cam", password_b)
    spoof = photo("2026:03:05 08:00:00", serial="CAM-4G-1")
    ftp.storbinary("STOR IMG_9.JPG", io.BytesIO(spoof))
    ftp.cwd("..")  # its own folder is its whole world: above it is itself
    assert ftp.pwd() == "/" and ftp.nlst() == []  # the photo went to ingest, nothing else is visible
    ftp.quit()
    ftp_server.settle()
    m = _media(world)[hashlib.sha256(spoof).hexdigest()]
    assert m.deployment_id != dep_a.id and m.deployment_id is None
    # A manager switches a stolen camera's login off, then gives it a new password.
    with world.session() as s:
        login = s.exec(select(CameraLogin).where(CameraLogin.username == "cam01")).one()
        set_active(s, login, False)
    with pytest.raises(ftplib.error_perm, match="^530"):
        _connect(ftp_server.port, "cam01", password)
    with world.session() as s:
        login = s.exec(select(CameraLogin).where(CameraLogin.username == "cam01")).one()
        set_active(s, login, True)
        new = reset_password(s, login)
        assert login.password_hash.startswith("$argon2") and new not in login.password_hash
    with pytest.raises(ftplib.error_perm, match="^530"):
        _connect(ftp_server.port, "cam01", password)
    _connect(ftp_server.port, "cam01", new).quit()


def test_ftps_requires_tls_and_ingests_over_it(app, world, tmp_path):
    area, dep = _setup(world)
    password = _login(world, area)
    cert, key = self_signed(tmp_path)
    server = RunningFTP(app, certfile=str(cert), keyfile=str(key))
    try:
        plain = ftplib.FTP()
        plain.connect("127.0.0.1", server.port, timeout=30)
        with pytest.raises(ftplib.error_perm, match="TLS"):
            plain.login("cam01", password)  # no AUTH TLS: refused before the password is sent
        plain.close()
        ctx = ssl.create_default_context(cafile=str(cert))  # verified against the server's own certificate
        ftps = ftplib.FTP_TLS(context=ctx)
        ftps.connect("127.0.0.1", server.port, timeout=30)
        ftps.login("cam01", password)
        ftps.prot_p()
        data = photo("2026:03:04 05:06:07")
        ftps.storbinary("STOR IMG_0200.JPG", io.BytesIO(data))
        ftps.quit()
        server.settle()
        assert _media(world)[hashlib.sha256(data).hexdigest()].deployment_id == dep.id
    finally:
        server.stop()
    from server.cellular.ftp import CertificateError, check_certificate

    with pytest.raises(CertificateError, match="ftp-cert.pem"):
        check_certificate(str(cert), str(tmp_path / "missing-key.pem"))


def test_ftp_files_left_by_a_crash_are_ingested_at_the_next_start(app, world):
    area, dep = _setup(world)
    _login(world, area)
    with world.session() as s:
        login = s.exec(select(CameraLogin)).one()
    folder = Path(app.config["DATA_DIR"]) / "cellular" / login.id
    folder.mkdir(parents=True)
    whole, cut = photo("2026:03:06 06:00:00"), photo("2026:03:06 06:00:01", color=(0, 0, 255))
    (folder / "IMG_0300.JPG").write_bytes(whole)  # received, then the server died before ingest
    (folder / "IMG_0301.JPG").write_bytes(cut[:500])  # cut off: waits for the camera
    server = RunningFTP(app)
    try:
        server.settle()
    finally:
        server.stop()
    media = _media(world)
    assert list(media) == [hashlib.sha256(whole).hexdigest()] and media[hashlib.sha256(whole).hexdigest()].deployment_id == dep.id
    assert (folder / "IMG_0301.JPG").is_file()

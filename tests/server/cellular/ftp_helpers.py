"""A real FTP(S) endpoint for the tests (server/cellular/ftp.py on a free port, in a thread) and the
things cameras send."""
from __future__ import annotations

import datetime as dt
import io
import ipaddress
import threading
from pathlib import Path

from PIL import Image


class RunningFTP:
    """``build_server`` serving on 127.0.0.1 in a thread until :meth:`stop`."""

    def __init__(self, app, **kw):
        from server.cellular.ftp import build_server

        self.server, self.receiver = build_server(app, "127.0.0.1", 0, **kw)
        self.port = self.server.socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            self.server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)
        self.server.close_all()

    def settle(self) -> None:
        """Wait until every file received so far is ingested."""
        assert self.receiver.wait_idle(120), "ingest of the uploads did not finish"

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        self.receiver.stop()


def photo(when: str = "2026:03:02 06:15:01", serial: str | None = None, color=(90, 120, 40), size=(320, 240)) -> bytes:
    """A JPEG as a camera writes it: EXIF time, and the serial only when given (many 4G cameras write none)."""
    im = Image.new("RGB", size, color)
    im.paste((255, 255, 255), (0, 0, size[0] // 5, size[1] // 5))
    e = Image.Exif()
    e[0x010F], e[0x0110] = "TestMake", "Cell4G"
    ifd = e.get_ifd(0x8769)
    ifd[0x9003] = when
    if serial:
        ifd[0xA431] = serial
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85, exif=e)
    return buf.getvalue()


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), made now."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "ftp-cert.pem", folder / "ftp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def wait_thumbnails(app, media_ids, timeout: float = 120) -> bool:
    """Thumbnails are made by the background ``derivatives`` job ingest queues: run the queued ones
    here (an in-process worker may be running them too) until every media has its derivatives."""
    import time

    from sqlmodel import col, select

    from server.db import session_scope
    from server.jobs import run_job
    from server.models import Job, Media

    deadline = time.monotonic() + timeout
    while True:
        with session_scope(app.config["DATABASE_URL"]) as s:
            done = all(s.exec(select(Media.has_derivatives).where(col(Media.id).in_(list(media_ids)))).all())
            queued = list(s.exec(select(Job.id).where(Job.kind == "derivatives", Job.status == "queued")))
        if done:
            return True
        if time.monotonic() > deadline:
            return False
        for job_id in queued:
            run_job(job_id, app.config)
        time.sleep(0.2)

"""The FTP/FTPS endpoint of cellular camera traps (pyftpdlib), run by ``saola ftp``.

Each camera signs in with its own login (:class:`server.models.CameraLogin`, Argon2 hash,
kept by the area's managers) and sees only its own staging folder
(``DATA_DIR/cellular/<login id>/``). It may create folders, list, store, append and resume
(REST + STOR) -- what 4G cameras do -- but not read, rename or delete. A file type Saola does
not ingest is refused before any byte is sent (``553`` with the reason) and recorded. A
finished upload that is whole is handed to :class:`server.cellular.receiver.Receiver`; one cut
off stays for the camera to resume, recorded as ``incomplete``. With a certificate
(``SAOLA_FTP_CERTFILE``) the endpoint speaks FTPS (explicit TLS, ``AUTH TLS``) and, unless
``SAOLA_FTP_TLS_REQUIRED`` is off, refuses to sign in without it.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any, Optional

import warnings

with warnings.catch_warnings():
    # pyftpdlib runs on the standard library's asyncore/asynchat, which Python 3.11 marks deprecated
    # (pyftpdlib ships its own copies for 3.12+); the warning is about the library, not our use of it.
    warnings.simplefilter("ignore", DeprecationWarning)
    from pyftpdlib.authorizers import AuthenticationFailed, DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer

from .files import refusal
from .receiver import Camera, Receiver, accept, record, staging_root

log = logging.getLogger("saola.cellular")

#: e: change folder, l: list, w: store, a: append (resume), m: make folders. No r (read), d, f, M.
CAMERA_PERMS = "elwam"


class CameraAuthorizer(DummyAuthorizer):
    """Signs cameras in against the database; each sees only its own staging folder."""

    def __init__(self, app, root: Path):
        super().__init__()
        self.app = app
        self.url = app.config["DATABASE_URL"]
        self.root = root
        self._lock = threading.Lock()
        self.cameras: dict[str, Camera] = {}  # username -> the camera it signed in as

    def validate_authentication(self, username: str, password: str, handler) -> None:
        from sqlmodel import select

        from ..auth.passwords import verify_password
        from ..db import session_scope
        from ..models import CameraLogin, ProtectedArea

        with session_scope(self.url, read_only=True) as s:
            login = s.exec(select(CameraLogin).where(CameraLogin.username == username)).first()
            area = s.get(ProtectedArea, login.area_id) if login is not None else None
        # The same answer whatever failed: a probe learns nothing about which logins exist.
        if login is None or not login.active or area is None or not verify_password(login.password_hash, password):
            raise AuthenticationFailed("Authentication failed.")
        camera = Camera(login.id, login.username, login.area_id, login.camera_serial)
        (self.root / login.id).mkdir(parents=True, exist_ok=True)
        with self._lock:
            self.cameras[username] = camera
        handler.camera = camera

    def get_home_dir(self, username: str) -> str:
        return str(self.root / self.cameras[username].login_id)

    def has_user(self, username: str) -> bool:
        return username in self.cameras

    def get_perms(self, username: str) -> str:
        return CAMERA_PERMS

    def has_perm(self, username: str, perm: str, path: Optional[str] = None) -> bool:
        if perm not in CAMERA_PERMS or username not in self.cameras:
            return False
        if path is None:
            return True
        home = os.path.realpath(self.get_home_dir(username))
        real = os.path.realpath(path)
        return real == home or real.startswith(home + os.sep)

    def get_msg_login(self, username: str) -> str:
        return f"Saola: camera {username} signed in; send JPEG photos or videos."

    def get_msg_quit(self, username: str) -> str:
        return "Goodbye."

    def impersonate_user(self, username: str, password: str) -> None:
        """Nothing: every camera's files belong to the server's own user."""

    def terminate_impersonation(self, username: str) -> None:
        """Nothing (see :meth:`impersonate_user`)."""


class _CameraMixin:
    """What Saola adds to pyftpdlib's handler: type checks, records, hand-over to ingest."""

    receiver: Receiver
    staging: Path
    camera: Optional[Camera] = None
    reply_override: Optional[str] = None  # the data channel's closing reply, when not "226"

    def ftp_STOR(self, file, mode="w"):
        why = refusal(os.path.basename(file))
        if why is not None:
            self.respond(f"553 Refused: {why}.")  # type: ignore[attr-defined]
            if self.camera is not None:
                record(self.receiver.url, self.camera, os.path.basename(file), "refused", why)
            return None
        return super().ftp_STOR(file, mode)  # type: ignore[misc]

    def ftp_STOU(self, line):
        self.respond("553 Refused: send each file under its own name (STOR), not STOU.")  # type: ignore[attr-defined]

    def on_file_received(self, file):
        camera = self.camera
        if camera is None:
            return
        try:
            path = accept(camera, file, self.staging)
        except OSError:
            log.exception("cannot move %s for ingest", file)
            return
        if path is None:  # ended without being whole: kept for a resume (REST/APPE) or a resend
            from .files import incomplete

            why = incomplete(file) or "not whole"
            record(self.receiver.url, camera, os.path.basename(file), "incomplete",
                   f"{why}; kept for the camera to resume or resend", size=_size(file))
            self.reply_override = f"451 Upload incomplete ({why}); resume it (REST) or send it again."
            return
        self.receiver.submit(camera, path)

    def on_incomplete_file_received(self, file):
        if self.camera is not None:  # the connection dropped mid-file: keep the part for a resume
            record(self.receiver.url, self.camera, os.path.basename(file), "incomplete",
                   "the upload was cut off; kept for the camera to resume or resend", size=_size(file))


def _size(path) -> Optional[int]:
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def _dtp_replying_after_callbacks(base):
    """pyftpdlib's data channel answers ``226`` and only then calls ``on_file_received``; this one
    answers after it, so a camera hears "226" only once its file is whole and queued for ingest
    (a server that dies in between leaves the camera to send it again), and hears "451" with the
    reason when the file arrived cut off."""

    def close(self):
        if self._closed or not self._resp:
            return base.close(self)
        resp, self._resp = self._resp, ()
        chan = self.cmd_channel

        def after_callbacks():
            reply = getattr(chan, "reply_override", None) or resp[0]
            chan.reply_override = None
            chan.respond(reply, logfun=resp[1])
            type(chan)._on_dtp_close(chan)

        chan._on_dtp_close = after_callbacks
        try:
            return base.close(self)
        finally:
            del chan._on_dtp_close

    return type(f"Saola{base.__name__}", (base,), {"close": close})


class CameraFTPHandler(_CameraMixin, FTPHandler):
    """Plain FTP (most 4G cameras); use FTPS where the camera supports it."""


class CameraFTPSHandler(_CameraMixin, TLS_FTPHandler):
    """FTPS: explicit TLS (AUTH TLS) on the same port."""


class CertificateError(ValueError):
    """The FTPS certificate or key cannot be used (named in the message)."""


def check_certificate(certfile: str, keyfile: str = "") -> None:
    """Load the certificate and key as the TLS handler will, so a wrong file stops ``saola ftp``
    at start with its name rather than failing every camera's AUTH TLS later."""
    from OpenSSL import SSL

    ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
    try:
        ctx.use_certificate_chain_file(certfile)
        ctx.use_privatekey_file(keyfile or certfile)
        ctx.check_privatekey()
    except SSL.Error as e:
        raise CertificateError(f"cannot use the FTPS certificate {certfile} / key {keyfile or certfile}: {e}") \
            from None
    except OSError as e:
        raise CertificateError(f"cannot read the FTPS certificate or key: {e}") from None


def build_server(app, host: str, port: int, *, certfile: str = "", keyfile: str = "", tls_required: bool = True,
                 passive_ports: Optional[range] = None, max_connections: int = 256) -> tuple[Any, Receiver]:
    """The FTP(S) server and its ingest receiver (started: leftovers of a crash are queued again).

    ``serve_forever()`` the server; ``close_all()`` it and ``stop()`` the receiver to end."""
    from sqlmodel import select

    from ..db import session_scope
    from ..models import CameraLogin

    if certfile:
        check_certificate(certfile, keyfile)
    root = staging_root(app.config)
    root.mkdir(parents=True, exist_ok=True)
    receiver = Receiver(app).start()
    authorizer = CameraAuthorizer(app, root)
    base: Any = CameraFTPSHandler if certfile else CameraFTPHandler
    attrs: dict[str, Any] = {"authorizer": authorizer, "receiver": receiver, "staging": root,
                             "banner": "Saola camera-trap upload endpoint ready.",
                             "permit_foreign_addresses": False, "use_sendfile": False}
    if passive_ports:
        attrs["passive_ports"] = passive_ports
    if certfile:
        attrs.update(certfile=certfile, keyfile=keyfile or None, tls_control_required=tls_required,
                     tls_data_required=tls_required)
    attrs["dtp_handler"] = _dtp_replying_after_callbacks(base.dtp_handler)
    handler = type("SaolaCameraHandler", (base,), attrs)
    server = ThreadedFTPServer((host, port), handler)
    server.max_cons = max_connections
    with session_scope(app.config["DATABASE_URL"], read_only=True) as s:
        cameras = {c.id: Camera(c.id, c.username, c.area_id, c.camera_serial)
                   for c in s.exec(select(CameraLogin).where(CameraLogin.active))}
    n = receiver.rescan(cameras)
    if n:
        log.info("queued %d file(s) received before the last stop", n)
    return server, receiver

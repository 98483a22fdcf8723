"""``saola ftp`` (the cellular camera upload endpoint) and ``saola ftp-camera`` (their logins)."""
from __future__ import annotations

import click

from ..cli.common import area_by_code, fail, get_app, session_for


def register(main: click.Group) -> None:
    """Add ``saola ftp`` and ``saola ftp-camera`` to ``saola``."""
    main.add_command(ftp_cmd)
    main.add_command(ftp_camera)
    main.add_command(mail_poll)


@click.command("ftp")
@click.option("--host", default=None, help="Address to listen on (default SAOLA_FTP_HOST).")
@click.option("--port", type=int, default=None, help="Port (default SAOLA_FTP_PORT).")
@click.option("--certfile", default=None, help="PEM certificate: FTPS (default SAOLA_FTP_CERTFILE).")
@click.option("--keyfile", default=None, help="PEM key of the certificate (default SAOLA_FTP_KEYFILE).")
def ftp_cmd(host, port, certfile, keyfile):
    """Run the FTP/FTPS endpoint cellular camera traps upload photos to; each upload is ingested as
    it arrives (matched by the camera's serial and the photo's time within its area)."""
    from .ftp import CertificateError, build_server

    app = get_app()
    cfg = app.config
    host = host or cfg["FTP_HOST"]
    port = port if port is not None else cfg["FTP_PORT"]
    certfile = certfile if certfile is not None else cfg["FTP_CERTFILE"]
    keyfile = keyfile if keyfile is not None else cfg["FTP_KEYFILE"]
    passive = None
    if cfg["FTP_PASSIVE_PORTS"]:
        try:
            lo, hi = (int(x) for x in str(cfg["FTP_PASSIVE_PORTS"]).split("-"))
            passive = range(lo, hi + 1)
        except ValueError:
            fail(f"SAOLA_FTP_PASSIVE_PORTS: expected FIRST-LAST, e.g. 60000-60100, not {cfg['FTP_PASSIVE_PORTS']!r}")
    try:
        server, receiver = build_server(app, host, port, certfile=certfile, keyfile=keyfile,
                                        tls_required=bool(cfg["FTP_TLS_REQUIRED"]), passive_ports=passive)
    except CertificateError as e:
        fail(str(e))
    except OSError as e:
        fail(f"cannot listen on {host}:{port}: {e.strerror or e}")
    addr = server.socket.getsockname()
    click.echo(f"Saola camera upload endpoint on {'ftps' if certfile else 'ftp'}://{addr[0]}:{addr[1]}/", err=True)
    try:
        server.serve_forever(handle_exit=True)
    finally:
        server.close_all()
        receiver.stop()


@click.command("mail-poll")
@click.option("--once", is_flag=True, help="Read the mailbox once and exit (for cron); else every SAOLA_IMAP_INTERVAL_S.")
def mail_poll(once):
    """Ingest the photos cameras e-mail to the mailbox SAOLA_IMAP_URL: each message's sender names the
    camera (its login's "sends e-mail from" address); its attachments are ingested as FTP uploads are."""
    import time

    from .mail import MailboxError, mailbox_from_config, poll_once

    app = get_app()
    try:
        box = mailbox_from_config(app.config)
    except MailboxError as e:
        fail(str(e))
    while True:
        try:
            rep = poll_once(app, box)
        except MailboxError as e:
            if once:
                fail(str(e))
            click.echo(f"mail-poll: {e}; trying again in {app.config['IMAP_INTERVAL_S']} s", err=True)
        else:
            for why in rep.reasons:
                click.echo(f"mail-poll: {why}", err=True)
            click.echo(f"{rep.messages} message(s): {rep.files} file(s) ingested, {rep.refused_messages} refused, "
                       f"{rep.failed_messages} left for the next poll")
            if once:
                raise SystemExit(1 if rep.failed_messages else 0)
        time.sleep(max(5, int(app.config["IMAP_INTERVAL_S"])))


@click.group("ftp-camera")
def ftp_camera():
    """FTP logins of cellular camera traps (also on the area's Cellular cameras page and the API)."""


@ftp_camera.command("add")
@click.argument("area")
@click.argument("username")
@click.option("--serial", default=None, help="The camera's serial (deployments name it as their camera id).")
@click.option("--label", default=None, help="A note for people (where it hangs, SIM number...).")
@click.option("--mail-from", default=None,
              help="The address the camera e-mails photos from, for cameras that send by e-mail (saola mail-poll).")
def add(area, username, serial, label, mail_from):
    """Create a login for a camera of AREA (code or id); prints its password once."""
    from ..errors import ValidationError
    from .logins import create_login

    app = get_app()
    with session_for(app) as s:
        a = area_by_code(s, area)
        try:
            login, password = create_login(s, a.id, username, camera_serial=serial, label=label, by="cli",
                                           mail_from=mail_from)
        except ValidationError as e:
            fail(str(e))
        click.echo(f"camera login {login.username} for {a.code}: password {password}")


@ftp_camera.command("list")
@click.argument("area")
def list_cmd(area):
    """The camera logins of AREA."""
    from sqlmodel import select

    from ..models import CameraLogin

    app = get_app()
    with session_for(app) as s:
        a = area_by_code(s, area)
        for c in s.exec(select(CameraLogin).where(CameraLogin.area_id == a.id).order_by(CameraLogin.username)):
            state = "active" if c.active else "off"
            click.echo(f"{c.username}\t{c.camera_serial or '-'}\t{c.mail_from or '-'}\t{state}\t"
                       f"{c.last_upload_at or 'no upload yet'}")

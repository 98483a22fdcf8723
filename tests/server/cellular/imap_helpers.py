"""A real IMAP server for the tests: Dovecot (installed by scripts/setup.sh) with a private
configuration in a temporary folder, one mailbox user, listening on a free port of 127.0.0.1,
plain IMAP and IMAPS with a certificate made by the test."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

import pytest

USER, PASSWORD = "cameras@saola.test", "mailbox-Secret-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    """``dovecot -F`` with its own configuration; :meth:`stop` ends it and removes its folder."""

    def __init__(self, cert: Optional[tuple[Path, Path]] = None):
        exe = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
        if exe is None:
            pytest.fail("Dovecot is not installed (scripts/setup.sh installs dovecot-imapd): the mailbox tests "
                        "need a real IMAP server")
        # Dovecot's login processes refuse to run as root and its mail processes refuse uid 0: as root,
        # use the users the package made; otherwise everything runs as the current user.
        root = os.geteuid() == 0
        self.dir = Path(tempfile.mkdtemp(prefix="saola-dovecot-"))
        os.chmod(self.dir, 0o755)
        (self.dir / "run").mkdir()
        (self.dir / "mail").mkdir()
        if root:
            shutil.chown(self.dir / "mail", "nobody", "nogroup")
        internal, login, group = ("dovecot", "dovenull", "dovecot") if root else (_me(), _me(), _group())
        mail_uid, mail_gid = ("nobody", "nogroup") if root else (str(os.getuid()), str(os.getgid()))
        hashed = subprocess.run(["doveadm", "pw", "-s", "SHA512-CRYPT", "-p", PASSWORD], capture_output=True,
                                text=True, check=True).stdout.strip()
        (self.dir / "users").write_text(f"{USER}:{hashed}::::::\n")
        self.port, self.tls_port = _free_port(), (_free_port() if cert else 0)
        ssl_conf = (f"ssl = yes\nssl_cert = <{cert[0]}\nssl_key = <{cert[1]}\n" if cert else "ssl = no\n")
        conf = f"""
base_dir = {self.dir}/run
state_dir = {self.dir}/run/state
instance_name = saola-test-{self.port}
protocols = imap
listen = 127.0.0.1
log_path = {self.dir}/dovecot.log
{ssl_conf}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:{self.dir}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {self.dir}/users
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={self.dir}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
service auth {{
  user = {internal}
}}
service stats {{
  user = {internal}
}}
"""
        (self.dir / "dovecot.conf").write_text(conf)
        with open(self.dir / "stdout.log", "wb") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen([exe, "-F", "-c", str(self.dir / "dovecot.conf")], stdout=out,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = (self.dir / "stdout.log").read_text(errors="replace")
                pytest.fail(f"Dovecot did not start: {out} {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail("Dovecot did not listen within 20 s")

    def log(self) -> str:
        p = self.dir / "dovecot.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def _me() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def _group() -> str:
    import grp

    return grp.getgrgid(os.getgid()).gr_name

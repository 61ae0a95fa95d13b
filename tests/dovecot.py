"""A private Dovecot IMAP server on loopback for the IMAP tests and benchmark.

Everything lives under one temporary directory (config, runtime sockets, logs, Maildirs) and
the server runs as a child process (``dovecot -F``) under the current user, on free
non-privileged ports: nothing of the machine's own Dovecot is read, started or changed.
Users come from a passwd-file; a user may carry a message-count quota (for the APPEND-refused test).
"""
from __future__ import annotations

import getpass
import grp
import pwd
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"
PASSWORD = "test-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    """``with Dovecot(users={"alice": None, "tight": 3}) as d:`` -> d.port (plain/STARTTLS), d.tls_port."""

    def __init__(self, users: dict[str, int | None] | None = None,
                 cert: tuple[Path, Path] | None = None, extra: str = "",
                 files: dict[str, str] | None = None) -> None:
        # Its own directory under /tmp (not pytest's 0700 tree): when the tests run as root
        # (CI), Dovecot's unprivileged processes must be able to reach the Maildirs.
        self.root = Path(tempfile.mkdtemp(prefix="tb-dovecot-"))
        self.users = users or {"alice": None}
        self.cert = cert
        self.extra = extra            # more configuration, e.g. "imap_capability = ..." to hide extensions
        self.files = files or {}      # name -> text, written into the server's directory; "{root}" in extra
        self.port = free_port()
        self.tls_port = free_port() if cert else 0
        self.proc: subprocess.Popen | None = None

    def maildir(self, user: str) -> Path:
        return self.root / "mail" / user

    def _config(self) -> Path:
        if os.getuid() == 0:        # Dovecot will not run its login and mail processes as root
            internal, login = "dovecot", "dovenull"
            pw = pwd.getpwnam("dovecot")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
            os.chmod(self.root, 0o755)
        else:
            internal = login = getpass.getuser()
            self.uid, self.gid = os.getuid(), os.getgid()
        group = grp.getgrgid(self.gid).gr_name
        base = self.root / "run"
        base.mkdir(parents=True, exist_ok=True)
        (self.root / "mail").mkdir(exist_ok=True)
        os.chown(self.root / "mail", self.uid, self.gid)
        lines = []
        for name, quota in self.users.items():
            extra = f"userdb_quota_rule=*:messages={quota}" if quota else ""
            lines.append(f"{name}:{{PLAIN}}{PASSWORD}:{self.uid}:{self.gid}::{self.maildir(name)}::{extra}")
        (self.root / "passwd").write_text("\n".join(lines) + "\n")
        ssl = "no"
        tls_listener = ""
        if self.cert:
            ssl = f"yes\nssl_cert = <{self.cert[0]}\nssl_key = <{self.cert[1]}"
            tls_listener = f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {self.tls_port}\n    ssl = yes\n  }}\n"
        conf = f"""
base_dir = {base}
state_dir = {self.root}/state
instance_name = tb-test-{self.port}
protocols = imap
listen = 127.0.0.1
log_path = {self.root}/dovecot.log
info_log_path = {self.root}/dovecot.log
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
disable_plaintext_auth = no
auth_mechanisms = plain login
ssl = {ssl}
mail_location = maildir:~/Maildir
mail_plugins = $mail_plugins quota
first_valid_uid = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.root}/passwd
}}
plugin {{
  quota = count:User quota
  quota_vsizes = yes
  quota_grace = 0
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
{tls_listener}  chroot =
}}
service anvil {{
  chroot =
}}
service imap {{
  process_limit = 32
}}
{self.extra.replace("{root}", str(self.root))}
"""
        for name, text in self.files.items():
            (self.root / name).write_text(text)
        (self.root / "state").mkdir(exist_ok=True)
        path = self.root / "dovecot.conf"
        path.write_text(conf)
        return path

    def start(self) -> "Dovecot":
        conf = self._config()
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=open(self.root / "dovecot.stderr", "wb"))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dovecot exited: " + (self.root / "dovecot.stderr").read_text()
                                   + self._log())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(200).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("dovecot did not start listening: " + self._log())

    def _log(self) -> str:
        p = self.root / "dovecot.log"
        return p.read_text()[-3000:] if p.exists() else ""

    def kick(self, user: str) -> None:
        """Drop every connection of ``user`` (as a server restart or a flaky network would)."""
        subprocess.run(["doveadm", "-c", str(self.root / "dovecot.conf"), "kick", user],
                       check=True, capture_output=True, timeout=20)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "Dovecot":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def available() -> bool:
    return os.path.exists(DOVECOT) and shutil.which("openssl") is not None

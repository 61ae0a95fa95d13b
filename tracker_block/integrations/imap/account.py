"""Where and how to log in: host, TLS, and the secret (password file, keyring, environment, OAuth2 command).

TLS is verified against the system's CAs (or ``--ca-file``) by default; plaintext is refused
except on a loopback address, where no one else can read the line.
"""
from __future__ import annotations

import ipaddress
import os
import shlex
import socket
import ssl
import stat
import subprocess
from dataclasses import dataclass
from typing import Any

DEFAULT_ENV = "TRACKER_BLOCK_IMAP_PASSWORD"
KEYRING_SERVICE = "tracker-block-imap"
SECURITY = ("tls", "starttls", "plain")


class AccountError(Exception):
    """A problem with the account settings or the login: one line for the user, no traceback."""


@dataclass
class Account:
    """One IMAP login. ``secret`` is read lazily, on each connect (OAuth2 tokens expire)."""

    host: str
    user: str
    port: int | None = None
    security: str = "tls"                # tls (implicit, 993) | starttls (143) | plain (loopback only)
    password_file: str | None = None
    password_env: str | None = None
    use_keyring: bool = False
    oauth2_command: str | None = None
    ca_file: str | None = None
    verify: bool = True
    timeout: float = 120.0

    @property
    def key(self) -> str:
        """The account's name in the state journal."""
        return f"{self.user}@{self.host}:{self.effective_port}"

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)

    def check(self) -> None:
        """Refuse settings that would leak the password or read it from nowhere."""
        if self.security not in SECURITY:
            raise AccountError(f"--security must be one of {', '.join(SECURITY)}")
        if self.security == "plain" and not _is_loopback(self.host):
            raise AccountError(f"refusing to send the password to {self.host} without TLS; "
                               "use --security tls or starttls (plain is allowed on loopback only)")
        sources = [s for s in (self.password_file, self.password_env, self.use_keyring or None,
                               self.oauth2_command) if s]
        if len(sources) > 1:
            raise AccountError("give one of --password-file, --password-env, --keyring, --oauth2-command")
        if not sources and not os.environ.get(DEFAULT_ENV):
            raise AccountError(f"no password: use --password-file, --password-env, --keyring or "
                               f"--oauth2-command (or set {DEFAULT_ENV})")

    def secret(self) -> str:
        """The password (or the OAuth2 access token) for this login."""
        if self.oauth2_command:
            return _run_token_command(self.oauth2_command)
        if self.password_file:
            return _read_password_file(self.password_file)
        if self.use_keyring:
            return _from_keyring(self.user, self.host)
        name = self.password_env or DEFAULT_ENV
        value = os.environ.get(name)
        if not value:
            raise AccountError(f"environment variable {name} is not set or empty")
        return value

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else ssl.create_default_context()
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def connect(self) -> Any:
        """An authenticated IMAPClient (tz-aware INTERNALDATEs), or AccountError saying why not."""
        from imapclient import IMAPClient
        from imapclient.exceptions import LoginError
        try:
            ctx = self.ssl_context() if self.security != "plain" else None
        except (OSError, ssl.SSLError) as exc:
            raise AccountError(f"--ca-file {self.ca_file}: {exc}") from None
        where = f"{self.host}:{self.effective_port}"
        secret = self.secret()          # first: a bad secret source is said before any connection
        try:
            conn = IMAPClient(self.host, port=self.effective_port, ssl=self.security == "tls",
                              ssl_context=ctx, timeout=self.timeout)
            if self.security == "starttls":
                conn.starttls(ctx)
        except ssl.SSLCertVerificationError as exc:
            raise AccountError(f"{where}: TLS certificate not trusted ({exc.verify_message}); "
                               "use --ca-file for a private CA") from None
        except (OSError, ssl.SSLError) as exc:
            raise AccountError(f"{where}: cannot connect ({exc})") from None
        except Exception as exc:  # noqa: BLE001 - e.g. STARTTLS not offered
            raise AccountError(f"{where}: {exc}") from None
        conn.normalise_times = False
        try:
            if self.oauth2_command:
                conn.oauth2_login(self.user, secret)
            else:
                conn.login(self.user, secret)
        except LoginError as exc:
            _close(conn)
            raise AccountError(f"{where}: login as {self.user} refused ({_text(exc)})") from None
        return conn


def _text(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _close(conn: Any) -> None:
    try:
        conn.shutdown()
    except Exception:  # noqa: BLE001 - already gone
        pass


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        if host == "localhost":
            return True
        try:
            return all(ipaddress.ip_address(a[4][0]).is_loopback for a in socket.getaddrinfo(host, None))
        except OSError:
            return False


def _read_password_file(path: str) -> str:
    try:
        st = os.stat(path)
        with open(path, encoding="utf-8") as f:
            first = f.readline().rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise AccountError(f"--password-file {path}: {exc.strerror if isinstance(exc, OSError) else exc}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AccountError(f"--password-file {path} can be read by other users; chmod 600 it")
    if not first:
        raise AccountError(f"--password-file {path}: the first line is empty")
    return first


def _from_keyring(user: str, host: str) -> str:
    try:
        import keyring
    except ImportError:
        raise AccountError("--keyring needs the 'keyring' package: pip install keyring") from None
    try:
        value = keyring.get_password(KEYRING_SERVICE, f"{user}@{host}")
    except Exception as exc:  # noqa: BLE001 - no backend, locked, ...
        raise AccountError(f"keyring: {_text(exc)}") from None
    if not value:
        raise AccountError(f"no password in the keyring for service {KEYRING_SERVICE!r}, user {user}@{host}; "
                           f"store one with: keyring set {KEYRING_SERVICE} {user}@{host}")
    return value


def _run_token_command(command: str) -> str:
    """Run the user's token command (no shell) and take its first output line as the access token."""
    try:
        out = subprocess.run(shlex.split(command), capture_output=True, timeout=60, check=False)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise AccountError(f"--oauth2-command: {_text(exc)}") from None
    if out.returncode != 0:
        err = out.stderr.decode("utf-8", "replace").strip().splitlines()
        raise AccountError(f"--oauth2-command exited with {out.returncode}" + (f": {err[-1]}" if err else ""))
    token = out.stdout.decode("utf-8", "replace").strip().splitlines()
    if not token:
        raise AccountError("--oauth2-command printed no token")
    return token[0].strip()

"""``tracker-block imap`` logins: verified TLS (implicit and STARTTLS) against a private Dovecot
with a test CA, and each way of giving the secret, each failure a one-line message."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dovecot import PASSWORD, Dovecot, available

pytestmark = pytest.mark.skipif(not available(), reason="needs /usr/sbin/dovecot (apt install dovecot-imapd)")

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "tracker_block.cli.main", "imap", "scan", "--rate", "0", "--user", "alice"]


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    trustme = pytest.importorskip("trustme")
    d = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(d / "cert.pem"))
    for pem in cert.cert_chain_pems[1:]:
        with open(d / "cert.pem", "ab") as f:
            f.write(pem.bytes())
    cert.private_key_pem.write_to_path(str(d / "key.pem"))
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    with Dovecot({"alice": None}, cert=(d / "cert.pem", d / "key.pem")) as srv:
        srv.ca = d / "ca.pem"
        yield srv


def scan(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_BLOCK_IMAP")}
    e.update(env or {})
    return subprocess.run(CLI + list(args), capture_output=True, text=True, env=e, cwd=ROOT, timeout=60)


def secret_file(tmp_path: Path, mode: int = 0o600) -> str:
    p = tmp_path / "pass"
    p.write_text(PASSWORD + "\n")
    p.chmod(mode)
    return str(p)


def test_implicit_tls_and_starttls_verified_with_the_ca(tls_server, tmp_path):
    pw = secret_file(tmp_path)
    r = scan("--host", "localhost", "--port", str(tls_server.tls_port), "--ca-file", str(tls_server.ca),
             "--password-file", pw)
    assert r.returncode == 0, r.stderr
    assert "0 messages" in r.stderr
    r = scan("--host", "localhost", "--port", str(tls_server.port), "--security", "starttls",
             "--ca-file", str(tls_server.ca), "--password-env", "MY_PW", env={"MY_PW": PASSWORD})
    assert r.returncode == 0, r.stderr


def test_untrusted_certificate_is_refused(tls_server, tmp_path):
    r = scan("--host", "localhost", "--port", str(tls_server.tls_port), "--password-file", secret_file(tmp_path))
    assert r.returncode == 2
    assert "TLS certificate not trusted" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, env, message", [
    (["--password-env", "NOPE"], {}, "environment variable NOPE is not set"),
    (["--oauth2-command", "false"], {}, "--oauth2-command exited with 1"),
    (["--oauth2-command", "true"], {}, "--oauth2-command printed no token"),
    ([], {"TRACKER_BLOCK_IMAP_PASSWORD": "wrong"}, "login as alice refused"),
])
def test_secret_problems_are_one_line(tls_server, args, env, message):
    r = scan("--host", "localhost", "--port", str(tls_server.tls_port), "--ca-file", str(tls_server.ca),
             *args, env=env)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_refusals_before_connecting(tmp_path):
    r = scan("--host", "mail.example.org", "--security", "plain", env={"TRACKER_BLOCK_IMAP_PASSWORD": "x"})
    assert r.returncode == 2 and "refusing to send the password to mail.example.org without TLS" in r.stderr
    r = scan("--host", "localhost", "--security", "plain")
    assert r.returncode == 2 and "no password" in r.stderr
    r = scan("--host", "localhost", "--security", "plain", "--password-file", secret_file(tmp_path, 0o644))
    assert r.returncode == 2 and "can be read by other users" in r.stderr
    r = scan("--host", "localhost", "--since", "last tuesday")
    assert r.returncode == 2 and "not a date" in r.stderr


def test_keyring_missing_says_how_to_install(monkeypatch):
    from tracker_block.integrations.imap.account import Account, AccountError
    monkeypatch.setitem(sys.modules, "keyring", None)
    with pytest.raises(AccountError, match="pip install keyring"):
        Account(host="localhost", user="alice", use_keyring=True).secret()


def test_oauth2_xoauth2_login_with_a_token_command(tmp_path):
    """XOAUTH2 for real: Dovecot's oauth2 passdb asks a loopback token-introspection endpoint
    (standing in for Google's / Microsoft's) about the token our --oauth2-command printed."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer
    asked: list[str] = []

    class Introspect(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            asked.append(form)
            ok = "token=fresh-token&" in form + "&"
            data = json.dumps({"active": ok, "username": "alice"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    http = HTTPServer(("127.0.0.1", 0), Introspect)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    extra = ("auth_mechanisms = plain login xoauth2 oauthbearer\n"
             "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {root}/oauth2.conf.ext\n}\n")
    ext = (f"introspection_mode = post\nintrospection_url = http://127.0.0.1:{http.server_port}/introspect\n"
           "username_attribute = username\nactive_attribute = active\nactive_value = true\n")
    try:
        with Dovecot({"alice": None}, extra=extra, files={"oauth2.conf.ext": ext}) as srv:
            token_cmd = tmp_path / "token"
            token_cmd.write_text("#!/bin/sh\necho fresh-token\n")
            token_cmd.chmod(0o700)
            base = ("--host", "127.0.0.1", "--port", str(srv.port), "--security", "plain")
            r = scan(*base, "--oauth2-command", str(token_cmd))
            assert r.returncode == 0, r.stderr
            assert "XOAUTH2" in (srv.root / "dovecot.log").read_text()
            r = scan(*base, "--oauth2-command", "echo stale-token")
            assert r.returncode == 2 and "login as alice refused" in r.stderr
        assert [a.split("&")[0] for a in asked] == ["token=fresh-token", "token=stale-token"]
    finally:
        http.shutdown()

"""Real Postfix, real filter, real Maildir: the after-queue content filter as a mail admin runs it.

Each run writes a private Postfix instance (``postfix -c DIR``: its own main.cf, master.cf,
queue and data directories, Maildirs, loopback ports) and never touches /etc/postfix.
Needs root (Postfix's master runs as root) and Debian's ``postfix`` package (see .ci/run).
"""
from __future__ import annotations

import email
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from email import policy as email_policy
from pathlib import Path

import pytest
from test_delivery import BROKEN_MULTIPART, PDF, attachment_of, html_of, make_message

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
MASTER_SERVICES = """\
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
local     unix  - n n -  - local
virtual   unix  - n n -  - virtual
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostfixInstance:
    """A private Postfix: smtpd on ``smtp_port`` -> content filter on ``filter_port`` -> re-injection
    smtpd on ``reinject_port`` -> virtual(8) delivery to Maildirs under ``maildir_base``."""

    RECIPIENTS = ("alice", "bob", "carol")

    def __init__(self, maxproc: int = 4) -> None:
        if os.geteuid() != 0:
            raise RuntimeError("the Postfix end-to-end tests need root (postfix start runs master as root)")
        if not shutil.which("postfix"):
            raise RuntimeError("postfix is not installed (apt-get install postfix; see .ci/run)")
        self.maxproc = maxproc
        # Short path: Postfix's unix sockets live under the queue directory (108-byte limit).
        self.dir = Path(tempfile.mkdtemp(prefix="tbpf-", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        self.conf, self.queue = self.dir / "etc", self.dir / "spool"
        self.data, self.maildir_base = self.dir / "data", self.dir / "mail"
        pw = pwd.getpwnam("postfix")
        for d in (self.conf, self.queue, self.data, self.maildir_base):
            d.mkdir()
        for d in (self.data, self.maildir_base):
            os.chown(d, pw.pw_uid, pw.pw_gid)
        self.smtp_port, self.filter_port, self.reinject_port = free_port(), free_port(), free_port()
        self.maillog = self.dir / "maillog"
        mailboxes = ", ".join(f"{r}@test.example={r}/" for r in self.RECIPIENTS)
        (self.conf / "main.cf").write_text(f"""\
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.data}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.test.example
mydomain = test.example
myorigin = test.example
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = {self.maillog}
maillog_file_prefixes = {self.dir}
alias_maps =
alias_database =
smtp_dns_support_level = disabled
virtual_mailbox_domains = test.example
virtual_mailbox_base = {self.maildir_base}
virtual_mailbox_maps = inline:{{ {mailboxes} }}
virtual_uid_maps = static:{pw.pw_uid}
virtual_gid_maps = static:{pw.pw_gid}
virtual_transport = virtual
# fast retries, so a deferred message comes back within the test
minimal_backoff_time = 1s
maximal_backoff_time = 2s
queue_run_delay = 1s
in_flow_delay = 0
""")
        self.write_master(reinject=True)
        try:
            self.postfix("check")
            self.postfix("start")
            self._wait_port(self.smtp_port)
            self._wait_port(self.reinject_port)
        except BaseException:
            self.cleanup()                                # never leave a half-started Postfix behind
            raise

    # ---------------------------------------------------------------- config
    def write_master(self, reinject: bool) -> None:
        """master.cf exactly as docs/mail-server.md gives it, on this instance's ports."""
        text = f"""\
127.0.0.1:{self.smtp_port} inet n - n - - smtpd
  -o content_filter=smtp-filter:[127.0.0.1]:{self.filter_port}
smtp-filter unix - - n - {self.maxproc} smtp
  -o smtp_send_xforward_command=yes
  -o disable_mime_output_conversion=yes
  -o smtp_generic_maps=
"""
        if reinject:
            text += f"""\
127.0.0.1:{self.reinject_port} inet n - n - {self.maxproc * 2} smtpd
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters
  -o smtpd_helo_restrictions=
  -o smtpd_client_restrictions=
  -o smtpd_sender_restrictions=
  -o smtpd_relay_restrictions=
  -o smtpd_recipient_restrictions=permit_mynetworks,reject
  -o mynetworks=127.0.0.0/8
  -o smtpd_authorized_xforward_hosts=127.0.0.0/8
"""
        (self.conf / "master.cf").write_text(text + MASTER_SERVICES)

    def postfix(self, *args: str) -> str:
        p = subprocess.run(["postfix", "-c", str(self.conf), *args], capture_output=True, text=True, timeout=30,
                           check=False)
        if p.returncode != 0:
            raise RuntimeError(f"postfix {' '.join(args)} failed ({p.returncode}): {p.stderr}\n{self.log()[-3000:]}")
        return p.stdout

    def reload(self) -> None:
        self.postfix("reload")
        time.sleep(0.5)

    def flush(self) -> None:
        subprocess.run(["postqueue", "-c", str(self.conf), "-f"], check=True, timeout=30)

    def queue_ids(self) -> list[str]:
        out = subprocess.run(["postqueue", "-c", str(self.conf), "-j"], capture_output=True, text=True,
                             timeout=30, check=False).stdout
        return re.findall(r'"queue_id":\s*"([0-9A-F]+)"', out)

    def log(self) -> str:
        return self.maillog.read_text(errors="replace") if self.maillog.exists() else ""

    def stop(self) -> None:
        subprocess.run(["postfix", "-c", str(self.conf), "stop"], capture_output=True, timeout=30, check=False)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def _wait_port(port: int, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")

    # ---------------------------------------------------------------- mail
    def send(self, raw: bytes, rcpts=("alice@test.example",), sender="news@shop.example",
             helo: str | None = None) -> None:
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30, local_hostname=helo) as s:
            s.sendmail(sender, list(rcpts), raw)

    def delivered(self) -> list[bytes]:
        """Every message delivered so far (Maildir new/ only: tmp/ holds partial writes)."""
        return [p.read_bytes() for p in sorted(self.maildir_base.glob("*/new/*"))]

    def wait_for(self, message_ids: set[str], timeout: float = 20) -> dict[str, list[bytes]]:
        """Message-ID -> delivered copies, once every id has arrived (or raise with the log)."""
        deadline = time.monotonic() + timeout
        while True:
            found: dict[str, list[bytes]] = {}
            for raw in self.delivered():
                mid = message_id(raw)
                if mid in message_ids:
                    found.setdefault(mid, []).append(raw)
            if set(found) >= message_ids or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        missing = message_ids - set(found)
        if missing:
            raise AssertionError(f"not delivered: {sorted(missing)[:5]} ({len(missing)})\n{self.log()[-4000:]}")
        return found


def message_id(raw: bytes) -> str | None:
    m = re.search(rb"^Message-I[dD]:\s*(<[^>\r\n]+>)", raw, re.MULTILINE | re.IGNORECASE)
    return m.group(1).decode() if m else None


class FilterProcess:
    """The real command line, ``python -m tracker_block.integrations.mailfilter.smtp_filter``, on the instance's ports."""

    def __init__(self, pf: PostfixInstance, *extra: str, log_name: str = "filter.log") -> None:
        self.log = pf.dir / log_name
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracker_block.integrations.mailfilter.smtp_filter", "--listen", f"127.0.0.1:{pf.filter_port}",
             "--next-hop", f"127.0.0.1:{pf.reinject_port}", "--log-file", str(self.log), *extra],
            start_new_session=True)
        PostfixInstance._wait_port(pf.filter_port, 30)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="module")
def pf():
    instance = PostfixInstance()
    try:
        yield instance
    finally:
        instance.cleanup()


@pytest.fixture()
def running_filter(pf):
    procs: list[FilterProcess] = []

    def start(*extra: str) -> FilterProcess:
        f = FilterProcess(pf, *extra, log_name=f"filter-{time.monotonic_ns()}.log")
        procs.append(f)
        return f
    yield start
    for f in procs:
        f.stop()


def _with_id(raw: bytes, mid: str) -> bytes:
    return re.sub(rb"^Message-I[dD]:[^\r\n]*", f"Message-ID: {mid}".encode(), raw, count=1,
                  flags=re.MULTILINE | re.IGNORECASE)


def _leaves(raw: bytes):
    msg = email.message_from_bytes(raw, policy=email_policy.default)
    return [p for p in msg.walk() if not p.is_multipart()]


# ---------------------------------------------------------------- the happy path

def test_postfix_log_ties_the_reinjected_message_to_the_original_client(pf, running_filter):
    """master.cf asks for XFORWARD on both sides: the re-injection listener must log the client and
    queue id the message first came in with, not only the filter's connection; so does the filter."""
    f = running_filter()
    pf.send(_with_id(make_message(to="alice@test.example"), "<e2e-xforward@test>"), helo="mx.sender.example")
    [out] = pf.wait_for({"<e2e-xforward@test>"})["<e2e-xforward@test>"]
    received = email.message_from_bytes(out, policy=email_policy.compat32).get_all("Received")
    first_hop = " ".join(received[-1].split())              # the oldest: Postfix's smtpd on the way in
    assert first_hop.startswith("from mx.sender.example (localhost [127.0.0.1])"), received
    first_id = re.search(r"with ESMTP id (\w+)", first_hop).group(1)
    logged = re.findall(r"smtpd\[\d+\]: (\w+): client=localhost\[127\.0\.0\.1\], orig_queue_id=(\w+), "
                        r"orig_client=localhost\[127\.0\.0\.1\]", pf.log())
    assert [orig for _, orig in logged] == [first_id], pf.log()[-3000:]
    assert f"with ESMTP id {logged[0][0]}" in " ".join(received[0].split())   # the re-injection's own id
    assert f"orig_queue_id={first_id} " in f.text()         # the filter's own log line joins them too



def test_postfix_delivers_cleaned_mail_with_attachments_and_headers_intact(pf, running_filter):
    running_filter()
    sent = {
        "<e2e-sale@shop.example>": _with_id(make_message(to="alice@test.example"), "<e2e-sale@shop.example>"),
        "<e2e-news@test>": _with_id((SAMPLES / "01-newsletter-mailchimp.eml").read_bytes(), "<e2e-news@test>"),
        "<e2e-ses@test>": _with_id((SAMPLES / "06-forwarded-ses.eml").read_bytes(), "<e2e-ses@test>"),
        "<e2e-plain@test>": _with_id((SAMPLES / "04-personal-no-trackers.eml").read_bytes(), "<e2e-plain@test>"),
    }
    for raw in sent.values():
        pf.send(raw, rcpts=("alice@test.example", "bob@test.example"))
    got = pf.wait_for(set(sent))
    for mid, copies in got.items():
        assert len(copies) == 2, mid                       # one per recipient, no more
        for out in copies:
            # Maildir stores LF line endings; everything else must be as sent
            original = email.message_from_bytes(sent[mid].replace(b"\r\n", b"\n"), policy=email_policy.compat32)
            delivered = email.message_from_bytes(out, policy=email_policy.compat32)
            assert delivered["X-Tracker-Block"].startswith(("0 trackers", "1 tracker", "5 trackers")) or \
                re.match(r"\d+ trackers? removed", delivered["X-Tracker-Block"])
            assert delivered["Received"] and "mx.test.example" in str(delivered.get_all("Received"))
            for name, value in original.items():                 # every original header survives
                if name.lower() == "return-path":                # Postfix replaces it on delivery
                    continue
                assert value in delivered.get_all(name, []), (mid, name)
            before, after = _leaves(sent[mid]), _leaves(out)
            assert [p.get_content_type() for p in before] == [p.get_content_type() for p in after]
            for a, b in zip(before, after):                      # attachments byte-identical
                if a.get_content_maintype() != "text":
                    assert a.get_payload(decode=True) == b.get_payload(decode=True), (mid, a.get_content_type())
    sale = got["<e2e-sale@shop.example>"][0]
    assert sale.split(b"\n", 3)[0].startswith(b"Return-Path:")
    assert "list-manage" not in html_of(sale) and attachment_of(sale) == PDF
    assert b"X-Tracker-Block: 1 tracker removed (Mailchimp)" in sale
    news = got["<e2e-news@test>"][0]
    assert b"track/open.php" not in news and b"X-Tracker-Block: 5 trackers removed (Mailchimp)" in news
    assert b"X-Tracker-Block: 0 trackers removed" in got["<e2e-plain@test>"][0]


def test_malformed_message_passes_through_unchanged_and_flagged(pf, running_filter):
    running_filter()
    sent = BROKEN_MULTIPART.replace(b"<broken@shop.example>", b"<e2e-malformed@test>")
    pf.send(sent)
    [out] = pf.wait_for({"<e2e-malformed@test>"})["<e2e-malformed@test>"]
    flag = " ".join(email.message_from_bytes(out, policy=email_policy.compat32)["X-Tracker-Block"].split())
    assert flag.startswith("error not cleaned:") and "boundary never appears" in flag, out[:600]
    # after our (folded) flag field: every byte as sent (Maildir stores LF)
    lines = out[out.index(b"X-Tracker-Block: "):].split(b"\n")
    i = 1
    while lines[i][:1] in (b" ", b"\t"):
        i += 1
    assert b"\n".join(lines[i:]).endswith(sent.replace(b"\r\n", b"\n"))
    assert b"list-manage.com" in out                          # unreadable, so untouched: flagged, not hidden


def test_dot_lines_8bit_body_and_utf8_envelope_arrive_byte_for_byte(pf, running_filter):
    """What the filter's own SMTP server must get right from Postfix: dot-stuffed lines (a line
    that is just "." included), an 8-bit body, an SMTPUTF8 sender, several messages per connection."""
    running_filter()
    body = "\r\n".join([".", "..", ".leading dot", "...three", "Grüße, Zoë", ".", "last ."]) + "\r\n"
    sent = {}
    for i in range(3):
        mid = f"<e2e-dots-{i}@test>"
        sent[mid] = (f"From: Zoë <zoë@exämple.org>\r\nTo: alice@test.example\r\nSubject: dots {i}\r\n"
                     f"Message-ID: {mid}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     f"Content-Transfer-Encoding: 8bit\r\n\r\n{body}").encode()
    with smtplib.SMTP("127.0.0.1", pf.smtp_port, timeout=30) as s:
        for raw in sent.values():
            s.sendmail("zoë@exämple.org", ["alice@test.example"], raw, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    got = pf.wait_for(set(sent))
    for mid, [out] in got.items():
        assert out.startswith("Return-Path: <zoë@exämple.org>\n".encode()), out[:200]
        assert out.endswith(body.replace("\r\n", "\n").encode())
        assert b"X-Tracker-Block: 0 trackers removed" in out


# ---------------------------------------------------------------- faults: nothing lost, nothing twice

def _wait_log(get_text, needle: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while needle not in get_text():
        if time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} never appeared:\n{get_text()[-3000:]}")
        time.sleep(0.05)


def test_filter_killed_mid_message_postfix_defers_then_delivers_once(pf, running_filter):
    f = running_filter("--debug-delay", "30")
    mid = "<e2e-killed@test>"
    pf.send(_with_id(make_message(to="carol@test.example"), mid), rcpts=("carol@test.example",))
    _wait_log(f.text, "holding message")                 # the filter has the message, Postfix has no 250
    f.kill()
    _wait_log(pf.log, "lost connection")                 # Postfix noticed, and keeps the message
    assert pf.queue_ids(), pf.log()[-2000:]
    assert message_id_count(pf, mid) == 0
    running_filter()                                     # back up, without the delay
    pf.flush()
    pf.wait_for({mid})
    time.sleep(1.5)                                      # a duplicate would arrive within a retry cycle
    assert message_id_count(pf, mid) == 1
    assert not pf.queue_ids()


def test_next_hop_down_filter_answers_451_postfix_defers_then_delivers_once(pf, running_filter):
    f = running_filter()
    mid = "<e2e-nexthop-down@test>"
    pf.write_master(reinject=False)                      # the re-injection smtpd goes away
    pf.reload()
    try:
        pf.send(_with_id(make_message(to="bob@test.example"), mid), rcpts=("bob@test.example",))
        _wait_log(f.text, "451 4.4.1 next hop")          # the filter refused to accept what it cannot pass on
        _wait_log(pf.log, "451 4.4.1")                   # ...and Postfix deferred it
        assert pf.queue_ids() and message_id_count(pf, mid) == 0
    finally:
        pf.write_master(reinject=True)
        pf.reload()
    PostfixInstance._wait_port(pf.reinject_port)
    pf.flush()
    pf.wait_for({mid})
    time.sleep(1.5)
    assert message_id_count(pf, mid) == 1 and not pf.queue_ids()


def message_id_count(pf: PostfixInstance, mid: str) -> int:
    return sum(1 for raw in pf.delivered() if message_id(raw) == mid)


# ---------------------------------------------------------------- load (small; the full run is a benchmark)

def send_many(pf: PostfixInstance, messages: list[tuple[str, bytes]], sessions: int = 8) -> None:
    """Send over ``sessions`` concurrent SMTP connections, several messages per connection."""
    chunks = [messages[i::sessions] for i in range(sessions)]
    errors: list[BaseException] = []

    def run(chunk: list[tuple[str, bytes]]) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", pf.smtp_port, timeout=60) as s:
                for i, (_, raw) in enumerate(chunk):
                    rcpt = f"{PostfixInstance.RECIPIENTS[i % 3]}@test.example"
                    s.sendmail("news@shop.example", [rcpt], raw)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def load_messages(n: int, tag: str) -> list[tuple[str, bytes]]:
    base = [make_message(to="alice@test.example"), (SAMPLES / "01-newsletter-mailchimp.eml").read_bytes(),
            (SAMPLES / "08-klaviyo-sendgrid.eml").read_bytes(), (SAMPLES / "04-personal-no-trackers.eml").read_bytes()]
    out = []
    for i in range(n):
        mid = f"<load-{tag}-{i}@test>"
        out.append((mid, _with_id(base[i % len(base)], mid)))
    return out


def test_100_messages_over_8_sessions_all_delivered_exactly_once(pf, running_filter):
    running_filter("--workers", "2")
    messages = load_messages(100, f"t{os.getpid()}")
    send_many(pf, messages)
    got = pf.wait_for({m for m, _ in messages}, timeout=60)
    assert all(len(c) == 1 for c in got.values())
    assert all(b"X-Tracker-Block: " in c[0] for c in got.values())
    assert not any(b"list-manage.com/track/open" in c[0] for c in got.values())

"""Delivery-time cleaning (filter_message, org policy, pipe mode): what a mail admin relies on."""
from __future__ import annotations

import email
import http.server
import json
import os
import subprocess
import sys
import threading
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import given, settings, strategies as st

from tracker_block.integrations.mailfilter import orgpolicy
from tracker_block.integrations.mailfilter.delivery import filter_message
from tracker_block.integrations.mailfilter.orgpolicy import OrgPolicy, PolicyError
from tracker_block.engine.signing import new_key_line

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
PIXEL = "https://acme.us21.list-manage.com/track/open.php?u=8c1f2b3a4d5e6f7a8b9c&id=3f4e5d6c7b&e=a1b2c3"
BANNER = "https://cdn.shop.example/img/banner.png"
PDF = bytes(range(256)) * 40


def make_message(sender: str = "news@shop.example", to: str = "alice@example.org") -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = "Autumn sale"
    msg["Message-ID"] = "<sale-1@shop.example>"
    msg.set_content("Our autumn sale starts now.\n")
    msg.add_alternative(
        f'<html><body><p>Sale!</p><img src="{BANNER}" width="600" height="200" alt="banner">'
        f'<img src="{PIXEL}" width="1" height="1"></body></html>', subtype="html")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="invoice.pdf")
    return msg.as_bytes(policy=email_policy.SMTP)


def html_of(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email_policy.default)
    return next(p.get_content() for p in msg.walk() if p.get_content_type() == "text/html")


def attachment_of(raw: bytes) -> bytes:
    msg = email.message_from_bytes(raw, policy=email_policy.default)
    return next(p.get_payload(decode=True) for p in msg.walk() if p.get_filename() == "invoice.pdf")


# ---------------------------------------------------------------- filter_message

def test_cleans_tracker_keeps_attachment_and_adds_summary_first():
    raw = make_message()
    res = filter_message(raw, OrgPolicy(), ["alice@example.org"], "bounce@shop.example")
    assert res.error is None and res.report is not None
    assert res.data.startswith(b"X-Tracker-Block: 1 tracker removed (Mailchimp)\r\n")
    assert "list-manage.com" not in html_of(res.data) and f' src="{BANNER}"' in html_of(res.data)
    assert attachment_of(res.data) == PDF
    out = email.message_from_bytes(res.data, policy=email_policy.default)
    assert (out["Subject"], out["Message-ID"], out["From"]) == ("Autumn sale", "<sale-1@shop.example>",
                                                                "news@shop.example")


def test_guessed_charset_is_a_note_in_the_report_not_a_problem_in_the_header():
    # An HTML part with no charset and bytes that are not UTF-8: the part is read as a guess
    # and cleaned; the report notes the guess, the summary header does not call it a problem.
    raw = (b"From: news@shop.example\r\nTo: alice@example.org\r\nSubject: Caf\xe9\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           b"<p>Caf\xe9 cr\xe8me br\xfbl\xe9e</p><img src=\"" + PIXEL.encode() + b"\" width=1 height=1>\r\n")
    res = filter_message(raw, OrgPolicy(), ["alice@example.org"], "")
    assert res.error is None and res.report is not None
    assert any("decoded as" in e for e in res.report.errors)
    assert res.data.startswith(b"X-Tracker-Block: 1 tracker removed (Mailchimp)\r\n")
    assert b"list-manage.com" not in res.data and "Café crème brûlée" in html_of(res.data)


def test_summary_header_can_be_turned_off():
    res = filter_message(make_message(), OrgPolicy(summary_header=False), [], "")
    assert b"X-Tracker-Block" not in res.data and b"list-manage.com" not in res.data


def test_forged_summary_from_the_sender_is_replaced():
    raw = make_message().replace(b"Subject:", b"X-Tracker-Block: 0 trackers removed,\r\n forged\r\nSubject:", 1)
    res = filter_message(raw, OrgPolicy(), [], "")
    assert res.data.count(b"X-Tracker-Block") == 1
    assert b"forged" not in res.data and res.data.startswith(b"X-Tracker-Block: 1 tracker removed")


@pytest.mark.parametrize("raw", [
    b"",
    b"\x00\x01\x02\xff binary, not mail",
    b"no header here\n\njust text\n",
    b"Subject: a\x00b\r\nFrom: x@y.example\r\n\r\nbody\r\n",
])
def test_unprocessable_input_passes_through_byte_identical_and_flagged(raw):
    res = filter_message(raw, OrgPolicy(), ["a@example.org"], "s@example.org")
    assert res.error and res.report is None
    head_len = res.data.index(raw) if raw else len(res.data)
    assert res.data[head_len:] == raw                       # the original follows, untouched
    assert res.data[:head_len].startswith(b"X-Tracker-Block: error ")
    assert b"\r\n" in res.data[:head_len] if b"\r\n" in raw else b"\r" not in res.data[:head_len]


BROKEN_MULTIPART = (b"From: news@shop.example\r\nTo: alice@test.example\r\nSubject: broken\r\n"
                    b"Message-ID: <broken@shop.example>\r\nDate: Mon, 04 Nov 2024 10:00:00 +0000\r\n"
                    b"MIME-Version: 1.0\r\n"
                    b'Content-Type: multipart/alternative; boundary="never-used"\r\n\r\n'
                    b'<html><img src="' + PIXEL.encode() + b'" width="1" height="1"></html>\r\n')


def test_unreadable_mime_structure_is_flagged_not_reported_clean():
    res = filter_message(BROKEN_MULTIPART, OrgPolicy(), [], "")
    assert res.error and "boundary never appears" in res.error
    first = res.data.split(b"\r\n", 1)[0]
    assert first.startswith(b"X-Tracker-Block: error not cleaned: ") and res.data.endswith(BROKEN_MULTIPART)


def test_error_header_goes_below_an_mbox_from_line():
    raw = b"From someone@example.org Mon Jan  1 00:00:00 2024\nSubject: \x00\n\nx\n"
    res = filter_message(raw, OrgPolicy(), [], "")
    lines = res.data.split(b"\n")
    assert lines[0].startswith(b"From someone@") and lines[1].startswith(b"X-Tracker-Block: error ")
    from_line = raw.split(b"\n", 1)[0] + b"\n"
    assert res.data.startswith(from_line) and res.data.endswith(raw[len(from_line):])


def test_broken_rule_file_is_a_flagged_pass_through_not_a_lost_message(tmp_path):
    bad = tmp_path / "rules.toml"
    bad.write_text("this is [not toml", encoding="utf-8")
    raw = make_message()
    res = filter_message(raw, OrgPolicy(extra_rules=(str(bad),)), [], "")
    assert res.error and res.data.endswith(raw) and res.data.startswith(b"X-Tracker-Block: error ")


def test_too_large_passes_through_flagged():
    raw = make_message()
    res = filter_message(raw, OrgPolicy(max_size=1000), [], "")
    assert res.data.endswith(raw) and b"too large" in res.data.split(b"\r\n", 1)[0]


# ---------------------------------------------------------------- organisation policy

ORG_TOML = """
mode = "trackers"
summary_header = true
allow_senders = ["friend@pals.example"]

[domains]
"strict.example" = "all"

[opt_out]
recipients = ["ceo@example.org", "@legal.example.org"]
senders = ["@lists.example.org"]
"""


@pytest.fixture()
def org(tmp_path) -> OrgPolicy:
    p = tmp_path / "org.toml"
    p.write_text(ORG_TOML, encoding="utf-8")
    return orgpolicy.load(p)


def test_mode_per_recipient_domain(org):
    strict = filter_message(make_message(), org, ["bob@strict.example"], "x@shop.example")
    normal = filter_message(make_message(), org, ["bob@example.org"], "x@shop.example")
    assert f' src="{BANNER}"' not in html_of(strict.data) and f' src="{BANNER}"' in html_of(normal.data)
    assert "list-manage" not in html_of(strict.data) + html_of(normal.data)


@pytest.mark.parametrize("rcpts,sender", [
    (["ceo@example.org"], "x@shop.example"),               # opted-out address
    (["Pat@Legal.Example.org"], "x@shop.example"),         # opted-out domain, any case
    (["bob@example.org"], "owner@lists.example.org"),      # opted-out envelope sender domain
])
def test_opt_out_delivers_untouched(org, rcpts, sender):
    raw = make_message()
    res = filter_message(raw, org, rcpts, sender)
    assert res.data == raw and res.report is None and res.error is None


def test_allowlisted_from_address_delivers_untouched(org):
    raw = make_message(sender="Friend <friend@pals.example>")
    assert filter_message(raw, org, ["bob@example.org"], "bounce@pals.example").data == raw


def test_mixed_recipients_get_the_strictest_mode_of_those_not_opted_out(org):
    res = filter_message(make_message(), org, ["ceo@example.org", "bob@example.org", "eve@strict.example"], "")
    assert f' src="{BANNER}"' not in html_of(res.data)
    assert filter_message(make_message(), org, ["ceo@example.org", "x@legal.example.org"], "").report is None


@pytest.mark.parametrize("text,needle", [
    ('moed = "all"', "unknown key 'moed'"),
    ('mode = "everything"', "mode must be one of"),
    ('[domains]\n"a.example" = "nope"', "a.example"),
    ('mode = "proxy"', "needs [proxy] url and key_file"),
    ('[opt_out]\nrecipients = "ceo@example.org"', "wrong type"),
])
def test_config_mistakes_are_reported_with_the_file_name(tmp_path, text, needle):
    p = tmp_path / "org.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        orgpolicy.load(p)
    assert str(p) in str(err.value) and needle in str(err.value)


# ---------------------------------------------------------------- prefetch through the proxy

class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self):
        type(self).seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"\x89PNG")

    def log_message(self, *a):
        pass


def test_prefetch_fetches_only_the_signed_images_never_the_tracker(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Recorder.seen = []
    try:
        keys = tmp_path / "proxy.keys"
        keys.write_text(new_key_line("k1"), encoding="utf-8")
        base = f"http://127.0.0.1:{server.server_address[1]}/p"
        (tmp_path / "org.toml").write_text(
            f'mode = "proxy"\n[proxy]\nurl = "{base}"\nkey_file = "proxy.keys"\nprefetch = true\n',
            encoding="utf-8")
        pol = orgpolicy.load(tmp_path / "org.toml")
        res = filter_message(make_message(), pol, ["bob@example.org"], "")
        assert res.prefetched == 1 and len(_Recorder.seen) == 1
        from tracker_block.engine.signing import KeyRing
        target = KeyRing.from_file(keys).verify(_Recorder.seen[0][len("/p"):])
        assert target == BANNER
        assert "list-manage" not in html_of(res.data) and base in html_of(res.data)
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- pipe mode (procmail, maildrop, fdm, Sieve)

def _pipe(args: list[str], data: bytes, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tracker_block.integrations.mailfilter.pipe_filter", *args], input=data,
                          capture_output=True, timeout=60, check=False, env={**os.environ, **(env or {})})


def test_pipe_cleans_stdin_to_stdout_with_json_report_on_stderr():
    p = _pipe([], make_message())
    assert p.returncode == 0
    assert p.stdout.startswith(b"X-Tracker-Block: 1 tracker removed (Mailchimp)")
    assert attachment_of(p.stdout) == PDF and b"list-manage" not in p.stdout
    doc = json.loads(p.stderr)
    assert doc["messages"][0]["companies"] == ["Mailchimp"] and doc["messages"][0]["status"] == "cleaned"


def test_pipe_procmail_mbox_input_keeps_from_line_and_logs_to_file(tmp_path):
    raw = b"From news@shop.example Mon Jan  1 00:00:00 2024\n" + make_message().replace(b"\r\n", b"\n")
    log = tmp_path / "tb.log"
    p = _pipe(["--log", str(log)], raw)
    assert p.returncode == 0 and p.stderr == b""
    assert p.stdout.startswith(b"From news@shop.example Mon Jan  1 00:00:00 2024\nX-Tracker-Block: 1 tracker")
    assert b"\r\n" not in p.stdout                          # the message's own line endings
    assert json.loads(log.read_text().splitlines()[0])["messages"][0]["message_id"] == "<sale-1@shop.example>"


def test_pipe_uses_recipient_from_environment_for_opt_out(tmp_path):
    (tmp_path / "org.toml").write_text(ORG_TOML, encoding="utf-8")
    raw = make_message()
    p = _pipe(["--config", str(tmp_path / "org.toml")], raw, env={"RECIPIENT": "ceo@example.org"})
    assert p.returncode == 0 and p.stdout == raw


def test_pipe_not_mail_passes_through_flagged_with_exit_0():
    p = _pipe([], b"\x00\x01garbage")
    assert p.returncode == 0 and p.stdout.startswith(b"X-Tracker-Block: error ")
    assert p.stdout.endswith(b"\x00\x01garbage") and json.loads(p.stderr)["error"]


def test_pipe_bad_config_exits_75_so_the_tool_keeps_the_original(tmp_path):
    raw = make_message()
    p = _pipe(["--config", str(tmp_path / "missing.toml")], raw)
    assert p.returncode == 75 and p.stdout.endswith(raw) and b"config file not found" in p.stderr


def _console(args: list[str], data: bytes, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    """``tracker-block pipe`` through the console script's own function (``cli.main.console``)."""
    return subprocess.run([sys.executable, "-m", "tracker_block.cli.main", "pipe", *args], input=data, stdout=stdout,
                          stderr=subprocess.PIPE, timeout=60, check=False)


@pytest.mark.parametrize("case", ["newsletter", "log", "garbage", "bad-config", "stdout-full"])
def test_pipe_leaving_without_teardown_writes_and_exits_as_before(case, tmp_path):
    # The console script ends ``pipe`` with os._exit once its streams are flushed (the interpreter's
    # teardown was a ninth of its CPU time): every byte, report line and exit status must be as with
    # the ordinary exit, including when stdout cannot be written.
    raw = {"garbage": b"\x00\x01garbage"}.get(case, make_message())
    args = {"log": ["--log", str(tmp_path / "tb.log")],
            "bad-config": ["--config", str(tmp_path / "missing.toml")]}.get(case, [])
    if case == "stdout-full":
        with open("/dev/full", "wb") as full:
            fast, ordinary = _console(args, raw, stdout=full), _pipe_to(args, raw, full)
        assert fast.returncode == ordinary.returncode != 0 and fast.stderr == ordinary.stderr
        return
    ordinary = _pipe(args, raw)
    log = (tmp_path / "tb.log").read_bytes() if case == "log" else b""
    fast = _console(args, raw)
    assert (fast.returncode, fast.stdout, fast.stderr) == (ordinary.returncode, ordinary.stdout, ordinary.stderr)
    if case == "log":
        assert (tmp_path / "tb.log").read_bytes() == log * 2 and log.count(b"\n") == 1
    assert fast.stdout and fast.returncode == (75 if case == "bad-config" else 0)


def _pipe_to(args: list[str], data: bytes, stdout) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tracker_block.integrations.mailfilter.pipe_filter", *args],
                          input=data, stdout=stdout, stderr=subprocess.PIPE, timeout=60, check=False)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(alphabet=st.sampled_from(list(" aZ09,()=?-.")), min_size=55, max_size=70),
                 st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x17f), max_size=90)),
       st.sampled_from([b"\r\n", b"\n"]))
def test_summary_field_is_folded_as_the_stdlib_folds_it(value: str, linesep: bytes) -> None:
    # A printable ASCII summary that fits one line skips email.header.Header; every other value is
    # folded (and RFC 2047-encoded) by it. Both give the bytes Header gives.
    from email.header import Header
    from tracker_block.integrations.mailfilter import delivery
    try:
        want = Header(value, header_name=delivery.HEADER, maxlinelen=78).encode(linesep=linesep.decode())
    except Exception as exc:   # noqa: BLE001 - a value Header refuses is refused the same way
        with pytest.raises(type(exc)):
            delivery._field(value, linesep)
        return
    assert delivery._field(value, linesep) == f"{delivery.HEADER}: {want}".encode("ascii") + linesep

"""The SMTP content filter as a running process, between a real SMTP client and a real next hop.

The next hop is an aiosmtpd server in this test process whose answers each test chooses, so the
filter's contract can be checked exactly: 250 only after the next hop took the message, 4xx
(Postfix keeps it queued) whenever it did not.
"""
from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from hypothesis import given
from hypothesis import strategies as st
from test_delivery import PDF, attachment_of, html_of, make_message

from tracker_block.integrations.mailfilter.smtp_filter import _stuffed
from tracker_block.integrations.mailfilter.smtp_server import unstuff


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NextHop:
    """A real SMTP server; ``answer`` picks the DATA reply, ``refuse`` maps recipients to replies."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], list[str], bytes, float]] = []
        self.answer = "250 2.0.0 Ok: queued as NEXT1"
        self.refuse: dict[str, str] = {}
        self.delay = 0.0
        self.peers: list[tuple[str, int]] = []      # the filter's end of each DATA's connection
        self.pipelining = False
        self.quits = 0
        self.xforwards: list[str] = []       # the XFORWARD commands' arguments, as received
        self.xforward_answer = "250 2.0.0 Ok"
        self.port = free_port()
        self.controller = _XforwardController(self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:                  # as Postfix's smtpd: the filter then sends MAIL..DATA at once
            responses.insert(-1, "250-PIPELINING")
        responses.insert(-1, "250-XFORWARD NAME ADDR HELO")   # a subset: the others must not be sent
        return responses

    async def handle_QUIT(self, server, session, envelope):
        self.quits += 1
        return "221 Bye"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import asyncio
        await asyncio.sleep(self.delay)
        self.peers.append(session.peer)
        if self.answer.startswith("250"):
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), list(envelope.mail_options),
                                  envelope.content, time.monotonic()))
        return self.answer


class _XforwardSMTP(SMTP):
    """aiosmtpd's server plus the XFORWARD command, as Postfix's smtpd offers it to a filter."""

    async def smtp_XFORWARD(self, arg: str) -> None:
        self.event_handler.xforwards.append(arg)
        await self.push(self.event_handler.xforward_answer)


class _XforwardController(Controller):
    def factory(self):
        return _XforwardSMTP(self.handler, **self.SMTP_kwargs)


@pytest.fixture(params=["lockstep", "pipelining"])
def next_hop(request):
    hop = NextHop()
    hop.pipelining = request.param == "pipelining"
    hop.controller.start()
    yield hop
    hop.controller.stop()


class Filter:
    """``python -m tracker_block.integrations.mailfilter.smtp_filter`` as a subprocess, stopped (and reaped) on exit."""

    def __init__(self, next_port: int, log: Path, *extra: str) -> None:
        self.port = free_port()
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracker_block.integrations.mailfilter.smtp_filter", "--listen", f"127.0.0.1:{self.port}",
             "--next-hop", f"127.0.0.1:{next_port}", "--log-file", str(log), "--timeout", "10", *extra],
            start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"filter exited: {self.proc.returncode}\n{self.log_text()}")
            if self.log_text().count("listening on") >= (2 if "--workers" in extra else 1):
                return
            time.sleep(0.05)
        raise RuntimeError("filter did not start\n" + self.log_text())

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(5)


@pytest.fixture()
def start_filter(tmp_path, next_hop):
    started: list[Filter] = []

    def start(*extra: str, hop: int | None = None) -> Filter:
        f = Filter(hop or next_hop.port, tmp_path / f"filter{len(started)}.log", *extra)
        started.append(f)
        return f
    yield start
    for f in started:
        f.stop()


def send(port: int, raw: bytes, rcpts=("alice@example.org",), sender="bounce@shop.example", **kw):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        return s.sendmail(sender, list(rcpts), raw, **kw)


def test_cleaned_message_reaches_next_hop_with_same_envelope(start_filter, next_hop):
    f = start_filter()
    send(f.port, make_message(), rcpts=("alice@example.org", "bob@example.org"), mail_options=["BODY=8BITMIME"])
    [(sender, rcpts, options, data, _)] = next_hop.received
    assert (sender, rcpts) == ("bounce@shop.example", ["alice@example.org", "bob@example.org"])
    assert "BODY=8BITMIME" in options
    assert data.startswith(b"X-Tracker-Block: 1 tracker removed (Mailchimp)\r\n")
    assert "list-manage" not in html_of(data) and attachment_of(data) == PDF
    assert "trackers=1" in f.log_text()


ORIGINAL_CLIENT = ("NAME=mx.sender.example ADDR=192.0.2.7 PORT=4711 PROTO=ESMTP HELO=mx+2Bsender.example "
                   "IDENT=4XyZ1 SOURCE=REMOTE")


def test_original_client_is_handed_on_with_xforward_for_that_message_only(start_filter, next_hop):
    """Postfix tells the filter who really sent the mail; the next hop must hear it too (only the
    attributes it announces, values as received), and only for the message they describe."""
    f = start_filter()
    with smtplib.SMTP("127.0.0.1", f.port, timeout=30) as s:
        s.ehlo()
        assert "NAME ADDR PORT PROTO HELO IDENT SOURCE" in s.esmtp_features["xforward"]
        assert s.docmd("XFORWARD", ORIGINAL_CLIENT)[0] == 250
        s.sendmail("bounce@shop.example", ["alice@example.org"], make_message())
        s.sendmail("bounce@shop.example", ["bob@example.org"], make_message())
    assert len(next_hop.received) == 2
    assert next_hop.xforwards == ["NAME=mx.sender.example ADDR=192.0.2.7 HELO=mx+2Bsender.example"]


def test_refused_xforward_still_delivers_and_says_so(start_filter, next_hop):
    next_hop.xforward_answer = "550 5.7.0 Error: insufficient authorization"
    f = start_filter()
    with smtplib.SMTP("127.0.0.1", f.port, timeout=30) as s:
        s.ehlo()
        s.docmd("XFORWARD", ORIGINAL_CLIENT)
        s.sendmail("bounce@shop.example", ["alice@example.org"], make_message())
    assert len(next_hop.received) == 1 and len(next_hop.xforwards) == 1
    assert "next hop refused XFORWARD (550" in f.log_text()


def test_smtputf8_envelope_and_8bit_body_are_passed_on(start_filter, next_hop):
    f = start_filter()
    raw = ("From: Zoë <zoë@exämple.org>\r\nTo: jürgen@exämple.org\r\nSubject: Grüße\r\n"
           "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
           "Schöne Grüße\r\n").encode()
    send(f.port, raw, rcpts=("jürgen@exämple.org",), sender="zoë@exämple.org",
         mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    [(sender, rcpts, options, data, _)] = next_hop.received
    assert (sender, rcpts) == ("zoë@exämple.org", ["jürgen@exämple.org"])
    assert "SMTPUTF8" in options and "BODY=8BITMIME" in options
    assert data.endswith("Schöne Grüße\r\n".encode())


def test_next_hop_connection_is_kept_and_opened_anew_once_closed(start_filter, next_hop):
    f = start_filter("--threads", "1")
    for i in range(3):
        send(f.port, make_message().replace(b"<sale-1@", f"<kept-{i}@".encode()))
    assert len(next_hop.received) == 3 and len(set(next_hop.peers)) == 1     # one connection for all three
    next_hop.controller.stop()                   # the next hop restarts: the kept connection is gone
    next_hop.controller = Controller(next_hop, hostname="127.0.0.1", port=next_hop.port, enable_SMTPUTF8=True)
    next_hop.controller.start()
    assert send(f.port, make_message().replace(b"<sale-1@", b"<after-restart@")) == {}
    assert len(next_hop.received) == 4 and next_hop.peers[3] != next_hop.peers[0]
    assert b"<after-restart@" in next_hop.received[3][3] and "unavailable" not in f.log_text()


def test_kept_connection_is_quit_when_the_filter_stops(start_filter, next_hop):
    f = start_filter("--threads", "1")
    send(f.port, make_message())
    assert next_hop.quits == 0                   # kept open for the next message
    assert f.stop() == 0
    deadline = time.monotonic() + 5
    while next_hop.quits == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert next_hop.quits == 1


def test_refused_transaction_is_not_left_on_a_kept_connection(start_filter, next_hop):
    next_hop.refuse = {"ghost@example.org": "550 5.1.1 No such user"}
    f = start_filter("--threads", "1")
    with pytest.raises(smtplib.SMTPDataError):
        send(f.port, make_message(), rcpts=("ghost@example.org",))
    send(f.port, make_message(), rcpts=("alice@example.org",))
    [(_, rcpts, _, _, _)] = next_hop.received
    assert rcpts == ["alice@example.org"]


def test_250_only_after_the_next_hop_accepted(start_filter, next_hop):
    next_hop.delay = 0.8
    f = start_filter()
    send(f.port, make_message())
    answered = time.monotonic()
    assert next_hop.received and next_hop.received[0][4] <= answered


def test_next_hop_down_answers_451_and_keeps_nothing(start_filter, next_hop):
    f = start_filter(hop=free_port())           # nothing listens there
    with pytest.raises(smtplib.SMTPDataError) as err:
        send(f.port, make_message())
    assert err.value.smtp_code == 451 and b"next hop" in err.value.smtp_error


def test_next_hop_temporary_failure_on_data_is_451(start_filter, next_hop):
    next_hop.answer = "452 4.3.1 Insufficient system storage"
    f = start_filter()
    with pytest.raises(smtplib.SMTPDataError) as err:
        send(f.port, make_message())
    assert err.value.smtp_code == 451


def test_permanent_refusal_of_all_recipients_is_passed_on(start_filter, next_hop):
    next_hop.refuse = {"ghost@example.org": "550 5.1.1 No such user"}
    f = start_filter()
    with pytest.raises(smtplib.SMTPDataError) as err:
        send(f.port, make_message(), rcpts=("ghost@example.org",))
    assert err.value.smtp_code == 550


def test_partly_refused_recipients_mean_retry_not_a_partial_delivery(start_filter, next_hop):
    next_hop.refuse = {"ghost@example.org": "550 5.1.1 No such user"}
    f = start_filter()
    t0 = time.monotonic()
    with pytest.raises(smtplib.SMTPDataError) as err:
        send(f.port, make_message(), rcpts=("alice@example.org", "ghost@example.org"))
    assert err.value.smtp_code == 451 and next_hop.received == []
    # Pipelined, the next hop already said 354: the filter hangs up at once (--timeout is 10 s)
    assert time.monotonic() - t0 < 5


def test_unprocessable_message_is_passed_on_flagged(start_filter, next_hop):
    f = start_filter()
    raw = b"Subject: broken\x00header\r\nFrom: x@shop.example\r\n\r\nbody\r\n"
    send(f.port, raw)
    [(_, _, _, data, _)] = next_hop.received
    assert data.startswith(b"X-Tracker-Block: error ") and data.endswith(raw)


def test_org_policy_opt_out_recipient_is_untouched(tmp_path, start_filter, next_hop):
    cfg = tmp_path / "org.toml"
    cfg.write_text('[opt_out]\nrecipients = ["ceo@example.org"]\n', encoding="utf-8")
    f = start_filter("--config", str(cfg))
    raw = make_message()
    send(f.port, raw, rcpts=("ceo@example.org",))
    assert next_hop.received[0][3] == raw


def test_bad_config_refuses_to_start(tmp_path):
    cfg = tmp_path / "org.toml"
    cfg.write_text('mode = "sometimes"\n', encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "tracker_block.integrations.mailfilter.smtp_filter", "--config", str(cfg),
                        "--listen", f"127.0.0.1:{free_port()}"], capture_output=True, text=True, timeout=60, check=False)
    assert p.returncode == 2 and "mode must be one of" in p.stderr


def test_two_workers_share_the_port_and_sessions_run_in_parallel(start_filter, next_hop):
    f = start_filter("--workers", "2", "--debug-delay", "1.0")
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            send(f.port, make_message().replace(b"<sale-1@", f"<sale-{i}@".encode()))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
    t0 = time.monotonic()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    assert not errors and len(next_hop.received) == 4
    ids = sorted(message_from_bytes(r[3], policy=email_policy.default)["Message-ID"] for r in next_hop.received)
    assert ids == [f"<sale-{i}@shop.example>" for i in range(4)]
    assert elapsed < 3.5      # the 1-second holds overlapped, not 4 s in a row


def test_sigterm_lets_the_message_in_flight_finish(start_filter, next_hop):
    f = start_filter("--debug-delay", "1.0")
    result: list = []
    t = threading.Thread(target=lambda: result.append(send(f.port, make_message())))
    t.start()
    deadline = time.monotonic() + 10
    while "holding message" not in f.log_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert f.stop() == 0
    t.join(10)
    assert result == [{}] and len(next_hop.received) == 1


@given(st.lists(st.sampled_from([b"", b".", b"..", b".x", b"x.", b"x", b"\r", b". ", b"\xc3\xa9"]), max_size=12))
def test_stuffed_data_is_what_the_receiver_unstuffs_back(lines):
    """The re-injected DATA ends at its own CRLF.CRLF only, and unstuffs to the message (CRLF lines)."""
    data = b"\r\n".join(lines)
    sent = _stuffed(data)
    assert (b"\r\n" + sent).find(b"\r\n.\r\n") == len(sent) - 3
    whole = data if data.endswith(b"\r\n") else data + b"\r\n"
    assert unstuff(b"\r\n" + sent[:-3])[2:] == whole


def test_stuffing_after_a_bare_lf_as_smtplib_does():
    assert _stuffed(b"a\n.b\r\n") == b"a\n..b\r\n.\r\n"

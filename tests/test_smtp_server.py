"""The filter's own SMTP server (smtp_server.py) over a real socket, byte by byte where it matters.

The handler here records each envelope and answers what the test chooses; the real filter
behind real Postfix is in test_postfix_e2e.py.
"""
from __future__ import annotations

import asyncio
import smtplib
import socket
import threading
import time

import pytest

from tracker_block.integrations.mailfilter.smtp_server import Envelope, SMTPProtocol, start_server, unstuff


class Server:
    """start_server on a loopback port, its event loop in a thread."""

    def __init__(self, size_limit: int | None = None, idle_timeout: float = 300.0) -> None:
        self.received: list[Envelope] = []
        self.answer = "250 2.0.0 Ok: queued"
        self.delay = 0.0
        self.fail: BaseException | None = None
        self.loop = asyncio.new_event_loop()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            start_server(self.handle, "filter.test", self.sock, size_limit, idle_timeout), self.loop).result(5)

    async def handle(self, envelope: Envelope) -> str:
        await asyncio.sleep(self.delay)
        if self.fail:
            raise self.fail
        self.received.append(envelope)
        return self.answer

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture()
def server():
    s = Server()
    yield s
    s.stop()


class Raw:
    """A client that writes exactly the bytes given and reads reply lines."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")
        assert self.reply().startswith("220 ")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> str:
        """One whole reply (the last line of a multi-line one, after the others)."""
        lines = []
        while True:
            line = self.file.readline().decode()
            if not line:
                return "".join(lines) + "<closed>"
            lines.append(line)
            if line[3:4] != "-":
                return "".join(lines).rstrip("\r\n")

    def start_data(self) -> None:
        """EHLO, MAIL, RCPT, DATA: ready for the message."""
        self.send(b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n")
        replies = [self.reply() for _ in range(4)]
        assert [r[:3] for r in replies] == ["250", "250", "250", "354"], replies

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def test_unstuff_drops_one_leading_dot_per_line():
    assert unstuff(b"\r\n..a\r\n.b\r\nc.\r\n...\r\n") == b"\r\n.a\r\nb\r\nc.\r\n..\r\n"
    assert unstuff(b"\r\nplain\r\n") == b"\r\nplain\r\n"


def test_dot_lines_survive_smtplib_stuffing_byte_for_byte(server):
    body = (b"Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\n..double\r\nmid.dle\r\n.\r\n"
            b"trailing .\r\n\r\n.")
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as s:
        s.sendmail("a@shop.example", ["b@example.org"], body)
    assert server.received[0].content == body + b"\r\n"      # smtplib ends the last line


def test_envelope_options_and_several_messages_on_one_connection(server):
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as s:
        code, ehlo = s.ehlo("client.test")
        assert code == 250 and {b"PIPELINING", b"8BITMIME", b"SMTPUTF8", b"SIZE"} <= set(ehlo.split(b"\n")[1:])
        s.sendmail("a@shop.example", ["b@example.org", "c@example.org"], b"Subject: 1\r\n\r\none\r\n",
                   mail_options=["BODY=8BITMIME"])
        s.sendmail("", ["d@example.org"], b"Subject: 2\r\n\r\ntwo\r\n")
        s.sendmail("zoë@exämple.org", ["jürgen@exämple.org"], "Subject: 3\r\n\r\nGrüße\r\n".encode(),
                   mail_options=["SMTPUTF8"])
    first, bounce, utf8 = server.received
    assert (first.mail_from, first.rcpt_tos, first.mail_options) == \
        ("a@shop.example", ["b@example.org", "c@example.org"], ["size=19", "BODY=8BITMIME"])  # smtplib adds size=
    assert not first.smtp_utf8 and first.content == b"Subject: 1\r\n\r\none\r\n"
    assert (bounce.mail_from, bounce.rcpt_tos) == ("", ["d@example.org"])
    assert utf8.smtp_utf8 and (utf8.mail_from, utf8.rcpt_tos) == ("zoë@exämple.org", ["jürgen@exämple.org"])
    assert utf8.content == "Subject: 3\r\n\r\nGrüße\r\n".encode()


def test_pipelined_commands_wait_for_the_message_reply(server):
    server.delay = 0.3
    server.answer = "250 2.0.0 Ok: done"
    c = Raw(server.port)
    c.send(b"EHLO postfix.test\r\nMAIL FROM:<a@shop.example> SIZE=20\r\nRCPT TO:<b@example.org>\r\n"
           b"RCPT TO:<c@example.org>\r\nDATA\r\n")
    assert "250-PIPELINING" in c.reply()
    assert [c.reply()[:3] for _ in range(4)] == ["250", "250", "250", "354"]
    t0 = time.monotonic()
    c.send(b"Subject: x\r\n\r\nhi\r\n.\r\nMAIL FROM:<e@shop.example>\r\nRCPT TO:<f@example.org>\r\nDATA\r\n")
    assert c.reply() == "250 2.0.0 Ok: done" and time.monotonic() - t0 >= 0.25
    assert [c.reply()[:3] for _ in range(3)] == ["250", "250", "354"]
    c.send(b".\r\nQUIT\r\n")                             # an empty message, then QUIT behind it
    assert c.reply() == "250 2.0.0 Ok: done"
    assert c.reply().startswith("221 ") and c.reply() == "<closed>"
    assert [e.content for e in server.received] == [b"Subject: x\r\n\r\nhi\r\n", b""]
    assert server.received[1].rcpt_tos == ["f@example.org"]


def test_data_arriving_a_byte_at_a_time(server):
    c = Raw(server.port)
    c.start_data()
    data = b"A: b\r\n\r\n..x\r\n.\r\n"
    for i in range(len(data)):
        c.sock.sendall(data[i:i + 1])
        time.sleep(0.002)
    assert c.reply().startswith("250 ")
    assert server.received[0].content == b"A: b\r\n\r\n.x\r\n"
    c.close()


def test_bare_lf_dot_is_not_the_end_of_data(server):
    c = Raw(server.port)
    c.start_data()
    c.send(b"A: b\r\n\r\nx\n.\nstill\r\n.\r\n")
    assert c.reply().startswith("250 ")
    assert server.received[0].content == b"A: b\r\n\r\nx\n.\nstill\r\n"
    c.close()


@pytest.mark.parametrize("commands, expected", [
    (b"MAIL FROM:<a@b.example>\r\n", "503"),                         # before EHLO
    (b"EHLO x\r\nRCPT TO:<a@b.example>\r\n", "503"),                 # before MAIL
    (b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nDATA\r\n", "503"),       # no recipient
    (b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nMAIL FROM:<c@b.example>\r\n", "503"),
    (b"EHLO x\r\nMAIL FROM:a@b.example\r\n", "501"),
    (b"EHLO x\r\nMAIL FROM:<a@b.example> RET=HDRS\r\n", "555"),       # DSN is not offered
    (b"EHLO x\r\nMAIL FROM:<a@b.example> BODY=BINARYMIME\r\n", "555"),
    (b"HELO x\r\nMAIL FROM:<a@b.example> BODY=8BITMIME\r\n", "555"),  # parameters need EHLO
    (b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example> NOTIFY=NEVER\r\n", "555"),
    (b"EHLO x\r\nMAIL FROM:<z\xc3\xab@b.example>\r\n", "553"),        # non-ASCII without SMTPUTF8
    (b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<>\r\n", "501"),
    (b"EHLO x\r\nDATA extra\r\n", "501"),
    (b"EHLO x\r\nTURN\r\n", "500"),
    (b"EHLO\r\n", "501"),
    (b"EHLO x\r\nVRFY bob\r\n", "252"),
    (b"EHLO x\r\nNOOP\r\n", "250"),
])
def test_command_errors(server, commands, expected):
    c = Raw(server.port)
    c.send(commands)
    replies = [c.reply() for _ in range(commands.count(b"\r\n"))]
    assert replies[-1][:3] == expected, replies
    c.send(b"QUIT\r\n")
    assert c.reply().startswith("221")
    c.close()
    assert server.received == []


def test_xforward_is_offered_and_describes_the_next_transaction_only(server):
    c = Raw(server.port)
    c.send(b"EHLO x\r\n")
    assert c.reply().endswith("250 XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE")
    # Postfix splits the attributes over commands and pipelines them with the transaction
    c.send(b"XFORWARD NAME=mx.sender.example ADDR=192.0.2.7 PORT=4711\r\n"
           b"xforward helo=mx+2Bsender.example SOURCE=REMOTE IDENT=[UNAVAILABLE]\r\n"
           b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n")
    assert [c.reply()[:3] for _ in range(5)] == ["250", "250", "250", "250", "354"]
    c.send(b"one\r\n.\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\ntwo\r\n.\r\n")
    assert [c.reply()[:3] for _ in range(4)] == ["250", "250", "250", "354"] and c.reply()[:3] == "250"
    first, second = server.received
    assert first.xforward == {"NAME": "mx.sender.example", "ADDR": "192.0.2.7", "PORT": "4711",
                              "HELO": "mx+2Bsender.example", "SOURCE": "REMOTE", "IDENT": "[UNAVAILABLE]"}
    assert second.xforward == {}
    c.close()


@pytest.mark.parametrize("commands, expected", [
    (b"HELO x\r\nXFORWARD NAME=a.example\r\n", "503"),                  # an EHLO extension
    (b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nXFORWARD NAME=a.example\r\n", "503"),   # mid-transaction
    (b"EHLO x\r\nXFORWARD\r\n", "501"),
    (b"EHLO x\r\nXFORWARD COLOR=blue\r\n", "501"),
    (b"EHLO x\r\nXFORWARD NAME\r\n", "501"),
    (b"EHLO x\r\nXFORWARD NAME=a=b\r\n", "501"),                          # not xtext
])
def test_xforward_errors(server, commands, expected):
    c = Raw(server.port)
    c.send(commands)
    replies = [c.reply() for _ in range(commands.count(b"\r\n"))]
    assert replies[-1][:3] == expected, replies
    c.close()


def test_rset_and_ehlo_forget_xforward(server):
    c = Raw(server.port)
    for reset in (b"RSET", b"EHLO y"):
        c.send(b"EHLO x\r\nXFORWARD NAME=a.example\r\n" + reset + b"\r\nMAIL FROM:<a@b.example>\r\n"
               b"RCPT TO:<c@d.example>\r\nDATA\r\nm\r\n.\r\n")
        assert [c.reply()[:3] for _ in range(7)] == ["250"] * 5 + ["354", "250"]
    assert [e.xforward for e in server.received] == [{}, {}]
    c.close()


def test_rset_forgets_the_transaction(server):
    c = Raw(server.port)
    c.send(b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRSET\r\nDATA\r\n")
    assert [c.reply()[:3] for _ in range(5)] == ["250", "250", "250", "250", "503"]
    c.close()


def test_too_long_command_line_is_refused_and_closed(server):
    c = Raw(server.port)
    c.send(b"EHLO " + b"x" * 5000 + b"\r\n")
    assert c.reply().startswith("500 ") and c.reply() == "<closed>"


def test_long_data_lines_are_kept(server):
    body = b"Subject: long\r\n\r\n" + b"y" * 5000 + b"\r\n"
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as s:
        s.sendmail("a@b.example", ["c@d.example"], body)
    assert server.received[0].content == body


def test_size_limit_refuses_at_mail_and_after_data_and_the_connection_goes_on():
    server = Server(size_limit=1000)
    try:
        c = Raw(server.port)
        c.send(b"EHLO x\r\n")
        assert "250-SIZE 1000" in c.reply()
        c.send(b"MAIL FROM:<a@b.example> SIZE=1001\r\n")
        assert c.reply().startswith("552 ")
        c.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n")
        assert [c.reply()[:3] for _ in range(3)] == ["250", "250", "354"]
        for _ in range(10):
            c.send(b"z" * 998 + b"\r\n")
        c.send(b".\r\n")
        assert c.reply().startswith("552 ")
        c.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nsmall\r\n.\r\n")
        assert [c.reply()[:3] for _ in range(4)] == ["250", "250", "354", "250"]
        assert [e.content for e in server.received] == [b"small\r\n"]
        c.close()
    finally:
        server.stop()


def test_handler_failure_is_451(server):
    server.fail = RuntimeError("boom")
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as s:
        with pytest.raises(smtplib.SMTPDataError) as err:
            s.sendmail("a@b.example", ["c@d.example"], b"x\r\n")
    assert err.value.smtp_code == 451


def test_connection_lost_mid_data_hands_nothing_on(server):
    c = Raw(server.port)
    c.start_data()
    c.send(b"Subject: half\r\n\r\npart of it\r\n")
    c.close()
    time.sleep(0.3)
    assert server.received == []


def test_idle_client_is_told_and_disconnected():
    server = Server(idle_timeout=0.3)
    try:
        c = Raw(server.port)
        c.send(b"EHLO x\r\n")
        c.reply()
        assert c.reply().startswith("421 ") and c.reply() == "<closed>"
    finally:
        server.stop()


class RecordingTransport(asyncio.Transport):
    """Records each write: the unit here is the segment a pipelining client receives."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


def test_replies_to_a_pipelined_group_are_one_write():
    """Written one by one, Postfix waited out a delayed ACK before sending the message (~40 ms)."""
    async def run() -> list[bytes]:
        async def handler(envelope: Envelope) -> str:
            return "250 2.0.0 Ok: queued"
        proto = SMTPProtocol(handler, "filter.test")
        transport = RecordingTransport()
        proto.connection_made(transport)
        proto.data_received(b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
                            b"RCPT TO:<e@d.example>\r\nDATA\r\n")
        proto.data_received(b"hi\r\n.\r\nRSET\r\nQUIT\r\n")
        for _ in range(5):
            await asyncio.sleep(0)
        return transport.writes
    greeting, group, rest = asyncio.run(run())
    assert greeting.startswith(b"220 ")
    assert [line[:3] for line in group.split(b"\r\n")[:-1]][-4:] == [b"250", b"250", b"250", b"354"]
    assert rest == b"250 2.0.0 Ok: queued\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n"   # message, RSET, QUIT

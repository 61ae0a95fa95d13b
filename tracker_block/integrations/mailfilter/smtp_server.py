"""The receiving side of the content filter: a small asyncio SMTP server (RFC 5321) for Postfix.

Why not aiosmtpd: it reads DATA one line at a time through a StreamReader whose buffer pauses the
socket every 2 KB, and writes each reply on its own. Here the socket's bytes go into one buffer,
the end of DATA is one ``find`` for ``CRLF.CRLF``, dot-unstuffing is one ``replace``, and the
replies to a pipelined group leave in one write (one by one, Postfix sent each message ~40 ms
late, waiting out a delayed ACK). With the re-injection changes in smtp_filter.py, the filter's
CPU outside the engine went from ~5.5 to ~1.2 ms a 116 KB message (benchmarks/bench_smtp_filter.py
--filter relay).

What it speaks is what Postfix's smtp(8) client sends a content filter: EHLO/HELO, MAIL (with
SIZE, BODY=7BIT/8BITMIME, SMTPUTF8), RCPT, DATA, RSET, NOOP, VRFY, QUIT, with PIPELINING, and
XFORWARD (Postfix's XFORWARD_README): the original client's name, address, HELO and queue id,
which the filter hands on to the re-injection listener, so that Postfix's log of the re-injected
message names the real client and the queue id it came in as (its Received header still names
the filter: that is the hop the message came from).
Commands pipelined behind a DATA wait until that message's reply is sent. DATA lines are not
length-checked (Postfix already accepted the message; refusing it here would bounce it), but a
command line is (``COMMAND_LIMIT``), and ``size_limit`` bounds a message when one is set.
"""
from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Awaitable, Callable

log = logging.getLogger("tracker_block.integrations.mailfilter.smtp_server")

COMMAND_LIMIT = 2048        # RFC 5321 4.5.3.1.4 allows 512; SMTPUTF8 addresses and parameters need more
MAX_RECIPIENTS = 1000       # RFC 5321 4.5.3.1.8 asks for at least 100
IDLE_TIMEOUT = 300.0        # RFC 5321 4.5.3.2.7: a server waits at least 5 minutes for the next command
_PAUSE_AT = 1 << 20         # while a message is being handled, stop reading once this much waits

_PATH = re.compile(r"<(.*)>((?:[ \t]+[^ \t]+)*)[ \t]*$", re.DOTALL)

XFORWARD_ATTRIBUTES = ("NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE")
_XTEXT = re.compile(r"(?:[!-*,-<>-~]|\+[0-9A-Fa-f]{2})*")   # RFC 3461 section 4: the values as sent


@dataclass
class Envelope:
    """One transaction: what Postfix said in MAIL and RCPT, and the unstuffed message."""
    mail_from: str = ""
    mail_options: list[str] = field(default_factory=list)
    rcpt_tos: list[str] = field(default_factory=list)
    smtp_utf8: bool = False
    content: bytes = b""
    xforward: dict[str, str] = field(default_factory=dict)   # XFORWARD attribute -> xtext value


Handler = Callable[[Envelope], Awaitable[str]]


def unstuff(body: bytes) -> bytes:
    """RFC 5321 4.5.2: drop the first "." of every line that starts with one (``body`` starts
    with the CRLF before its first line, so that line is no exception)."""
    return body.replace(b"\r\n.", b"\r\n") if b"\r\n." in body else body


class SMTPProtocol(asyncio.Protocol):
    """One client connection; ``handler(envelope)`` returns the reply to the end of DATA."""

    def __init__(self, handler: Handler, hostname: str, size_limit: int | None = None,
                 idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.handler, self.hostname = handler, hostname
        self.size_limit, self.idle_timeout = size_limit, idle_timeout
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.greeted = self.extended = False
        self.envelope: Envelope | None = None
        self.xforward: dict[str, str] = {}   # XFORWARD attributes for the next transaction
        self.in_data = False
        self.data_scanned = 0           # bytes of the DATA already searched for the terminator
        self.data_dropped = False       # over size_limit: read to the end, then refuse
        self.busy = False               # a message is with the handler; later commands wait
        self.paused = False
        self.timer: asyncio.TimerHandle | None = None
        self.out: list[bytes] = []      # replies not yet written

    # ------------------------------------------------------------------ transport events
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.reply(f"220 {self.hostname} ESMTP tracker-block")
        self.flush()
        self._arm_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.timer:
            self.timer.cancel()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self._arm_timer()
        if self.busy:
            if len(self.buf) > _PAUSE_AT and not self.paused and self.transport:
                self.transport.pause_reading()
                self.paused = True
            return
        self._process()

    def eof_received(self) -> bool:
        return False                    # close; a message still with the handler gets no 250

    def _arm_timer(self) -> None:
        if self.timer:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(self.idle_timeout, self._timed_out)

    def _timed_out(self) -> None:
        if self.busy:                   # the handler's own time; the client waits for our reply
            self._arm_timer()
            return
        self.reply("421 4.4.2 idle too long, closing connection")
        self.close()

    def reply(self, line: str) -> None:
        """Queue a reply; ``flush`` sends the queue as one segment (RFC 2920 section 3.1)."""
        self.out.append(line.encode("utf-8", "replace") + b"\r\n")

    def flush(self) -> None:
        if self.out and self.transport and not self.transport.is_closing():
            self.transport.write(b"".join(self.out))
        self.out.clear()

    def close(self) -> None:
        self.flush()
        if self.transport:
            self.transport.close()

    # ------------------------------------------------------------------ input
    def _process(self) -> None:
        """Handle everything complete in the buffer, in order, until a message goes to the handler.

        The replies to a pipelined group go out together: written one by one, a client that reads
        them all before answering (Postfix) waited out a delayed ACK, ~40 ms a message."""
        try:
            self._process_buffer()
        finally:
            self.flush()

    def _process_buffer(self) -> None:
        while self.transport and not self.transport.is_closing() and not self.busy:
            if self.in_data:
                if not self._take_data():
                    return
                continue
            end = self.buf.find(b"\r\n", 0, COMMAND_LIMIT)
            if end < 0:
                if len(self.buf) >= COMMAND_LIMIT:
                    self.reply("500 5.5.2 line too long")
                    self.close()
                return
            line = bytes(self.buf[:end])
            del self.buf[:end + 2]
            self._command(line)

    def _take_data(self) -> bool:
        """Consume the DATA up to ``CRLF.CRLF``; False while it is incomplete.

        The buffer starts with the CRLF that ended the DATA command (``smtp_DATA`` puts it back),
        so an empty message and a leading "." line need no case of their own."""
        buf = self.buf
        end = buf.find(b"\r\n.\r\n", max(0, self.data_scanned - 4))
        if end < 0:
            if self.size_limit is not None and len(buf) > self.size_limit + 6:
                self.data_dropped = True                # read on to the end, keep nothing
                del buf[:-4]
            self.data_scanned = len(buf)
            return False
        body = bytes(buf[:end + 2])                     # the CRLF put back .. the last line's CRLF
        del buf[:end + 5]
        self.in_data, self.data_scanned = False, 0
        envelope, self.envelope = self.envelope, None
        assert envelope is not None
        if self.data_dropped or (self.size_limit is not None and len(body) - 2 > self.size_limit):
            self.data_dropped = False
            self.reply("552 5.3.4 message exceeds fixed maximum message size")
            return True
        envelope.content = unstuff(body)[2:]
        self.busy = True
        self.flush()                                    # what came before the message, not after it
        asyncio.get_running_loop().create_task(self._deliver(envelope))
        return True

    async def _deliver(self, envelope: Envelope) -> None:
        try:
            answer = await self.handler(envelope)
        except Exception as exc:  # noqa: BLE001 - whatever it is, the client must keep the message
            log.exception("message from=<%s> failed", envelope.mail_from)
            answer = f"451 4.3.0 filter failure ({type(exc).__name__}); try again later"
        self.reply(answer)
        self.busy = False
        if self.paused and self.transport:
            self.transport.resume_reading()
            self.paused = False
        self._process()

    # ------------------------------------------------------------------ commands
    def _command(self, raw: bytes) -> None:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            self.reply("500 5.5.2 command is not UTF-8")
            return
        verb, _, arg = line.partition(" ")
        verb = verb.upper()
        method = getattr(self, f"smtp_{verb}", None) if verb.isalpha() else None
        if method is None:
            self.reply("500 5.5.2 command unrecognized")
            return
        method(arg.strip())

    def smtp_EHLO(self, arg: str) -> None:
        if not arg:
            self.reply("501 5.5.4 syntax: EHLO hostname")
            return
        self.greeted = self.extended = True
        self.envelope, self.xforward = None, {}
        size = f"SIZE {self.size_limit}" if self.size_limit is not None else "SIZE"
        lines = [self.hostname, size, "8BITMIME", "SMTPUTF8", "PIPELINING",
                 "XFORWARD " + " ".join(XFORWARD_ATTRIBUTES)]
        self.reply("\r\n".join(f"250-{x}" for x in lines[:-1]) + f"\r\n250 {lines[-1]}")

    def smtp_HELO(self, arg: str) -> None:
        if not arg:
            self.reply("501 5.5.4 syntax: HELO hostname")
            return
        self.greeted, self.extended = True, False
        self.envelope, self.xforward = None, {}
        self.reply(f"250 {self.hostname}")

    def smtp_MAIL(self, arg: str) -> None:
        if not self.greeted:
            self.reply("503 5.5.1 send EHLO first")
            return
        if self.envelope is not None:
            self.reply("503 5.5.1 nested MAIL command")
            return
        parsed = self._path(arg, "FROM:")
        if parsed is None:
            self.reply("501 5.5.4 syntax: MAIL FROM:<address>")
            return
        address, params = parsed
        envelope = Envelope(mail_from=address)
        for param in params:
            key, _, value = param.partition("=")
            key = key.upper()
            if not self.extended:
                self.reply("555 5.5.4 MAIL parameters need EHLO")
                return
            if key == "SIZE" and value.isdigit():
                if self.size_limit is not None and int(value) > self.size_limit:
                    self.reply("552 5.3.4 message size exceeds fixed maximum message size")
                    return
            elif key == "BODY" and value.upper() in ("7BIT", "8BITMIME"):
                pass
            elif key == "SMTPUTF8" and not value:
                envelope.smtp_utf8 = True
            else:
                self.reply(f"555 5.5.4 MAIL parameter {key} not recognized")
                return
            envelope.mail_options.append(param)
        if not address.isascii() and not envelope.smtp_utf8:
            self.reply("553 5.6.7 non-ASCII address needs SMTPUTF8")
            return
        envelope.xforward, self.xforward = self.xforward, {}   # they describe this transaction only
        self.envelope = envelope
        self.reply("250 2.1.0 Ok")

    def smtp_RCPT(self, arg: str) -> None:
        if self.envelope is None:
            self.reply("503 5.5.1 need MAIL command")
            return
        parsed = self._path(arg, "TO:")
        if parsed is None or not parsed[0]:
            self.reply("501 5.5.4 syntax: RCPT TO:<address>")
            return
        address, params = parsed
        if params:
            self.reply("555 5.5.4 RCPT parameters not recognized")
        elif not address.isascii() and not self.envelope.smtp_utf8:
            self.reply("553 5.6.7 non-ASCII address needs SMTPUTF8")
        elif len(self.envelope.rcpt_tos) >= MAX_RECIPIENTS:
            self.reply("452 4.5.3 too many recipients")
        else:
            self.envelope.rcpt_tos.append(address)
            self.reply("250 2.1.5 Ok")

    def smtp_DATA(self, arg: str) -> None:
        if arg:
            self.reply("501 5.5.4 syntax: DATA")
        elif self.envelope is None or not self.envelope.rcpt_tos:
            self.reply("503 5.5.1 need RCPT command")
        else:
            self.in_data = True
            self.buf[0:0] = b"\r\n"                   # the DATA line's end: see _take_data
            self.reply("354 End data with <CR><LF>.<CR><LF>")

    def smtp_RSET(self, arg: str) -> None:
        self.envelope, self.xforward = None, {}
        self.reply("250 2.0.0 Ok")

    def smtp_XFORWARD(self, arg: str) -> None:
        """Attributes of the original client for the next transaction (only between transactions)."""
        if not self.extended:
            self.reply("503 5.5.1 send EHLO first")
            return
        if self.envelope is not None:
            self.reply("503 5.5.1 mail transaction in progress")
            return
        pairs = [word.partition("=") for word in arg.split()]
        if not pairs:
            self.reply("501 5.5.4 syntax: XFORWARD attribute=value ...")
            return
        for name, eq, value in pairs:
            if name.upper() not in XFORWARD_ATTRIBUTES:
                self.reply(f"501 5.5.4 bad XFORWARD attribute name: {name[:40]}")
                return
            if not eq or len(value) > 255 or not _XTEXT.fullmatch(value):
                self.reply(f"501 5.5.4 bad XFORWARD attribute value for {name.upper()}")
                return
        for name, _, value in pairs:
            self.xforward[name.upper()] = value
        self.reply("250 2.0.0 Ok")

    def smtp_NOOP(self, arg: str) -> None:
        self.reply("250 2.0.0 Ok")

    def smtp_VRFY(self, arg: str) -> None:
        self.reply("252 2.5.0 cannot verify, but will accept and try delivery")

    def smtp_QUIT(self, arg: str) -> None:
        self.reply("221 2.0.0 Bye")
        self.close()

    @staticmethod
    def _path(arg: str, keyword: str) -> tuple[str, list[str]] | None:
        """``FROM:<a@b> SIZE=1`` -> ("a@b", ["SIZE=1"]); None when it is not that shape."""
        if arg[:len(keyword)].upper() != keyword:
            return None
        m = _PATH.match(arg[len(keyword):].lstrip())
        if not m:
            return None
        address = m.group(1)
        if ":" in address and address.startswith("@"):  # RFC 5321 4.1.2 source route: ignore it
            address = address.split(":", 1)[1]
        return address, m.group(2).split()


async def start_server(handler: Handler, hostname: str, sock, size_limit: int | None = None,
                       idle_timeout: float = IDLE_TIMEOUT) -> asyncio.AbstractServer:
    """Serve SMTP on an already bound, listening socket."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: SMTPProtocol(handler, hostname, size_limit, idle_timeout), sock=sock)


__all__ = ["XFORWARD_ATTRIBUTES", "Envelope", "SMTPProtocol", "start_server", "unstuff"]

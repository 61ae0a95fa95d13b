"""Postfix after-queue content filter: receive over SMTP, clean, re-inject, then (only then) say 250.

Postfix hands each queued message to ``--listen``; we clean it and send it on to ``--next-hop``
(Postfix's re-injection smtpd). The reply to Postfix's DATA is 250 only after the next hop
accepted the cleaned copy; any failure to re-inject answers 451, so Postfix keeps the message
queued and retries. A filter that dies mid-message therefore loses nothing: Postfix never got
its 250. Cleaning failures are not re-injection failures: such a message goes on unchanged,
flagged ``X-Tracker-Block: error ...`` (see ``delivery.filter_message``).

Receiving is smtp_server.py (what Postfix's smtp client speaks, replies batched per pipelined
group). Re-injecting keeps each thread's connection to the next hop open across messages and
pipelines MAIL/RCPT/DATA; a kept connection found closed is opened anew before anything was sent.

Scaling: ``--workers N`` forks N processes sharing one listening socket (the kernel spreads
Postfix's connections over them); Postfix's ``maxproc`` for the filter transport caps how many
messages are in flight. Several machines: point the transport at a name with several addresses.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import smtplib
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tracker_block.integrations.mailfilter.delivery import filter_message
from tracker_block.integrations.mailfilter.orgpolicy import OrgPolicy, PolicyError, load
from tracker_block.integrations.mailfilter.smtp_server import Envelope, start_server

log = logging.getLogger("tracker_block.integrations.mailfilter.smtp_filter")
PROG = "tracker-block smtp-filter"


def _hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError("expected HOST:PORT, e.g. 127.0.0.1:10025")
    return host.strip("[]"), int(port)


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, description="Postfix after-queue content filter: clean tracking out of every message, "
                               "re-inject it, and answer 250 only once the next hop has it.")
    p.add_argument("--listen", type=_hostport, default=("127.0.0.1", 10025), metavar="HOST:PORT",
                   help="where Postfix's content_filter connects (default 127.0.0.1:10025)")
    p.add_argument("--next-hop", type=_hostport, default=("127.0.0.1", 10026), metavar="HOST:PORT",
                   help="Postfix's re-injection smtpd (default 127.0.0.1:10026)")
    p.add_argument("--config", metavar="ORG.TOML", help="organisation policy (see docs/mail-server.md)")
    p.add_argument("--workers", type=_positive, default=1, metavar="N",
                   help="filter processes sharing the listening socket (default 1; about one per core)")
    p.add_argument("--threads", type=_positive, default=2, metavar="N",
                   help="cleaning/re-injection threads per process (default 2)")
    p.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                   help="next-hop SMTP timeout (default 120)")
    p.add_argument("--hostname", default="localhost", help="name in our SMTP greeting")
    p.add_argument("--log-file", type=Path, help="log here instead of stderr")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    # Test-only: hold each message this long before re-injecting (to kill the filter mid-message).
    p.add_argument("--debug-delay", type=float, default=0.0, help=argparse.SUPPRESS)
    return p


class Reinjector:
    """Clean one message and hand it to the next hop; returns the SMTP reply for Postfix."""

    def __init__(self, policy: OrgPolicy, next_hop: tuple[str, int], timeout: float, hostname: str,
                 delay: float = 0.0) -> None:
        self.policy, self.next_hop, self.timeout = policy, next_hop, timeout
        self.hostname, self.delay = hostname, delay
        self.local = threading.local()            # each executor thread's kept next-hop connection
        self.kept: set[smtplib.SMTP] = set()      # those kept and idle, for close_kept
        self.kept_lock = threading.Lock()

    def __call__(self, content: bytes, sender: str, rcpts: list[str], mail_options: list[str],
                 smtputf8: bool, xforward: dict[str, str] | None = None) -> str:
        t0 = time.monotonic()
        result = filter_message(content, self.policy, rcpts, sender)
        if self.delay:
            log.info("holding message from=<%s> for %.1fs (--debug-delay)", sender, self.delay)
            time.sleep(self.delay)
        options = [o for o in mail_options if o.upper().startswith("BODY=")]
        if smtputf8:
            options.append("SMTPUTF8")
        reply = self._send(result.data, sender, rcpts, options, xforward or {})
        report = result.report
        n = len([f for f in report.trackers if f.action != "left-marked"]) if report else 0
        notes = f" error={result.error!r}" if result.error else ""
        if xforward and "IDENT" in xforward:        # Postfix's queue id: joins this line to Postfix's log
            notes = f" orig_queue_id={xforward['IDENT']}{notes}"
        if report and report.errors and not result.error:
            notes += f" problems={report.errors!r}"
        log.info("from=<%s> to=%s size=%d out=%d trackers=%d%s -> %s (%.0f ms)",
                 sender, ",".join(f"<{r}>" for r in rcpts), len(content), len(result.data), n,
                 notes, reply, (time.monotonic() - t0) * 1000)
        return reply

    def _send(self, data: bytes, sender: str, rcpts: list[str], options: list[str],
              xforward: dict[str, str]) -> str:
        """Re-inject; 250 only when the next hop accepted every recipient and the data.

        Each thread keeps its connection to the next hop open after a message went through (one
        connect and EHLO per thread, not per message). A kept connection the next hop has closed
        in the meantime fails at MAIL, before anything was sent, and is opened anew once."""
        host, port = self.next_hop
        for attempt in (0, 1):
            smtp: smtplib.SMTP | None = None
            try:
                smtp, fresh = self._connection()
                reply, clean = self._transaction(smtp, data, sender, rcpts, options, xforward,
                                                 retry=not fresh and not attempt)
            except _Stale:
                self._drop(smtp)
                continue
            except (OSError, smtplib.SMTPException) as exc:
                self._drop(smtp)
                log.warning("next hop %s:%d: %s", host, port, exc)
                return f"451 4.4.1 next hop {host}:{port} unavailable ({type(exc).__name__}); try again later"
            if clean:
                self.local.smtp, self.local.used = smtp, time.monotonic()
                with self.kept_lock:
                    self.kept.add(smtp)
            else:                  # a refused transaction: no half-known state on a kept connection
                self._drop(smtp)
            return reply
        raise AssertionError("unreachable: the second attempt uses a fresh connection")

    def _connection(self) -> tuple[smtplib.SMTP, bool]:
        """This thread's kept connection if it is recent, else a new one (and True)."""
        smtp = getattr(self.local, "smtp", None)
        self.local.smtp = None
        if smtp is not None:
            with self.kept_lock:
                if smtp not in self.kept:         # close_kept has quit it
                    smtp = None
                self.kept.discard(smtp)
        if smtp is not None and time.monotonic() - self.local.used < _KEEP_IDLE:
            return smtp, False
        if smtp is not None:
            self._drop(smtp)
        smtp = smtplib.SMTP(self.next_hop[0], self.next_hop[1], local_hostname=self.hostname,
                            timeout=self.timeout)
        try:
            smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp, True

    def close_kept(self) -> None:
        """QUIT the idle kept connections (at shutdown), so the next hop logs no lost connection."""
        with self.kept_lock:
            kept, self.kept = self.kept, set()
        for smtp in kept:
            self._drop(smtp)

    @staticmethod
    def _drop(smtp: smtplib.SMTP | None) -> None:
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    def _transaction(self, smtp: smtplib.SMTP, data: bytes, sender: str, rcpts: list[str],
                     options: list[str], xforward: dict[str, str], retry: bool) -> tuple[str, bool]:
        """One MAIL..DATA exchange: (reply for Postfix, whether the connection is fit to keep).

        With PIPELINING (Postfix's smtpd has it) XFORWARD, MAIL, every RCPT and DATA go in one
        write: one round trip instead of two plus one per recipient."""
        envelope = self._pipelined if smtp.has_extn("pipelining") else self._lockstep
        try:
            mail, rcpt_replies, data_reply = envelope(smtp, sender, rcpts, options,
                                                      xforward_commands(smtp, xforward))
        except _Stale:
            if retry:
                raise
            raise smtplib.SMTPServerDisconnected("next hop closed the connection") from None
        if mail[0] == 421 and retry:
            raise _Stale
        verdict = _envelope_verdict(mail, rcpt_replies, data_reply)
        if verdict is not None:
            if data_reply is not None and data_reply[0] == 354:
                smtp.close()          # the next hop waits for the message: only closing abandons it
            return verdict, False
        smtp.send(_stuffed(data))
        code, msg = smtp.getreply()
        if code != 250:
            return _relay_failure("DATA", code, msg), False
        return f"250 2.0.0 Ok: cleaned and re-injected: {_text(msg)}"[:500], True

    @staticmethod
    def _pipelined(smtp: smtplib.SMTP, sender: str, rcpts: list[str], options: list[str],
                   xforward: list[str]) -> _Replies:
        utf8 = any(o.upper() == "SMTPUTF8" for o in options)
        if utf8 and not smtp.has_extn("smtputf8"):
            raise smtplib.SMTPNotSupportedError("SMTPUTF8 not supported by the next hop")
        params = "".join(f" {o}" for o in options)
        lines = [*(f"{x}\r\n" for x in xforward), f"MAIL FROM:{smtplib.quoteaddr(sender)}{params}\r\n",
                 *(f"RCPT TO:{smtplib.quoteaddr(r)}\r\n" for r in rcpts), "DATA\r\n"]
        try:
            smtp.send("".join(lines).encode("utf-8" if utf8 else "ascii"))
            for _ in xforward:
                _xforward_answered(smtp.getreply())
            mail = smtp.getreply()
        except (OSError, smtplib.SMTPServerDisconnected):
            raise _Stale from None
        if mail[0] == 421:
            return mail, [], None
        return mail, [smtp.getreply() for _ in rcpts], smtp.getreply()

    @staticmethod
    def _lockstep(smtp: smtplib.SMTP, sender: str, rcpts: list[str], options: list[str],
                  xforward: list[str]) -> _Replies:
        try:
            for x in xforward:
                _xforward_answered(smtp.docmd(x))
            mail = smtp.mail(sender, options)
        except (OSError, smtplib.SMTPServerDisconnected):
            raise _Stale from None
        if mail[0] != 250:
            return mail, [], None
        rcpt_replies = [smtp.rcpt(r) for r in rcpts]
        if any(code not in (250, 251) for code, _ in rcpt_replies):
            return mail, rcpt_replies, None
        return mail, rcpt_replies, smtp.docmd("DATA")


_Replies = tuple[tuple[int, bytes], list[tuple[int, bytes]], "tuple[int, bytes] | None"]


def xforward_commands(smtp: smtplib.SMTP, xforward: dict[str, str]) -> list[str]:
    """The XFORWARD commands that hand the original client's attributes on, values as received:
    only those the next hop announces, each command within RFC 5321's 512-byte line."""
    offered = set(smtp.esmtp_features.get("xforward", "").upper().split())
    commands: list[str] = []
    for name, value in xforward.items():
        if name not in offered:
            continue
        if commands and len(commands[-1]) + len(name) + len(value) + 2 <= 510:
            commands[-1] += f" {name}={value}"
        else:
            commands.append(f"XFORWARD {name}={value}")
    return commands


def _xforward_answered(reply: tuple[int, bytes]) -> None:
    """A refused XFORWARD costs only the log's client name: the message still goes (421 and a
    closed connection show at MAIL)."""
    if reply[0] != 250:
        log.warning("next hop refused XFORWARD (%d %s): its log names the filter as the client",
                    reply[0], _text(reply[1]))


def _envelope_verdict(mail: tuple[int, bytes], rcpt_replies: list[tuple[int, bytes]],
                      data_reply: tuple[int, bytes] | None) -> str | None:
    """The reply for Postfix when the next hop did not take MAIL, every RCPT and DATA; else None."""
    if mail[0] != 250:
        return _relay_failure("MAIL FROM", *mail)
    refused = [(code, msg) for code, msg in rcpt_replies if code not in (250, 251)]
    if refused:
        if len(refused) == len(rcpt_replies) and all(500 <= c < 600 for c, _ in refused):
            return _relay_failure("RCPT TO", *refused[0])
        # Partly refused: delivering to some would make a retry duplicate them.
        return "451 4.3.0 next hop refused some recipients; try again later"
    if data_reply is None or data_reply[0] != 354:
        code, msg = data_reply or (451, b"no reply")
        return _relay_failure("DATA", code, msg)
    return None


class _Stale(Exception):
    """A kept next-hop connection turned out closed before this message's MAIL went through."""


_KEEP_IDLE = 60.0     # seconds a kept next-hop connection may idle (Postfix's smtpd_timeout is 300)


def _stuffed(data: bytes) -> bytes:
    """The DATA as sent: "." doubled at each line start (after any LF, as smtplib does), CRLF.CRLF.

    One copy of the message (two when a line starts with "."): it is the size of the mail."""
    body = data.replace(b"\n.", b"\n..") if b"\n." in data else data
    return b"".join((b"." if data[:1] == b"." else b"", body,
                     b".\r\n" if data[-2:] == b"\r\n" else b"\r\n.\r\n"))


def _text(msg: bytes | str) -> str:
    text = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
    return " ".join(text.split())


def _relay_failure(stage: str, code: int, msg: bytes) -> str:
    """Pass on a permanent refusal (Postfix bounces, as the next hop would have); else retry."""
    if 500 <= code < 600:
        return f"{code} 5.0.0 next hop refused {stage}: {_text(msg)}"[:500]
    return f"451 4.3.0 next hop answered {code} to {stage}: {_text(msg)}; try again later"[:500]


class Handler:
    """Runs each received message's blocking work in a thread, so the event loop stays free. Any
    exception becomes 451 in the server (``SMTPProtocol._deliver``): Postfix keeps the message."""

    def __init__(self, work: Reinjector, executor: ThreadPoolExecutor) -> None:
        self.work, self.executor = work, executor
        self.inflight = 0

    async def __call__(self, envelope: Envelope) -> str:
        loop = asyncio.get_running_loop()
        self.inflight += 1
        try:
            return await loop.run_in_executor(
                self.executor, self.work, envelope.content, envelope.mail_from,
                envelope.rcpt_tos, envelope.mail_options, envelope.smtp_utf8, envelope.xforward)
        finally:
            self.inflight -= 1


async def _serve(sock: socket.socket, work: Reinjector, threads: int, hostname: str) -> None:
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tb-filter")
    handler = Handler(work, executor)
    # No size limit of our own: Postfix enforces message_size_limit before we see anything.
    server = await start_server(handler, hostname, sock)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("pid %d listening on %s:%d", os.getpid(), *sock.getsockname()[:2])
    await stop.wait()
    server.close()
    # Let messages in flight finish (their 250 is what Postfix waits for); a killed one is retried.
    deadline = time.monotonic() + 30
    while handler.inflight and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    executor.shutdown(wait=False, cancel_futures=True)
    work.close_kept()
    log.info("pid %d stopped", os.getpid())


def _serve_process(sock: socket.socket, work: Reinjector, args: argparse.Namespace) -> int:
    asyncio.run(_serve(sock, work, args.threads, args.hostname))
    return 0


def _die_with_parent() -> None:
    """A forked worker must not outlive its supervisor (Linux: PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _supervise(sock: socket.socket, work: Reinjector, args: argparse.Namespace) -> int:
    """Fork ``--workers`` processes on one socket; restart any that die; pass TERM/INT on."""
    children: dict[int, int] = {}
    stopping = False

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _die_with_parent()
                code = _serve_process(sock, work, args)
            except BaseException:
                log.exception("worker crashed")
            finally:
                logging.shutdown()
                os._exit(code)
        children[pid] = slot

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for slot in range(args.workers):
        spawn(slot)
    log.info("supervisor pid %d: %d workers", os.getpid(), args.workers)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        slot = children.pop(pid, None)
        if slot is not None and not stopping:
            log.warning("worker %d exited (status %d); restarting", pid, status)
            time.sleep(0.5)
            if not stopping:
                spawn(slot)
    return 0


def _setup_logging(args: argparse.Namespace) -> None:
    handler: logging.Handler = (logging.FileHandler(args.log_file) if args.log_file
                                else logging.StreamHandler(sys.stderr))
    handler.setFormatter(logging.Formatter("%(asctime)s tracker-block[%(process)d] %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(getattr(logging, args.log_level.upper()))


def cli_main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args)
    try:
        policy = load(args.config)
    except PolicyError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    # Load rules once before forking, so every worker shares them and a broken rule file fails now.
    from tracker_block.engine.rules import load_rules
    try:
        load_rules(tuple(policy.extra_rules))
    except Exception as exc:  # noqa: BLE001
        print(f"{PROG}: cannot load rules ({exc})", file=sys.stderr)
        return 2
    host, port = args.listen
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(info[0], socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
        sock.listen(256)
        sock.setblocking(False)
    except OSError as exc:
        print(f"{PROG}: cannot listen on {host}:{port} ({exc})", file=sys.stderr)
        return 2
    work = Reinjector(policy, args.next_hop, args.timeout, args.hostname, args.debug_delay)
    if args.workers == 1:
        return _serve_process(sock, work, args)
    return _supervise(sock, work, args)


if __name__ == "__main__":
    sys.exit(cli_main())

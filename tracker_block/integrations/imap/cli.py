"""``tracker-block imap scan|clean|watch``: arguments, output and exit status (the logic is elsewhere)."""
from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import time
from datetime import date, timedelta
from typing import Any, TextIO

PROG = "tracker-block imap"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

EPILOG = """\
examples:
  tracker-block imap scan  --host imap.fastmail.com --user me@fastmail.com --keyring --html report.html
  tracker-block imap clean --host imap.gmail.com --user me@gmail.com --password-file ~/.imap-pass \\
                           --since 2025-01-01 --dry-run
  tracker-block imap watch --host mail.example.org --user me --password-env IMAP_PASSWORD

scan never changes the mailbox (EXAMINE, BODY.PEEK: not even \\Seen). clean and watch APPEND a
cleaned copy (same folder, flags and date), read it back, and only then move the original to
--originals (default tracker-block/originals). See docs/imap.md.

exit status: 0 done; 1 some messages were left as they were (unreadable, refused, not verified);
2 usage or account error; 130 interrupted (the message in hand was finished first)
"""


def _date(text: str) -> date:
    m = re.fullmatch(r"(\d+)d", text.strip())
    if m:
        return date.today() - timedelta(days=int(m.group(1)))
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD or e.g. 30d)") from None


def _number(kind: type, low: float):
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if v < low:
            raise argparse.ArgumentTypeError(f"must be at least {low:g}")
        return v
    return parse


def _account_options(p: argparse.ArgumentParser) -> None:
    a = p.add_argument_group("account")
    a.add_argument("--host", required=True, help="IMAP server, e.g. imap.gmail.com")
    a.add_argument("--port", type=_number(int, 1), help="default: 993 (tls), 143 (starttls, plain)")
    a.add_argument("--user", required=True, help="login name, usually your address")
    a.add_argument("--security", choices=("tls", "starttls", "plain"), default="tls",
                   help="tls (default): implicit TLS; starttls; plain: loopback only")
    a.add_argument("--ca-file", help="trust this CA bundle (a private server's certificate)")
    a.add_argument("--no-verify-tls", action="store_true",
                   help="do not check the server's certificate (anyone on the path can read your password)")
    s = a.add_mutually_exclusive_group()
    s.add_argument("--password-file", metavar="FILE", help="password or app password: first line of FILE (chmod 600)")
    s.add_argument("--password-env", metavar="VAR", help="password from environment variable VAR "
                   "(default: TRACKER_BLOCK_IMAP_PASSWORD)")
    s.add_argument("--keyring", action="store_true",
                   help="password from the system keyring (service tracker-block-imap, user USER@HOST)")
    s.add_argument("--oauth2-command", metavar="CMD",
                   help="OAuth2 (XOAUTH2): run CMD, its first output line is the access token")
    p.add_argument("--folder", action="append", metavar="NAME",
                   help="folder to work on (repeatable; default INBOX)")
    p.add_argument("--rate", type=_number(float, 0), default=25.0, metavar="N",
                   help="at most N messages per second (default 25; 0: no limit)")
    p.add_argument("--max-size", type=_number(int, 1), default=50, metavar="MB",
                   help="leave (and report) messages larger than this (default 50)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress and no summary")


def _engine_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("cleaning options (as for 'tracker-block clean')")
    g.add_argument("--remote", choices=("trackers", "all", "proxy"))
    g.add_argument("--proxy-url", metavar="BASE")
    g.add_argument("--proxy-key", metavar="KEYFILE")
    g.add_argument("--keep-read-receipts", action="store_true", default=None)
    g.add_argument("--recipient", action="append", default=[], metavar="ADDR")
    g.add_argument("--no-clean-links", dest="clean_links", action="store_false", default=None)
    g.add_argument("--config", metavar="FILE")


def _writer_options(p: argparse.ArgumentParser) -> None:
    o = p.add_argument_group("originals and journal")
    o.add_argument("--originals", metavar="FOLDER", default=None,
                   help="where originals go once their cleaned copy is verified (default tracker-block/originals)")
    o.add_argument("--delete-originals", action="store_true",
                   help="delete originals instead of keeping them (needs UIDPLUS; on Gmail see docs/imap.md)")
    o.add_argument("--keep-originals", type=_number(float, 0), metavar="DAYS",
                   help="remove kept originals this many days after cleaning (default: keep them)")
    o.add_argument("--state", metavar="FILE", help="resume journal (default: the user state directory)")
    o.add_argument("--dry-run", "-n", action="store_true", help="say what would be cleaned; change nothing")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(prog=PROG, formatter_class=fmt, epilog=EPILOG,
                                description="Scan or clean a mailbox on an IMAP server (Gmail, Outlook.com, "
                                            "Fastmail, iCloud, Dovecot, ...), so every client reads it clean.")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    s = sub.add_parser("scan", formatter_class=fmt, epilog=EPILOG, help="report trackers; change nothing")
    s.add_argument("--since", type=_date, metavar="DATE", help="only mail received on or after DATE")
    s.add_argument("--format", choices=("table", "json", "jsonl", "csv"), default="table")
    s.add_argument("--json", action="store_const", const="json", dest="format")
    s.add_argument("--html", metavar="FILE.html", help="also write the self-contained HTML dashboard")
    s.add_argument("--title", default="Email tracking report")
    _account_options(s)
    _engine_options(s)
    c = sub.add_parser("clean", formatter_class=fmt, epilog=EPILOG, help="clean mail received since DATE")
    c.add_argument("--since", type=_date, metavar="DATE", required=True,
                   help="clean mail received on or after DATE (YYYY-MM-DD, or e.g. 30d)")
    _account_options(c)
    _writer_options(c)
    _engine_options(c)
    w = sub.add_parser("watch", formatter_class=fmt, epilog=EPILOG, help="clean new mail as it arrives")
    w.add_argument("--since", type=_date, metavar="DATE", help="first clean mail received since DATE")
    w.add_argument("--interval", type=_number(float, 1), default=60.0, metavar="SECONDS",
                   help="poll interval where IDLE is not used (default 60)")
    w.add_argument("--no-idle", dest="idle", action="store_false", help="poll even if the server offers IDLE")
    _account_options(w)
    _writer_options(w)
    _engine_options(w)
    return p


# ---------------------------------------------------------------- output

class Output:
    """Per-message reports to stdout through the main CLI's emitter (same formats, same JSON
    document as ``tracker-block scan``), and the dashboard's aggregates."""

    def __init__(self, fmt: str, stream: TextIO, html: str | None) -> None:
        from tracker_block.cli.main import Emitter
        self.emitter = Emitter(fmt, stream)
        self.n = self.tracked = 0
        self.collector = None
        if html:
            from tracker_block.cli.dashboard import Collector
            self.collector = Collector()

    def __call__(self, rep: Any) -> None:
        if rep.trackers:
            self.tracked += 1
        if self.collector is not None:
            self.collector.add(rep, rep.unreadable)
        self.emitter.emit(rep)
        self.n += 1

    def close(self, html: str | None, title: str) -> None:
        self.emitter.close()
        if self.collector is not None and html:
            self.collector.write(html, title=title)


class Progress:
    """``INBOX  1,234 / 5,000  42/s`` on a terminal, nothing otherwise."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream, self.enabled, self.start, self.last, self.label = stream, enabled, time.monotonic(), 0.0, ""

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.2 and done != total):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-6)
        self.stream.write(f"\r{self.label}  {done:,} / {total:,}  {rate:,.0f}/s\x1b[K")
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


# ---------------------------------------------------------------- the run

def _account(args: argparse.Namespace) -> Any:
    from tracker_block.integrations.imap.account import Account
    return Account(host=args.host, user=args.user, port=args.port, security=args.security,
                   password_file=args.password_file, password_env=args.password_env, use_keyring=args.keyring,
                   oauth2_command=args.oauth2_command, ca_file=args.ca_file, verify=not args.no_verify_tls)


def _options(args: argparse.Namespace) -> Any:
    from tracker_block.cli.config import build_options, load
    cfg = load(args.config)
    return build_options(cfg, mode=args.remote, proxy_url=args.proxy_url, proxy_key=args.proxy_key,
                         keep_read_receipts=args.keep_read_receipts, clean_links=args.clean_links,
                         recipients=tuple(args.recipient))


def main(argv: list[str] | None = None) -> int:
    """``tracker-block imap ...``; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_USAGE
    from tracker_block.cli.config import ConfigError
    from tracker_block.integrations.imap.account import AccountError
    from tracker_block.integrations.imap.state import Busy
    err = sys.stderr
    try:
        return _run(args, err)
    except (AccountError, ConfigError, Busy, ValueError) as exc:
        err.write(f"{PROG} {args.action}: error: {exc}\n")
        return EXIT_USAGE
    except SystemExit as exc:          # a refusal raised deep down with its own message
        err.write(f"{exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.write(f"{PROG}: interrupted\n")
        return EXIT_INTERRUPTED


def _log(err: TextIO, progress: Progress | None = None):
    def log(line: str) -> None:
        if progress:
            progress.clear()
        err.write(f"{PROG}: {line}\n")
        err.flush()
    return log


def _run(args: argparse.Namespace, err: TextIO) -> int:
    from tracker_block.integrations.imap.client import CONNECTION_ERRORS, SERVER_ERRORS, logout
    account = _account(args)
    account.check()
    options = _options(args)
    folders = args.folder or ["INBOX"]
    progress = Progress(err, not args.quiet and err.isatty())
    log = _log(err, progress)
    if args.action == "scan":
        return _scan(args, account, options, folders, progress, err)
    if args.delete_originals and args.originals:
        raise ValueError("--delete-originals and --originals exclude each other")
    from tracker_block.integrations.imap.cleaner import DEFAULT_ORIGINALS, Cleaner, Settings, Stop
    from tracker_block.integrations.imap.state import Journal
    settings = Settings(options=options, originals=None if args.delete_originals else (args.originals or DEFAULT_ORIGINALS),
                        dry_run=args.dry_run, rate=args.rate, max_size=args.max_size << 20)
    try:
        journal = Journal(args.state, account.key)
    except (OSError, sqlite3.Error) as exc:
        raise ValueError(f"cannot open the journal {args.state or 'in the user state directory'}: {exc}") from None
    try:
        if args.action == "watch":
            from tracker_block.integrations.imap.watch import StopFlag, watch
            stop = StopFlag()
            stop.install()
            tally: list = []
            watch(account, journal, settings, folders, args.since, args.interval, args.idle, log,
                  args.keep_originals, stop, tally)
            if not args.quiet and tally:
                err.write(f"{PROG}: stopped; {tally[0].render()}\n")
            return EXIT_OK
        conn = account.connect()
        cleaner = Cleaner(conn, account.key, journal, settings, log, progress=progress)
        try:
            if args.keep_originals is not None and not args.dry_run:
                cleaner.purge_originals(args.keep_originals)
            for name in folders:
                progress.label = name
                folder = cleaner.open(name)
                cleaner.run(folder, since=args.since)
        except Stop:
            pass
        except KeyboardInterrupt:
            progress.clear()
            err.write(f"{PROG}: interrupted; {cleaner.tally.render()}\n")
            return EXIT_INTERRUPTED
        except CONNECTION_ERRORS as exc:
            progress.clear()
            err.write(f"{PROG}: connection lost ({' '.join(str(exc).split())[:160] or type(exc).__name__}); "
                      f"run again to resume: nothing is lost or doubled\n")
            return EXIT_FAILED
        except SERVER_ERRORS as exc:
            progress.clear()
            err.write(f"{PROG}: the server said: {' '.join(str(exc).split())[:200]}\n")
            return EXIT_FAILED
        finally:
            logout(conn)
        progress.clear()
        if not args.quiet:
            err.write(f"{PROG}: {cleaner.tally.render()}\n")
        return EXIT_FAILED if cleaner.tally.failed else EXIT_OK
    finally:
        journal.close()


def _scan(args: argparse.Namespace, account: Any, options: Any, folders: list[str], progress: Progress,
          err: TextIO) -> int:
    from tracker_block.integrations.imap.cleaner import Tally, scan
    from tracker_block.integrations.imap.client import CONNECTION_ERRORS, SERVER_ERRORS, logout
    out = Output(args.format, sys.stdout, args.html)
    conn = account.connect()
    total = Tally()
    try:
        for name in folders:
            progress.label = name
            t = scan(conn, account.key, name, args.since, options, out, rate=args.rate,
                     max_size=args.max_size << 20, progress=progress)
            for k, v in t.counts.items():
                total.counts[k] = total.counts.get(k, 0) + v
    except (CONNECTION_ERRORS + SERVER_ERRORS) as exc:
        progress.clear()
        out.close(None, args.title)
        err.write(f"{PROG} scan: {' '.join(str(exc).split())[:200] or type(exc).__name__}\n")
        return EXIT_FAILED
    finally:
        logout(conn)
    progress.clear()
    out.close(args.html, args.title)
    if not args.quiet:
        err.write(f"{PROG}: {out.n} messages, {out.tracked} with trackers; {total.render()}"
                  + (f"; wrote {args.html}" if args.html else "") + "\n")
    return EXIT_FAILED if total.failed else EXIT_OK

"""``tracker-block`` command line: scan, clean and report whole mailboxes; thin over the engine.

Startup matters (``scan one.eml`` runs per message in scripts), so heavy modules are imported
inside the commands that need them, and other subcommands are dispatched lazily.
"""
from __future__ import annotations

import argparse
import functools
import gc
import os
import sys
import time
from collections import Counter, deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, NoReturn, TextIO

if TYPE_CHECKING:
    from tracker_block.cli.mailbox import Item
    from tracker_block.engine.report import MessageReport

PROG = "tracker-block"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TRACKERS, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

EPILOG = """\
inputs:
  .eml files, folders (walked recursively), mbox files, Maildir folders (cur/ and new/,
  Maildir++ subfolders too) and '-' for stdin (one message, or an mbox: recognised by its
  "From " line). The format is detected; --format-in forces it. Folders named
  tracker-block-backup-* (the originals an --in-place run kept) are skipped unless named.

exit status:
  0  every input was processed
  1  some inputs could not be read or written (not mail, empty, too large, permission
     denied), or no mail was found at all; each is reported once on stderr as
     "tracker-block: PATH: reason" and the run goes on. Recoverable problems inside a message (a part decoded with a guessed
     charset, a part left as it was) are "warning"s: reported, exit status unchanged
  2  usage error (bad option, bad config file)
  3  with --fail-on-trackers: everything was processed and trackers were found
 130 interrupted (Ctrl-C); with clean, every file is either the old or the new version
"""

# Subcommands implemented elsewhere: module, function, whether it takes argv.
_DISPATCH = {
    "proxy": ("tracker_block.integrations.proxy.server", "cli_main", True),
    "rules": ("tracker_block.cli.rules_cli", "main", True),
    "thunderbird": ("tracker_block.integrations.thunderbird.install", "cli_main", True),
    "native-host": ("tracker_block.integrations.thunderbird.native_host", "main", False),
    "smtp-filter": ("tracker_block.integrations.mailfilter.smtp_filter", "cli_main", True),
    "pipe": ("tracker_block.integrations.mailfilter.pipe_filter", "cli_main", True),
    "imap": ("tracker_block.integrations.imap.cli", "main", True),
}


NATIVE_HOST_HELP = f"""usage: {PROG} native-host

Thunderbird starts this command itself (through the native-messaging manifest that
'{PROG} thunderbird install' writes) and talks to it on stdin/stdout. It is not for
direct use: run '{PROG} thunderbird doctor' to check the set-up.
"""


def _dispatch(name: str, argv: list[str]) -> int:
    import importlib
    if name == "native-host" and any(a in ("-h", "--help") for a in argv):
        sys.stdout.write(NATIVE_HOST_HELP)
        return EXIT_OK
    modname, func, takes_argv = _DISPATCH[name]
    try:
        mod = importlib.import_module(modname)
        fn = getattr(mod, func)
    except (ImportError, AttributeError) as exc:
        print(f"{PROG}: the '{name}' command is not available ({exc})", file=sys.stderr)
        return EXIT_USAGE
    rc = fn(argv) if takes_argv else fn()
    return int(rc or 0)


_OTHER_HELP = {
    "proxy": "run the privacy image proxy",
    "rules": "check, list and validate the tracker rules",
    "thunderbird": "set up the Thunderbird add-on bridge",
    "native-host": "started by Thunderbird; not for direct use",
    "smtp-filter": "Postfix after-queue content filter",
    "pipe": "delivery-time pipe filter (procmail, maildrop, fdm, Sieve)",
    "imap": "scan or clean a mailbox on an IMAP server (Gmail, Outlook.com, Fastmail, ...)",
}

# ---------------------------------------------------------------- arguments

def _engine_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("cleaning options")
    g.add_argument("--remote", choices=("trackers", "all", "proxy"),
                   help="trackers (default): remove trackers, keep other images; all: load nothing "
                        "remote; proxy: rewrite remote loads to signed --proxy-url links")
    g.add_argument("--proxy-url", metavar="BASE", help="base URL of your tracker-block proxy (--remote proxy)")
    g.add_argument("--proxy-key", metavar="KEYFILE", help="key file signing proxied URLs (--remote proxy)")
    g.add_argument("--keep-read-receipts", action="store_true", default=None,
                   help="keep Disposition-Notification-To & co in cleaned mail (still reported)")
    g.add_argument("--recipient", action="append", default=[], metavar="ADDR",
                   help="your address, to spot it hidden in URLs (repeatable; To/Cc are used anyway)")
    g.add_argument("--no-clean-links", dest="clean_links", action="store_false", default=None,
                   help="leave links as they are (no tracking-parameter stripping or unwrapping)")
    g.add_argument("--prefetch", action="store_true",
                   help="with --remote proxy: fetch every proxied image through the proxy now, so the "
                        "sender cannot learn when the mail is read (trackers are never fetched)")
    g.add_argument("--config", metavar="FILE", help="config file (default: the user config location)")
    i = p.add_argument_group("input options")
    i.add_argument("--format-in", choices=("auto", "eml", "mbox", "maildir"), default="auto",
                   help="input format (default: detect)")
    i.add_argument("--jobs", "-j", type=_jobs, default=None, metavar="N",
                   help="worker processes (default: all cores)")
    i.add_argument("--max-size", type=_positive, default=50, metavar="MB",
                   help="skip (and report) messages larger than this (default: 50)")
    i.add_argument("--quiet", "-q", action="store_true",
                   help="print only errors: no progress bar, warnings or closing summary, and for "
                        "clean no table either (unless --format is given)")


def _jobs(text: str) -> int:
    n = _positive(text)
    if n > 256:
        raise argparse.ArgumentTypeError("at most 256 worker processes")
    return n


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("table", "json", "jsonl", "csv"), default=None,
                   help="report format (default: table)")
    p.add_argument("--json", action="store_const", const="json", dest="format_json",
                   help="short for --format json")
    p.add_argument("--fail-on-trackers", action="store_true",
                   help="exit with status 3 when a tracking device was found: a tracker, a click "
                        "tracker or a read-receipt request (a link that only loses utm_ parameters is not one)")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                   help="colour the table: auto (default) on a terminal unless NO_COLOR is set")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(
        prog=PROG, formatter_class=fmt, epilog=EPILOG,
        description="Find and remove email tracking: pixels, remote loads, tracking links, read receipts.")
    from tracker_block import __version__
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("scan", formatter_class=fmt, epilog=EPILOG,
                       help="report trackers without writing anything",
                       description="Report what tracker-block would remove. Never writes mail.")
    s.add_argument("paths", nargs="+", metavar="PATH", help="mail to scan: files, folders, mbox, Maildir, '-'")
    _report_options(s)
    _engine_options(s)

    c = sub.add_parser("clean", formatter_class=fmt, epilog=EPILOG,
                       help="write cleaned copies (or clean in place, with a backup)",
                       description="Write cleaned mail. -o DIR mirrors the inputs (mbox stays mbox, Maildir\n"
                                   "stays Maildir); with a single input, -o FILE writes that file and '-o -'\n"
                                   "writes the message to stdout (the report then goes to stderr).")
    c.add_argument("paths", nargs="+", metavar="PATH", help="mail to clean: files, folders, mbox, Maildir, '-'")
    out = c.add_mutually_exclusive_group(required=True)
    out.add_argument("-o", "--output", metavar="OUT", help="output directory, file, or '-' for stdout")
    out.add_argument("--in-place", action="store_true",
                     help="replace changed messages (atomically, after a backup)")
    c.add_argument("--force", action="store_true", help="with -o FILE: replace the file if it exists")
    c.add_argument("--backup-dir", metavar="DIR",
                   help="where --in-place keeps originals (default: tracker-block-backup-DATE beside each input)")
    _report_options(c)
    _engine_options(c)

    r = sub.add_parser("report", formatter_class=fmt, epilog=EPILOG,
                       help="write a self-contained HTML dashboard",
                       description="Scan mail and write one self-contained HTML dashboard (no remote assets).")
    r.add_argument("paths", nargs="+", metavar="PATH", help="mail to scan: files, folders, mbox, Maildir, '-'")
    r.add_argument("-o", "--output", required=True, metavar="FILE.html",
                   help="the dashboard to write ('-' for stdout); its folder must exist")
    r.add_argument("--force", action="store_true", help="replace FILE.html if it exists")
    r.add_argument("--title", default="Email tracking report", help="heading of the dashboard")
    r.add_argument("--json-out", metavar="FILE.json",
                   help="also write the full per-message report as JSON (the dashboard lists the "
                        "details of the first messages only)")
    _engine_options(r)

    for name in _DISPATCH:
        sub.add_parser(name, help=_OTHER_HELP.get(name, f"see '{PROG} {name} --help'"), add_help=False)
    return p


class _CtrlC:
    """Ctrl-C during a run, never lost. Python raises KeyboardInterrupt wherever the main thread is
    when the signal is handled; raised inside a finaliser (``__del__``, a generator's close), it is
    printed and dropped, and the run would go on to the end. The flag makes the loop stop at the
    next message all the same."""

    def __init__(self) -> None:
        import signal
        import threading
        self.pressed = False
        self._before = None
        if threading.current_thread() is threading.main_thread():
            self._before = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        self.pressed = True
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.pressed:
            raise KeyboardInterrupt

    def restore(self) -> None:
        import signal
        if self._before is not None:
            signal.signal(signal.SIGINT, self._before)
            self._before = None


# ---------------------------------------------------------------- workers

_OPTIONS: Any = None


def _init_worker(options: Any) -> None:
    import signal
    global _OPTIONS
    _OPTIONS = options
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent handles Ctrl-C


def _clean_batch(batch: list[tuple[str, bytes | None, str | None]], want_bytes: bool) -> list[tuple]:
    """Worker: clean raw messages; returns (cleaned-or-None-if-unchanged, report, error) each."""
    from tracker_block.engine.clean import clean_for_report
    out: list[tuple] = []
    for key, data, err in batch:
        if err is not None:
            out.append((None, None, err))
            continue
        cleaned, rep = clean_for_report(data, _OPTIONS, path=key, want_bytes=want_bytes)
        if rep.unreadable:
            out.append((None, None, rep.error))
        else:
            out.append((cleaned if want_bytes else None, rep, None))
    return out


def _batches(items: Iterable["Item"], max_items: int = 16, max_bytes: int = 4 << 20) -> Iterator[list["Item"]]:
    batch: list[Item] = []
    size = 0
    for it in items:
        batch.append(it)
        size += len(it.data) if it.data else 0
        if len(batch) >= max_items or size >= max_bytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _payload(batch: list["Item"]) -> list[tuple]:
    return [(it.key, it.data, it.error) for it in batch]


def process(items: Iterable["Item"], options: Any, jobs: int, want_bytes: bool) -> Iterator[tuple["Item", tuple]]:
    """Clean items in order with ``jobs`` processes; at most ~2 batches per worker in flight.

    Messages travel as raw bytes; the window bounds memory whatever the mailbox size, and
    results come back in input order.
    """
    global _OPTIONS
    batches = _batches(items)
    first = next(batches, None)
    if first is None:
        return
    second = next(batches, None) if jobs > 1 else None
    if jobs <= 1 or second is None:        # one small input: a pool would cost more than it saves
        _OPTIONS = options
        for b in (first, second) if second else (first,):
            yield from zip(b, _clean_batch(_payload(b), want_bytes))
        for b in batches:
            yield from zip(b, _clean_batch(_payload(b), want_bytes))
        return
    import itertools
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else None)
    pool = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker, initargs=(options,))
    pending: deque = deque()
    try:
        for b in itertools.chain((first, second), batches):
            pending.append((b, pool.submit(_clean_batch, _payload(b), want_bytes)))
            while len(pending) >= 2 * jobs:
                b0, fut = pending.popleft()
                yield from zip(b0, fut.result())
        while pending:
            b0, fut = pending.popleft()
            yield from zip(b0, fut.result())
    finally:
        pool.shutdown(wait=not pending, cancel_futures=True)


# ---------------------------------------------------------------- output

def use_color(choice: str, stream: TextIO) -> bool:
    """--color auto: only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if choice != "auto":
        return choice == "always"
    return _isatty(stream) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def table_width(stream: TextIO) -> int | None:
    """The terminal's width on a terminal; None (nothing cut) when piped or redirected."""
    if not _isatty(stream):
        return None
    import shutil
    return max(shutil.get_terminal_size((100, 24)).columns, 40)


class Emitter:
    """Streams per-message reports in the chosen format (json identical to ``report.to_json``).

    The table shows what was done; a message that could not be read is said once, on stderr,
    not again here.
    """

    CSV_FIELDS = ("path", "message_id", "from", "subject", "date", "status", "kind", "url", "where", "action",
                  "outcome", "reason", "tracker", "certainty", "part", "detail", "warning")

    def __init__(self, fmt: str, stream: TextIO, color: bool = False) -> None:
        self.fmt, self.stream, self.n = fmt, stream, 0
        self.color, self.width = color, table_width(stream)
        if fmt == "json":
            from tracker_block.engine.report import SCHEMA_VERSION
            stream.write('{\n  "schema": %d,\n  "messages": [' % SCHEMA_VERSION)
        elif fmt == "csv":
            import csv
            self.csv = csv.writer(stream, lineterminator="\n")
            self.csv.writerow(self.CSV_FIELDS)

    def emit(self, rep: "MessageReport") -> None:
        import json
        if self.fmt == "table":
            if rep.unreadable:
                return
            from tracker_block.engine.report import table_header, table_rows
            if not self.n:
                self.stream.write(table_header(width=self.width, color=self.color) + "\n")
            self.stream.write(table_rows(rep, width=self.width, color=self.color) + "\n\n")
        elif self.fmt == "json":
            body = json.dumps(rep.to_dict(), indent=2, ensure_ascii=False)
            self.stream.write(("," if self.n else "") + "\n" + "\n".join("    " + ln for ln in body.split("\n")))
        elif self.fmt == "jsonl":
            self.stream.write(json.dumps(rep.to_dict(), ensure_ascii=False) + "\n")
        elif self.fmt == "csv":
            head = [rep.path, rep.message_id, rep.sender, rep.subject, rep.date, rep.status]
            for f in rep.findings:
                self.csv.writerow(head + [f.kind, f.url, f.where, f.action, f.outcome, f.reason, f.tracker,
                                          f.certainty, f.part, f.detail, None])
            for e in ([rep.error] if rep.error else []) + rep.errors:
                self.csv.writerow(head + [None] * 10 + [e])
        self.n += 1

    def close(self) -> None:
        if self.fmt == "json":
            self.stream.write(("\n  ]" if self.n else "]") + "\n}\n")
        self.stream.flush()


class Summary:
    """Run totals for the closing lines (and the exit status), in the report's words."""

    def __init__(self) -> None:
        self.messages = self.failed = self.warned = self.receipts = 0
        self.status: Counter[str] = Counter()
        self.totals: Counter[str] = Counter()
        self.companies: Counter[str] = Counter()
        self.senders: Counter[str] = Counter()

    @property
    def with_trackers(self) -> int:
        """Messages that carried a tracking device (removed, unwrapped or left, marked): --fail-on-trackers."""
        return self.senders.total()

    def add(self, rep: "MessageReport", failed: bool) -> None:
        if failed:
            self.failed += 1
            return
        self.messages += 1
        self.status[rep.status] += 1
        if rep.errors:
            self.warned += 1
        counts = rep.summary()
        receipts = sum(1 for f in rep.findings if f.kind == "header" and f.outcome == "removed")
        counts["trackers_removed"] -= receipts     # one request is said in up to three headers
        self.receipts += bool(receipts)
        self.totals.update(counts)
        if rep.tracking:
            self.senders[_address(rep.sender)] += 1
        self.companies.update(rep.companies())

    def render(self, command: str, where: str | None = None, top: int = 5) -> str:
        """The closing lines: what was done, to how many messages, and where the output went."""
        from tracker_block.engine.report import plural
        t = self.totals
        if command == "clean":
            verb = f"cleaned {plural(self.messages, 'message')}" + (f" → {where}" if where else "")
            parts = [f"{plural(t['trackers_removed'], 'tracker')} removed",
                     f"{plural(t['links_cleaned'], 'link')} cleaned",
                     f"{plural(t['left_marked'], 'tracked link')} left, marked"]
            extra = [(self.receipts, "read-receipt request", "removed"), (t["other_removed"], "other remote load",
                     "removed"), (t["proxied"], "image", "proxied")]
        else:
            verb = f"scanned {plural(self.messages, 'message')}" + (", nothing written" if command == "scan" else "")
            parts = [f"{plural(t['trackers_removed'], 'tracker')} to remove",
                     f"{plural(t['links_cleaned'], 'link')} to clean",
                     f"{plural(t['left_marked'], 'tracked link')} to leave, marked"]
            extra = [(self.receipts, "read-receipt request", "to remove"),
                     (t["other_removed"], "other remote load", "to remove"), (t["proxied"], "image", "to proxy")]
        parts += [f"{plural(n, word)} {how}" for n, word, how in extra if n]
        lines = [" · ".join([verb] + parts)]
        st = self.status
        states = [f"{st['clean']:,} clean", f"{st['cleaned']:,} cleaned",
                  f"{st['tracked']:,} tracked (a tracked link is left, marked)"]
        if st["allowlisted"]:
            states.append(f"{st['allowlisted']:,} allowlisted, not checked")
        if self.failed:
            states.append(f"{self.failed:,} could not be read or written (see above)")
        if self.warned:
            states.append(f"{self.warned:,} with warnings (see above)")
        lines.append("messages: " + " · ".join(states))
        if self.companies:
            lines.append("tracking companies: " + ", ".join(f"{c} ({n})" for c, n in self.companies.most_common(top)))
        if self.senders:
            lines.append("top senders of tracking mail: " + ", ".join(
                f"{s} ({n})" for s, n in self.senders.most_common(top)))
        return "\n".join(lines)


@functools.lru_cache(maxsize=4096)
def _address(sender: str | None) -> str:
    """A From header's address, lowercased (a mailbox holds many messages from few senders)."""
    from email.utils import parseaddr
    addr = parseaddr(sender or "")[1]
    return (addr or sender or "(unknown)").lower()


class Progress:
    """A one-line progress display on a terminal: messages, rate, percent and ETA (by bytes)."""

    def __init__(self, stream: TextIO, total_bytes: int, enabled: bool) -> None:
        self.stream, self.total, self.enabled = stream, total_bytes, enabled
        self.start = self.last = time.monotonic()
        self.count = self.done_bytes = 0
        self.shown = False

    def update(self, nbytes: int) -> None:
        self.count += 1
        self.done_bytes += nbytes
        now = time.monotonic()
        if self.enabled and now - self.last >= 0.1:
            self.last = now
            self.draw(now)

    def draw(self, now: float) -> None:
        elapsed = max(now - self.start, 1e-6)
        rate = self.count / elapsed
        text = f"{self.count:,} message{'' if self.count == 1 else 's'}  {rate:,.0f}/s"
        if self.total:
            frac = min(self.done_bytes / self.total, 1.0)
            width = 24
            bar = "█" * int(frac * width) + "░" * (width - int(frac * width))
            eta = elapsed * (1 - frac) / frac if frac > 0 else 0
            text = f"{bar} {frac:4.0%}  {text}  ETA {int(eta) // 60}:{int(eta) % 60:02d}"
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def _total_bytes(paths: list[str]) -> int:
    total = 0
    for p in paths:
        if p == "-":
            continue
        try:
            if os.path.isdir(p):
                for d, _dirs, files in os.walk(p):
                    for f in files:
                        try:
                            total += os.lstat(os.path.join(d, f)).st_size
                        except OSError:
                            pass
            else:
                total += os.path.getsize(p)
        except OSError:
            pass
    return total


# ---------------------------------------------------------------- the run

class UsageError(Exception):
    pass


def _options(args: argparse.Namespace) -> Any:
    from tracker_block.cli.config import ConfigError, build_options, load
    try:
        cfg = load(args.config)
        return build_options(
            cfg, mode=args.remote, proxy_url=args.proxy_url, proxy_key=args.proxy_key,
            keep_read_receipts=args.keep_read_receipts, clean_links=args.clean_links,
            recipients=tuple(args.recipient))
    except (ConfigError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _same_or_inside(inner: Path, outer: Path) -> bool:
    inner, outer = inner.resolve(), outer.resolve()
    return inner == outer or outer in inner.parents


def check_output_file(out: str, force: bool, what: str = "-o") -> Path:
    """Fail before any work if ``out`` cannot be written: a folder, a missing or unwritable
    folder, or an existing file without --force (nothing is created or replaced unasked)."""
    p = Path(out)
    if p.is_dir() or out.endswith(os.sep):
        raise UsageError(f"{what} {out} is a folder; give a file name, e.g. {os.path.join(out, 'report.html')}")
    parent = p.parent
    if not parent.is_dir():
        raise UsageError(f"{what} {out}: the folder {parent} does not exist (create it first)")
    if p.exists() and not p.is_file():
        raise UsageError(f"{what} {out} is not a regular file (a device or a pipe); "
                         "name a file, or use '-o -' for stdout")
    if p.exists() and not force:
        raise UsageError(f"{what} {out} already exists; add --force to replace it")
    _probe(parent, f"{what} {out}: cannot write in {parent}")
    return p


def check_output_dir(out: str) -> Path:
    """Make the -o folder (asked for) and prove a file can be written in it, before any work."""
    p = Path(out)
    _probe(p, f"-o {out}: cannot write there", make=True)
    return p


def _probe(folder: Path, message: str, make: bool = False) -> None:
    """Write and remove a temp file in ``folder``: the only sure test (permissions, read-only
    mounts, /proc). A failure is a usage error, said before any mail is read."""
    import tempfile
    try:
        if make:
            folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".tracker-block-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        from tracker_block.cli.mailbox import os_reason
        raise UsageError(f"{message} ({os_reason(exc)})") from None


def _plan_output(args: argparse.Namespace) -> tuple[str, Path | None, Path | None]:
    """Decide the clean destination: (mode, out, backup root)."""
    paths = args.paths
    if args.in_place:
        if "-" in paths:
            raise UsageError("--in-place cannot be used with '-' (stdin); use -o")
        if args.force:
            raise UsageError("--force only makes sense with -o FILE")
        return "inplace", None, Path(args.backup_dir) if args.backup_dir else None
    if args.backup_dir:
        raise UsageError("--backup-dir only makes sense with --in-place")
    out = args.output
    if not out:
        raise UsageError("-o needs a file, a folder or '-'")
    single = len(paths) == 1 and (paths[0] == "-" or os.path.isfile(paths[0]))
    if out == "-":
        if not single:
            raise UsageError("'-o -' needs exactly one input (a file or '-')")
        return "stdout", None, None
    outp = Path(out)
    if single and not outp.is_dir() and not out.endswith(os.sep):
        if paths[0] != "-" and outp.exists() and outp.resolve() == Path(paths[0]).resolve():
            raise UsageError("the output is the input; use --in-place to replace it (with a backup)")
        return "file", check_output_file(out, args.force), None
    for p in paths:
        if p == "-":
            continue
        if os.path.isdir(p) and _same_or_inside(Path(p), outp):
            raise UsageError(f"-o {out} is the input folder {p} (or holds it): the cleaned copies would "
                             "replace the mail; use another folder, or --in-place (with a backup)")
        if (outp / Path(p).resolve().name).resolve() == Path(p).resolve():
            raise UsageError(f"-o {out} would overwrite the input {p}; use --in-place")
    if outp.exists() and not outp.is_dir():
        raise UsageError(f"-o {out} is a file; with several inputs or a folder, -o names a folder")
    return "dir", check_output_dir(out), None


def _destination(mode: str, out: Path | None, paths: list[str], sink: Any) -> str | None:
    """Where clean put the mail, as the closing line says it."""
    from tracker_block.engine.report import plural
    if mode == "stdout":
        return "stdout"
    if mode == "file":
        return str(out)
    if mode == "inplace":
        return (f"in place ({plural(sink.written, 'file')} changed, originals kept under {sink.backup})"
                if sink.written else "in place (no file needed a change)")
    assert out is not None
    if len(paths) == 1:
        if paths[0] == "-":
            return str(sink.stdin_dest or out)
        return os.path.join(str(out), Path(paths[0]).resolve().name) + (os.sep if os.path.isdir(paths[0]) else "")
    return str(out) + os.sep


def _error_line(stream: TextIO, key: str, reason: str) -> None:
    from tracker_block.engine.report import printable
    stream.write(f"{PROG}: {printable(key)}: {printable(reason)}\n")


def run(args: argparse.Namespace, command: str) -> int:
    from tracker_block.cli.mailbox import Item, Sink, Source, discover, iter_items
    from tracker_block.engine.report import MessageReport

    options = _options(args)
    prefetch = getattr(args, "prefetch", False)
    if prefetch and options.mode != "proxy":
        raise UsageError("--prefetch needs --remote proxy (only proxied images can be warmed)")
    if "-" in args.paths and args.paths.count("-") > 1:
        raise UsageError("'-' (stdin) can be given only once")
    fmt = "table"
    explicit_fmt = None
    if command != "report":
        explicit_fmt = args.format_json or args.format
        fmt = explicit_fmt or "table"
    quiet = args.quiet
    sink = None
    mode = out = None
    exclude: list[Path] = []
    if command == "report":
        dashboard_out = None if args.output == "-" else check_output_file(args.output, args.force)
        json_out = check_output_file(args.json_out, args.force, "--json-out") if args.json_out else None
        if json_out is not None and dashboard_out is not None and json_out.resolve() == dashboard_out.resolve():
            raise UsageError("--json-out and -o name the same file")
    if command == "clean":
        mode, out, backup = _plan_output(args)
        if mode == "inplace" and backup is not None:
            exclude.append(backup)
        if mode == "dir":
            exclude.append(out)
        sink = Sink(mode, out, None, stdout=sys.stdout.buffer if mode == "stdout" else None)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup_given = backup
    report_stream = sys.stderr if mode == "stdout" else sys.stdout
    err = sys.stderr
    jobs = args.jobs or os.cpu_count() or 1
    max_size = args.max_size * 1024 * 1024
    show_progress = not quiet and _isatty(err)
    progress = Progress(err, _total_bytes(args.paths) if show_progress else 0, show_progress)
    emitter = None
    if command != "report" and not (quiet and command == "clean" and explicit_fmt is None):
        emitter = Emitter(fmt, report_stream, use_color(args.color, report_stream))
    collector = json_file = None
    if command == "report":
        from tracker_block.cli.dashboard import Collector
        collector = Collector()
        if json_out is not None:
            import tempfile
            fd, json_tmp = tempfile.mkstemp(prefix=".tracker-block-tmp-", dir=json_out.parent)
            json_file = os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace")
            emitter = Emitter("json", json_file)
    summary = Summary()

    def skipped(path: str, why: str) -> None:
        if not quiet:
            progress.clear()
            _error_line(err, path, why)

    def items() -> Iterator[Item]:
        for entry in discover(args.paths, args.format_in, tuple(exclude), skipped):
            if isinstance(entry, Item):
                yield entry
                continue
            entry.listed = True
            yield from iter_items(entry, max_size)

    current: Source | None = None
    write_errors = 0

    def finish_source(src: Source | None) -> None:
        nonlocal write_errors
        if sink is not None and src is not None:
            problem = sink.end(src)
            if problem:
                write_errors += 1
                progress.clear()
                _error_line(err, src.shown, problem)

    def set_backup(src: Source) -> None:
        if mode == "inplace" and src.root is not None:
            sink.backup = backup_given or src.root.resolve().parent / f"tracker-block-backup-{stamp}"

    ctrl_c = _CtrlC()
    try:
        for item, (cleaned, rep, error) in process(items(), options, jobs, want_bytes=sink is not None):
            ctrl_c.check()
            if sink is not None and item.source is not current and item.source.listed:
                finish_source(current)
                current = item.source
                set_backup(current)
                sink.begin(current)
            failed = error is not None
            if failed:
                rep = MessageReport(path=item.key, unreadable=True, error=error)
            if sink is not None and item.source is current:
                out_bytes = None if failed else cleaned
                if failed and mode == "stdout" and item.data:
                    # A filter never loses mail: pass the original through, flagged (issue 8).
                    from tracker_block.integrations.mailfilter.delivery import add_header
                    out_bytes = add_header(item.data, "error " + " ".join(error.split())[:200])
                problem = sink.put(item, out_bytes)
                if problem:
                    if not failed:
                        rep.unreadable, rep.error = True, problem
                    failed, error = True, problem
            progress.update(item.size or (len(item.data) if item.data else 0))
            if failed:
                progress.clear()
                _error_line(err, item.key, error)
            elif rep.errors and not quiet:
                progress.clear()
                for e in rep.errors:
                    _error_line(err, item.key, f"warning: {e}")
            if prefetch and not failed:
                signed = [f.detail for f in rep.findings if f.action == "proxied" and f.detail]
                if signed:
                    from tracker_block.integrations.proxy.server import prefetch as warm
                    statuses = warm(signed, timeout=20.0)
                    bad = sum(1 for code in statuses.values() if code != 200)
                    if bad:
                        rep.errors.append(f"prefetch: {bad} of {len(signed)} images not cached")
            summary.add(rep, failed)
            if collector is not None:
                collector.add(rep, failed)
            if emitter is not None:
                if progress.shown and _isatty(report_stream):
                    progress.clear()
                emitter.emit(rep)
            item.data = None
        finish_source(current)
        current = None
    except KeyboardInterrupt:
        progress.clear()
        if sink is not None:
            sink.abort()
        if emitter is not None:
            try:
                emitter.close()
            except Exception:
                pass
        _drop(json_file, json_tmp if json_file else None)
        err.write(f"{PROG}: interrupted; files already written are complete, the rest are unchanged\n")
        return EXIT_INTERRUPTED
    except BaseException:
        if sink is not None:
            sink.abort()              # never leave a half-built mbox behind
        _drop(json_file, json_tmp if json_file else None)
        raise
    finally:
        ctrl_c.restore()
    progress.clear()
    if emitter is not None:
        emitter.close()
    wrote: list[str] = []
    if collector is not None:
        try:
            if json_file is not None:
                json_file.flush()
                os.fsync(json_file.fileno())
                json_file.close()
                os.chmod(json_tmp, 0o644)
                os.replace(json_tmp, json_out)
                json_file = None
            json_name = json_out.name if json_out else None
            if dashboard_out is None:
                sys.stdout.write(collector.render(args.title, json_name) + "\n")
                sys.stdout.flush()
            else:
                collector.write(dashboard_out, title=args.title, json_name=json_name)
                wrote.append(str(dashboard_out))
            if json_out is not None:
                wrote.append(str(json_out))
        except OSError as exc:
            _drop(json_file, json_tmp if json_file else None)
            from tracker_block.cli.mailbox import os_reason
            _error_line(err, args.output, f"not written: {os_reason(exc)}")
            return EXIT_FAILED
    if not quiet and (summary.messages or summary.failed):
        stream = err if (fmt != "table" or mode == "stdout" or (command == "report" and args.output == "-")) else report_stream
        where = _destination(mode, out, args.paths, sink) if sink is not None else None
        stream.write(summary.render(command, where) + "\n")
        for w in wrote:
            stream.write(f"wrote {w}\n")
    if not summary.messages and not summary.failed:
        # Nothing at all to read is almost always the wrong folder: say so, do not succeed.
        _error_line(err, " ".join(args.paths), "no mail found (no .eml, mbox or Maildir message)")
        return EXIT_FAILED
    if summary.failed or write_errors:
        return EXIT_FAILED
    if command != "report" and args.fail_on_trackers and summary.with_trackers:
        return EXIT_TRACKERS
    return EXIT_OK


def _drop(f: Any, tmp: str | None) -> None:
    """Remove a half-written temp file (the destination stays as it was)."""
    if f is None or tmp is None:
        return
    try:
        f.close()
        os.unlink(tmp)
    except OSError:
        pass




def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tracker-block`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _DISPATCH:
        return _dispatch(argv[0], argv[1:])
    for stream in (sys.stdout, sys.stderr):   # a file name that is not UTF-8 must not end the run
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError):
            pass
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:          # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_USAGE
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return run(args, args.command)
    except UsageError as exc:
        print(f"{PROG} {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:            # e.g. "tracker-block scan ... | head"
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def console() -> NoReturn:
    """The ``tracker-block`` console script: ``main``, then exit with its status.

    ``pipe`` runs once per delivered message (procmail, maildrop, Sieve), and tearing the
    interpreter down (freeing the rule set and every module) was a ninth of its CPU time (17 of
    ~150 ms). It has no thread, child process or atexit hook and has closed its files, so once
    its streams are flushed it leaves without the teardown. If a flush fails, the ordinary exit
    runs and reports it as before.

    It also runs without the cyclic garbage collector. One message's cycles are freed at exit
    anyway, and the collector's passes over the rule set and the modules cost about 7 % of its
    CPU; a 17 MB message peaked at the same memory with and without it."""
    one_message = sys.argv[1:2] == ["pipe"]
    if one_message:
        gc.disable()
    status = main()
    if one_message:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:      # noqa: BLE001 - the ordinary exit below says what went wrong
            sys.exit(status)
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":
    console()

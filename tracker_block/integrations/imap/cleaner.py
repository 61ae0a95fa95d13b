"""Scan a folder read-only, or replace each tracked message by its cleaned copy, safely.

The replacement of one original is a small transaction whose every step is safe to die in:

  journal "journaled"  ->  APPEND the cleaned copy (same folder, flags, INTERNALDATE, marker)
  ->  find it (APPENDUID, else SEARCH) and FETCH it back to compare  ->  journal "verified"
  ->  copy the original's current flags over  ->  MOVE the original to the originals folder
  (or COPY + \\Deleted + UID EXPUNGE; or remove it, if asked)  ->  journal done.

Until the copy is verified the original is not touched, so there is never a moment with
neither version. A restart (or a reconnect) settles each journaled original by looking at
the server: copies are found by the marker's hash of the original, surplus copies removed,
so every message ends up exactly once. An original another client removed before we
verified our copy takes our copy with it (the user's delete wins); after that, the copy stays.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterator
from urllib.parse import quote

from tracker_block.engine.report import MessageReport
from tracker_block.integrations.imap import faults, marker
from tracker_block.integrations.imap.client import SERVER_ERRORS, Folder, Meta, ensure_folder
from tracker_block.integrations.imap.state import Journal, Pending

DEFAULT_ORIGINALS = "tracker-block/originals"


@dataclass
class Settings:
    """How to clean: engine options plus what to do with originals, pace and limits."""

    options: Any                      # policy.Options
    originals: str | None = DEFAULT_ORIGINALS   # folder for originals; None: delete them
    dry_run: bool = False
    rate: float = 0.0                 # messages per second; 0: no limit
    max_size: int = 50 << 20
    batch: int = 100                  # bodies per FETCH
    batch_bytes: int = 8 << 20


@dataclass
class Tally:
    """Run totals, in the report vocabulary."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    @property
    def failed(self) -> int:
        return sum(self.counts.get(k, 0) for k in ("unreadable", "refused", "not verified", "too large"))

    def render(self) -> str:
        order = ("checked", "cleaned", "would clean", "clean", "already cleaned", "allowlisted", "unreadable",
                 "too large", "refused", "not verified", "vanished", "left marked deleted")
        parts = [f"{self.counts[k]} {k}" for k in order if self.counts.get(k)]
        return ", ".join(parts) if parts else "nothing to do"


class Stop(Exception):
    """Raised between messages when the user asked to stop (SIGTERM / Ctrl-C)."""


class Pacer:
    """At most ``rate`` messages per second (0: unlimited), so big mailboxes stay under provider limits."""

    def __init__(self, rate: float) -> None:
        self.gap = 1.0 / rate if rate > 0 else 0.0
        self.next = 0.0

    def wait(self) -> None:
        if not self.gap:
            return
        now = time.monotonic()
        if self.next > now:
            time.sleep(self.next - now)
        self.next = max(now, self.next) + self.gap


def message_url(account_key: str, folder: str, uidvalidity: int, uid: int) -> str:
    """RFC 5092 IMAP URL of one message: the report's ``path``."""
    user_host = account_key.rsplit(":", 1)[0]
    return f"imap://{quote(user_host, safe='@')}/{quote(folder, safe='/')};UIDVALIDITY={uidvalidity}/;UID={uid}"


def analyse(raw: bytes, options: Any, path: str) -> tuple[bytes | None, MessageReport]:
    """Clean in memory: (cleaned bytes or None if nothing to change, report). Never raises for bad mail:
    the same reading as ``tracker-block scan`` (``engine.clean_for_report``)."""
    from tracker_block.engine.clean import clean_for_report
    return clean_for_report(raw, options, path=path)


def select_uids(folder: Folder, since: date | None, after_uid: int | None) -> list[int]:
    """The UIDs to look at: received on/after ``since`` and/or above ``after_uid``."""
    crit: list = []
    if since is not None:
        crit += ["SINCE", since]
    if after_uid is not None:
        crit += ["UID", f"{after_uid + 1}:*"]
    uids = folder.search(crit or ["ALL"])
    # "N:*" always matches the highest UID, even below N
    return [u for u in uids if after_uid is None or u > after_uid]


def _batches(metas: list[Meta], count: int, nbytes: int) -> Iterator[list[Meta]]:
    batch: list[Meta] = []
    size = 0
    for m in metas:
        batch.append(m)
        size += m.size
        if len(batch) >= count or size >= nbytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def scan(conn: Any, account_key: str, folder_name: str, since: date | None, options: Any,
         on_report: Callable[[MessageReport], None], *, rate: float = 0.0, max_size: int = 50 << 20,
         progress: Callable[[int, int], None] | None = None) -> Tally:
    """Read-only report: EXAMINE and BODY.PEEK, so no flag (not even \\Seen) and no UID changes."""
    folder = Folder(conn, folder_name, readonly=True)
    uids = select_uids(folder, since, None)
    tally = Tally()
    pacer = Pacer(rate)
    metas = list(folder.meta(uids, b""))
    done = 0
    for batch in _batches(metas, 100, 8 << 20):
        small = [m.uid for m in batch if m.size <= max_size]
        bodies = folder.bodies(small)
        for m in batch:
            path = message_url(account_key, folder.name, folder.uidvalidity, m.uid)
            raw = bodies.get(m.uid)
            if m.size > max_size:
                rep = MessageReport(path=path, error=f"too large ({m.size} bytes), not checked", unreadable=True)
                tally.add("too large")
            elif raw is None:
                continue                       # expunged by another client meanwhile
            else:
                pacer.wait()
                _, rep = analyse(raw, options, path)
                tally.add("unreadable" if rep.unreadable else "checked")
            on_report(rep)
            done += 1
            if progress:
                progress(done, len(metas))
    return tally


class Cleaner:
    """Cleans folders of one connection, journaling every step (see the module docstring)."""

    def __init__(self, conn: Any, account_key: str, journal: Journal, settings: Settings,
                 log: Callable[[str], None], on_report: Callable[[MessageReport], None] | None = None,
                 progress: Callable[[int, int], None] | None = None,
                 should_stop: Callable[[], bool] = lambda: False) -> None:
        self.conn, self.account_key, self.journal, self.s = conn, account_key, journal, settings
        self.log, self.on_report, self.progress, self.should_stop = log, on_report, progress, should_stop
        self.key = journal.key()
        self.tally = Tally()
        self.pacer = Pacer(settings.rate)
        self.dest: str | None = None

    # ------------------------------------------------------------ folders

    def _destination(self) -> str | None:
        if self.s.originals is None or self.s.dry_run:
            return None
        if self.dest is None:
            self.dest = ensure_folder(self.conn, self.s.originals)
        return self.dest

    def open(self, name: str) -> Folder:
        """Select ``name`` read-write and settle what a previous run left half done there."""
        self._destination()
        folder = Folder(self.conn, name, readonly=self.s.dry_run)
        if self.s.originals is None and not folder.has(b"UIDPLUS") and not self.s.dry_run:
            raise SystemExit("tracker-block imap: --delete-originals needs a server with UIDPLUS "
                             "(without it, EXPUNGE would also remove what you marked deleted); "
                             "use --originals FOLDER")
        if self.dest is not None and folder.name == self.dest:
            raise SystemExit(f"tracker-block imap: {name} is the originals folder; it is never cleaned")
        if not self.s.dry_run:
            for p in self.journal.pending(folder.name):
                self._settle(folder, p)
        return folder

    def run(self, folder: Folder, since: date | None = None, after_uid: int | None = None) -> int:
        """Clean matching messages; returns the highest UID looked at (for ``watch``)."""
        uids = select_uids(folder, since, after_uid)
        if not uids:
            return after_uid or 0
        metas: list[Meta] = []
        for m in folder.meta(uids, self.key):
            if m.marker_orig is not None:
                self.tally.add("already cleaned")
            elif b"\\Deleted" not in m.flags:
                metas.append(m)
        done = 0
        for batch in _batches(metas, self.s.batch, self.s.batch_bytes):
            small = [m.uid for m in batch if m.size <= self.s.max_size]
            bodies = folder.bodies(small)
            for m in batch:
                if self.should_stop():
                    raise Stop()
                self.one(folder, m, bodies.pop(m.uid, None))
                done += 1
                if self.progress:
                    self.progress(done, len(metas))
        return max(uids)

    # ------------------------------------------------------------ one message

    def one(self, folder: Folder, m: Meta, raw: bytes | None) -> None:
        path = message_url(self.account_key, folder.name, folder.uidvalidity, m.uid)
        where = f"{folder.name} uid {m.uid}"
        if m.size > self.s.max_size:
            self._report(MessageReport(path=path, error=f"too large ({m.size} bytes), left as it was",
                                       unreadable=True))
            self.tally.add("too large")
            self.log(f"{where}: too large ({m.size} bytes), left as it was")
            return
        if raw is None:
            self.tally.add("vanished")           # expunged by another client since the SEARCH
            return
        self.pacer.wait()
        cleaned, rep = analyse(raw, self.s.options, path)
        self._report(rep)
        if rep.unreadable:
            self.tally.add("unreadable")
            self.log(f"{where}: {rep.error or (rep.errors or ['unreadable'])[0]}; left as it was")
            return
        if rep.allowlisted:
            self.tally.add("allowlisted")
            return
        if cleaned is None:
            self.tally.add("clean")
            return
        from tracker_block.integrations.mailfilter.delivery import summary
        what = summary(rep)
        if self.s.dry_run:
            self.tally.add("would clean")
            self.log(f"{where}: would clean: {what} (dry run, nothing changed)")
            return
        orig = marker.original_hash(raw)
        marked = marker.mark(cleaned, self.key, orig)
        p = Pending(folder.name, folder.uidvalidity, m.uid, orig, (rep.message_id or "").strip() or None,
                    "journaled", None)
        self.journal.begin(p)
        faults.step("journaled")
        self._replace(folder, p, m.uid, marked, m, where, what)

    def _report(self, rep: MessageReport) -> None:
        if self.on_report:
            self.on_report(rep)

    def _replace(self, folder: Folder, p: Pending, uid: int, marked: bytes, m: Meta, where: str, what: str) -> None:
        _, copies = folder.header_ids(p.message_id, p.orig, self.key)
        good = self._keep_one(folder, copies, marked)
        if good is None:
            try:
                new_uid = folder.append(marked, m.flags, m.internaldate)
            except SERVER_ERRORS as exc:
                self.journal.finish(p, None)
                self.tally.add("refused")
                self.log(f"{where}: the server refused the cleaned copy ({_one_line(exc)}); original left as it was")
                return
            faults.step("appended")
            self.journal.step(p, "appended", new_uid)
            if new_uid is None:             # no UIDPLUS: find it by its marker
                _, copies = folder.header_ids(p.message_id, p.orig, self.key)
                new_uid = self._keep_one(folder, copies, marked)
            elif not self._same(folder, new_uid, marked):
                folder.remove([new_uid])
                new_uid = None
            if new_uid is None:
                self.journal.finish(p, None)
                self.tally.add("not verified")
                self.log(f"{where}: the cleaned copy could not be read back intact; removed it, original left as it was")
                return
            good = new_uid
        self.journal.step(p, "verified", good)
        faults.step("verified")
        self._retire(folder, p, uid, good, m.flags, where, what)

    def _retire(self, folder: Folder, p: Pending, uid: int, good: int, appended_flags: tuple, where: str,
                what: str) -> None:
        """The copy is verified: carry over flag changes made meanwhile, then move (or remove) the original."""
        now = folder.flags(uid)
        if now is None or b"\\Deleted" in now:
            # Another client removed the original while we worked: the user's delete wins.
            folder.remove([good])
            self.journal.finish(p, None)
            self.tally.add("vanished")
            self.log(f"{where}: removed by another client meanwhile; its cleaned copy removed too")
            return
        if _norm(now) != _norm(appended_flags):
            folder.set_flags(good, now)
        dest = self._destination()
        if dest is None:
            gone = folder.remove([uid])
            fate = "original deleted"
        else:
            gone = folder.move(uid, dest)
            fate = f"original moved to {dest}"
        faults.step("moved")
        self.journal.finish(p, dest)
        if not gone:
            fate += " (marked \\Deleted here: this server has no UIDPLUS, your mail client expunges it)"
            self.tally.add("left marked deleted")
        self.tally.add("cleaned")
        self.log(f"{where}: cleaned, {what}; {fate} (cleaned copy uid {good})")

    def _same(self, folder: Folder, uid: int, marked: bytes) -> bool:
        got = folder.bodies([uid]).get(uid)
        return got is not None and same_message(got, marked)

    def _keep_one(self, folder: Folder, copies: list[int], marked: bytes | None) -> int | None:
        """Of our copies of one original, keep the first intact one and remove the rest."""
        good = None
        drop = []
        for c in copies:
            if good is None and (marked is None or self._same(folder, c, marked)):
                good = c
            else:
                drop.append(c)
        if drop:
            folder.remove(drop)
        return good

    # ------------------------------------------------------------ recovery

    def _settle(self, folder: Folder, p: Pending) -> None:
        """Finish or undo what a killed or disconnected run left: every message ends exactly once."""
        where = f"{folder.name} (resumed, original {p.orig[:12]})"
        uid = self._locate(folder, p)
        if uid is not None:
            # The original is still here: process it again; the copy already made is found by its marker.
            raw = folder.bodies([uid]).get(uid)
            meta = next(folder.meta([uid], self.key), None)
            if raw is None or meta is None or marker.original_hash(raw) != p.orig:
                self.journal.finish(p, None)
                return
            cleaned, rep = analyse(raw, self.s.options, message_url(self.account_key, folder.name,
                                                                     folder.uidvalidity, uid))
            if cleaned is None:
                _, copies = folder.header_ids(p.message_id, p.orig, self.key)
                folder.remove(copies)
                self.journal.finish(p, None)
                return
            from tracker_block.integrations.mailfilter.delivery import summary
            self._replace(folder, p, uid, marker.mark(cleaned, self.key, p.orig), meta, where, summary(rep))
            return
        _, copies = folder.header_ids(p.message_id, p.orig, self.key)
        same_folder = p.uidvalidity == folder.uidvalidity
        if copies and (p.step == "verified" or not same_folder or not p.message_id):
            # The original was moved by us (or cannot be told apart): the copy is the message now.
            self._keep_one(folder, copies, None)
            self.journal.finish(p, self.dest if p.step == "verified" else None)
            self.log(f"{where}: settled, one cleaned copy kept")
        else:
            folder.remove(copies)
            self.journal.finish(p, None)
            if copies:
                self.log(f"{where}: original removed by another client; its cleaned copy removed too")

    def _locate(self, folder: Folder, p: Pending) -> int | None:
        """The original's UID now: by UID while UIDVALIDITY holds, else by Message-ID and content hash."""
        if p.uidvalidity == folder.uidvalidity:
            flags = folder.flags(p.uid)
            if flags is None:
                return None
            if b"\\Deleted" in flags:
                if p.step == "verified" and folder.has(b"UIDPLUS"):
                    folder.conn.uid_expunge([p.uid])     # COPY + \Deleted done, EXPUNGE was not
                return None
            return p.uid
        if not p.message_id:
            return None
        plain, _ = folder.header_ids(p.message_id, p.orig, self.key)
        for uid, raw in folder.bodies(plain).items():
            if marker.original_hash(raw) == p.orig:
                return uid
        return None

    # ------------------------------------------------------------ retention

    def purge_originals(self, days: float) -> int:
        """Remove originals moved more than ``days`` ago (found by Message-ID and content hash)."""
        removed = 0
        for dest, orig, mid in self.journal.expired_originals(days):
            if mid:
                try:
                    f = Folder(self.conn, dest, readonly=False)
                except SERVER_ERRORS:
                    self.journal.forget_original(dest, orig)
                    continue
                plain, _ = f.header_ids(mid, orig, self.key)
                hit = [u for u, raw in f.bodies(plain).items() if marker.original_hash(raw) == orig]
                if hit and f.remove(hit):
                    removed += len(hit)
            self.journal.forget_original(dest, orig)
        if removed:
            self.log(f"retention: removed {removed} original{'s' if removed != 1 else ''} older than {days:g} days")
        return removed


def _norm(flags: tuple) -> set[bytes]:
    return {f.lower() if isinstance(f, bytes) else str(f).lower().encode() for f in flags} - {b"\\recent"}


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _split(raw: bytes) -> tuple[bytes, bytes]:
    raw = raw.replace(b"\r\n", b"\n")
    head, sep, body = raw.partition(b"\n\n")
    return head, body


def same_message(got: bytes, sent: bytes) -> bool:
    """Is what the server holds the message we appended? Byte-equal, or (servers that rewrite
    line ends or add trace headers) the same body and every header field we sent."""
    if got == sent:
        return True
    gh, gb = _split(got)
    sh, sb = _split(sent)
    if gb.rstrip(b"\n") != sb.rstrip(b"\n"):
        return False
    unfold = lambda h: {b" ".join(f.split()) for f in h.replace(b"\n ", b" ").replace(b"\n\t", b" ").split(b"\n")}  # noqa: E731
    return unfold(sh) <= unfold(gh)

"""The resume journal: an SQLite file (one per user, every account in it) that survives kill -9.

It records, durably and before each server-side step, which original is being replaced
(``pending``), so a restart revisits exactly those and settles them by what the server holds;
how far each folder was handled (``folders``: UIDVALIDITY and the highest UID done, so a
UIDVALIDITY change is noticed and ``watch`` picks up where it stopped); which originals were
moved and when (``originals``, for the retention); and the secret that keys the marker's MAC.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS folders (account TEXT, folder TEXT, uidvalidity INTEGER, last_uid INTEGER,
    PRIMARY KEY (account, folder));
CREATE TABLE IF NOT EXISTS pending (account TEXT, folder TEXT, uidvalidity INTEGER, uid INTEGER,
    orig TEXT, message_id TEXT, step TEXT, new_uid INTEGER, updated REAL,
    PRIMARY KEY (account, folder, orig));
CREATE TABLE IF NOT EXISTS originals (account TEXT, folder TEXT, orig TEXT, message_id TEXT, moved REAL);
"""


@dataclass
class Pending:
    """An original whose replacement was started and not yet recorded as finished."""

    folder: str
    uidvalidity: int
    uid: int
    orig: str
    message_id: str | None
    step: str
    new_uid: int | None


class Busy(Exception):
    """Another tracker-block process is working on this account."""


def _lock(path: Path, account: str) -> int:
    """One process per account: two would each take the other's fresh copy for a stranger's."""
    name = hashlib.sha256(account.encode()).hexdigest()[:16]
    fd = os.open(f"{path}.{name}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise Busy(f"another tracker-block imap is already working on {account} (lock {path}.{name}.lock)") from None
    return fd


def default_path() -> Path:
    from platformdirs import user_state_dir
    return Path(user_state_dir("tracker-block")) / "imap.sqlite"


class Journal:
    """Per-step records, each committed before the step it announces."""

    def __init__(self, path: str | os.PathLike[str] | None, account: str) -> None:
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.account = account
        self._lock = _lock(self.path, account)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)   # the MAC key lives here: private
        os.close(fd)
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL survives kill -9 (the tests); after a power cut the server state alone still
        # settles every message (copies are found by their marker before any APPEND).
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()
        os.close(self._lock)

    def key(self) -> bytes:
        """The marker MAC key, made on first use."""
        row = self.db.execute("SELECT value FROM meta WHERE key='mac-key'").fetchone()
        if row:
            return bytes(row[0])
        key = secrets.token_bytes(32)
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('mac-key', ?)", (key,))
        return bytes(self.db.execute("SELECT value FROM meta WHERE key='mac-key'").fetchone()[0])

    # ------------------------------------------------------------ folders

    def folder_mark(self, folder: str) -> tuple[int, int] | None:
        """(uidvalidity, highest UID handled) recorded for this folder, if any."""
        row = self.db.execute("SELECT uidvalidity, last_uid FROM folders WHERE account=? AND folder=?",
                              (self.account, folder)).fetchone()
        return (row[0], row[1]) if row else None

    def set_folder_mark(self, folder: str, uidvalidity: int, last_uid: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO folders VALUES (?, ?, ?, ?)",
                        (self.account, folder, uidvalidity, last_uid))

    # ------------------------------------------------------------ transactions

    def begin(self, p: Pending) -> None:
        self.db.execute("INSERT OR REPLACE INTO pending VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (self.account, p.folder, p.uidvalidity, p.uid, p.orig, p.message_id, p.step,
                         p.new_uid, time.time()))

    def step(self, p: Pending, step: str, new_uid: int | None = None) -> None:
        p.step = step
        if new_uid is not None:
            p.new_uid = new_uid
        self.db.execute("UPDATE pending SET step=?, new_uid=?, updated=? WHERE account=? AND folder=? AND orig=?",
                        (step, p.new_uid, time.time(), self.account, p.folder, p.orig))

    def finish(self, p: Pending, moved_to: str | None) -> None:
        """The original is settled; remember where it went (for the retention) in the same commit."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM pending WHERE account=? AND folder=? AND orig=?",
                            (self.account, p.folder, p.orig))
            if moved_to:
                self.db.execute("INSERT INTO originals VALUES (?, ?, ?, ?, ?)",
                                (self.account, moved_to, p.orig, p.message_id, time.time()))

    def pending(self, folder: str) -> list[Pending]:
        rows = self.db.execute("SELECT folder, uidvalidity, uid, orig, message_id, step, new_uid FROM pending "
                               "WHERE account=? AND folder=? ORDER BY updated", (self.account, folder)).fetchall()
        return [Pending(*r) for r in rows]

    # ------------------------------------------------------------ retention

    def expired_originals(self, days: float) -> list[tuple[str, str, str | None]]:
        """(folder, orig hash, Message-ID) of originals moved more than ``days`` ago."""
        cutoff = time.time() - days * 86400
        return self.db.execute("SELECT folder, orig, message_id FROM originals WHERE account=? AND moved<?",
                               (self.account, cutoff)).fetchall()

    def forget_original(self, folder: str, orig: str) -> None:
        self.db.execute("DELETE FROM originals WHERE account=? AND folder=? AND orig=?", (self.account, folder, orig))

"""The IMAP operations the cleaner needs, over IMAPClient, with each server's gaps handled.

IMAPClient was measured against imaplib and aioimaplib (benchmarks/bench_imap.py, docs/imap.md):
all three fetch 1,000 messages in well under 0.2 s on loopback, far below the cost of cleaning
them, and IMAPClient alone parses every response we rely on (FETCH literals, APPENDUID, IDLE,
MOVE, XOAUTH2, modified UTF-7 folder names) without hand-written protocol code.

Capabilities decide the method, never the provider's name: MOVE or COPY + \\Deleted,
UID EXPUNGE only with UIDPLUS (a plain EXPUNGE would also remove what the user marked
deleted), APPENDUID or a SEARCH to find what we appended.
"""
from __future__ import annotations

import re
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

import imaplib

from tracker_block.integrations.imap import marker

_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")
# Connection-level failures: reconnect and settle pending work, never guess.
CONNECTION_ERRORS = (OSError, socket.timeout, ssl.SSLError, imaplib.IMAP4.abort, EOFError)
SERVER_ERRORS = (imaplib.IMAP4.error,)


@dataclass
class Meta:
    """What we know about a message before reading its body."""

    uid: int
    flags: tuple[bytes, ...]
    internaldate: datetime | None
    size: int
    marker_orig: str | None      # the original's hash if this is a valid cleaned copy of ours


class Folder:
    """One selected folder on one connection."""

    def __init__(self, conn: Any, name: str, readonly: bool) -> None:
        self.conn, self.name, self.readonly = conn, name, readonly
        info = conn.select_folder(name, readonly=readonly)
        self.uidvalidity = int(info[b"UIDVALIDITY"])
        self.uidnext = int(info.get(b"UIDNEXT") or 0)
        self.exists = int(info.get(b"EXISTS") or 0)
        self.caps = {c.upper() for c in conn.capabilities()}

    def has(self, cap: bytes) -> bool:
        return cap in self.caps

    # ------------------------------------------------------------ reading

    def search(self, criteria: list) -> list[int]:
        return sorted(int(u) for u in self.conn.search(criteria))

    def meta(self, uids: list[int], key: bytes, batch: int = 500) -> Iterator[Meta]:
        """Flags, INTERNALDATE, size and our marker (if valid), for many UIDs, a batch per command."""
        for i in range(0, len(uids), batch):
            chunk = uids[i:i + batch]
            data = self.conn.fetch(chunk, ["FLAGS", "INTERNALDATE", "RFC822.SIZE",
                                           f"BODY.PEEK[HEADER.FIELDS ({marker.NAME})]"])
            for uid in chunk:
                d = data.get(uid)
                if d is None:        # expunged by another client since the SEARCH
                    continue
                # Servers echo the field name in the case they like: match the item by its prefix.
                head = next((bytes(v) for k, v in d.items() if isinstance(k, bytes) and isinstance(v, bytes)
                             and k.upper().startswith(b"BODY[HEADER.FIELDS")), b"")
                yield Meta(uid, tuple(d.get(b"FLAGS", ())), d.get(b"INTERNALDATE"), int(d.get(b"RFC822.SIZE", 0)),
                           marker.parse(head, key) if head.strip() else None)

    def bodies(self, uids: list[int]) -> dict[int, bytes]:
        """Whole messages without setting \\Seen (BODY.PEEK[])."""
        if not uids:
            return {}
        data = self.conn.fetch(uids, ["BODY.PEEK[]"])
        return {uid: bytes(d[b"BODY[]"]) for uid, d in data.items() if b"BODY[]" in d}

    def flags(self, uid: int) -> tuple[bytes, ...] | None:
        """The message's flags now, or None if it is gone."""
        got = self.conn.get_flags([uid])
        return tuple(got[uid]) if uid in got else None

    def header_ids(self, message_id: str | None, orig: str, key: bytes) -> tuple[list[int], list[int]]:
        """(UIDs of messages with this Message-ID and no valid marker, UIDs of our copies of ``orig``).

        Searches by Message-ID where the original has one (every server indexes it), else by
        the marker field; the marker of each candidate is then read and its MAC checked.
        """
        if message_id:
            cand = self.search(["HEADER", "Message-ID", message_id])
        else:
            cand = self.search(["HEADER", marker.NAME, orig])
        plain, copies = [], []
        for m in self.meta(cand, key):
            if b"\\Deleted" in m.flags:
                continue
            if m.marker_orig == orig:
                copies.append(m.uid)
            elif m.marker_orig is None:
                plain.append(m.uid)
        return plain, copies

    # ------------------------------------------------------------ writing

    def append(self, data: bytes, flags: tuple[bytes, ...], when: datetime | None) -> int | None:
        """APPEND to this folder; the new UID if the server says it (UIDPLUS), else None."""
        keep = tuple(f for f in flags if f.lower() != b"\\recent")
        resp = self.conn.append(self.name, data, flags=keep, msg_time=when)
        m = _APPENDUID.search(resp or b"")
        if m and int(m.group(1)) == self.uidvalidity:
            return int(m.group(2))
        return None

    def set_flags(self, uid: int, flags: tuple[bytes, ...]) -> None:
        self.conn.set_flags([uid], [f for f in flags if f.lower() != b"\\recent"], silent=True)

    def remove(self, uids: list[int]) -> bool:
        """Delete exactly these messages. True if expunged; False if only marked \\Deleted (no UIDPLUS)."""
        if not uids:
            return True
        self.conn.add_flags(uids, [b"\\Deleted"], silent=True)
        if self.has(b"UIDPLUS"):
            self.conn.uid_expunge(uids)
            return True
        return False

    def move(self, uid: int, dest: str) -> bool:
        """Move one message to ``dest``: MOVE, or COPY then remove. False if the original stays, marked \\Deleted."""
        from tracker_block.integrations.imap.faults import step
        if self.has(b"MOVE"):
            self.conn.move([uid], dest)
            return True
        self.conn.copy([uid], dest)
        step("copied")
        self.conn.add_flags([uid], [b"\\Deleted"], silent=True)
        step("flagged")
        if self.has(b"UIDPLUS"):
            self.conn.uid_expunge([uid])
            return True
        return False


def logout(conn: Any) -> None:
    """Say goodbye if the connection still listens; a dead one needs nothing."""
    try:
        conn.logout()
    except Exception:  # noqa: BLE001 - already gone
        pass


def ensure_folder(conn: Any, name: str) -> str:
    """The server's spelling of ``name`` ('/' becomes its hierarchy separator, under the personal
    namespace prefix such as ``INBOX.``), created if missing."""
    try:
        ns = conn.namespace()
        prefix, sep = (ns.personal[0][0], ns.personal[0][1]) if ns.personal else ("", "/")
    except Exception:  # noqa: BLE001 - no NAMESPACE: ask LIST for the separator
        prefix, sep = "", _separator(conn)
    if isinstance(sep, bytes):
        sep = sep.decode()
    if isinstance(prefix, bytes):
        prefix = prefix.decode()
    sep = sep or "/"
    full = name.replace("/", sep)
    if prefix and not full.startswith(prefix) and full.upper() != "INBOX":
        full = prefix + full
    if not conn.folder_exists(full):
        conn.create_folder(full)
        try:
            conn.subscribe_folder(full)
        except SERVER_ERRORS:
            pass
    return full


def _separator(conn: Any) -> str:
    folders = conn.list_folders("", "")
    return folders[0][1] if folders and folders[0][1] else "/"

"""``imap watch``: clean mail as it arrives, for as long as it runs (IDLE where offered, polling otherwise).

Unattended means it must survive what a long-lived connection meets: the server closing the
connection (IDLE is re-issued every 25 minutes, below the 29 the RFC allows), the network
going away (reconnect with backoff up to 5 minutes), UIDVALIDITY changing (recent mail is
looked at again; copies already made are recognised by their marker), and SIGTERM from
systemd (the message in hand is finished first, then it exits 0).
"""
from __future__ import annotations

import imaplib
import signal
import time
from datetime import date, timedelta
from typing import Any, Callable

from tracker_block.integrations.imap.account import Account, AccountError
from tracker_block.integrations.imap.cleaner import Cleaner, Settings, Stop, Tally
from tracker_block.integrations.imap.client import CONNECTION_ERRORS, SERVER_ERRORS, logout
from tracker_block.integrations.imap.state import Journal

IDLE_SECONDS = 25 * 60
RESCAN_DAYS = 7          # after a UIDVALIDITY change, mail received in this many days is looked at again


class StopFlag:
    """Set by SIGTERM / SIGINT; checked between messages and every second while waiting."""

    def __init__(self) -> None:
        self.set = False

    def install(self) -> None:
        def handler(signum: int, frame: Any) -> None:
            self.set = True
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def __call__(self) -> bool:
        return self.set


def _start_after(journal: Journal, folder: Any, since: date | None, log: Callable[[str], None]
                 ) -> tuple[date | None, int | None]:
    mark = journal.folder_mark(folder.name)
    if mark and mark[0] == folder.uidvalidity:
        return None, mark[1]
    if mark:
        log(f"{folder.name}: UIDVALIDITY changed ({mark[0]} -> {folder.uidvalidity}); "
            f"looking again at mail of the last {RESCAN_DAYS} days")
        return since or date.today() - timedelta(days=RESCAN_DAYS), None
    if since is not None:
        return since, None
    return None, max(folder.uidnext - 1, 0)


def _wait(conn: Any, idle: bool, interval: float, stop: StopFlag) -> None:
    """Until new mail may be there: IDLE (one folder, server offers it) or sleep ``interval``."""
    end = time.monotonic() + (IDLE_SECONDS if idle else interval)
    if not idle:
        while not stop() and time.monotonic() < end:
            time.sleep(min(1.0, max(end - time.monotonic(), 0)))
        if not stop():
            conn.noop()
        return
    conn.idle()
    while not stop() and time.monotonic() < end:
        t = time.monotonic()
        responses = conn.idle_check(timeout=1)
        if any(r and r[0] == b"BYE" for r in responses) or (not responses and time.monotonic() - t < 0.5):
            # IMAPClient reports a closed connection as "nothing yet" (and immediately): say it.
            raise imaplib.IMAP4.abort("the server closed the connection")
        if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
            break
    conn.idle_done()


def watch(account: Account, journal: Journal, settings: Settings, folders: list[str], since: date | None,
          interval: float, use_idle: bool, log: Callable[[str], None], keep_days: float | None,
          stop: StopFlag, tally_out: list) -> None:
    """Run until stopped; connection failures are retried, account errors at the first login are not."""
    backoff = 1.0
    first = True
    last_purge = 0.0
    tally = Tally()                       # one total across reconnects
    tally_out[:] = [tally]
    while not stop():
        try:
            conn = account.connect()
        except AccountError as exc:
            if first:
                raise
            log(f"reconnect failed ({exc}); retrying in {backoff:.0f} s")
            _sleep(backoff, stop)
            backoff = min(backoff * 2, 300)
            continue
        cleaner = Cleaner(conn, account.key, journal, settings, log, should_stop=stop)
        cleaner.tally = tally
        try:
            idle = use_idle and len(folders) == 1 and b"IDLE" in {c.upper() for c in conn.capabilities()}
            backoff = 1.0
            while not stop():
                if keep_days is not None and time.monotonic() - last_purge > 6 * 3600:
                    cleaner.purge_originals(keep_days)
                    last_purge = time.monotonic()
                behind = False
                for name in folders:
                    folder = cleaner.open(name)
                    s, after = _start_after(journal, folder, since, log)
                    last = max(cleaner.run(folder, s, after), after or 0)
                    journal.set_folder_mark(folder.name, folder.uidvalidity, last)
                    # Mail that came during the pass was announced to commands that discard it: look now.
                    behind = behind or int(conn.folder_status(name, [b"UIDNEXT"])[b"UIDNEXT"]) - 1 > last
                if first:            # said once the first pass is done: from here on, new mail is seen
                    log(f"watching {', '.join(folders)} on {account.host} "
                        f"({'IDLE' if idle else f'polling every {interval:g} s'})")
                    first = False
                if not behind:
                    _wait(conn, idle, interval, stop)
        except Stop:
            break
        except CONNECTION_ERRORS as exc:
            log(f"connection lost ({' '.join(str(exc).split())[:120] or type(exc).__name__}); "
                f"reconnecting in {backoff:.0f} s")
            _sleep(backoff, stop)
            backoff = min(backoff * 2, 300)
        except SERVER_ERRORS as exc:          # e.g. the folder was deleted: say so, try again later
            log(f"the server said: {' '.join(str(exc).split())[:160]}; trying again in {max(backoff, 60):.0f} s")
            _sleep(max(backoff, 60), stop)
            _sleep(backoff, stop)
            backoff = min(backoff * 2, 300)
        finally:
            logout(conn)


def _sleep(seconds: float, stop: StopFlag) -> None:
    end = time.monotonic() + seconds
    while not stop() and time.monotonic() < end:
        time.sleep(min(0.5, end - time.monotonic()))

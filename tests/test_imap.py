"""``tracker-block imap`` against a real, private Dovecot on loopback (tests/dovecot.py).

Each test works in its own user's mailbox, so the tests share one server and stay independent.
The command runs as a subprocess, as a user runs it: fault injection (kill -9 at a step) needs that.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from imapclient import IMAPClient

from dovecot import PASSWORD, Dovecot, available

pytestmark = pytest.mark.skipif(not available(), reason="needs /usr/sbin/dovecot (apt install dovecot-imapd)")

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = sorted((ROOT / "samples").glob("*.eml"))
CLI = [sys.executable, "-m", "tracker_block.cli.main"]
USERS = {name: None for name in ("scan", "clean", "crash", "uv", "big", "watcher", "notmime", "race", "drop")}
USERS["tight"] = 3


@pytest.fixture(scope="module")
def server():
    with Dovecot(USERS) as d:
        yield d


def connect(server: Dovecot, user: str) -> IMAPClient:
    c = IMAPClient("127.0.0.1", port=server.port, ssl=False)
    c.normalise_times = False
    c.login(user, PASSWORD)
    return c


def tracked(i: int, tag: str = "offer") -> bytes:
    return (f"From: News <news@shop.example.com>\r\nTo: alice@example.org\r\nSubject: {tag} {i}\r\n"
            f"Message-ID: <{tag}-{i}@shop.example.com>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            f"<p>Hello {i}</p><img src=\"https://mcdlv.net/track/open.php?u=1&id={i}\" width=\"1\" height=\"1\">\r\n"
            ).encode()


def plain(i: int) -> bytes:
    return (f"From: Ann <ann@example.net>\r\nTo: alice@example.org\r\nSubject: note {i}\r\n"
            f"Message-ID: <note-{i}@example.net>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n\r\n"
            f"See you at {i}.\r\n").encode()


WHEN = datetime(2026, 11, 20, 8, 30, 0, tzinfo=timezone(timedelta(hours=2)))


def load(c: IMAPClient, folder: str, messages: list[bytes], flags=(b"\\Seen",)) -> None:
    if not c.folder_exists(folder):
        c.create_folder(folder)
    for i, m in enumerate(messages):
        c.append(folder, m, flags=flags if i % 2 == 0 else (b"\\Flagged", b"$Label1"), msg_time=WHEN)


def snapshot(c: IMAPClient, folder: str) -> dict[int, tuple]:
    """uid -> (flags, internaldate, bytes), without touching \\Seen."""
    c.select_folder(folder, readonly=True)
    uids = c.search("ALL")
    got = c.fetch(uids, ["FLAGS", "INTERNALDATE", "BODY.PEEK[]"]) if uids else {}
    return {u: (tuple(sorted(f for f in d[b"FLAGS"] if f != b"\\Recent")), d[b"INTERNALDATE"], bytes(d[b"BODY[]"]))
            for u, d in got.items()}


def visible(c: IMAPClient, folder: str) -> list[bytes]:
    """Bodies of the messages a client shows (not marked \\Deleted)."""
    return [body for flags, _, body in snapshot(c, folder).values() if b"\\Deleted" not in flags]


def message_ids(bodies: list[bytes]) -> list[str]:
    from email.parser import BytesHeaderParser
    return sorted(str(BytesHeaderParser().parsebytes(b)["Message-ID"]) for b in bodies)


def is_cleaned_copy(body: bytes) -> bool:
    return body.startswith(b"X-Tracker-Block-Cleaned: ")


def run(server: Dovecot, user: str, action: str, *args: str, state: Path | None = None, env: dict | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    argv = CLI + ["imap", action, "--host", "127.0.0.1", "--port", str(server.port), "--security", "plain",
                  "--user", user, "--rate", "0", *args]
    if state is not None:
        argv += ["--state", str(state)]
    e = {k: v for k, v in os.environ.items() if k != "TRACKER_BLOCK_IMAP_FAULT"}
    e.update(TRACKER_BLOCK_IMAP_PASSWORD=PASSWORD, **(env or {}))
    return subprocess.run(argv, capture_output=True, text=True, env=e, timeout=timeout, cwd=ROOT)


# ---------------------------------------------------------------- scan

def test_scan_is_read_only_and_equals_cli_scan(server, tmp_path):
    c = connect(server, "scan")
    raws = [p.read_bytes() for p in SAMPLES]
    load(c, "INBOX", raws, flags=())          # unread: a scan that set \Seen would show
    before = snapshot(c, "INBOX")
    status_before = c.folder_status("INBOX", [b"UIDVALIDITY", b"UIDNEXT", b"MESSAGES", b"UNSEEN"])
    html = tmp_path / "dash.html"
    r = run(server, "scan", "scan", "--json", "--html", str(html))
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    # The same bytes, as files, through the ordinary CLI scan.
    files = []
    for uid, (_, _, body) in sorted(before.items()):
        f = tmp_path / f"{uid:04d}.eml"
        f.write_bytes(body)
        files.append(str(f))
    ref = subprocess.run(CLI + ["scan", "--json", "-j", "1", *files], capture_output=True, text=True, cwd=ROOT)
    assert ref.returncode == 0, ref.stderr
    want = json.loads(ref.stdout)
    assert got["schema"] == want["schema"]
    strip = lambda m: {k: v for k, v in m.items() if k != "path"}  # noqa: E731
    assert [strip(m) for m in got["messages"]] == [strip(m) for m in want["messages"]]
    assert sum(1 for m in got["messages"] if m["findings"]) >= 6
    assert [m["path"].rsplit("UID=", 1)[1] for m in got["messages"]] == [str(u) for u in sorted(before)]
    # Nothing changed: flags (\Seen included), UIDs, bytes, UIDVALIDITY, UIDNEXT.
    assert snapshot(c, "INBOX") == before
    assert c.folder_status("INBOX", [b"UIDVALIDITY", b"UIDNEXT", b"MESSAGES", b"UNSEEN"]) == status_before
    assert status_before[b"UNSEEN"] == len(raws)
    page = html.read_text()
    assert "Mailchimp" in page and "HubSpot" in page
    assert f"{len(raws)} messages, " in r.stderr


# ---------------------------------------------------------------- clean

def test_clean_replaces_each_tracked_message_once_keeping_flags_and_date(server, tmp_path):
    c = connect(server, "clean")
    raws = [tracked(i) for i in range(4)] + [plain(i) for i in range(2)]
    load(c, "INBOX", raws)
    before = snapshot(c, "INBOX")
    state = tmp_path / "state.sqlite"
    dry = run(server, "clean", "clean", "--since", "2000-01-01", "--dry-run", state=state)
    assert dry.returncode == 0, dry.stderr
    assert dry.stderr.count(": would clean: 1 tracker removed") == 4 and "4 would clean, 2 clean" in dry.stderr
    assert snapshot(c, "INBOX") == before                      # a dry run changes nothing

    r = run(server, "clean", "clean", "--since", "2000-01-01", state=state)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count(": cleaned, 1 tracker removed (mcdlv.net); original moved to tracker-block/originals") == 4
    after = snapshot(c, "INBOX")
    bodies = [b for _, _, b in after.values()]
    assert message_ids(bodies) == message_ids(raws)             # each message exactly once
    from tracker_block.engine.clean import clean_message
    by_id = {message_ids([b])[0]: (f, d, b) for f, d, b in after.values()}
    for uid, (flags, date, raw) in before.items():
        f, d, body = by_id[message_ids([raw])[0]]
        assert d == date == WHEN                                 # INTERNALDATE kept, zone too
        assert tuple(x for x in f if x != b"\\Recent") == tuple(x for x in flags if x != b"\\Recent")
        cleaned, rep = clean_message(raw)
        if rep.findings:
            assert is_cleaned_copy(body) and body.split(b"\r\n", 1)[1] == cleaned
            assert b"mcdlv.net" not in body
        else:
            assert body == raw                                   # clean mail is not touched
    originals = [b for _, _, b in snapshot(c, "tracker-block/originals").values()]
    assert sorted(originals) == sorted(raws[:4])                 # originals kept byte for byte

    again = run(server, "clean", "clean", "--since", "2000-01-01", state=state)
    assert again.returncode == 0 and "4 already cleaned" in again.stderr
    assert snapshot(c, "INBOX") == after                         # idempotent


def test_delete_originals_and_retention(server, tmp_path):
    c = connect(server, "clean")
    load(c, "Promo", [tracked(i, "promo") for i in range(2)])
    state = tmp_path / "s.sqlite"
    r = run(server, "clean", "clean", "--folder", "Promo", "--since", "2000-01-01", "--originals", "Kept", state=state)
    assert r.returncode == 0, r.stderr
    assert len(visible(c, "Kept")) == 2
    r = run(server, "clean", "clean", "--folder", "Promo", "--since", "2000-01-01", "--originals", "Kept",
            "--keep-originals", "0", state=state)
    assert r.returncode == 0 and "retention: removed 2 originals" in r.stderr, r.stderr
    assert visible(c, "Kept") == [] and len(visible(c, "Promo")) == 2
    load(c, "Promo2", [tracked(9, "gone")])
    r = run(server, "clean", "clean", "--folder", "Promo2", "--since", "2000-01-01", "--delete-originals", state=state)
    assert r.returncode == 0 and "original deleted" in r.stderr, r.stderr
    assert [is_cleaned_copy(b) for b in visible(c, "Promo2")] == [True]


# ---------------------------------------------------------------- faults

def kill_then_restart(server: Dovecot, user: str, folder: str, fault: str, state: Path) -> None:
    """Run clean with a SIGKILL at ``fault`` (STEP:N), then again without: the restart must succeed."""
    killed = run(server, user, "clean", "--folder", folder, "--since", "2000-01-01", state=state,
                 env={"TRACKER_BLOCK_IMAP_FAULT": fault})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    r = run(server, user, "clean", "--folder", folder, "--since", "2000-01-01", state=state)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("step", ["journaled", "appended", "verified", "moved"])
def test_kill_at_each_step_then_restart_leaves_every_message_once(server, tmp_path, step):
    c = connect(server, "crash")
    folder = f"K-{step}"
    raws = [tracked(i, step) for i in range(3)] + [plain(7)]
    load(c, folder, raws)
    kill_then_restart(server, "crash", folder, f"{step}:2", tmp_path / "state.sqlite")
    shown = visible(c, folder)
    assert message_ids(shown) == message_ids(raws)
    assert sum(map(is_cleaned_copy, shown)) == 3
    kept = visible(c, "tracker-block/originals")
    assert sorted(b for b in kept if step.encode() in b) == sorted(raws[:3])


def test_kill_during_copy_fallback_without_move(tmp_path):
    """A server without MOVE: COPY, \\Deleted, UID EXPUNGE; a kill between them is settled too."""
    with Dovecot({"old": None}, extra="imap_capability = IMAP4rev1 LITERAL+ UIDPLUS IDLE NAMESPACE") as d:
        c = connect(d, "old")
        for step in ("copied", "flagged"):
            folder = f"F-{step}"
            raws = [tracked(i, step) for i in range(3)]
            load(c, folder, raws)
            kill_then_restart(d, "old", folder, f"{step}:2", tmp_path / f"{step}.sqlite")
            snap = snapshot(c, folder)
            assert message_ids([b for _, _, b in snap.values()]) == message_ids(raws)   # expunged, not just hidden
            assert all(is_cleaned_copy(b) for _, _, b in snap.values())
            kept = [b for b in visible(c, "tracker-block/originals") if step.encode() in b]
            assert set(kept) == set(raws)          # a COPY re-done after the kill may leave two there, never zero


def test_uidvalidity_reset_between_kill_and_restart(server, tmp_path):
    c = connect(server, "uv")
    raws = [tracked(i, "uv") for i in range(3)]
    load(c, "News", raws)
    state = tmp_path / "state.sqlite"
    killed = run(server, "uv", "clean", "--folder", "News", "--since", "2000-01-01", state=state,
                 env={"TRACKER_BLOCK_IMAP_FAULT": "appended:1"})
    assert killed.returncode == -signal.SIGKILL
    old = c.folder_status("News", [b"UIDVALIDITY"])[b"UIDVALIDITY"]
    assert len(visible(c, "News")) == 4            # the original and its copy: the crash's half-done state
    # The folder is recreated (as a restore or a server migration does): every UID changes meaning.
    c.rename_folder("News", "News-old")
    c.create_folder("News")
    c.select_folder("News-old")
    c.copy(c.search("ALL"), "News")
    c.close_folder()
    c.delete_folder("News-old")
    assert c.folder_status("News", [b"UIDVALIDITY"])[b"UIDVALIDITY"] != old
    r = run(server, "uv", "clean", "--folder", "News", "--since", "2000-01-01", state=state)
    assert r.returncode == 0, r.stderr
    shown = visible(c, "News")
    assert message_ids(shown) == message_ids(raws) and all(map(is_cleaned_copy, shown))


def test_append_refused_over_quota_leaves_originals(server, tmp_path):
    c = connect(server, "tight")                   # quota: 3 messages
    raws = [tracked(i, "quota") for i in range(3)]
    load(c, "INBOX", raws)
    before = snapshot(c, "INBOX")
    r = run(server, "tight", "clean", "--since", "2000-01-01", state=tmp_path / "s.sqlite")
    assert r.returncode == 1
    assert r.stderr.count("the server refused the cleaned copy") == 3 and "OVERQUOTA" in r.stderr
    assert "3 refused" in r.stderr
    assert snapshot(c, "INBOX") == before


def test_message_that_is_not_mime_is_left_and_reported(server, tmp_path):
    c = connect(server, "notmime")
    junk = b"\x89PNG\r\n\x1a\n" + bytes(range(1, 200)) + b"\r\n"
    load(c, "INBOX", [junk, tracked(1, "nm")])
    stored = snapshot(c, "INBOX")[1]          # as the server keeps it (bare LF made CRLF)
    r = run(server, "notmime", "scan", "--json")
    assert r.returncode == 1
    reps = json.loads(r.stdout)["messages"]
    assert reps[0]["status"] == "unreadable" and reps[0]["error"].startswith("not a mail message")
    r = run(server, "notmime", "clean", "--since", "2000-01-01", state=tmp_path / "s.sqlite")
    assert r.returncode == 1 and "uid 1: not a mail message" in r.stderr and "left as it was" in r.stderr
    assert snapshot(c, "INBOX")[1] == stored
    bodies = visible(c, "INBOX")
    assert len(bodies) == 2 and sum(map(is_cleaned_copy, bodies)) == 1


def test_forged_marker_does_not_exempt_a_message(server, tmp_path):
    c = connect(server, "notmime")
    forged = b"X-Tracker-Block-Cleaned: 0.1.0; orig=sha256:" + b"0" * 32 + b"; mac=" + b"1" * 32 + b"\r\n" + tracked(5, "forged")
    load(c, "Forged", [forged])
    r = run(server, "notmime", "clean", "--folder", "Forged", "--since", "2000-01-01", state=tmp_path / "s.sqlite")
    assert r.returncode == 0 and "cleaned, 1 tracker removed" in r.stderr, r.stderr
    [body] = visible(c, "Forged")
    assert body.count(b"X-Tracker-Block-Cleaned") == 1 and b"0" * 32 not in body and b"mcdlv" not in body


# ---------------------------------------------------------------- concurrency

def test_changes_by_another_client_during_the_transaction(server, tmp_path, monkeypatch):
    """A flag set meanwhile is carried to the copy; an original deleted meanwhile takes its copy with it."""
    from tracker_block.integrations.imap.account import Account
    from tracker_block.integrations.imap.cleaner import Cleaner, Settings
    from tracker_block.integrations.imap.client import Folder
    from tracker_block.integrations.imap.state import Journal
    from tracker_block.engine.policy import Options
    c = connect(server, "race")
    load(c, "INBOX", [tracked(1, "race"), tracked(2, "race")], flags=())
    other = connect(server, "race")
    other.select_folder("INBOX")
    real_append = Folder.append

    def append_then_interfere(self, data, flags, when):
        uid = real_append(self, data, flags, when)
        if b"race 1" in data:
            other.add_flags([1], [b"\\Seen", b"\\Answered"])      # read and replied on the phone meanwhile
        else:
            other.delete_messages([2])
            other.expunge()
        return uid
    monkeypatch.setattr(Folder, "append", append_then_interfere)
    monkeypatch.setenv("TRACKER_BLOCK_IMAP_PASSWORD", PASSWORD)
    acct = Account(host="127.0.0.1", port=server.port, user="race", security="plain")
    lines: list[str] = []
    j = Journal(tmp_path / "s.sqlite", acct.key)
    cl = Cleaner(acct.connect(), acct.key, j, Settings(options=Options()), lines.append)
    cl.run(cl.open("INBOX"), since=None)
    snap = snapshot(c, "INBOX")
    assert len(snap) == 1
    [(flags, _, body)] = snap.values()
    assert is_cleaned_copy(body) and b"race 1" in body
    assert set(flags) >= {b"\\Seen", b"\\Answered"}
    assert any("removed by another client meanwhile" in ln for ln in lines)
    assert j.pending("INBOX") == []


@pytest.mark.parametrize("where", ["append", "move"])
def test_connection_dropped_during_append_or_move_then_resumed(server, tmp_path, monkeypatch, where):
    """The server drops the connection right after storing the APPEND (before we hear its UID),
    or just before the MOVE: a reconnect settles it, and every message is there exactly once."""
    from tracker_block.integrations.imap.account import Account
    from tracker_block.integrations.imap.cleaner import Cleaner, Settings
    from tracker_block.integrations.imap.client import CONNECTION_ERRORS, Folder
    from tracker_block.integrations.imap.state import Journal
    from tracker_block.engine.policy import Options
    c = connect(server, "drop")
    folder = f"Drop-{where}"
    raws = [tracked(i, f"drop{where}") for i in range(3)]
    load(c, folder, raws)
    real = getattr(Folder, where)
    calls = []

    def dropping(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            if where == "append":
                real(self, *args, **kwargs)
            server.kick("drop")
            self.conn.noop()                  # the client notices: the connection is gone
        return real(self, *args, **kwargs)
    monkeypatch.setattr(Folder, where, dropping)
    monkeypatch.setenv("TRACKER_BLOCK_IMAP_PASSWORD", PASSWORD)
    acct = Account(host="127.0.0.1", port=server.port, user="drop", security="plain")
    j = Journal(tmp_path / "s.sqlite", acct.key)
    cl = Cleaner(acct.connect(), acct.key, j, Settings(options=Options()), lambda line: None)
    with pytest.raises(CONNECTION_ERRORS):
        cl.run(cl.open(folder), since=None)
    assert len(j.pending(folder)) == 1
    cl = Cleaner(acct.connect(), acct.key, j, Settings(options=Options()), lambda line: None)
    cl.run(cl.open(folder), since=None)                 # what watch does after reconnecting
    c = connect(server, "drop")                         # the kick dropped this one too
    shown = visible(c, folder)
    assert message_ids(shown) == message_ids(raws) and all(map(is_cleaned_copy, shown))
    assert sorted(b for b in visible(c, "tracker-block/originals") if f"drop{where}".encode() in b) == sorted(raws)
    assert j.pending(folder) == []


def test_watch_reconnects_after_the_server_drops_it(server, tmp_path):
    c = connect(server, "watcher")
    env = dict(os.environ, TRACKER_BLOCK_IMAP_PASSWORD=PASSWORD, PYTHONUNBUFFERED="1")
    argv = CLI + ["imap", "watch", "--host", "127.0.0.1", "--port", str(server.port), "--security", "plain",
                  "--user", "watcher", "--rate", "0", "--folder", "Later", "--state", str(tmp_path / "s.sqlite")]
    c.create_folder("Later")
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert "watching Later" in proc.stderr.readline()
        server.kick("watcher")
        assert "connection lost" in proc.stderr.readline()
        c = connect(server, "watcher")
        c.append("Later", tracked(1, "after-drop"), msg_time=WHEN)
        assert "cleaned, 1 tracker removed" in proc.stderr.readline()
        assert [is_cleaned_copy(b) for b in visible(c, "Later")] == [True]
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=20)[1]
    assert proc.returncode == 0, rest
    assert "stopped; 1 cleaned" in rest                   # totals survive the reconnect


# ---------------------------------------------------------------- watch

def test_watch_cleans_mail_delivered_while_it_runs_with_idle(server, tmp_path):
    c = connect(server, "watcher")
    load(c, "INBOX", [tracked(0, "before")])               # there before: watch leaves old mail alone
    env = dict(os.environ, TRACKER_BLOCK_IMAP_PASSWORD=PASSWORD, PYTHONUNBUFFERED="1")
    argv = CLI + ["imap", "watch", "--host", "127.0.0.1", "--port", str(server.port), "--security", "plain",
                  "--user", "watcher", "--rate", "0", "--state", str(tmp_path / "s.sqlite")]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        first = proc.stderr.readline()
        assert "watching INBOX on 127.0.0.1 (IDLE)" in first
        t0 = time.monotonic()
        c.append("INBOX", tracked(1, "live"), msg_time=WHEN)
        line = proc.stderr.readline()
        took = time.monotonic() - t0
        assert "cleaned, 1 tracker removed (mcdlv.net)" in line and "uid 2" in line
        assert took < 10                                          # IDLE: not a 60 s poll
        bodies = visible(c, "INBOX")
        assert sorted(map(is_cleaned_copy, bodies)) == [False, True]   # the old one untouched
        assert message_ids(bodies) == sorted(["<before-0@shop.example.com>", "<live-1@shop.example.com>"])
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=20)[1]
    assert proc.returncode == 0, rest
    assert "stopped; 1 cleaned" in rest


# ---------------------------------------------------------------- scale

def test_thousand_messages(server, tmp_path):
    c = connect(server, "big")
    n = 1000
    raws = [tracked(i, "bulk") if i % 2 == 0 else plain(i) for i in range(n)]
    c.select_folder("INBOX")
    for i in range(0, n, 100):                              # MULTIAPPEND: seconds, not a minute
        c.multiappend("INBOX", raws[i:i + 100])
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    r = run(server, "big", "clean", "--since", "2000-01-01", state=tmp_path / "s.sqlite", timeout=300)
    took = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"{n // 2} cleaned, {n // 2} clean" in r.stderr
    shown = visible(c, "INBOX")
    assert len(shown) == n and sum(map(is_cleaned_copy, shown)) == n // 2
    assert len(set(message_ids(shown))) == n
    print(f"\nimap clean: {n} messages ({n // 2} cleaned) in {took:.1f} s = {n / took:.0f} messages/s; "
          f"peak RSS {max(peak, before) / 1024:.0f} MB")


# ---------------------------------------------------------------- running it

def test_rate_limit_and_one_process_per_account(server, tmp_path):
    c = connect(server, "notmime")
    load(c, "Paced", [plain(i) for i in range(6)])
    r = run(server, "notmime", "scan", "--folder", "Paced", "--format", "jsonl")
    t = time.monotonic()
    paced = subprocess.run(CLI + ["imap", "scan", "--folder", "Paced", "--format", "jsonl", "--host", "127.0.0.1",
                                  "--port", str(server.port), "--security", "plain", "--user", "notmime",
                                  "--rate", "4"], capture_output=True, text=True,
                           env=dict(os.environ, TRACKER_BLOCK_IMAP_PASSWORD=PASSWORD), cwd=ROOT, timeout=60)
    took = time.monotonic() - t
    assert r.returncode == paced.returncode == 0 and r.stdout == paced.stdout
    assert took >= 1.25                          # 6 messages at 4/s: at least 5 gaps of 0.25 s
    from tracker_block.integrations.imap.state import Journal
    state = tmp_path / "s.sqlite"
    held = Journal(state, f"notmime@127.0.0.1:{server.port}")
    try:
        r = run(server, "notmime", "clean", "--folder", "Paced", "--since", "2000-01-01", state=state)
        assert r.returncode == 2 and "another tracker-block imap is already working on notmime@" in r.stderr
    finally:
        held.close()
    r = run(server, "notmime", "clean", "--folder", "Paced", "--since", "2000-01-01", state=state)
    assert r.returncode == 0 and "6 clean" in r.stderr


def test_progress_on_a_terminal_only(server, tmp_path):
    import pty
    c = connect(server, "notmime")
    load(c, "Tty", [tracked(i, "tty") for i in range(3)])
    master, slave = pty.openpty()
    argv = CLI + ["imap", "clean", "--folder", "Tty", "--since", "2000-01-01", "--host", "127.0.0.1", "--port",
                  str(server.port), "--security", "plain", "--user", "notmime", "--rate", "0",
                  "--state", str(tmp_path / "s.sqlite")]
    proc = subprocess.run(argv, stderr=slave, stdout=subprocess.DEVNULL, cwd=ROOT, timeout=60,
                          env=dict(os.environ, TRACKER_BLOCK_IMAP_PASSWORD=PASSWORD))
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.returncode == 0
    assert b"\rTty  3 / 3  " in out and b"\x1b[K" in out               # the progress line, then cleared
    piped = run(server, "notmime", "scan", "--folder", "Tty")
    assert piped.returncode == 0 and "3 messages" in piped.stderr
    assert "\r" not in piped.stderr and "\x1b" not in piped.stderr      # never in a log file

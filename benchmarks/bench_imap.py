"""Which IMAP client library: fetch N messages from a private Dovecot with imaplib, IMAPClient, aioimaplib.

    .venv/bin/python benchmarks/bench_imap.py [N] [SIZE_BYTES]

Each library fetches every message body (BODY.PEEK[]) with flags and INTERNALDATE in batches of
200 UIDs, the way ``tracker-block imap`` reads a folder. Prints seconds (median of 3) and messages/s.
"""
from __future__ import annotations

import asyncio
import imaplib
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from dovecot import PASSWORD, Dovecot  # noqa: E402

BATCH = 200


def make(n: int, size: int) -> list[bytes]:
    body = ("Hello there, this is line of text.\r\n" * (size // 36 + 1))[:size]
    return [(f"From: a@example.com\r\nTo: b@example.org\r\nSubject: m{i}\r\nMessage-ID: <m{i}@bench>\r\n"
             f"Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n\r\n{body}").encode() for i in range(n)]


def ranges(n: int) -> list[str]:
    return [f"{a}:{min(a + BATCH - 1, n)}" for a in range(1, n + 1, BATCH)]


def with_imaplib(port: int, n: int) -> int:
    c = imaplib.IMAP4("127.0.0.1", port)
    c.login("alice", PASSWORD)
    c.select("INBOX", readonly=True)
    got = 0
    for r in ranges(n):
        typ, data = c.uid("FETCH", r, "(FLAGS INTERNALDATE BODY.PEEK[])")
        got += sum(1 for d in data if isinstance(d, tuple))
    c.logout()
    return got


def with_imapclient(port: int, n: int) -> int:
    from imapclient import IMAPClient
    c = IMAPClient("127.0.0.1", port=port, ssl=False)
    c.login("alice", PASSWORD)
    c.select_folder("INBOX", readonly=True)
    got = 0
    for a in range(1, n + 1, BATCH):
        got += len(c.fetch(list(range(a, min(a + BATCH, n + 1))), ["FLAGS", "INTERNALDATE", "BODY.PEEK[]"]))
    c.logout()
    return got


def with_aioimaplib(port: int, n: int) -> int:
    import aioimaplib

    async def go() -> int:
        c = aioimaplib.IMAP4(host="127.0.0.1", port=port)
        await c.wait_hello_from_server()
        await c.login("alice", PASSWORD)
        await c.select("INBOX")
        got = 0
        for r in ranges(n):
            resp = await c.uid("fetch", r, "(FLAGS INTERNALDATE BODY.PEEK[])")
            got += sum(1 for line in resp.lines if isinstance(line, bytearray))
        await c.logout()
        return got
    return asyncio.run(go())


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    with Dovecot() as d:
        from imapclient import IMAPClient
        c = IMAPClient("127.0.0.1", port=d.port, ssl=False)
        c.login("alice", PASSWORD)
        for m in make(n, size):
            c.append("INBOX", m)
        c.logout()
        for name, fn in (("imaplib", with_imaplib), ("IMAPClient", with_imapclient), ("aioimaplib", with_aioimaplib)):
            times = []
            for _ in range(3):
                t = time.perf_counter()
                got = fn(d.port, n)
                times.append(time.perf_counter() - t)
            med = statistics.median(times)
            print(f"{name:<11} {got} messages of {size} B: {med:.3f} s  ({n / med:,.0f} messages/s)")


if __name__ == "__main__":
    main()

"""Mailbox throughput (``--jobs 1`` vs ``--jobs 2``) and peak memory (RSS of the whole process tree).

Why: the CLI promises constant memory on any mailbox size and a real speed-up from workers.
This runs the installed CLI (``python -m tracker_block.cli.main scan --format jsonl -q``) on
generated mboxes, samples the RSS of the CLI and its workers from /proc every 20 ms, and
prints messages/second and peak MB per run.

    python benchmarks/bench_mailbox.py                       # 10k and 100k messages
    python benchmarks/bench_mailbox.py --counts 2000 --jobs 1,2 --kind newsletter

``--kind newsletter`` uses ``benchmarks/gen.py`` (realistic 20-150 KB HTML mail; ~8 GB for 100k);
``--kind small`` uses 2-3 KB multipart messages with a pixel and a read receipt, so a 100k
mbox is quick to build and memory scaling is what is measured.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

HERE = Path(__file__).resolve().parent


def small_message(i: int) -> bytes:
    m = EmailMessage()
    m["From"] = f"Shop {i % 50} <news@shop{i % 50}.example>"
    m["To"] = "ana@example.org"
    m["Subject"] = f"Deals of the week #{i}"
    m["Date"] = f"Mon, {1 + i % 27:02d} Jan 2024 10:00:00 +0000"
    m["Message-ID"] = f"<bench{i}@shop.example>"
    if i % 3 == 0:
        m["Disposition-Notification-To"] = "receipts@shop.example"
    m.set_content(f"Hello,\nour deals #{i}\nhttps://shop.example/deals?utm_source=news&utm_medium=email&id={i}\n")
    m.add_alternative(
        f'<html><body><p>Deals #{i}</p><a href="https://shop.example/d?utm_source=n&id={i}">see</a>'
        f'<img src="https://cdn.shop.example/hero{i % 7}.jpg" width="600" height="300">'
        + (f'<img src="https://example.us1.list-manage.com/track/open.php?u=ab&id=cd&e={i}" width="1" height="1">'
           if i % 2 else "") + "</body></html>", subtype="html")
    return m.as_bytes()


def write_mbox(path: Path, n: int, kind: str) -> None:
    if kind == "newsletter":
        sys.path.insert(0, str(HERE))
        from gen import write_mbox as gen_write   # streams, constant memory
        gen_write(path, n)
        return
    with open(path, "wb", buffering=1 << 20) as f:
        for i in range(n):
            f.write(b"From bench@example Mon Jan  1 00:00:00 2024\n")
            f.write(small_message(i).replace(b"\nFrom ", b"\n>From "))
            f.write(b"\n")


def tree_rss(pid: int) -> int:
    """Resident memory (bytes) of ``pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, ()))
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def run(mbox: Path, jobs: int) -> tuple[float, int, int]:
    """(seconds, peak tree RSS, messages reported)."""
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tracker_block.cli.main", "scan", "--format", "jsonl", "-q",
                             "-j", str(jobs), str(mbox)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], tree_rss(proc.pid))
            time.sleep(0.02)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    lines = sum(1 for _ in proc.stdout)
    proc.wait()
    th.join()
    return time.perf_counter() - t, peak[0], lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--counts", default="10000,100000")
    ap.add_argument("--jobs", default="1,2")
    ap.add_argument("--kind", choices=("small", "newsletter"), default="small")
    ap.add_argument("--dir", default=None, help="where to build the mboxes (default: a temp dir, removed)")
    a = ap.parse_args(argv)
    work = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="tb-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"{'messages':>9} {'kind':>10} {'MB':>8} {'jobs':>4} {'seconds':>8} {'msg/s':>8} {'peak RSS MB':>12}")
    try:
        for n in (int(x) for x in a.counts.split(",")):
            mbox = work / f"{a.kind}-{n}.mbox"
            if not mbox.exists():               # built under a temp name: an interrupted build is not reused
                part = mbox.with_suffix(".part")
                write_mbox(part, n, a.kind)
                part.rename(mbox)
            size = mbox.stat().st_size / 1e6
            for jobs in (int(x) for x in a.jobs.split(",")):
                secs, peak, got = run(mbox, jobs)
                assert got == n, f"expected {n} reports, got {got}"
                print(f"{n:>9} {a.kind:>10} {size:>8.0f} {jobs:>4} {secs:>8.1f} {n / secs:>8.0f} {peak / 1e6:>12.0f}",
                      flush=True)
    finally:
        if not a.dir:
            for p in work.iterdir():
                p.unlink()
            work.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Postfix + smtp-filter throughput and filter memory, with 1 and 2 filter processes.

Why: an organisation's whole inbound mail goes through the filter, so an admin needs to know
how many messages a second one core cleans, what a second process adds, and how much memory
to give it. This starts a private Postfix instance on loopback (the same one the end-to-end
tests use; needs root and Debian's ``postfix``), runs ``tracker-block smtp-filter --workers N``
behind it, sends N messages over 8 concurrent SMTP sessions to Postfix, and times until the
last one is in the Maildir. Peak memory: the sum of VmHWM (peak RSS) over the filter's
process tree, and the peak of its summed PSS (sampled; forked workers share pages copy-on-write,
which the RSS sum counts once per process).

    sudo python benchmarks/bench_smtp_filter.py                     # 1000 messages, 1 and 2 processes
    sudo python benchmarks/bench_smtp_filter.py -n 200 --workers 1 --kind samples

``--kind newsletter`` (default): ``gen.py`` marketing mail (20-150 KB, pixels, tracked links).
``--kind samples``: the small bundled samples plus a 10 KB multipart message with a PDF.

``--filter`` finds the ceiling the cleaning runs under: ``clean`` (default) is the real filter;
``relay`` the same process with ``filter_message`` replaced by "pass it on as it is" (the cost of
everything but the engine: SMTP in, threads, re-injection); ``postfix`` points the content filter
straight at the re-injection smtpd, so no filter runs at all (what Postfix alone reaches here).
Besides the filter's CPU it reports Postfix's (master and every service it ran, reaped or not).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from test_postfix_e2e import FilterProcess, PostfixInstance, load_messages, send_many


def newsletter_messages(n: int, tag: str) -> list[tuple[str, bytes]]:
    import gen
    out = []
    for i in range(n):
        raw = gen.generate_message(i)
        mid = f"<bench-{tag}-{i}@test>"
        if re.search(rb"^Message-I[dD]:", raw, re.MULTILINE | re.IGNORECASE):
            raw = re.sub(rb"^Message-I[dD]:[^\r\n]*", f"Message-ID: {mid}".encode(), raw, count=1,
                         flags=re.MULTILINE | re.IGNORECASE)
        else:
            raw = f"Message-ID: {mid}\r\n".encode() + raw
        out.append((mid, raw))
    return out


def tree(pid: int) -> list[int]:
    """pid and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def peak_rss_mb(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            m = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{p}/status").read_text())
        except OSError:
            continue
        total += int(m.group(1)) if m else 0
    return total / 1024


def pss_mb(pid: int) -> float:
    """Proportional set size of the tree now: shared copy-on-write pages counted once."""
    total = 0
    for p in tree(pid):
        try:
            m = re.search(r"^Pss:\s+(\d+) kB", Path(f"/proc/{p}/smaps_rollup").read_text(), re.MULTILINE)
        except OSError:
            continue
        total += int(m.group(1)) if m else 0
    return total / 1024


class PssSampler(threading.Thread):
    """Peak of the tree's summed PSS, sampled every 100 ms (VmHWM sums count shared pages twice)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            self.peak = max(self.peak, pss_mb(self.pid))


def cpu_seconds(pid: int) -> float:
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def postfix_cpu_seconds(pf: PostfixInstance) -> float:
    """CPU of Postfix's master and every service it ran: live ones plus those it reaped."""
    master = int((pf.queue / "pid" / "master.pid").read_text().split()[0])
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in tree(master):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15]) / tick     # utime stime cutime cstime
    return total


# The relay filter: the real smtp-filter process, its engine call replaced by "deliver as sent".
_RELAY = """
import sys
from tracker_block.integrations.mailfilter import smtp_filter
from tracker_block.integrations.mailfilter.delivery import FilterResult
smtp_filter.filter_message = lambda raw, policy, rcpts, sender: FilterResult(bytes(raw), None, None)
sys.exit(smtp_filter.cli_main(sys.argv[1:]))
"""


class _NoFilter:
    """Stands in for FilterProcess when Postfix's content filter points at its own re-injection smtpd."""

    class proc:
        pid = os.getpid()

    def stop(self) -> None:
        pass


def start_filter(pf: PostfixInstance, workers: int, kind: str, threads: int = 2):
    args = ("--workers", str(workers), "--threads", str(threads), "--log-level", "warning")
    if kind == "clean":
        return FilterProcess(pf, *args)
    if kind == "relay":
        f = FilterProcess.__new__(FilterProcess)
        f.log = pf.dir / "filter.log"
        f.proc = subprocess.Popen(
            [sys.executable, "-c", _RELAY, "--listen", f"127.0.0.1:{pf.filter_port}",
             "--next-hop", f"127.0.0.1:{pf.reinject_port}", "--log-file", str(f.log), *args],
            start_new_session=True)
        PostfixInstance._wait_port(pf.filter_port, 30)
        return f
    pf.filter_port = pf.reinject_port                  # kind == "postfix": no filter in between
    pf.write_master(reinject=True)
    pf.reload()
    return _NoFilter()


def run(workers: int, n: int, kind: str, sessions: int, filter_kind: str = "clean", threads: int = 2) -> dict:
    # maxproc = workers x threads, as docs/mail-server.md advises (at least 4)
    pf = PostfixInstance(maxproc=max(4, threads * workers))
    try:
        f = start_filter(pf, workers, filter_kind, threads)
        try:
            time.sleep(0.5)
            sampler = PssSampler(f.proc.pid)
            sampler.start()
            tag = f"w{workers}-{os.getpid()}"
            msgs = newsletter_messages(n, tag) if kind == "newsletter" else load_messages(n, tag)
            size = sum(len(r) for _, r in msgs)
            cpu0 = cpu_seconds(f.proc.pid) if filter_kind != "postfix" else 0.0
            pcpu0, own0 = postfix_cpu_seconds(pf), sum(os.times()[:2])
            t0 = time.monotonic()
            send_many(pf, msgs, sessions)
            sent = time.monotonic()
            got = pf.wait_for({m for m, _ in msgs}, timeout=max(120, n))
            done = time.monotonic()
            sampler.done.set()
            assert all(len(c) == 1 for c in got.values()), "duplicate deliveries"
            cpu = cpu_seconds(f.proc.pid) - cpu0 if filter_kind != "postfix" else 0.0
            return {"workers": workers, "n": n, "mb": size / 1e6, "accept_s": sent - t0, "total_s": done - t0,
                    "rate": n / (done - t0), "rss": peak_rss_mb(f.proc.pid), "pss": sampler.peak, "cpu": cpu,
                    "postfix_cpu": postfix_cpu_seconds(pf) - pcpu0, "sender_cpu": sum(os.times()[:2]) - own0}
        finally:
            f.stop()
    finally:
        pf.cleanup()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=1000, help="messages per run (default 1000)")
    ap.add_argument("--workers", default="1,2", help="filter process counts to compare (default 1,2)")
    ap.add_argument("--sessions", type=int, default=8, help="concurrent SMTP sessions to Postfix (default 8)")
    ap.add_argument("--kind", choices=("newsletter", "samples"), default="newsletter")
    ap.add_argument("--threads", type=int, default=2, help="--threads of each filter process (default 2); "
                    "Postfix's maxproc for the filter is workers x threads")
    ap.add_argument("--filter", choices=("clean", "relay", "postfix"), default="clean",
                    help="clean (the real filter), relay (no cleaning) or postfix (no filter at all)")
    args = ap.parse_args(argv)
    print(f"{args.n} {args.kind} messages over {args.sessions} SMTP sessions -> Postfix -> smtp-filter "
          f"-> Postfix -> Maildir   ({os.cpu_count()} cores)")
    print(f"{'filter procs':>12} {'MB sent':>8} {'queued in':>10} {'delivered in':>13} {'msgs/s':>8} "
          f"{'filter CPU s':>13} {'Postfix CPU s':>14} {'sender CPU s':>13} {'peak RSS MB':>12} {'peak PSS MB':>12}")
    for w in (int(x) for x in args.workers.split(",")):
        r = run(w, args.n, args.kind, args.sessions, args.filter, args.threads)
        print(f"{r['workers']:>12} {r['mb']:>8.1f} {r['accept_s']:>9.1f}s {r['total_s']:>12.1f}s "
              f"{r['rate']:>8.1f} {r['cpu']:>13.1f} {r['postfix_cpu']:>14.1f} {r['sender_cpu']:>13.1f} "
              f"{r['rss']:>12.0f} {r['pss']:>12.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

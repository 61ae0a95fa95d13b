"""Engine throughput against the floor (lxml parse+serialize) and against other sanitizers.

One command, one process, same inputs for every row, candidates interleaved within each round
so that machine noise hits all of them alike; each figure is the median over ``--rounds``.

    python benchmarks/bench_engine.py            # full run (~1-2 min on 2 cores)
    python benchmarks/bench_engine.py --quick    # smoke run (seconds)
    python benchmarks/bench_engine.py --profile  # plus a pyinstrument profile of the engine

See benchmarks/README.md for how to read the table.
"""
from __future__ import annotations

import argparse
import email
import email.policy
import os
import platform
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
Fn = Callable[[Any], Any]


@dataclass
class Row:
    name: str
    fn: Fn | None
    note: str = ""                      # why the row has no figures ("not installed", an error)
    times: list[float] = field(default_factory=list)
    findings: float | None = None       # engine rows: mean findings per input, proof it did the work

    @property
    def median(self) -> float:
        return statistics.median(self.times)


# --------------------------------------------------------------------------- candidates
def _engine_options() -> tuple[dict[str, Any], str]:
    """Options per engine mode, or ({}, why) if the engine is not importable/working yet."""
    try:
        from tracker_block import Options, clean_html
        from tracker_block.engine.signing import KeyRing
        clean_html('<p><img src="https://example.com/x.gif" width="1" height="1"></p>')
    except NotImplementedError:
        return {}, "engine not available"
    except Exception as exc:  # noqa: BLE001 - ImportError or a half-edited engine: report, go on
        return {}, f"engine not available ({type(exc).__name__}: {exc})"[:90]
    ring = KeyRing((("bench", secrets.token_bytes(32)),))    # throwaway key: proxy URLs are never used
    return {
        "trackers": Options(mode="trackers"),
        "all": Options(mode="all"),
        "proxy": Options(mode="proxy", proxy_base="https://img-proxy.example.net/p", keyring=ring),
    }, ""


def html_rows() -> list[Row]:
    rows: list[Row] = []

    def add(name: str, make: Callable[[], Fn]) -> None:
        try:
            rows.append(Row(name, make()))
        except ImportError as exc:
            rows.append(Row(name, None, f"not installed ({exc.name})"))

    def lxml_floor() -> Fn:
        import lxml.html
        return lambda h: lxml.html.tostring(lxml.html.document_fromstring(h), encoding="unicode")

    def lexbor() -> Fn:
        from selectolax.lexbor import LexborHTMLParser
        return lambda h: LexborHTMLParser(h).html

    add("lxml parse+serialize (floor)", lxml_floor)
    add("selectolax/lexbor parse+serialize", lexbor)
    opts, why = _engine_options()
    if opts:
        from tracker_block import clean_html
        from tracker_block import _core

        def walk_only(h: str) -> object:   # the engine's own floor: its parse, site walk and serialise
            return _core.bench_parse_collect_serialize(h)

        rows.append(Row("tracker_block walk only (no judging)", walk_only))
        for mode, o in opts.items():
            rows.append(Row(f"tracker_block.clean_html {mode}",
                            lambda h, o=o: clean_html(h, o, recipients=(gen.RECIPIENT,))))
    else:
        rows += [Row(f"tracker_block.clean_html {m}", None, why) for m in ("trackers", "all", "proxy")]

    def nh3_() -> Fn:
        import nh3
        return nh3.clean

    def lxml_clean() -> Fn:
        from lxml_html_clean import Cleaner
        return Cleaner().clean_html

    def bleach_() -> Fn:
        import bleach
        return bleach.clean

    add("nh3.clean (context)", nh3_)
    add("lxml_html_clean Cleaner (context)", lxml_clean)
    add("bleach.clean (context)", bleach_)
    return rows


def message_rows() -> list[Row]:
    def stdlib(raw: bytes) -> bytes:
        return email.message_from_bytes(raw, policy=email.policy.default).as_bytes()

    rows = [Row("stdlib email parse+as_bytes (floor)", stdlib)]
    opts, why = _engine_options()
    if opts:
        from tracker_block import clean_message
        rows += [Row(f"tracker_block.clean_message {m}", lambda r, o=o: clean_message(r, o)) for m, o in opts.items()]
    else:
        rows += [Row(f"tracker_block.clean_message {m}", None, why) for m in ("trackers", "all", "proxy")]
    return rows


# --------------------------------------------------------------------------- measuring
CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}


def _cold_caches() -> None:
    """Empty the engine's per-URL caches, so a repeated pass over the same inputs is not flattered."""
    try:
        from tracker_block.engine.clean import clear_caches
    except ImportError:
        return
    clear_caches()


def measure(rows: list[Row], inputs: list[Any], rounds: int, clock: Callable[[], float] = time.process_time) -> None:
    """Time one pass over ``inputs`` per row per round, rows interleaved; a failing row is dropped.

    The default clock is this process's CPU time: on a shared machine other processes then
    slow every row alike instead of whichever row they happened to overlap.
    """
    live = [r for r in rows if r.fn is not None]
    for r in live:                                   # warm-up: imports, caches, compiled rules
        try:
            for x in inputs[:3]:
                r.fn(x)
        except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not crash
            r.fn, r.note = None, f"error: {type(exc).__name__}: {exc}"[:90]
    for r in live:
        if r.fn is not None and r.name.startswith("tracker_block.clean"):
            try:
                r.findings = statistics.mean(_count_findings(r.fn(x)) for x in inputs)
            except Exception as exc:  # noqa: BLE001
                r.fn, r.note = None, f"error: {type(exc).__name__}: {exc}"[:90]
    for _ in range(rounds):
        for r in live:
            if r.fn is None:
                continue
            fn = r.fn
            _cold_caches()   # every pass sees the mail as never seen before
            t0 = clock()
            try:
                for x in inputs:
                    fn(x)
            except Exception as exc:  # noqa: BLE001
                r.fn, r.note, r.times = None, f"error: {type(exc).__name__}: {exc}"[:90], []
                continue
            r.times.append(clock() - t0)


def _count_findings(result: Any) -> int:
    if hasattr(result, "findings"):                  # HtmlResult
        return len(result.findings)
    return len(result[1].findings)                   # (bytes, MessageReport)


def table(title: str, rows: list[Row], n: int, nbytes: int, ratio_to: str) -> str:
    floor = rows[0].median if rows[0].times else None
    lines = [title, f"  {'':<40} {'msg/s':>9} {'MB/s':>8} {'ms/msg':>8} {'x ' + ratio_to:>14} {'findings/msg':>13}"]
    for r in rows:
        if not r.times:
            lines.append(f"  {r.name:<40} {r.note}")
            continue
        t = r.median
        ratio = f"{t / floor:.2f}" if floor else "-"
        found = "" if r.findings is None else f"{r.findings:.1f}"
        lines.append(f"  {r.name:<40} {n / t:>9.1f} {nbytes / t / 1e6:>8.2f} {1000 * t / n:>8.2f} {ratio:>14} {found:>13}".rstrip())
    return "\n".join(lines)


# --------------------------------------------------------------------------- inputs
def sample_messages() -> list[bytes]:
    return [p.read_bytes() for p in sorted(SAMPLES.glob("*.eml"))]


def sample_html_parts() -> list[str]:
    out = []
    for raw in sample_messages():
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        out += [p.get_content() for p in msg.walk() if p.get_content_type() == "text/html"]
    return out


# --------------------------------------------------------------------------- mailbox
def tracker_block_command() -> list[str]:
    """The installed ``tracker-block`` script beside this interpreter, or the CLI through ``-c``."""
    exe = Path(sys.executable).with_name("tracker-block")
    return [str(exe)] if exe.exists() else [sys.executable, "-c", "import sys; from tracker_block.cli.main import main; sys.exit(main())"]


@dataclass
class ScanRun:
    returncode: int
    seconds: float          # wall time
    peak_rss_mb: float      # peak RSS of the largest process in the tree (wait4)
    tail: str               # last stderr line (the summary, or the error)


def run_scan(box: Path, jobs: int, scratch: Path) -> ScanRun:
    """``tracker-block scan --jobs J BOX`` as a user runs it (own process, wall time, report discarded)."""
    with open(scratch / "stderr", "w+b") as err:
        t0 = time.perf_counter()
        # Started by a small launcher: a process forked from this one (which holds corpora and
        # earlier rows' data) would report this process's peak RSS as its own (Linux keeps the
        # high-water mark across exec), 188 MB where the scan peaks at about 60.
        proc = subprocess.run([sys.executable, "-c", _LAUNCH, *tracker_block_command(), "scan", "--jobs", str(jobs),
                               str(box)], stdout=subprocess.PIPE, stderr=err, text=True)
        elapsed = time.perf_counter() - t0
        code, maxrss_kb = (int(x) for x in proc.stdout.split())
        err.seek(0)
        tail = err.read().decode("utf-8", "replace").strip().splitlines()[-1:]
    return ScanRun(code, elapsed, maxrss_kb / 1024, " ".join(tail))


# Run argv[1:] with its output discarded; print its exit code and the peak RSS (KiB) of its process tree.
_LAUNCH = ("import os, subprocess, sys\n"
           "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
           "_, status, usage = os.wait4(p.pid, 0)\n"
           "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n")


def mailbox_bench(sizes: list[int], workdir: str | None) -> str:
    """``tracker-block scan --jobs 1`` and ``--jobs 2`` over generated mboxes of each size.

    Separate processes (that is what a user runs), so wall time, and peak RSS of the largest
    process in the tree (``wait4``), which should stay flat as the mailbox grows.
    """
    lines = ["Mailbox scan: tracker-block scan --jobs J MBOX (wall time; peak RSS of the largest process)",
             f"  {'messages':>9} {'MB':>7} {'jobs':>5} {'seconds':>9} {'msg/s':>8} {'speed-up':>9} {'peak RSS MB':>12}"]
    with tempfile.TemporaryDirectory(prefix="tb-bench-", dir=workdir) as tmp:
        for n in sizes:
            box = Path(tmp) / f"{n}.mbox"
            gen.write_mbox(box, n)
            size = box.stat().st_size / 1e6
            first = None
            for jobs in (1, 2):
                run = run_scan(box, jobs, Path(tmp))
                if run.returncode not in (0, 3):
                    lines.append(f"  {n:>9} {size:>7.0f} {jobs:>5} exit {run.returncode}: {run.tail[:80]}")
                    continue
                first = first or run.seconds
                lines.append(f"  {n:>9} {size:>7.0f} {jobs:>5} {run.seconds:>9.1f} {n / run.seconds:>8.1f} "
                             f"{first / run.seconds:>8.2f}x {run.peak_rss_mb:>12.0f}")
            box.unlink()
    return "\n".join(lines)


# --------------------------------------------------------------------------- profile
def profile(html: list[str], passes: int, lines: int) -> str:
    opts, why = _engine_options()
    if not opts:
        return f"profile: {why}"
    try:
        from pyinstrument import Profiler
    except ImportError:
        return "profile: pyinstrument not installed (pip install pyinstrument)"
    from tracker_block import clean_html
    prof = Profiler(interval=0.0005)
    prof.start()
    for _ in range(passes):
        _cold_caches()   # as in the table: every pass sees the mail as never seen before
        for h in html:
            clean_html(h, opts["trackers"], recipients=(gen.RECIPIENT,))
    prof.stop()
    tree = prof.output_text(unicode=True, color=False, show_all=False).splitlines()
    start = next((k for k, ln in enumerate(tree) if ln[:1].isdigit()), 0)   # skip the logo banner
    tree = tree[start:]
    out = [f"Profile of clean_html (mode trackers), pyinstrument, {passes} pass(es) over {len(html)} bodies "
           f"(wall time):", *tree[:lines]]
    if len(tree) > lines:
        out.append(f"  … {len(tree) - lines} more lines")
    flat = prof.output_text(unicode=True, color=False, flat=True).splitlines()
    out += ["", "Hottest functions by self time (C functions such as Pattern.search listed on their own):",
            *["  " + ln for ln in flat if ln[:1].isdigit()][:15]]
    out += ["", "Self time by module (native code counts for the Python frame that called it):"]
    totals = _self_time_by_module(prof.last_session.root_frame())
    whole = sum(totals.values()) or 1.0
    for mod, t in sorted(totals.items(), key=lambda kv: -kv[1])[:25]:
        out.append(f"  {100 * t / whole:6.1f}%  {t:8.3f}s  {mod}")
    share = sum(t for mod, t in totals.items() if mod in DETECTION_MODULES) / whole
    links = totals.get("tracker_block/engine/urls.py", 0.0) / whole
    out += ["", f"Rule matching + heuristics ({', '.join(m.split('/')[1] for m in DETECTION_MODULES)}): "
                f"{100 * share:.1f}% of engine time (issue 7 target: at most 10%); "
                f"URL reading and link cleaning (urls.py): {100 * links:.1f}%"]
    return "\n".join(out)


DETECTION_MODULES = ("tracker_block/engine/rules.py", "tracker_block/engine/heuristics.py", "tracker_block/engine/detect.py")


def _module_of(path: str | None) -> str:
    if not path:
        return "<native/unknown>"
    p = path.replace(os.sep, "/")
    if "/tracker_block/" in p:
        return "tracker_block/" + p.rsplit("/tracker_block/", 1)[1]
    if "site-packages/" in p:
        return p.rsplit("site-packages/", 1)[1].split("/", 1)[0]
    if p.startswith("<"):
        return p
    return "stdlib:" + p.rsplit("/", 1)[-1]


def _self_time_by_module(root: Any) -> dict[str, float]:
    totals: dict[str, float] = {}
    stack = [root] if root is not None else []
    while stack:
        f = stack.pop()
        own = f.time - sum(c.time for c in f.children)
        owner = f
        # "[self]" frames and C functions (<built-in>: re, str methods, lxml) count for the caller
        while owner.parent is not None and (owner.is_synthetic or (owner.file_path or "<").startswith("<")):
            owner = owner.parent
        key = _module_of(owner.file_path)
        totals[key] = totals.get(key, 0.0) + max(own, 0.0)
        stack.extend(f.children)
    return totals


# --------------------------------------------------------------------------- main
def _versions() -> str:
    parts = [f"Python {platform.python_version()}", f"{os.cpu_count()} CPUs"]
    for dist in ("lxml", "selectolax", "nh3", "bleach", "lxml_html_clean", "tracker-block"):
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    try:
        from lxml import etree
        parts.append("libxml2 " + ".".join(map(str, etree.LIBXML_VERSION)))
    except ImportError:
        pass
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="few inputs, 2 rounds: a smoke run")
    ap.add_argument("-n", type=int, default=None, help="generated inputs per section (default 40, quick 6)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds, median reported (default 5, quick 2)")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                    help="cpu: process CPU time (default, robust on a busy machine); wall: elapsed time")
    ap.add_argument("--no-context", action="store_true", help="skip nh3 / lxml_html_clean / bleach rows")
    ap.add_argument("--mailbox", type=int, nargs="+", metavar="N", default=[],
                    help="also time `tracker-block scan --jobs 1/2` on generated mboxes of N messages "
                         "(e.g. --mailbox 1000 10000; ~120 KB a message on disk)")
    ap.add_argument("--mailbox-dir", default=None, help="where to write the temporary mboxes (default: $TMPDIR)")
    ap.add_argument("--profile", action="store_true", help="profile the engine with pyinstrument afterwards")
    ap.add_argument("--profile-lines", type=int, default=60)
    args = ap.parse_args(argv)
    n = args.n or (6 if args.quick else 40)
    rounds = args.rounds or (2 if args.quick else 5)
    clock = CLOCKS[args.clock]

    print(_versions())
    print(f"{n} generated inputs per section, median of {rounds} rounds, {args.clock} time\n")

    html = gen.corpus(n)
    hbytes = sum(len(h.encode("utf-8")) for h in html)
    rows = html_rows()
    if args.no_context:
        rows = [r for r in rows if "(context)" not in r.name]
    measure(rows, html, rounds, clock)
    print(table(f"HTML bodies: {n} generated, {hbytes / 1e6:.2f} MB (gen.generate_html)", rows, n, hbytes,
                "lxml p+s"))

    heavy = gen.heavy_corpus(n)
    vbytes = sum(len(h.encode("utf-8")) for h in heavy)
    vrows = [r for r in html_rows() if "(context)" not in r.name or not args.no_context]
    measure(vrows, heavy, rounds, clock)
    print()
    print(table(f"HTML bodies with heavy head <style>: {n} generated, {vbytes / 1e6:.2f} MB "
                f"(gen.generate_html(i, style='heavy'))", vrows, n, vbytes, "lxml p+s"))

    shtml = sample_html_parts()
    if shtml:
        sbytes = sum(len(h.encode("utf-8")) for h in shtml)
        srows = [r for r in html_rows() if "(context)" not in r.name]
        measure(srows, shtml, rounds * 5, clock)                 # tiny inputs: more rounds for a stable median
        print()
        print(table(f"HTML parts of samples/*.eml: {len(shtml)} parts, {sbytes / 1e3:.1f} KB", srows, len(shtml),
                    sbytes, "lxml p+s"))

    msgs = [gen.generate_message(i) for i in range(n)]
    mbytes = sum(map(len, msgs))
    mrows = message_rows()
    measure(mrows, msgs, rounds, clock)
    print()
    print(table(f"Whole messages, MIME in/out: {n} generated, {mbytes / 1e6:.2f} MB (gen.generate_message)",
                mrows, n, mbytes, "stdlib email"))

    samples = sample_messages()
    if samples:
        smbytes = sum(map(len, samples))
        srows = message_rows()
        measure(srows, samples, rounds * 5, clock)
        print()
        print(table(f"Whole messages: samples/*.eml, {len(samples)} messages, {smbytes / 1e3:.1f} KB", srows,
                    len(samples), smbytes, "stdlib email"))

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"\npeak RSS of this process: {peak / 1024:.0f} MB")

    if args.mailbox:
        print()
        print(mailbox_bench(args.mailbox, args.mailbox_dir))

    if args.profile:
        print()
        print(profile(html, 1 if args.quick else 3, args.profile_lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

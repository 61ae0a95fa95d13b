"""Instructions per message under callgrind: a before/after measure that does not move with machine noise.

    python benchmarks/bench_instructions.py                 # lxml floor, lexbor, engine in 3 modes
    python benchmarks/bench_instructions.py -n 10 trackers  # fewer bodies, one row

Each row runs in a fresh ``valgrind --tool=callgrind`` process twice, once cleaning N generated
bodies and once cleaning none (same imports, same warm-up), and prints the difference divided
by N. Instructions are not time (C code runs at a higher IPC than the interpreter): compare
rows of the engine across versions, never a ratio to lxml. Needs valgrind (apt install valgrind).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS = ("lxml", "lexbor", "trackers", "all", "proxy")


def _child(row: str, n: int) -> None:
    """Runs inside valgrind: warm up, empty the engine caches, then clean ``n`` bodies."""
    sys.path.insert(0, str(HERE))
    import gen
    docs = gen.corpus(max(n, 3))
    if row == "lxml":
        import lxml.html
        fn = lambda h: lxml.html.tostring(lxml.html.document_fromstring(h), encoding="unicode")  # noqa: E731
    elif row == "lexbor":
        from selectolax.lexbor import LexborHTMLParser
        fn = lambda h: LexborHTMLParser(h).html  # noqa: E731
    else:
        from tracker_block import Options, clean_html
        from tracker_block.engine.clean import clear_caches
        from tracker_block.engine.signing import KeyRing
        opts = (Options(mode=row) if row != "proxy" else
                Options(mode="proxy", proxy_base="https://img-proxy.example.net/p",
                        keyring=KeyRing((("bench", b"k" * 32),))))
        fn = lambda h: clean_html(h, opts, recipients=(gen.RECIPIENT,))  # noqa: E731
        for h in docs[:3]:
            fn(h)                   # imports, rule loading, lazily compiled patterns
        clear_caches()              # then every body is seen for the first time
    for h in docs[:n]:
        fn(h)


def _count(row: str, n: int) -> int:
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                          __file__, "--child", row, str(n)], capture_output=True, text=True, check=True)
    m = re.search(r"Collected\s*:\s*(\d+)", out.stderr)
    if not m:
        raise RuntimeError(f"no instruction count from callgrind:\n{out.stderr[-500:]}")
    return int(m.group(1))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child(argv[1], int(argv[2]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rows", nargs="*", metavar="ROW", help=f"any of {', '.join(ROWS)} (default: all)")
    ap.add_argument("-n", type=int, default=20, help="bodies per count (default 20)")
    args = ap.parse_args(argv)
    unknown = [r for r in args.rows if r not in ROWS]
    if unknown:
        ap.error(f"unknown row(s) {', '.join(unknown)}; choose from {', '.join(ROWS)}")
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt install valgrind)")
        return 2
    print(f"instructions per generated body (callgrind, {args.n} bodies minus 0):")
    for row in args.rows or ROWS:
        per = (_count(row, args.n) - _count(row, 0)) / args.n
        print(f"  {row:10s} {per / 1e6:8.1f} M")
    return 0


if __name__ == "__main__":
    sys.exit(main())

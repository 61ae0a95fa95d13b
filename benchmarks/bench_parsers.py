"""Which HTML parser the Rust document pass is built on: parse+serialise per document, measured.

Candidates, each timed on the same ``gen.py`` bodies in one process, interleaved per round so machine
noise hits all alike; figures are medians over rounds, then over documents, as ratios to lxml
parse+serialise (the issue's yardstick):

- lxml parse+serialise (libxml2's HTML parser; not HTML5: the yardstick only)
- selectolax/lexbor parse+serialise (what the Python engine uses today)
- html5ever into our arena DOM + our serialiser (``_core.reserialize(h, html5ever_tokenizer=True)``)
- the same tree builder fed by our tokenizer (``core/src/html/tokenize.rs``), as the engine parses
  (``_core.reserialize``)
- that + ``collect`` (every URL site, as html.collect) + serialise (``_core.bench_parse_collect_serialize``)
- one lol_html streaming pass reading every attribute and comment (``_core.bench_lol_html_pass``)
- the whole engine, ``clean_html`` in trackers mode (parse, find, judge, rewrite, serialise), for scale

    python benchmarks/bench_parsers.py            # bodies 0..39, 7 rounds
    python benchmarks/bench_parsers.py --quick    # 8 bodies, 3 rounds
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen  # noqa: E402


def candidates() -> dict[str, object]:
    import lxml.html
    from selectolax.lexbor import LexborHTMLParser

    from tracker_block import Options, _core, clean_html

    opts = Options()

    return {
        "lxml parse+serialise": lambda h: lxml.html.tostring(lxml.html.document_fromstring(h), encoding="unicode"),
        "lexbor (selectolax) parse+serialise": lambda h: LexborHTMLParser(h).html,
        "html5ever alone (its tokenizer) parse+serialise": lambda h: _core.reserialize(h, html5ever_tokenizer=True),
        "our tokenizer + html5ever tree builder parse+serialise": _core.reserialize,
        "our tokenizer + html5ever parse+collect+serialise": _core.bench_parse_collect_serialize,
        "lol_html one pass (attrs+comments)": _core.bench_lol_html_pass,
        "clean_html (trackers), whole engine": lambda h: clean_html(h, opts, recipients=(gen.RECIPIENT,)),
    }


def measure(docs: list[str], rounds: int, reps: int) -> dict[str, list[list[float]]]:
    """Per candidate, per document: the per-round times (seconds per call)."""
    fns = candidates()
    times = {name: [[] for _ in docs] for name in fns}
    for _ in range(rounds):
        for d, doc in enumerate(docs):
            for name, fn in fns.items():
                t0 = time.perf_counter()
                for _ in range(reps):
                    fn(doc)
                times[name][d].append((time.perf_counter() - t0) / reps)
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("-n", type=int, default=40, help="gen.py bodies 0..n-1")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    n, rounds = (8, 3) if args.quick else (args.n, args.rounds)
    docs = [gen.generate_html(i) for i in range(n)]
    times = measure(docs, rounds, reps=3)
    base = [statistics.median(t) for t in times["lxml parse+serialise"]]
    kb = statistics.median(len(d.encode()) for d in docs) / 1024
    print(f"{n} gen.py bodies (median {kb:.0f} KiB), {rounds} rounds; per-document medians")
    print(f"{'candidate':56} {'ms/doc':>8} {'x lxml':>7}")
    for name, per_doc in times.items():
        med = [statistics.median(t) for t in per_doc]
        ratio = statistics.median(m / b for m, b in zip(med, base))
        print(f"{name:56} {statistics.median(med) * 1e3:8.3f} {ratio:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

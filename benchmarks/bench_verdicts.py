"""Per-verdict cost through Python: image `load`, link verdict, link unwrap + strip.

    python benchmarks/bench_verdicts.py [--so path/to/_core.abi3.so] [--style heavy] [--bodies 40] [--rounds 20]

Every distinct image URL (src=, url()) and link (href=) of the gen.py bodies is judged once a pass
(images by a fresh Detector each pass, so its per-document memo is cold); medians of the passes,
in µs per URL, the PyO3 call included. `--so` loads another build of the core (A/B).
"""
from __future__ import annotations

import argparse
import html
import importlib.util
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Callable


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--so", help="a _core build to load instead of the installed one")
    ap.add_argument("--style", default="plain", help="gen.py style (plain or heavy)")
    ap.add_argument("--bodies", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=20)
    a = ap.parse_args()
    if a.so:
        spec = importlib.util.spec_from_file_location("tracker_block._core", a.so)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        sys.modules["tracker_block._core"] = mod
    import tracker_block
    from tracker_block import _core
    if a.so:
        tracker_block._core = _core = sys.modules["tracker_block._core"]
    from tracker_block.engine import heuristics as H
    from tracker_block.engine.rules import ensure_public_suffixes, load_rules
    sys.path.insert(0, str(Path(__file__).parent))
    import gen

    ensure_public_suffixes()
    judge = load_rules().judge
    ident = H.Identity((gen.RECIPIENT,))
    imgs: set[str] = set()
    links: set[str] = set()
    for i in range(a.bodies):
        body = gen.generate_html(i, style=a.style) if a.style != "plain" else gen.generate_html(i)
        imgs.update(html.unescape(u) for u in re.findall(r'src="([^"]*)"', body))
        imgs.update(html.unescape(u) for u in re.findall(r'url\(["\']?(http[^)"\']*)', body))
        links.update(html.unescape(u) for u in re.findall(r'href="(http[^"]*)"', body))
    img_list = sorted(u for u in imgs if u.startswith("http"))
    link_list = sorted(links)

    def per_url(urls: list[str], each: Callable[[str], object], setup: Callable[[], object] | None = None) -> float:
        if setup:
            setup()
        t = time.perf_counter()
        for u in urls:
            each(u)
        return (time.perf_counter() - t) / len(urls) * 1e6

    det = [None]

    def fresh() -> None:
        det[0] = _core.Detector(judge, ident.core, "example.com")

    runs = {
        "image load": lambda: per_url(img_list, lambda u: det[0].load(u, None, None, False), fresh),
        "link verdict": lambda: per_url(link_list, lambda u: judge.link(ident.core, u)),
        "link unwrap+strip": lambda: per_url(link_list, judge.unwrap_and_strip),
        "call floor (is_remote)": lambda: per_url(link_list, _core.is_remote),
    }
    for f in runs.values():
        f()
    print(f"{len(img_list)} image URLs, {len(link_list)} links ({a.style}, {a.bodies} bodies)")
    for name, f in runs.items():
        print(f"{name:24} {statistics.median(f() for _ in range(a.rounds)):.3f} µs")


if __name__ == "__main__":
    main()

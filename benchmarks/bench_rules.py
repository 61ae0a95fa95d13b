"""Rule matching cost as the rules grow: vendor rules only, plus the shipped filter lists, plus a
synthetic list ten times the size of the shipped ones.

Why: a filter-list matcher that loops over filters gets slower with every filter added; an
indexed one (host dict + token index) should cost about the same at 4,000 or 40,000 filters.
Each configuration judges the same fixed URL set (every URL as an image load and as a link);
the figure is the median over ``--rounds`` of the time per URL.

    python benchmarks/bench_rules.py            # ~20 s
    python benchmarks/bench_rules.py --quick
"""
from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker_block.engine import rules as R  # noqa: E402
from tracker_block.engine.urls import parts  # noqa: E402

SAMPLES = ROOT / "samples"
_URL = re.compile(r"""https?://[^\s"'<>()]+""")


def url_set(n: int, seed: int = 7) -> list[str]:
    """Every URL in the sample messages, plus generated newsletter-shaped URLs (honest and not)."""
    rnd = random.Random(seed)
    urls = sorted({m.group() for p in SAMPLES.glob("*.eml") for m in _URL.finditer(p.read_text(errors="replace"))})
    hosts = ["cdn.shop-example.com", "images.news-example.org", "click.news-example.org", "em.brand-example.net",
             "r.sendibt2.com", "us5.list-manage.com", "ad.doubleclick.net", "a.mktoresp.com", "static.example.co.uk",
             "t.tracker-example.io", "www.linkedin.com", "links.iterable.com", "u123.ct.sendgrid.net"]
    paths = ["/img/hero-{t}.jpg", "/track/open?u={t}", "/wf/open?upn={t}", "/p/{t}/logo.png", "/o/{t}",
             "/ls/click?upn={t}", "/e/o/{t}", "/assets/{t}/icon-64.png", "/piwik.php?idsite=1&rec=1&r={t}",
             "/comm/jobs/view/{t}", "/click.php?c={t}"]
    while len(urls) < n:
        t = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(16))
        urls.append("https://" + rnd.choice(hosts) + rnd.choice(paths).format(t=t))
    return urls[:n]


def base_rules() -> R.Rules:
    """Today's rules: the bundled TOML files, no filter lists."""
    rules = R.Rules()
    R._LAZY = True
    try:
        for name, text in R._bundled_texts():
            rules.add_data(name, R.read_bundled_toml(text))
    finally:
        R._LAZY = False
    return rules


def list_texts() -> list[tuple[dict, str]]:
    base = resources.files("tracker_block.ruledata")
    return [(e, (base / e["file"]).read_text(encoding="utf-8")) for e in R.bundled_lists()]


def synthetic(text: str, copies: int) -> str:
    """``copies`` renamed copies of every filter: new hosts and new path tokens, same shapes."""
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("!"):
            continue
        for i in range(copies):
            out.append(re.sub(r"[a-z]{3,}", lambda m, i=i: f"{m.group()}{i}x", line, count=1))
    return "\n".join(out) + "\n"


def with_lists(multiplier: int = 0) -> R.Rules:
    rules = base_rules()
    for entry, text in list_texts():
        rules.add_filter_list(entry["file"], text, entry["label"], bool(entry.get("links")))
        if multiplier:
            rules.add_filter_list("synthetic-" + entry["file"], synthetic(text, multiplier - 1), "synthetic")
    return rules


def judge_all(rules: R.Rules, urls: list[tuple[str, str]]) -> int:
    """Through the Python API (``Rules.match_load``/``match_click``: verdicts with vendor objects)."""
    hits = 0
    for host, target in urls:
        hits += rules.match_load(host, target) is not None
        hits += rules.match_click(host, target) is not None
    return hits


def judge_core(rules: R.Rules, urls: list[tuple[str, str]]) -> int:
    """The core's judge alone, as the engine asks it: the whole URL set in one call, no Python per URL."""
    return rules.judge.count_hits(urls, 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("-n", type=int, default=None, help="URLs (default 3000, quick 500)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds, median reported (default 7, quick 3)")
    ap.add_argument("--adblock", action="store_true", help="also compare with Brave's adblock package, if installed")
    a = ap.parse_args(argv)
    n = a.n or (500 if a.quick else 3000)
    rounds = a.rounds or (3 if a.quick else 7)
    urls = [tuple(parts(u)) for u in url_set(n)]
    t0 = time.perf_counter()
    configs = [("vendor rules only (before)", base_rules()), ("+ shipped filter lists", with_lists()),
               ("+ synthetic lists, 10x filters", with_lists(10))]
    load = time.perf_counter() - t0
    for _name, rules in configs:       # build indexes and compile lazily before timing
        judge_all(rules, urls[:50])
    times: dict[str, list[float]] = {name: [] for name, _ in configs}
    core: dict[str, list[float]] = {name: [] for name, _ in configs}
    hits: dict[str, int] = {}
    for _ in range(rounds):
        for name, rules in configs:    # interleaved: machine noise hits every configuration alike
            t = time.perf_counter()
            hits[name] = judge_all(rules, urls)
            times[name].append((time.perf_counter() - t) / len(urls))
            t = time.perf_counter()
            assert judge_core(rules, urls) == hits[name]
            core[name].append((time.perf_counter() - t) / len(urls))
    print(f"{len(urls)} URLs x (image + link), {rounds} rounds, median per URL; set-up {load:.2f} s")
    base = statistics.median(times[configs[0][0]])
    shipped = statistics.median(times[configs[1][0]])
    for name, rules in configs:
        med = statistics.median(times[name])
        print(f"  {name:<32} filters {len(rules.filters):>6}  {med * 1e6:7.2f} us/URL  "
              f"x{med / base:4.2f} vs before  x{med / shipped:4.2f} vs shipped  hits {hits[name]}  "
              f"(core alone {statistics.median(core[name]) * 1e6:.2f} us/URL)")
    if a.adblock:
        compare_adblock(urls, rounds)
    return 0


def compare_adblock(urls: list[tuple[str, str]], rounds: int) -> None:
    """The same lists in Brave's Rust engine (``pip install adblock``), image loads only: speed and
    whether both engines give the same answers. Why not use it: see rules/README.md."""
    try:
        import adblock
    except ImportError:
        print("  adblock (Brave, Rust): not installed (pip install adblock)")
        return
    fs = adblock.FilterSet()
    ours = R.Rules()
    for entry, text in list_texts():
        fs.add_filter_list(text)
        ours.add_filter_list(entry["file"], text, entry["label"], bool(entry.get("links")))
    engine = adblock.Engine(fs, optimize=True)
    full = [("https://" + t, h) for h, t in urls]
    source = "https://mail.invalid/"    # any other site: every load in mail is third-party

    def theirs() -> int:
        return sum(engine.check_network_urls(u, source, "image").matched for u, _ in full)

    def mine() -> int:
        return sum(ours.filters.match(u, h, "image") is not None for u, h in full)

    t_theirs, t_mine = [], []
    for _ in range(rounds):
        t = time.perf_counter(); hits_theirs = theirs(); t_theirs.append((time.perf_counter() - t) / len(full))
        t = time.perf_counter(); hits_mine = mine(); t_mine.append((time.perf_counter() - t) / len(full))
    differ = sum(engine.check_network_urls(u, source, "image").matched != (ours.filters.match(u, h, "image") is not None)
                 for u, h in full)
    print(f"  lists only, image loads: adblock {statistics.median(t_theirs) * 1e6:.2f} us/URL ({hits_theirs} hits), "
          f"ours {statistics.median(t_mine) * 1e6:.2f} us/URL ({hits_mine} hits), answers differ on {differ} URLs")


if __name__ == "__main__":
    raise SystemExit(main())

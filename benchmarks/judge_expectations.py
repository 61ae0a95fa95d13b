"""Save every per-URL answer of the engine's judge, for the differential test (tests/test_judge_differential.py).

Why: the per-URL judgement (URL reading, rule and filter-list matching, heuristics, the load and
link verdicts, link cleaning, registrable domains) moved from Python into the Rust core. The Python
implementation was deleted once both gave the same answers; its answers stay here, saved from real
inputs, so the Rust judge is compared with them on every test run.

Inputs: every URL the engine judges while cleaning the corpora (tests/detection_corpus.py,
tests/newsletter_corpus.py, tests/vectors/**, benchmarks/gen.py bodies 0..149), recorded with the
sizes, visibility, image statistics, sender and recipients it judged them with; plus every URL
written in those corpora, the rule files' own examples and the test files, each asked every
question on a grid of sizes and link modes.

    python benchmarks/judge_expectations.py            # writes tests/data/judge_expectations.json.gz

The saved file is the Python engine's answers: it was generated at commit 372287b (the last commit
with the Python judge). To regenerate it from that implementation, run this script as it was
before the package was grouped into engine/, cli/ and integrations/ (its imports are the old tree's):

    git worktree add /tmp/pyjudge 372287b
    git show 1159757:benchmarks/judge_expectations.py > /tmp/pyjudge/benchmarks/judge_expectations.py
    cd /tmp/pyjudge && PYTHONPATH=/tmp/pyjudge python benchmarks/judge_expectations.py --out <this repo>/tests/data/judge_expectations.json.gz

Run here (with the Rust judge), it rewrites the file from the current engine: only do that for an
intended change of answers, and say so in the commit.
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

OUT = ROOT / "tests" / "data" / "judge_expectations.json.gz"
RECIPIENT = "maria.lopez@example.org"
GEN_BODIES = 150
_URL = re.compile(r"""(?:(?:https?|ftp|wss?|HTTPS?):)?//[^\s"'<>()\\`]+""")
# (width, height, hidden) asked of every URL
SIZES = [(None, None, False), (1.0, 1.0, False), (600.0, 300.0, False), (None, None, True), (1.0, None, False),
         (600.0, 1.0, False), (2.0, 2.0, False), (24.0, 24.0, False)]


def documents() -> list[tuple[str, str, str | None]]:
    """(name, html, sender) for every document of the corpora."""
    import detection_corpus as dc
    import newsletter_corpus as nc

    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_gen", ROOT / "benchmarks" / "gen.py")
    gen = importlib.util.module_from_spec(spec)
    sys.modules["bench_gen"] = gen
    spec.loader.exec_module(gen)
    docs: list[tuple[str, str, str | None]] = []
    for i, (snip, url, _) in enumerate(dc.RECALL):
        docs.append((f"detection-recall-{i}", snip.format(u=url), None))
    for i, (snip, url) in enumerate(dc.HONEST):
        docs.append((f"detection-honest-{i}", snip.format(u=url), None))
    for r in nc.RECALL:
        docs.append((f"newsletter-recall-{r.name}", r.html, r.shell.sender))
    for h in nc.HONEST:
        docs.append((f"newsletter-honest-{h.name}", h.html, h.shell.sender))
    for p in sorted((ROOT / "tests" / "vectors").rglob("*")):
        if p.is_file():
            docs.append((f"vector-{p.name}", p.read_bytes().decode("utf-8", "replace"), None))
    for i in range(GEN_BODIES):
        docs.append((f"gen-{i}", gen.generate_html(i), None))
    return docs


def extra_texts() -> list[str]:
    """Texts whose URLs are asked too: the rule files (their examples) and the tests."""
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "tracker_block" / "ruledata").glob("*.toml"))]
    texts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "tests").glob("test_*.py"))]
    return texts


# Odd shapes the corpora have few of: userinfo, ports, IPv6, percent-encoded hosts, trailing dots,
# backslashes, whitespace, upper case, protocol-relative, slash-less, non-ASCII.
EDGE = [
    "https://user:pw@Track.Example.COM:8443/o.gif?x=1#f", "HTTP://EXAMPLE.com/Pixel.GIF", "//cdn.example.net/p.gif",
    "https:cdn.example.net/x", "http:\\\\h.example\\a\\b", " \thttps://a.example/\n o.gif ", "https://[::1]/x",
    "https://[fe80::1%25eth0]:80/x", "https://[not-ip]/x", "https://h%2Eexample.com/x", "https://a.example./x",
    "https://a.example:99999/x", "https://münchen.example/bild.png", "https://xn--mnchen-3ya.de/a", "ftp://f.example/x",
    "wss://w.example/s", "https://a.b.co.uk/x", "https://foo.ck/x", "https://www.ck/x", "https://1.2.3.4/o.gif",
    "https://a.example/path?q=1&utm_source=x&fbclid=abc&keep=2#frag", "mailto:someone@example.org",
    "data:image/gif;base64,R0lGOD", "javascript:alert(1)", "cid:part1", "https://", "//", "https:///x",
    "https://a.example/?e=maria.lopez%40example.org", "https://a.example/?e=MARIA.LOPEZ@EXAMPLE.ORG",
]


def record_engine(docs: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    """Run the engine over the documents and record every question it asks, as asked."""
    from tracker_block.engine import detect, clean as engine
    from tracker_block.engine.urls import absolute

    loads: set = set()
    links: set = set()
    cleans: set = set()
    canon: set = set()
    orig_load, orig_link, orig_clean, orig_canon = (detect.Detector.load, engine.link_verdict, engine.clean_link,
                                                    engine.canonical)

    def load(self, url, width=None, height=None, hidden=False):
        key = absolute(url)
        num = lambda x: None if x is None else float(x)  # noqa: E731
        loads.add((url, num(width), num(height), bool(hidden), self.sender_domain, self.stats.count.get(key, 0),
                   key in self.stats.visible, tuple(self.identity.addresses)))
        return orig_load(self, url, width, height, hidden)

    def link_verdict(rules, identity, url):
        links.add((url, tuple(identity.addresses)))
        return orig_link(rules, identity, url)

    def clean_link(url, rules, conservative=False):
        cleans.add(url)
        return orig_clean(url, rules, conservative)

    def canonical(url):
        canon.add(url)
        return orig_canon(url)

    detect.Detector.load, engine.link_verdict, engine.clean_link, engine.canonical = (load, link_verdict, clean_link,
                                                                                      canonical)
    from tracker_block.engine.signing import KeyRing
    proxy = engine.Options(mode="proxy", proxy_base="https://proxy.example.net/p", keyring=KeyRing((("k1", b"s" * 32),)))
    try:
        for _, html, sender in docs:
            for opts in (engine.Options(), proxy):
                engine.clean_html(html, opts, recipients=(RECIPIENT,), sender=sender)
            engine.clean_text(html, recipients=(RECIPIENT,))
    finally:
        detect.Detector.load, engine.link_verdict, engine.clean_link, engine.canonical = (orig_load, orig_link,
                                                                                          orig_clean, orig_canon)
    return {"loads": sorted(loads, key=repr), "links": sorted(links, key=repr), "cleans": sorted(cleans),
            "canonical": sorted(canon)}


def _verdict(v) -> list | None:
    return None if v is None else list(v)


def _rule(v) -> list | None:
    return None if v is None else [v.vendor.id, v.vendor.name, v.vendor.company, v.vendor.category, v.rule_id, v.use]


def _try(fn, *args):
    try:
        return fn(*args)
    except ValueError as exc:
        return f"ValueError: {exc}"


def answers(urls: list[str], recorded: dict[str, Any]) -> dict[str, Any]:
    """Every question for every URL, and the engine's recorded questions, answered by this engine."""
    from tracker_block.engine import heuristics as H
    from tracker_block.engine.detect import Detector, ImageStats, link_verdict, registrable_domain
    from tracker_block.engine.rules import load_rules
    from tracker_block.engine.urls import absolute, canonical, clean_link, is_remote, normalise, parts, scheme_of

    rules = load_rules()
    identities: dict[tuple[str, ...], H.Identity] = {}

    def identity(addrs) -> H.Identity:   # immutable: one per recipient set
        key = tuple(addrs)
        if key not in identities:
            identities[key] = H.Identity(key)
        return identities[key]

    ident = identity([RECIPIENT])
    det = Detector(rules, ident)
    seen: list[str] = []

    def unsub(dest: str) -> bool:
        seen.append(dest)
        return "unsub" in dest.lower()

    per_url = []
    for raw in urls:
        u = normalise(raw)
        row: dict[str, Any] = {"url": raw, "normalise": u, "scheme": scheme_of(u), "remote": is_remote(u)}
        if row["remote"]:
            host, target = parts(u)
            sender = "news@" + registrable_domain(host) if host else None
            with_sender = Detector(rules, ident, sender_domain=sender)
            row.update({
                "absolute": absolute(u), "parts": [host, target], "canonical": _try(canonical, u),
                "domain": registrable_domain(host), "signals": H.path_signals(target),
                "match_load": _rule(rules.match_load(host, target)), "match_click": _rule(rules.match_click(host, target)),
                "load": [_verdict(det.load(u, w, h, hid)) for w, h, hid in SIZES],
                "load_sender": _verdict(with_sender.load(u, 1.0, 1.0)),
                "load_nobody": _verdict(Detector(rules, identity([])).load(u)),
                "settled": det.settled(u), "link": _verdict(det.link(u)),
                "link_nobody": _verdict(link_verdict(rules, identity([]), u)),
            })
            seen.clear()
            row["clean"] = [list(clean_link(u, rules, False)), list(clean_link(u, rules, True)),
                            list(clean_link(u, rules, unsub)), list(seen)]
        per_url.append(row)
    loads = []
    for url, w, h, hidden, sender_domain, count, visible, addrs in recorded["loads"]:
        d = Detector(rules, identity(addrs), sender_domain=sender_domain)
        key = absolute(url)
        d.stats = ImageStats({key: count} if count else {}, {key} if visible else set())
        loads.append([url, w, h, hidden, sender_domain, str(count), visible, list(addrs), _verdict(d.load(url, w, h, hidden)),
                      d.settled(url)])
    links = [[url, list(addrs), _verdict(link_verdict(rules, identity(addrs), url))] for url, addrs in recorded["links"]]
    cleans = [[url, list(clean_link(url, rules, False))] for url in recorded["cleans"]]
    canon = [[url, _try(canonical, url)] for url in recorded["canonical"]]
    return {"recipient": RECIPIENT, "sizes": SIZES, "urls": per_url, "loads": loads, "links": links,
            "cleans": cleans, "canonical": canon}


def encode(data: Any) -> dict[str, Any]:
    """Compact form: every string once, in a table; in the data every integer is an index into it
    (the few genuine integers are saved as strings)."""
    table: dict[str, int] = {}

    def walk(x: Any) -> Any:
        if isinstance(x, str):
            return table.setdefault(x, len(table))
        if isinstance(x, bool) or x is None or isinstance(x, float):
            return x
        if isinstance(x, int):
            return walk(str(x))
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        return [walk(v) for v in x]

    body = walk(data)
    return {"strings": list(table), "data": body}


def decode(saved: dict[str, Any]) -> Any:
    """The data ``encode`` saved (keys of mappings are plain strings; integers were saved as strings)."""
    strings = saved["strings"]

    def walk(x: Any) -> Any:
        if isinstance(x, bool) or x is None or isinstance(x, float):
            return x
        if isinstance(x, int):
            return strings[x]
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        return [walk(v) for v in x]

    return walk(saved["data"])


def load(path: Path = OUT) -> Any:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return decode(json.load(f))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    docs = documents()
    recorded = record_engine(docs)
    texts = [html for _, html, _ in docs] + extra_texts()
    urls = {m.group().rstrip(".,;:!?)]}'\"") for t in texts for m in _URL.finditer(t)}
    urls |= set(EDGE) | {u for r in recorded["loads"] for u in [r[0]]} | {u for u, _ in recorded["links"]}
    urls |= set(recorded["cleans"]) | set(recorded["canonical"])
    data = answers(sorted(urls), recorded)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(a.out, "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(encode(data), f, ensure_ascii=False, separators=(",", ":"))
    print(f"{len(data['urls'])} URLs, {len(data['loads'])} recorded loads, {len(data['links'])} links, "
          f"{len(data['cleans'])} cleanings, {len(data['canonical'])} canonical -> {a.out} "
          f"({a.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The Rust judge gives every per-URL answer the Python judge it replaced gave.

Why: URL reading, rule and filter-list matching, heuristics, load and link verdicts, link
cleaning and registrable domains moved into the core (core/src/{urls,rules,filterlist,heuristics,
detect,psl}.rs) and the Python implementation was deleted. Its answers on every URL of the corpora
(detection and newsletter corpora, tests/vectors, benchmarks/gen.py bodies 0..149, the rule files'
examples, the tests' URLs), and on every question the engine asked while cleaning them, were saved
by benchmarks/judge_expectations.py (tests/data/judge_expectations.json.gz; see that script to
regenerate). Any answer that differs fails here, with the URL.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tracker_block import heuristics as H
from tracker_block.detect import Detector, ImageStats, link_verdict, registrable_domain
from tracker_block.rules import load_rules
from tracker_block.urls import absolute, canonical, clean_link, is_remote, normalise, parts, scheme_of

ROOT = Path(__file__).resolve().parent.parent


def _saved():
    spec = importlib.util.spec_from_file_location("judge_expectations", ROOT / "benchmarks" / "judge_expectations.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["judge_expectations"] = mod
    spec.loader.exec_module(mod)
    return mod.load()


@pytest.fixture(scope="module")
def saved():
    return _saved()


def _v(v):
    return None if v is None else list(v)


def _rule(v):
    return None if v is None else [v.vendor.id, v.vendor.name, v.vendor.company, v.vendor.category, v.rule_id, v.use]


def _try(fn, *args):
    try:
        return fn(*args)
    except ValueError as exc:
        return f"ValueError: {exc}"


def _check(diffs: list, what: str, url: str, got, want) -> None:
    if got != want:
        diffs.append(f"{what} {url!r}: got {got!r}, saved {want!r}")


def test_every_url_gets_the_saved_answers(saved):
    rules = load_rules()
    ident = H.Identity([saved["recipient"]])
    nobody = H.Identity([])
    det = Detector(rules, ident)
    sizes = [tuple(s) for s in saved["sizes"]]
    seen: list[str] = []

    def unsub(dest: str) -> bool:
        seen.append(dest)
        return "unsub" in dest.lower()

    diffs: list[str] = []
    assert len(saved["urls"]) > 15000
    for row in saved["urls"]:
        raw = row["url"]
        u = normalise(raw)
        _check(diffs, "normalise", raw, u, row["normalise"])
        _check(diffs, "scheme_of", raw, scheme_of(u), row["scheme"])
        _check(diffs, "is_remote", raw, is_remote(u), row["remote"])
        if not row["remote"]:
            continue
        host, target = parts(u)
        sender = "news@" + registrable_domain(host) if host else None
        got = {
            "absolute": absolute(u), "parts": [host, target], "canonical": _try(canonical, u),
            "domain": registrable_domain(host), "signals": H.path_signals(target),
            "match_load": _rule(rules.match_load(host, target)), "match_click": _rule(rules.match_click(host, target)),
            "load": [_v(det.load(u, w, h, hid)) for w, h, hid in sizes],
            "load_sender": _v(Detector(rules, ident, sender_domain=sender).load(u, 1.0, 1.0)),
            "load_nobody": _v(Detector(rules, nobody).load(u)),
            "settled": det.settled(u), "link": _v(det.link(u)), "link_nobody": _v(link_verdict(rules, nobody, u)),
        }
        seen.clear()
        got["clean"] = [list(clean_link(u, rules, False)), list(clean_link(u, rules, True)),
                        list(clean_link(u, rules, unsub)), list(seen)]
        for key, value in got.items():
            if key == "clean":
                value = [[c[0], c[1], list(c[2])] for c in value[:3]] + [value[3]]
            _check(diffs, key, raw, value, row[key])
    assert not diffs, f"{len(diffs)} answers differ:\n" + "\n".join(diffs[:40])


def test_every_question_the_engine_asked_gets_the_saved_answer(saved):
    rules = load_rules()
    diffs: list[str] = []
    assert len(saved["loads"]) > 5000 and len(saved["links"]) > 10000
    for url, w, h, hidden, sender_domain, count, visible, addrs, verdict, settled in saved["loads"]:
        d = Detector(rules, H.Identity(addrs), sender_domain=sender_domain)
        key = absolute(url)
        count = int(count)
        d.stats = ImageStats({key: count} if count else {}, {key} if visible else set())
        _check(diffs, f"load({w}, {h}, hidden={hidden}, sender={sender_domain}, count={count}, visible={visible})",
               url, _v(d.load(url, w, h, hidden)), verdict)
        _check(diffs, "settled", url, d.settled(url), settled)
    for url, addrs, verdict in saved["links"]:
        _check(diffs, "link", url, _v(link_verdict(rules, H.Identity(addrs), url)), verdict)
    for url, cleaned in saved["cleans"]:
        c = clean_link(url, rules, False)
        _check(diffs, "clean_link", url, [c[0], c[1], list(c[2])], cleaned)
    for url, want in saved["canonical"]:
        _check(diffs, "canonical", url, _try(canonical, url), want)
    assert not diffs, f"{len(diffs)} answers differ:\n" + "\n".join(diffs[:40])

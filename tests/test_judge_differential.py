"""The Rust judge gives every per-URL answer the Python judge it replaced gave.

Why: URL reading, rule and filter-list matching, heuristics, load and link verdicts, link
cleaning and registrable domains moved into the core (core/src/{urls,rules,filterlist,heuristics,
detect,psl}.rs) and the Python implementation was deleted. Its answers on every URL of the corpora
(detection and newsletter corpora, tests/vectors, benchmarks/gen.py bodies 0..149, the rule files'
examples, the tests' URLs), and on every question the engine asked while cleaning them, were saved
by benchmarks/judge_expectations.py (tests/data/judge_expectations.json.gz; see that script to
regenerate). The same script's questions are asked again here; any answer that differs fails, with
its URL.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("judge_expectations", ROOT / "benchmarks" / "judge_expectations.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["judge_expectations"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def compared(generator):
    """(saved answers, the current engine's answers to the same questions), in the saved form."""
    saved = generator.load()
    recorded = {
        "loads": [(u, w, h, hidden, sender, int(count), visible, tuple(addrs))
                  for u, w, h, hidden, sender, count, visible, addrs, _, _ in saved["loads"]],
        "links": [(u, tuple(addrs)) for u, addrs, _ in saved["links"]],
        "cleans": [u for u, _ in saved["cleans"]],
        "canonical": [u for u, _ in saved["canonical"]],
    }
    now = generator.answers([row["url"] for row in saved["urls"]], recorded)
    return saved, json.loads(json.dumps(now))   # the saved form: lists for tuples


def test_every_url_gets_the_saved_answers(compared):
    saved, now = compared
    assert len(saved["urls"]) > 15000 and len(now["urls"]) == len(saved["urls"])
    diffs = [f"{key} {want['url']!r}: got {got.get(key)!r}, saved {want[key]!r}"
             for want, got in zip(saved["urls"], now["urls"]) for key in want if got.get(key) != want[key]]
    assert not diffs, f"{len(diffs)} answers differ:\n" + "\n".join(diffs[:40])


@pytest.mark.parametrize("question", ["loads", "links", "cleans", "canonical"])
def test_every_question_the_engine_asked_gets_the_saved_answer(compared, question):
    saved, now = compared
    assert len(saved[question]) > 5000 and len(now[question]) == len(saved[question])
    diffs = [f"{question} {want[0]!r}: got {got!r}, saved {want!r}"
             for want, got in zip(saved[question], now[question]) if got != want]
    assert not diffs, f"{len(diffs)} answers differ:\n" + "\n".join(diffs[:40])


def test_a_str_with_lone_surrogates_is_judged_not_refused():
    # The Python judge accepted any str; the core reads lone surrogates (only reachable through the
    # Python API: decoded messages never hold them) as U+FFFD instead of raising.
    from tracker_block import clean_text
    from tracker_block.engine.detect import Detector
    from tracker_block.engine.heuristics import Identity
    from tracker_block.engine.rules import load_rules
    out, findings = clean_text("see https://b.example/?utm_source=x\udcff&a=1")
    assert out == "see https://b.example/?a=1" and findings[0].action == "cleaned"
    det = Detector(load_rules(), Identity(["a@b.example"]))
    assert det.load("https://t.example/\udcff/logo.gif", 1, 1).reason == "heuristic:tiny-image"
    assert det.link("https://t.example/?e=a@b.example&x=\udcff").reason == "heuristic:recipient-id-plain"

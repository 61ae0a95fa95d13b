"""Verdicts: is this remote URL a tracker, a tracking link, or content? Rules first, then heuristics.

The judging runs in the Rust core (``core/src/detect.rs``): this module gives it the rule set,
the recipient identity and the image statistics of one message, and turns its answers into
``Verdict`` tuples.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, NamedTuple

from tracker_block import _core
from tracker_block.engine import heuristics as H
from tracker_block.engine.rules import Rules, ensure_public_suffixes


class Verdict(NamedTuple):   # a tuple: made once per judged URL, cheaply
    tracker: bool
    reason: str            # "rule:<vendor>/<use>", "list:<list>/<filter>" or "heuristic:<signal>+<signal>"
    certainty: str         # "rule" | "list" | "heuristic"
    company: str | None    # who put it there, when known
    use: str = "open"      # open | click | content


def registrable_domain(host: str) -> str:
    """"a.b.example.co.uk" -> "example.co.uk" (tldextract's bundled public-suffix snapshot); the host
    itself when it has no registrable part."""
    ensure_public_suffixes()
    return _core.registrable_domain(host)


@dataclass
class ImageStats:
    """How each image URL is used across the document: spacers and visible images are not pixels."""

    count: dict[str, int]
    visible: set[str]

    @classmethod
    def build(cls, images: Iterable[tuple[str, float | None, float | None, bool]]) -> "ImageStats":
        count: dict[str, int] = {}
        visible: set[str] = set()
        for url, w, h, hidden in images:
            count[url] = count.get(url, 0) + 1
            if not hidden and H.size_signal(w, h) is None:
                visible.add(url)
        return cls(count, visible)


class Detector:
    """Judges URLs for one message: knows the rules, the recipient and how images are used."""

    def __init__(self, rules: Rules, identity: H.Identity, stats: ImageStats | None = None,
                 sender_domain: str | None = None) -> None:
        self.rules = rules
        self.identity = identity
        ensure_public_suffixes()
        self._core = _core.Detector(rules.judge, identity.core, sender_domain or None)
        # The From address's registrable domain: its click./email./t. subdomains are a signal.
        self.sender_domain = self._core.sender_domain
        self.stats = stats or ImageStats({}, set())

    @property
    def stats(self) -> ImageStats:
        return self._stats

    @stats.setter
    def stats(self, stats: ImageStats) -> None:
        self._stats = stats
        self._core.set_stats(stats.count, stats.visible)

    def load(self, url: str, width: float | None = None, height: float | None = None,
             hidden: bool = False) -> Verdict | None:
        """Verdict for something fetched automatically; None means content (or unknown: fail open)."""
        v = self._core.load(url, width, height, bool(hidden))
        return None if v is None else Verdict(*v)

    def settled(self, url: str) -> bool:
        """Is this load's verdict fixed by its URL alone (a path rule, the recipient's identity, or URL
        signals that block on their own), so that how the image is drawn cannot change it? Then its
        <style> need not be resolved."""
        return self._core.settled(url)

    def link(self, url: str) -> Verdict | None:
        """Verdict for a link: click tracking by rule, or the recipient's identity in it."""
        v = self._core.link(url)
        return None if v is None else Verdict(*v)


def link_verdict(rules: Rules, identity: H.Identity, url: str) -> Verdict | None:
    """Verdict for a link, without a message's image statistics."""
    v = rules.judge.link(identity.core, url)
    return None if v is None else Verdict(*v)

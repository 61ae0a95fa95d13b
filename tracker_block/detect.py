"""Verdicts: is this remote URL a tracker, a tracking link, or content? Rules first, then heuristics."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Iterable, NamedTuple

from . import heuristics as H
from .rules import Rules
from .rules import Verdict as RuleVerdict
from .urls import absolute, parts


class Verdict(NamedTuple):   # a tuple: made once per judged URL, cheaply
    tracker: bool
    reason: str            # "rule:<vendor>/<use>" or "heuristic:<signal>+<signal>"
    certainty: str         # "rule" | "list" | "heuristic"
    company: str | None    # who put it there, when known
    use: str = "open"      # open | click | content


# Vendors whose hosts exist to track or to serve ads: a full-size image from them is an ad
# creative or an impression, never the sender's own content, so association does not excuse it.
TRACKING_ONLY_CATEGORIES = frozenset({"advertising", "analytics", "personal-tracker", "sales-tracker"})


def _names_whole_host(rule: RuleVerdict) -> bool:
    """The rule names the whole host, not a path: the URL itself must still be judged."""
    return rule.rule_id.endswith("/host")


def _certainty(rule: RuleVerdict) -> str:
    """"rule" when a vendor rule names the company; "list" when only a filter list matched a host
    no vendor owns: the URL is surely a tracker, but the company shown is the host's domain, a guess."""
    return "list" if rule.vendor.id.startswith("list-") else "rule"


@functools.lru_cache(maxsize=1)
def _extractor():
    import tldextract
    # Offline by design: the bundled public-suffix snapshot only, never a fetch.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@functools.lru_cache(maxsize=4096)
def registrable_domain(host: str) -> str:
    ext = _extractor()(host)
    if ext.suffix and ext.domain:
        return f"{ext.domain}.{ext.suffix}"
    return host


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
        self.stats = stats or ImageStats({}, set())
        # The From address's registrable domain: its click./email./t. subdomains are a signal.
        self.sender_domain = registrable_domain(sender_domain) if sender_domain else None

    def load(self, url: str, width: float | None = None, height: float | None = None,
             hidden: bool = False) -> Verdict | None:
        """Verdict for something fetched automatically; None means content (or unknown: fail open)."""
        host, target, rule, who, url_signals = _load_facts(self.rules, self.identity, url)
        if rule is not None and rule.use == "open":
            if (not who and not url_signals and _names_whole_host(rule)
                    and rule.vendor.category not in TRACKING_ONLY_CATEGORIES
                    and _same_for_everyone(target, width, height, hidden)):
                return None   # not guilty by association: this URL tells the host nothing per reader
            return Verdict(True, rule.rule_id, _certainty(rule), rule.vendor.name)
        if who:
            company = rule.vendor.name if rule else _company(self.rules, host)
            return Verdict(True, f"heuristic:recipient-id-{who}", "heuristic", company)
        if rule is not None:
            if rule.use == "content":
                return None
            return Verdict(True, rule.rule_id, _certainty(rule), rule.vendor.name)
        signals = list(url_signals)
        if self.sender_domain and H.tracking_subdomain(host, self.sender_domain, registrable_domain(host)):
            signals.append("tracking-subdomain")
        key = absolute(url)
        seen_visible = key in self.stats.visible
        size = H.size_signal(width, height)
        if size and not seen_visible:
            spacer = (self.stats.count.get(key, 0) >= 3 or H.is_spacer_name(target)
                      or (self.rules.spacer is not None and self.rules.spacer.search(target)))
            if not spacer:
                signals.append(size)
        if hidden and not seen_visible:
            signals.append("hidden-image")
        if H.score(signals) >= H.BLOCK_SCORE:
            return Verdict(True, "heuristic:" + "+".join(signals), "heuristic", _company(self.rules, host))
        return None

    def settled(self, url: str) -> bool:
        """Is this load's verdict fixed by its URL alone (a path rule, the recipient's identity, or URL
        signals that block on their own), so that how the image is drawn cannot change it? Then its
        <style> need not be resolved."""
        _, _, rule, who, url_signals = _load_facts(self.rules, self.identity, url)
        return (bool(who) or (rule is not None and not _names_whole_host(rule))
                or H.score(url_signals) >= H.BLOCK_SCORE)

    def link(self, url: str) -> Verdict | None:
        """Verdict for a link: click tracking by rule, or the recipient's identity in it."""
        return link_verdict(self.rules, self.identity, url)


# The per-URL work below depends only on the URL, the rule set and the recipient identity (both
# keyed by object identity: neither changes once built), so it is cached. A message repeats its
# URLs (the same link several times, again in the text part; the same logo and spacer images).

@functools.lru_cache(maxsize=2048)
def _load_facts(rules: Rules, identity: H.Identity, url: str
                ) -> tuple[str, str, "RuleVerdict | None", str | None, tuple[str, ...]]:
    """(host, target, rule verdict, recipient form, URL-only heuristic signals) for a load."""
    host, target = parts(url)
    rule = rules.match_load(host, target)
    who = identity.find(url) if identity else None
    if who or (rule is not None and not _names_whole_host(rule)):
        return host, target, rule, who, ()
    signals = H.path_signals(target)
    generic = rules.generic_open
    if generic is not None and generic.search(target):
        signals.insert(0, "generic-rule")
    return host, target, rule, who, tuple(signals)


@functools.lru_cache(maxsize=2048)
def link_verdict(rules: Rules, identity: H.Identity, url: str) -> Verdict | None:
    host, target = parts(url)
    who = identity.find(url) if identity else None
    rule = rules.match_click(host, target)
    if who:
        return Verdict(True, f"heuristic:recipient-id-{who}", "heuristic",
                       rule.vendor.name if rule else _company(rules, host), "click")
    if rule is not None:
        return Verdict(True, rule.rule_id, _certainty(rule), rule.vendor.name, "click")
    return None


def _same_for_everyone(target: str, width: float | None, height: float | None, hidden: bool) -> bool:
    """A shown, real-size image file with no query: every recipient fetches the same URL.

    Lists name whole hosts (``tracking_hosts``, ``||host^``) that also serve the ESP's photos and
    icons. Such an image is judged on its URL, not on its host: with nothing per-recipient in
    it and nothing pixel-like about it, it is content.
    """
    path, sep, _ = target.partition("?")
    if sep or hidden or H.size_signal(width, height) == "tiny-image":
        return False
    return bool(_CONTENT_FILE.search(path))


_CONTENT_FILE = re.compile(r"/[^/]+\.(?:png|jpe?g|gif|webp|avif|svg)$", re.IGNORECASE)


def _company(rules: Rules, host: str) -> str:
    vendor = rules.vendor_for_host(host)
    return vendor.name if vendor else registrable_domain(host)

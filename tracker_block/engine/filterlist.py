"""Adblock Plus filter lists (EasyPrivacy and the user's own), compiled for mail.

Why a matcher of our own: the lists are written for web pages, and mail differs in ways a
browser engine cannot be told. Every remote load in a message is third-party to the reader
(``$third-party`` is always true, ``~third-party`` never); a message has no page site, so
``domain=`` inclusions can never apply and ``domain=~`` exclusions never exempt anything;
mail runs no scripts, so a filter limited to ``script``/``xmlhttprequest``/``ping``/``websocket``
can never fire. Each filter is therefore either *loaded* (with the load kinds it applies to) or
*dropped* with a reason a person can read (``tracker-block rules coverage`` lists them).

Parsing and matching run in the Rust core (``core/src/filterlist.rs``): pure host filters
(``||host^``) sit in a map looked up once per host suffix; every other filter is filed under
its rarest literal *token* and a URL only verifies the filters filed under its own tokens.
This module keeps the Python view of a list (the loaded and dropped filters that ``rules
coverage`` and ``rules validate`` show) and refuses texts that are not filter lists at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from tracker_block import _core

# Load kinds a message can cause. "image" covers <img>, srcset, CSS url() and VML images;
# "link" is a click (a top-level navigation: ABP's "document"/"popup").
KINDS = ("image", "stylesheet", "font", "media", "object", "subdocument", "other", "link")


class FilterSyntaxError(ValueError):
    """A filter list that is not Adblock Plus syntax (an HTML error page, a binary, …)."""


@dataclass(frozen=True)
class Filter:
    """One loaded network filter."""

    text: str                  # the line as written (the reason cites it)
    list_id: str               # which list it came from, e.g. "easyprivacy"
    kinds: frozenset[str]      # load kinds it can fire on in mail
    exception: bool = False
    host: str | None = None    # set for pure host filters (``||host^``)
    match_case: bool = False
    pattern: str = ""          # the URL pattern, options removed
    file: str = ""             # the list file it came from

    @property
    def reason(self) -> str:
        return f"list:{self.list_id}/{self.text}"

    @property
    def regex(self) -> str:
        """The regex the core matches a non-host filter with (for display)."""
        return "" if self.host is not None else pattern_regex(self.pattern if self.match_case else self.pattern.lower())


@dataclass
class ParseResult:
    """What one list text gave: loaded filters, dropped ones with reasons, comments seen."""

    loaded: list[Filter] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)   # (filter text, reason)
    comments: int = 0


def pattern_regex(pattern: str) -> str:
    """The regex for an ABP URL pattern (``||``, ``|``, ``^``, ``*``), for a lowercased URL."""
    return _core.pattern_regex(pattern)


def parse_line(line: str, list_id: str, file: str = "") -> Filter | tuple[str, str] | None:
    """A Filter, a (text, drop reason) pair, or None for comments and blank lines."""
    res = parse(line + "\n", list_id, file, check=False) if line.strip() else None
    if res is None or res.comments:
        return None
    return res.loaded[0] if res.loaded else res.dropped[0]


def check_list(text: str) -> None:
    """Raise FilterSyntaxError when ``text`` is plainly not a filter list (a web page, JSON, binary)."""
    head = text.lstrip()[:200].lower()
    if head.startswith(("<!doctype", "<html", "{", "<?xml")) or "\x00" in text:
        raise FilterSyntaxError(f"not an Adblock Plus filter list (starts {head[:20]!r})")


def parse(text: str, list_id: str, file: str = "", check: bool = True) -> ParseResult:
    """Parse a whole list. Raises FilterSyntaxError when it is not a filter list at all."""
    if check:
        check_list(text)
    loaded, dropped, comments = _core.parse_filter_list(text, list_id, file)
    return ParseResult([Filter(t, list_id, frozenset(kinds), exc, host, pattern=pattern, match_case=mc, file=file)
                        for t, kinds, exc, host, pattern, mc in loaded], dropped, comments)


class FilterSet:
    """Every loaded list, compiled into one index (in the Rust core); ``match`` answers in a few look-ups.

    The per-filter Python view (``lists``: what ``rules coverage`` shows, what a verdict cites) is
    built on first use: cleaning mail needs only the core's index, and building the view cost every
    process ~10 ms at start."""

    def __init__(self) -> None:
        self._lists: dict[str, ParseResult] = {}
        self.link_lists: set[str] = set()
        self._texts: dict[str, tuple[str, str]] = {}   # file -> (text, label)
        self.compiled: _core.FilterIndex | None = None   # None after a change, until index() rebuilds it

    def add(self, file: str, text: str, label: str, links: bool = False) -> None:
        """Add one list file under ``label`` (the name reasons cite). ``links``: its filters
        without a load type also mark links (click tracking). Raises FilterSyntaxError when the
        text is not a filter list at all."""
        check_list(text)
        self._lists.pop(file, None)
        self._texts[file] = (text, label)
        if links:
            self.link_lists.add(file)
        self.compiled = None

    @property
    def lists(self) -> dict[str, ParseResult]:
        """Each list's filters as parsed (file -> ParseResult), in the order the lists were added."""
        if len(self._lists) != len(self._texts):
            self._lists = {file: self._lists.get(file) or parse(text, label, file, check=False)
                           for file, (text, label) in self._texts.items()}
        return self._lists

    def index(self) -> _core.FilterIndex:
        """The compiled index of every list (built on first use after a change)."""
        if self.compiled is None:
            self.compiled = _core.FilterIndex([(file, text, label, file in self.link_lists)
                                               for file, (text, label) in self._texts.items()])
        return self.compiled

    def __len__(self) -> int:
        return sum(len(r.loaded) for r in self.lists.values())

    def match(self, url: str, host: str, kind: str = "image") -> Filter | None:
        """The first blocking filter for ``url`` (absolute) loaded as ``kind``, unless an exception allows it."""
        hit = self.index().find(url, host, kind)
        return None if hit is None else self.lists[hit[0]].loaded[hit[1]]

    def dropped(self) -> Iterable[tuple[str, str, str]]:
        """(list, filter, reason) for every filter that cannot apply to mail."""
        for lid, r in self.lists.items():
            for text, why in r.dropped:
                yield lid, text, why


__all__ = ["Filter", "FilterSet", "FilterSyntaxError", "ParseResult", "KINDS", "parse", "parse_line",
           "pattern_regex"]

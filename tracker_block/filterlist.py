"""Adblock Plus filter lists (EasyPrivacy and the user's own), compiled for mail.

Why a matcher of our own: the lists are written for web pages, and mail differs in ways a
browser engine cannot be told. Every remote load in a message is third-party to the reader
(``$third-party`` is always true, ``~third-party`` never); a message has no page site, so
``domain=`` inclusions can never apply and ``domain=~`` exclusions never exempt anything;
mail runs no scripts, so a filter limited to ``script``/``xmlhttprequest``/``ping``/``websocket``
can never fire. Each filter is therefore either *loaded* (with the load kinds it applies to) or
*dropped* with a reason a person can read (``tracker-block rules coverage`` lists them).

Matching never loops over the filters: pure host filters (``||host^``) sit in a dict looked up
once per host suffix; every other filter is filed under its rarest literal *token* (a run of
letters, digits and ``%`` that the pattern bounds on both sides, as ABP and uBlock Origin do),
and a URL only verifies the filters filed under its own tokens. The few filters with no usable
token share one combined regex.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator

# Load kinds a message can cause. "image" covers <img>, srcset, CSS url() and VML images;
# "link" is a click (a top-level navigation: ABP's "document"/"popup").
KINDS = ("image", "stylesheet", "font", "media", "object", "subdocument", "other", "link")
_TYPE_OPTIONS = {
    "image": {"image"}, "stylesheet": {"stylesheet"}, "font": {"font"}, "media": {"media"},
    "object": {"object"}, "object-subrequest": {"object"}, "subdocument": {"subdocument"},
    "other": {"other"}, "document": {"link"}, "popup": {"link"},
    # never caused by mail: scripts are removed, nothing runs
    "script": set(), "xmlhttprequest": set(), "ping": set(), "websocket": set(), "webrtc": set(),
    "beacon": set(), "csp_report": set(), "webbundle": set(),
}
_DEFAULT_KINDS = frozenset(KINDS) - {"link"}   # ABP: no type option = every type but document
_UNSUPPORTED = ("csp", "redirect", "redirect-rule", "rewrite", "removeparam", "replace", "header",
                "permissions", "sitekey", "genericblock", "generichide", "elemhide", "content",
                "urltransform", "uritransform", "to", "denyallow", "method", "badfilter")
_SEPARATOR = r"(?:[^\w.%-]|$)"
_TOKEN = re.compile(r"[a-z0-9%]+")
# Tokens every URL has: filing a filter under one of these would check it on every URL.
_COMMON_TOKENS = frozenset({"http", "https", "www", "com", "net", "org", "html", "php", "gif", "png",
                            "jpg", "img", "image", "images", "email", "mail"})
_PURE_HOST = re.compile(r"^\|\|([a-z0-9.-]+)\^?$")
_PLAIN_HOST_FILTER = re.compile(r"\|\|([a-z0-9.-]+)\^(?:\$third-party)?")   # most lines of a server list


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
    regex: str = ""            # for every other filter: matched against the lowercased URL
    match_case: bool = False
    pattern: str = ""          # the URL pattern, options removed
    file: str = ""             # the list file it came from

    @property
    def reason(self) -> str:
        return f"list:{self.list_id}/{self.text}"


@dataclass
class ParseResult:
    """What one list text gave: loaded filters, dropped ones with reasons, comments seen."""

    loaded: list[Filter] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)   # (filter text, reason)
    comments: int = 0


def pattern_regex(pattern: str) -> str:
    """The regex for an ABP URL pattern (``||``, ``|``, ``^``, ``*``), for a lowercased URL."""
    out = []
    if pattern.startswith("||"):
        out.append(r"^[a-z][a-z0-9+.-]*://(?:[^/?#@]*@)?(?:[^/?#]*\.)?")
        pattern = pattern[2:]
    elif pattern.startswith("|"):
        out.append("^")
        pattern = pattern[1:]
    end = ""
    if pattern.endswith("|"):
        end, pattern = "$", pattern[:-1]
    for ch in pattern:
        if ch == "*":
            out.append(".*")
        elif ch == "^":
            out.append(_SEPARATOR)
        else:
            out.append(re.escape(ch))
    return "".join(out) + end


def _tokens_of(pattern: str) -> list[str]:
    """Tokens the pattern guarantees as whole URL tokens (bounded on both sides)."""
    body = pattern
    left_anchored = body.startswith("|")
    right_anchored = body.endswith("|")
    body = body.lstrip("|").rstrip("|")
    out = []
    for m in _TOKEN.finditer(body):
        a, b = m.span()
        before = body[a - 1] if a else ("|" if left_anchored else "")
        after = body[b] if b < len(body) else ("|" if right_anchored else "")
        if before in ("", "*") or after in ("", "*"):
            continue    # the URL token may be longer than this piece
        out.append(m.group())
    return out


def parse_options(opts: str) -> tuple[frozenset[str] | None, bool, str | None]:
    """(kinds, match_case, drop reason) for a filter's ``$`` options."""
    include: set[str] = set()
    exclude: set[str] = set()
    match_case = False
    for raw in opts.split(","):
        opt = raw.strip().lower()
        neg = opt.startswith("~")
        name, _, value = opt.lstrip("~").partition("=")
        if name in ("third-party", "3p"):
            if neg:
                return None, False, "~third-party: every load in mail is third-party to the reader"
            continue
        if name in ("first-party", "1p"):
            if not neg:
                return None, False, "first-party: every load in mail is third-party to the reader"
            continue
        if name == "domain":
            if any(not d.startswith("~") for d in value.split("|") if d):
                return None, False, "domain=: limited to pages on named sites; a message has no site"
            continue      # only exclusions: a message is on none of those sites, so the filter applies
        if name == "match-case":
            match_case = True
            continue
        if name == "important":
            continue
        if name in _TYPE_OPTIONS:
            (exclude if neg else include).update(_TYPE_OPTIONS[name] or {"-never-"})
            continue
        if name in _UNSUPPORTED or name.startswith(_UNSUPPORTED):
            return None, False, f"${name}: changes requests rather than blocking them (not supported)"
        return None, False, f"${name}: unknown option"
    kinds = set(include - {"-never-"}) if include else set(_DEFAULT_KINDS)
    kinds -= exclude
    if not kinds:
        named = ",".join(o for o in opts.split(",") if o.strip().lstrip("~") in _TYPE_OPTIONS)
        return None, False, f"${named}: only request types mail never makes (no scripts run in mail)"
    return frozenset(kinds), match_case, None


def parse_line(line: str, list_id: str, file: str = "") -> Filter | tuple[str, str] | None:
    """A Filter, a (text, drop reason) pair, or None for comments and blank lines."""
    text = line.strip()
    fast = _PLAIN_HOST_FILTER.fullmatch(text)
    if fast:
        return Filter(text, list_id, _DEFAULT_KINDS, host=fast.group(1), file=file)
    if not text or text.startswith("!") or (text.startswith("[") and text.endswith("]")):
        return None
    if any(sep in text for sep in ("##", "#@#", "#?#", "#$#", "#%#")):
        return text, "element hiding: hides parts of web pages, nothing a message loads"
    exception = text.startswith("@@")
    body = text[2:] if exception else text
    pattern, opts = body, ""
    dollar = body.rfind("$")
    if dollar > 0 and not (body.startswith("/") and body.endswith("/")):
        pattern, opts = body[:dollar], body[dollar + 1:]
    if len(pattern) > 2 and pattern.startswith("/") and pattern.endswith("/"):
        return text, "regular-expression filter: not supported (cannot be indexed)"
    if not pattern or pattern in ("*", "|", "||"):
        return text, "matches every URL"
    kinds, match_case, why = parse_options(opts) if opts else (_DEFAULT_KINDS, False, None)
    if why:
        return text, why
    m = _PURE_HOST.match(pattern.lower())
    if m and "*" not in pattern and not match_case and pattern.endswith("^"):
        return Filter(text, list_id, kinds, exception, host=m.group(1), file=file)
    return Filter(text, list_id, kinds, exception, regex=pattern_regex(pattern if match_case else pattern.lower()),
                  match_case=match_case, pattern=pattern, file=file)


def parse(text: str, list_id: str, file: str = "") -> ParseResult:
    """Parse a whole list. Raises FilterSyntaxError when it is not a filter list at all."""
    head = text.lstrip()[:200].lower()
    if head.startswith(("<!doctype", "<html", "{", "<?xml")) or "\x00" in text:
        raise FilterSyntaxError(f"not an Adblock Plus filter list (starts {head[:20]!r})")
    res = ParseResult()
    for line in text.splitlines():
        got = parse_line(line, list_id, file)
        if got is None:
            res.comments += bool(line.strip())
        elif isinstance(got, Filter):
            res.loaded.append(got)
        else:
            res.dropped.append(got)
    return res


def suffixes(host: str) -> Iterator[str]:
    """``a.b.c`` -> ``a.b.c``, ``b.c``, ``c``: the keys a host is looked up under."""
    while host:
        yield host
        dot = host.find(".")
        if dot < 0:
            return
        host = host[dot + 1:]


class _Bucketed:
    """Block or exception filters, indexed by host and by token."""

    def __init__(self, filters: list[Filter]) -> None:
        self.by_host: dict[str, list[Filter]] = {}
        self.by_token: dict[str, list[tuple[Filter, re.Pattern[str]]]] = {}
        untokened: list[Filter] = []
        counts: dict[str, int] = {}
        toks = {}
        for f in filters:
            if f.host is None:
                toks[f] = _tokens_of(f.pattern.lower())
                for t in toks[f]:
                    counts[t] = counts.get(t, 0) + 1
        for f in filters:
            if f.host is not None:
                self.by_host.setdefault(f.host, []).append(f)
                continue
            usable = [t for t in toks[f] if t not in _COMMON_TOKENS and len(t) > 1] or toks[f]
            rx = re.compile(f.regex)
            if usable:
                best = min(usable, key=lambda t: (counts[t], -len(t)))
                self.by_token.setdefault(best, []).append((f, rx))
            else:
                untokened.append(f)
        self.untokened = [(f, re.compile(f.regex)) for f in untokened]
        self.size = len(filters)

    def match(self, url: str, low: str, host: str, kind: str) -> Filter | None:
        for s in suffixes(host):
            for f in self.by_host.get(s, ()):
                if kind in f.kinds:
                    return f
        by_token = self.by_token
        # each filed token once, in URL order (the same URL always cites the same filter)
        for tok in filter(by_token.__contains__, dict.fromkeys(_TOKEN.findall(low))):
            for f, rx in by_token[tok]:
                if kind in f.kinds and rx.search(url if f.match_case else low):
                    return f
        for f, rx in self.untokened:
            if kind in f.kinds and rx.search(url if f.match_case else low):
                return f
        return None


class FilterSet:
    """Every loaded list, compiled into one index; ``match`` answers in a few dict look-ups."""

    def __init__(self) -> None:
        self.lists: dict[str, ParseResult] = {}
        self.link_lists: set[str] = set()
        self._block: _Bucketed | None = None
        self._allow: _Bucketed | None = None

    def add(self, file: str, text: str, label: str, links: bool = False) -> ParseResult:
        """Add one list file under ``label`` (the name reasons cite). ``links``: its filters
        without a load type also mark links (click tracking)."""
        res = parse(text, label, file)
        self.lists[file] = res
        if links:
            self.link_lists.add(file)
        self._block = self._allow = None
        return res

    def _index(self) -> tuple[_Bucketed, _Bucketed]:
        if self._block is None or self._allow is None:
            filters = [self._for_links(f) for r in self.lists.values() for f in r.loaded]
            self._block = _Bucketed([f for f in filters if not f.exception])
            self._allow = _Bucketed([f for f in filters if f.exception])
        return self._block, self._allow

    def _for_links(self, f: Filter) -> Filter:
        """Lists of email click trackers apply to links unless their filter names a load type."""
        if f.file in self.link_lists and f.kinds == _DEFAULT_KINDS:
            return Filter(f.text, f.list_id, f.kinds | {"link"}, f.exception, f.host, f.regex, f.match_case, f.pattern,
                          f.file)
        return f

    def __len__(self) -> int:
        return sum(len(r.loaded) for r in self.lists.values())

    def match(self, url: str, host: str, kind: str = "image") -> Filter | None:
        """The first blocking filter for ``url`` (absolute) loaded as ``kind``, unless an exception allows it."""
        block, allow = self._index()
        if not block.size:
            return None
        low = url.lower()
        hit = block.match(url, low, host, kind)
        if hit is not None and allow.size and allow.match(url, low, host, kind) is not None:
            return None
        return hit

    def dropped(self) -> Iterable[tuple[str, str, str]]:
        """(list, filter, reason) for every filter that cannot apply to mail."""
        for lid, r in self.lists.items():
            for text, why in r.dropped:
                yield lid, text, why


__all__ = ["Filter", "FilterSet", "FilterSyntaxError", "ParseResult", "KINDS", "parse", "parse_line",
           "pattern_regex"]

"""URL reading the way browsers read it, and link cleaning (parameter stripping, redirect unwrapping).

Everything here is pure string work: nothing is ever fetched.
"""
from __future__ import annotations

import base64
import functools
import json
import re
from typing import TYPE_CHECKING, Callable, NamedTuple
from urllib.parse import unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from .rules import Rules

# Browsers drop ASCII tab/newline anywhere and C0 controls + space at both ends.
_STRIP_INNER = str.maketrans("", "", "\t\n\r")
_C0_AND_SPACE = "".join(chr(i) for i in range(0x21))
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
REMOTE_SCHEMES = frozenset({"http", "https", "ftp", "ws", "wss"})
# What ``scheme_of`` returns for a URL the client fetches over the network: "//" is protocol-relative.
NETWORK_SCHEMES = REMOTE_SCHEMES | {"//"}
SCRIPT_SCHEMES = frozenset({"javascript", "vbscript", "livescript", "mocha", "jscript"})


def normalise(url: str) -> str:
    """The URL a browser would act on: inner tabs/newlines gone, ends trimmed, backslashes as slashes."""
    if "\t" in url or "\n" in url or "\r" in url:
        url = url.translate(_STRIP_INNER)
    if url and (url[0] <= " " or url[-1] <= " "):
        url = url.strip(_C0_AND_SPACE)
    return url


def scheme_of(url: str) -> str:
    """Lowercased scheme of a normalised URL; "//" for protocol-relative; "" for relative."""
    if url.startswith("https:"):   # the common case, without the regex
        return "https"
    m = _SCHEME.match(url)
    if m:
        return m.group(1).lower()
    if url[:2].replace("\\", "/") == "//":
        return "//"
    return ""


def is_remote(url: str) -> bool:
    """Would a mail client reach the network for this URL (as a load)?"""
    return scheme_of(url) in NETWORK_SCHEMES


def absolute(url: str) -> str:
    """Protocol-relative and slash-less forms made explicit (``//h/x`` -> ``https://h/x``, ``http:h`` -> ``http://h``)."""
    if url.startswith("https://") or (url.startswith("http://") and url[7:8] != "\\"):
        return url   # already explicit (the common case)
    url = url.replace("\\", "/") if url[:8].count("\\") else url
    s = scheme_of(url)
    if s == "//":
        return "https:" + url
    if s in REMOTE_SCHEMES:
        rest = url[len(s) + 1:]
        if not rest.startswith("//"):
            rest = "//" + rest.lstrip("/")
        return f"{s}:{rest}"
    return url


class Parts(NamedTuple):
    host: str    # lowercase, no port, no userinfo
    target: str  # "host/path?query" — what rules and heuristics match against


_AUTHORITY_AND_TAIL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*://([^/?#]*)([^#]*)")


@functools.lru_cache(maxsize=8192)
def parts(url: str) -> Parts:
    """Split an absolute remote URL into what the rules look at."""
    full = absolute(url)
    m = _AUTHORITY_AND_TAIL.match(full)
    if m is not None:
        authority, tail = m.groups()
    else:                       # no scheme in front of "://": cut at the first "/", "?" or "#" after it
        start = full.find("://")
        if start < 0:
            return Parts("", url)
        rest = full[start + 3:]
        end = min((i for i in (rest.find(ch) for ch in "/?#") if i >= 0), default=len(rest))
        authority, tail = rest[:end], rest[end:].split("#", 1)[0]
    if "@" in authority or "[" in authority or "%" in authority:   # unusual: let urllib decide
        try:
            host = (urlsplit(full).hostname or "").rstrip(".")
        except ValueError:
            return Parts("", url)
    else:
        host = authority.split(":", 1)[0].lower().rstrip(".")
    if tail[:1] != "/":
        tail = "/" + tail
    return Parts(host, host + tail)


def canonical(url: str) -> str:
    """Stable form for signing and caching: scheme/host lowercased, default port and fragment dropped.

    Raises ValueError for URLs that cannot be parsed (bad port, broken IPv6 literal).
    """
    sp = urlsplit(absolute(url))
    host = (sp.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = sp.port
    netloc = host if port is None or (sp.scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    return urlunsplit((sp.scheme.lower(), netloc, sp.path or "/", sp.query, ""))


# ---------------------------------------------------------------- link cleaning

class LinkResult(NamedTuple):
    url: str                 # the cleaned link
    unwrapped_by: str | None  # redirect rule id when a wrapper was removed
    stripped: tuple[str, ...]  # parameter names removed


def _decode_destination(raw: str, decode: str) -> str | None:
    try:
        if decode == "base64url":
            raw = unquote(raw)
            return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8")
        if decode == "proofpoint-v2":
            # https://urldefense.proofpoint.com/v2/url?u=https-3A__example.com_a&d=...
            text = raw.replace("_", "/")
            text = re.sub(r"-([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text)
            return text
        if decode == "proofpoint-v3":
            # https://urldefense.com/v3/__https://example.com/a__;!!... ; "*" runs stand for stripped bytes
            return raw if "*" not in raw else None
        if decode == "base64-json-href":
            # Customer.io: e.customeriomail.com/e/c/<base64url of {"href": "<destination>", ...}>/<sig>
            raw = unquote(raw)
            data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("utf-8"))
            href = data.get("href") if isinstance(data, dict) else None
            return href if isinstance(href, str) else None
        if decode == "https-join":
            # the captured pieces of the link itself, rejoined (a path prefix such as /comm/ dropped)
            return "https://" + raw
        if decode == "awstrack":
            # https://xxx.r.us-east-1.awstrack.me/L0/https:%2F%2Fexample.com%2Fa/1/0100.../abc=123
            return unquote(raw)
    except (ValueError, UnicodeDecodeError):   # json.JSONDecodeError and binascii.Error are ValueErrors
        return None
    return unquote(raw) if "%" in raw[:12] else raw


def unwrap(url: str, rules: "Rules", depth: int = 0) -> tuple[str, str | None]:
    """Follow redirect wrappers whose destination is inside the URL. Returns (destination, rule id)."""
    first: str | None = None
    for _ in range(5):
        p = parts(url)
        hit = rules.match_redirect(p.host, p.target, url)
        if hit is None:
            break
        rule_id, raw, decode = hit
        dest = _decode_destination(raw, decode)
        if not dest or not is_remote(dest) or dest == url:
            break
        url, first = dest, first or rule_id
    return url, first


def strip_params(url: str, rules: "Rules") -> tuple[str, tuple[str, ...]]:
    """Remove tracking parameters, keeping every other parameter, its encoding and its order."""
    qpos = url.find("?")
    if qpos < 0:
        return url, ()
    hpos = url.find("#", qpos)
    query = url[qpos + 1:] if hpos < 0 else url[qpos + 1:hpos]
    frag = "" if hpos < 0 else url[hpos:]
    host = parts(url).host
    kept, removed, memo = [], [], {}
    for piece in query.split("&"):
        name = piece.split("=", 1)[0]
        if "%" in name or "+" in name:
            name = unquote(name.replace("+", " "))
        if name and rules.is_tracking_param(name, host, url, memo):
            removed.append(name)
        else:
            kept.append(piece)
    if not removed:
        return url, ()
    base = url[:qpos]
    new_query = "&".join(p for p in kept if p)
    return (base + ("?" + new_query if new_query else "") + frag), tuple(removed)


def clean_link(url: str, rules: "Rules", conservative: "bool | Callable[[str], bool]" = False) -> LinkResult:
    """Unwrap then strip. A ``conservative`` link (unsubscribe) is unwrapped but keeps its parameters.

    ``conservative`` may be a predicate on the destination, asked only when something would be stripped.
    """
    dest, rule_id, cleaned, removed = unwrap_and_strip(url, rules)
    if removed and (conservative(dest) if callable(conservative) else conservative):
        cleaned, removed = dest, ()
    return LinkResult(cleaned, rule_id, removed)


@functools.lru_cache(maxsize=2048)
def unwrap_and_strip(url: str, rules: "Rules") -> tuple[str, str | None, str, tuple[str, ...]]:
    """(destination, redirect rule id, destination without tracking parameters, names removed).

    Pure in (url, rules), and cached: a message repeats its links (several per document, and
    again in the text/plain alternative). The rule set is keyed by identity (rules never change
    once loaded).
    """
    dest, rule_id = unwrap(url, rules)
    cleaned, removed = strip_params(dest, rules)
    return dest, rule_id, cleaned, removed

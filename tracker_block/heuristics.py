"""Signals that catch trackers no list knows. Each signal has a name that appears in the report.

A remote image is judged a tracker when its signals add up to ``BLOCK_SCORE``; the recipient's
own identity in a URL blocks on its own. Unknown images that trip nothing stay (fail open).
"""
from __future__ import annotations

import base64
import functools
import hashlib
import re
from typing import Iterable
from urllib.parse import quote, unquote

BLOCK_SCORE = 3

# Paths that, in the wild, belong to open-tracking endpoints. Strong: almost never content.
_STRONG_PATH = re.compile(
    r"/(?:wf/open|track/open|tracking/open|e/o/|emimp/|open\.aspx|open\.php|openpixel|"
    r"beacon|pixel(?:\.gif|\.png|\.php)?(?:[/?]|$)|trk(?:[/?.]|$)|imp(?:ression)?s?(?:[/?.]|$)|"
    r"I0/|mo/|tr/op/|o\.gif|t\.gif|track\.gif|__ptq\.gif|spacer\.gif\?|1x1\.(?:gif|png)\?|"
    r"e/eo|ss/o/|tracking/|track(?:ing)?-pixel|email/open|mail/open|open/\w)",
    re.IGNORECASE,
)
# Weak: common in tracking, but also seen on content hosts (e.g. storage buckets use /o/).
_WEAK_PATH = re.compile(r"/(?:o|q|open|t|r|v|wf|ot|op|read|view|log|hit)(?:/|\?|$)", re.IGNORECASE)
_STRONG_PATH_LOW = re.compile(_STRONG_PATH.pattern.lower())   # for lowercased ASCII text (it has no \W-like escapes)
_WEAK_PATH_LOW = re.compile(_WEAK_PATH.pattern)
_IMAGE_EXT = re.compile(r"\.(?:png|jpe?g|gif|webp|avif|svg|bmp|ico|tiff?)(?:$|[?#;])", re.IGNORECASE)
# A long opaque per-recipient token: 20+ chars of url-safe alphabet mixing letters and digits.
_TOKEN = re.compile(r"[A-Za-z0-9_\-=%.~]{20,}")
_SPACER_NAME = re.compile(r"/(?:spacer|blank|clear|transparent|space|s|1x1|dot|pixel_?transparent|trans)\.(?:gif|png)$",
                          re.IGNORECASE)


def _is_opaque(token: str) -> bool:
    has_digit = any(c.isdigit() for c in token)
    has_alpha = any(c.isalpha() for c in token)
    return has_digit and has_alpha and "." not in token[-6:]


def path_signals(target: str) -> list[str]:
    """Every URL-only signal for "host/path?query": path shapes, tokens, file names, endpoints, ids."""
    out = list(_path_signals(target))
    for extra in extra_path_signals(target):
        if extra != "query-id" or "opaque-token" not in out:   # one token is one signal
            out.append(extra)
    return out


@functools.lru_cache(maxsize=2048)
def _path_signals(target: str) -> tuple[str, ...]:
    # Cached: the same image (logo, spacer, pixel host) recurs within and across messages.
    out = []
    slash = target.find("/")
    rest = target[slash:] if slash >= 0 else "/"
    # IGNORECASE alternations are slow in CPython's re; ASCII text is lowercased and searched
    # case-sensitively instead (non-ASCII keeps Unicode case folding).
    strong, weak, text = ((_STRONG_PATH_LOW, _WEAK_PATH_LOW, rest.lower()) if rest.isascii()
                          else (_STRONG_PATH, _WEAK_PATH, rest))
    if strong.search(text):
        out.append("tracking-path")
    elif weak.search(text):
        out.append("tracking-path-weak")
    if any(_is_opaque(t) for t in _TOKEN.findall(rest)):
        out.append("opaque-token")
        path = rest.split("?", 1)[0]
        if not _IMAGE_EXT.search(path):
            out.append("no-image-extension")
    return tuple(out)


# ---------------------------------------------------------------- signals for hosts nobody listed
# Each is data: a name (it appears in the report), a weight and a pattern. None weighs enough
# alone (BLOCK_SCORE is 3); a pixel shows two or three of them at once.

# Pixel file names: the last path segment, as tracking code names it. Spacer names only count
# when a query makes the load unique (a bare spacer.gif is layout).
_TRACKING_FILENAME = re.compile(
    r"/(?:open(?:ed)?|o|p|t|r|px|pixel|beacon|track(?:ing)?|trk|read|view|imp|ping|counter|stat)"
    r"\.(?:gif|png|jpe?g|php|aspx?)(?:$|\?)|/(?:1x1|blank|spacer|clear|dot|transparent|trans)\.(?:gif|png)(?=\?)")
# Analytics and ad-impression endpoints: self-hosted Matomo/Piwik, WordPress stats, Google's
# measurement protocol, Adobe, OpenX-style ad servers, /imp and /impression counters.
_IMPRESSION = re.compile(
    r"(?:piwik|matomo)\.php\?|[?&]rec=1(?:&|$)|/g\.gif\?|/collect\?(?:[^#]*&)?(?:tid|cid)=|/b/ss/|"
    r"/w/1\.0/a[ir]\b|/ad(?:server|serve|view)?/(?:imp|view|display)|/imp(?:ression)?s?(?:[/?.]|$)|"
    r"/(?:ad|ads)\?(?:[^#]*&)?(?:z|zone|zoneid|auid|placement)=")
# Query parameters that resize or version an image: never a per-recipient id.
_LAYOUT_PARAMS = frozenset({"v", "ver", "version", "w", "h", "width", "height", "q", "quality", "fit", "format",
                            "fm", "auto", "s", "sz", "size", "dpr", "crop", "rect", "ixlib", "cs", "alt",
                            "zoom", "center", "scale", "m", "type", "lang", "locale", "theme", "color"})
_ID_VALUE = re.compile(r"^(?=[^=]*\d)[A-Za-z0-9_\-.~%+]{4,}$")
# Account and message ids as path segments (/open/1/5521/88017/…): two numeric segments or more.
_NUMERIC_SEGMENTS = re.compile(r"/\d{3,}(?=/)")
# First labels of a sender's tracking subdomain (click.brand.com, email.brand.com, t.brand.com …).
TRACKING_LABELS = frozenset({"email", "emails", "click", "clicks", "track", "tracking", "trk", "t", "e", "em",
                             "links", "link", "l", "mail", "mailing", "go", "ablink", "open", "opens", "o",
                             "r", "news", "newsletter", "info", "marketing", "mkt", "engage", "url", "ct",
                             "px", "pixel", "analytics", "stats", "metrics", "beacon", "ea", "ee", "el"})


@functools.lru_cache(maxsize=2048)
def extra_path_signals(target: str) -> tuple[str, ...]:
    """File-name, impression, query-id and account/message-id signals of "host/path?query"."""
    slash = target.find("/")
    rest = target[slash:] if slash >= 0 else "/"
    path, _, query = rest.partition("?")
    path_low = path.lower()
    out = []
    if _TRACKING_FILENAME.search(path_low + ("?" if query else "")):
        out.append("tracking-filename")
    if _IMPRESSION.search(rest.lower()):
        out.append("impression-endpoint")
    if query:
        for pair in query.split("&"):
            name, _, value = pair.partition("=")
            if value and name.lower() not in _LAYOUT_PARAMS and _ID_VALUE.match(value):
                out.append("query-id")
                break
    if len(_NUMERIC_SEGMENTS.findall(path + "/")) >= 2:
        out.append("account-message-ids")
    return tuple(out)


def tracking_subdomain(host: str, sender_domain: str | None, registrable: str) -> bool:
    """Is ``host`` a tracking-named subdomain (click., email., t. …) of the sender's own domain?"""
    if not sender_domain or registrable != sender_domain or host == registrable:
        return False
    return host.split(".", 1)[0] in TRACKING_LABELS


SCORES = {
    "tracking-path": 2, "tracking-path-weak": 1, "opaque-token": 1, "no-image-extension": 1,
    "tiny-image": 3, "thin-image": 1, "hidden-image": 3, "generic-rule": 3,
    "tracking-filename": 2, "impression-endpoint": 2, "query-id": 1, "account-message-ids": 1,
    "tracking-subdomain": 1,
}


def score(signals: Iterable[str]) -> int:
    return sum(SCORES.get(s, 0) for s in signals)


def is_spacer_name(target: str) -> bool:
    path = target.split("?", 1)[0]
    return "?" not in target and bool(_SPACER_NAME.search(path))


# ---------------------------------------------------------------- sizes and visibility

_LEN = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(px)?\s*$", re.IGNORECASE)


def parse_px(value: str | None) -> float | None:
    """HTML/CSS length in px, or None when absent, relative (%, em) or unreadable."""
    if value is None:
        return None
    m = _LEN.match(value)
    return float(m.group(1)) if m else None


_STYLE_DIM = re.compile(r"(?:^|;|\s)(max-width|max-height|width|height)\s*:\s*([^;!]+)", re.IGNORECASE)


# Inline styles are template text: the same few hundred strings recur on every cell of a message
# and across messages from one sender, so their readings are cached (bounded): style_size here,
# style_hides through html._style_flags, its one caller.
@functools.lru_cache(maxsize=4096)
def style_size(style: str | None) -> tuple[float | None, float | None]:
    """Smallest width/height an inline style allows (width vs max-width, height vs max-height)."""
    w = h = None
    if not style:
        return w, h
    for prop, val in _STYLE_DIM.findall(style):
        px = parse_px(val)
        if px is None:
            continue
        if prop.lower().endswith("width"):
            w = px if w is None else min(w, px)
        else:
            h = px if h is None else min(h, px)
    return w, h


def size_signal(width: float | None, height: float | None) -> str | None:
    if width is not None and height is not None:
        if (width <= 2 and height <= 2) or width * height <= 4:
            return "tiny-image"
    if (width is not None and width <= 1) or (height is not None and height <= 1):
        return "tiny-image" if (width or 0) <= 1 and (height or 0) <= 1 else "thin-image"
    return None


_HIDE_PROPS = frozenset({"display", "visibility", "opacity", "clip", "left", "top", "height", "max-height",
                         "width", "max-width", "overflow", "overflow-y", "overflow-x"})


def style_hides(style: str | None) -> bool:
    """Does an inline style make the element (and what is inside it) invisible?

    display:none, visibility:hidden|collapse, opacity:0, clip:rect(0…), far off-screen left/top,
    or a zero height/width/max-height/max-width together with overflow:hidden.
    """
    if not style:
        return False
    low = style.lower()
    if not (("none" in low and "display" in low) or "hid" in low or "collapse" in low or "opacity" in low
            or "clip" in low or ":-" in low or ": -" in low):
        return False   # cheap exit: "border:none" and friends are on nearly every cell of a newsletter
    zero_box = overflow_hidden = False
    for decl in low.split(";"):
        prop, sep, val = decl.partition(":")
        if not sep:
            continue
        prop = prop.strip()
        if prop not in _HIDE_PROPS:
            continue
        val = val.replace("!important", "").strip()
        if prop == "display":
            if val == "none":
                return True
        elif prop == "visibility":
            if val in ("hidden", "collapse"):
                return True
        elif prop == "opacity":
            try:
                if float(val.rstrip("%")) == 0:
                    return True
            except ValueError:
                pass
        elif prop == "clip":
            if val.replace(" ", "").startswith(("rect(0,0,0,0", "rect(0px,0px,0px,0px", "rect(00", "rect(0000")):
                return True
        elif prop in ("left", "top"):
            px = parse_px(val)
            if px is not None and px <= -999:
                return True
        elif prop.startswith("overflow"):
            overflow_hidden = overflow_hidden or val in ("hidden", "clip")
        else:
            px = parse_px(val)
            zero_box = zero_box or (px is not None and px == 0)
    return zero_box and overflow_hidden


# ---------------------------------------------------------------- recipient identity

class Identity:
    """The recipient's addresses in every form a sender may put them in a URL.

    Matching is plain substring search (C speed): hex digests and address forms against the
    lowercased URL, base64 forms (case-sensitive) against the URL as written.
    """

    def __init__(self, addresses: Iterable[str]) -> None:
        self.addresses = sorted({a.strip().lower() for a in addresses if a and "@" in a})
        folded: dict[str, str] = {}   # compared with the lowercased URL
        exact: dict[str, str] = {}    # base64 is case-sensitive
        for addr in self.addresses:
            raw = addr.encode("utf-8", "surrogateescape")   # 8-bit header bytes arrive as surrogates
            folded[addr] = "plain"
            folded[quote(raw, safe="").lower()] = "url-encoded"
            for name in ("md5", "sha1", "sha256", "sha512"):
                folded[hashlib.new(name, raw).hexdigest()] = name
            for core in _base64_cores(raw):
                exact[core] = "base64"
        # longest first, so a SHA-512 is not reported as the SHA-256 it cannot contain anyway
        self._folded = sorted(folded.items(), key=lambda kv: -len(kv[0]))
        self._exact = sorted(exact.items(), key=lambda kv: -len(kv[0]))

    def __bool__(self) -> bool:
        return bool(self.addresses)

    def find(self, url: str) -> str | None:
        """How the recipient appears in the URL ("plain", "md5", "base64", …), or None."""
        if not self.addresses:
            return None
        for text in ((url, unquote(url)) if "%" in url else (url,)):
            low = text.lower()
            for needle, kind in self._folded:
                if needle in low:
                    return kind
            for needle, kind in self._exact:
                if needle in text:
                    return kind
        return None


def _base64_cores(raw: bytes) -> set[str]:
    """Base64 and base64url text of ``raw`` that is stable whatever bytes precede it (3 alignments)."""
    out = set()
    for pad in range(3):
        enc = base64.b64encode(b"\0" * pad + raw).decode("ascii")
        start = 4 if pad else 0            # the group holding the padding bytes is unstable
        end = (len(enc) - 4) if (pad + len(raw)) % 3 else len(enc)  # a partial last group is unstable
        core = enc[start:end].rstrip("=")
        if len(core) >= 8:
            out.add(core)
            out.add(core.replace("+", "-").replace("/", "_"))
    return out

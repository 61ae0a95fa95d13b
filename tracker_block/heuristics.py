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
from urllib.parse import quote

from . import _core

# URL-only signals, sizes and the identity search run in the Rust core (core/src/heuristics.rs);
# the weights are its own, read once.
_SCORES, BLOCK_SCORE = _core.signal_scores()
SCORES: dict[str, int] = dict(_SCORES)


def path_signals(target: str) -> list[str]:
    """Every URL-only signal for "host/path?query": path shapes, tokens, file names, endpoints, ids."""
    return _core.path_signals(target)


def extra_path_signals(target: str) -> tuple[str, ...]:
    """File-name, impression, query-id and account/message-id signals of "host/path?query"."""
    return tuple(_core.extra_path_signals(target))


def tracking_subdomain(host: str, sender_domain: str | None, registrable: str) -> bool:
    """Is ``host`` a tracking-named subdomain (click., email., t. …) of the sender's own domain?"""
    return _core.tracking_subdomain(host, sender_domain, registrable)


def score(signals: Iterable[str]) -> int:
    return sum(SCORES.get(s, 0) for s in signals)


def is_spacer_name(target: str) -> bool:
    return _core.is_spacer_name(target)


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
    """"tiny-image" (pixel-sized), "thin-image" (one side a pixel) or None."""
    return _core.size_signal(width, height)


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

    The forms are built here once per recipient set; the core searches them (one Aho-Corasick
    automaton each): hex digests and address forms against the lowercased URL, base64 forms
    (case-sensitive) against the URL as written, the first form in this order winning.
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
        # An address with undecodable header bytes (surrogates) cannot appear as such in a URL the
        # core reads: its plain form is left out, its encoded and hashed forms stay.
        self.core = _core.Identity(sorted(((n, k) for n, k in folded.items() if _is_text(n)), key=lambda kv: -len(kv[0])),
                                   sorted(exact.items(), key=lambda kv: -len(kv[0])))

    def __bool__(self) -> bool:
        return bool(self.addresses)

    def find(self, url: str) -> str | None:
        """How the recipient appears in the URL ("plain", "md5", "base64", …), or None."""
        return self.core.find(url)


def _is_text(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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

"""Signals that catch trackers no list knows. Each signal has a name that appears in the report.

A remote image is judged a tracker when its signals add up to ``BLOCK_SCORE``; the recipient's
own identity in a URL blocks on its own. Unknown images that trip nothing stay (fail open).
"""
from __future__ import annotations

import base64
import hashlib
from typing import Iterable
from urllib.parse import quote

from tracker_block import _core

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


# ---------------------------------------------------------------- sizes

def size_signal(width: float | None, height: float | None) -> str | None:
    """"tiny-image" (pixel-sized), "thin-image" (one side a pixel) or None."""
    return _core.size_signal(width, height)


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

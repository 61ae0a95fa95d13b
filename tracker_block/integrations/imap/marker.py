"""The ``X-Tracker-Block-Cleaned`` header: says a copy is ours, and which original it replaces.

``X-Tracker-Block-Cleaned: 0.1.0; orig=sha256:<hash of the original>; mac=<hmac>``

The hash finds the cleaned copy of a given original again (after a crash, a reconnect or a
UIDVALIDITY reset), so cleaning is idempotent: one original never gets two copies. The MAC,
keyed by a secret in the state journal, stops a sender from forging the header to be skipped.
"""
from __future__ import annotations

import hashlib
import hmac
import re

NAME = "X-Tracker-Block-Cleaned"
_FIELD = re.compile(rb"(?im)^x-tracker-block-cleaned[ \t]*:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*\r?\n?")
_VALUE = re.compile(r"orig=sha256:([0-9a-f]{32});\s*mac=([0-9a-f]{32})")


def original_hash(raw: bytes) -> str:
    """The first 128 bits of the original's SHA-256, in hex."""
    return hashlib.sha256(raw).hexdigest()[:32]


def _mac(key: bytes, orig: str) -> str:
    return hmac.new(key, orig.encode("ascii"), hashlib.sha256).hexdigest()[:32]


def value(key: bytes, orig: str) -> str:
    from tracker_block import __version__
    return f"{__version__}; orig=sha256:{orig}; mac={_mac(key, orig)}"


def _head_end(raw: bytes) -> int:
    m = re.search(rb"\r?\n\r?\n", raw)
    return m.end() if m else len(raw)


def strip(raw: bytes) -> bytes:
    """Remove every marker field from the header block (a sender's forgery, or an old one of ours)."""
    end = _head_end(raw)
    head = raw[:end]
    if b"x-tracker-block-cleaned" not in head.lower():
        return raw
    return _FIELD.sub(b"", head) + raw[end:]


def mark(cleaned: bytes, key: bytes, orig: str) -> bytes:
    """The cleaned message with our marker at the top of its header block."""
    return _insert(strip(cleaned), value(key, orig))


def _insert(raw: bytes, text: str) -> bytes:
    sep = b"\r\n" if b"\r\n" in raw[:_head_end(raw)] or not raw else b"\n"
    return f"{NAME}: {text}".encode("ascii") + sep + raw


def parse(header_block: bytes, key: bytes) -> str | None:
    """The original's hash named by a *valid* marker in these header lines, else None."""
    for m in _FIELD.finditer(header_block):
        text = m.group().decode("ascii", "replace")
        v = _VALUE.search(" ".join(text.split()))
        if v and hmac.compare_digest(v.group(2), _mac(key, v.group(1))):
            return v.group(1)
    return None

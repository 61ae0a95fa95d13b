"""URL reading the way browsers read it, and link cleaning (parameter stripping, redirect unwrapping).

Everything here is pure string work, done by the Rust core (``core/src/urls.rs``): nothing is
ever fetched. ``normalise``, ``scheme_of``, ``is_remote`` and ``absolute`` are the core's own
functions (called for every URL of every message).
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Callable, NamedTuple

from tracker_block import _core

if TYPE_CHECKING:
    from tracker_block.engine.rules import Rules

REMOTE_SCHEMES = frozenset({"http", "https", "ftp", "ws", "wss"})
# What ``scheme_of`` returns for a URL the client fetches over the network: "//" is protocol-relative.
NETWORK_SCHEMES = REMOTE_SCHEMES | {"//"}
SCRIPT_SCHEMES = frozenset({"javascript", "vbscript", "livescript", "mocha", "jscript"})

# The URL a browser would act on: inner tabs/newlines gone, ends trimmed, (str) -> str.
normalise: Callable[[str], str] = _core.normalise
# Lowercased scheme of a normalised URL; "//" for protocol-relative; "" for relative.
scheme_of: Callable[[str], str] = _core.scheme_of
# Would a mail client reach the network for this URL (as a load)?
is_remote: Callable[[str], bool] = _core.is_remote
# Protocol-relative and slash-less forms made explicit (``//h/x`` -> ``https://h/x``, ``http:h`` -> ``http://h``).
absolute: Callable[[str], str] = _core.absolute


class Parts(NamedTuple):
    host: str    # lowercase, no port, no userinfo
    target: str  # "host/path?query" — what rules and heuristics match against


@functools.lru_cache(maxsize=8192)
def parts(url: str) -> Parts:
    """Split an absolute remote URL into what the rules look at."""
    return Parts(*_core.parts(url))


def canonical(url: str) -> str:
    """Stable form for signing and caching: scheme/host lowercased, default port and fragment dropped.

    Raises ValueError for URLs that cannot be parsed (bad port, broken IPv6 literal).
    """
    return _core.canonical(url)


# ---------------------------------------------------------------- link cleaning

class LinkResult(NamedTuple):
    url: str                 # the cleaned link
    unwrapped_by: str | None  # redirect rule id when a wrapper was removed
    stripped: tuple[str, ...]  # parameter names removed


def clean_link(url: str, rules: "Rules", conservative: "bool | Callable[[str], bool]" = False) -> LinkResult:
    """Unwrap then strip. A ``conservative`` link (unsubscribe) is unwrapped but keeps its parameters.

    ``conservative`` may be a predicate on the destination, asked only when something would be stripped.
    """
    cleaned, rule_id, removed = rules.judge.clean_link(url, conservative)
    return LinkResult(cleaned, rule_id, tuple(removed))


def unwrap_and_strip(url: str, rules: "Rules") -> tuple[str, str | None, str, tuple[str, ...]]:
    """(destination, redirect rule id, destination without tracking parameters, names removed)."""
    dest, rule_id, cleaned, removed = rules.judge.unwrap_and_strip(url)
    return dest, rule_id, cleaned, tuple(removed)

"""Findings in the reader's words, grouped by company: what the Thunderbird popup shows.

One line per (who, what, outcome): "Mailchimp open pixel — removed", "6 Mailchimp click-tracked
links — left, marked ⚑", "3 links — tracking parameters removed", "read-receipt request —
Thunderbird will ask before sending one". Outcomes are the report's words (report.OUTCOMES); rule
ids and URLs are kept on each line for the "advanced" view only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracker_block.engine.report import OUTCOMES

# kind -> (singular, plural) for something that loads (pixel, image, font, ...)
_LOADS = {
    "pixel": ("open pixel", "open pixels"), "image": ("tracking image", "tracking images"),
    "css": ("CSS background", "CSS backgrounds"), "stylesheet": ("remote stylesheet", "remote stylesheets"),
    "font": ("remote font", "remote fonts"), "frame": ("frame", "frames"), "media": ("remote media", "remote media"),
    "object": ("embedded object", "embedded objects"), "script": ("script", "scripts"),
    "ping": ("link ping", "link pings"), "refresh": ("meta refresh", "meta refreshes"),
    "base": ("base URL", "base URLs"), "form": ("form", "forms"), "prefetch": ("prefetch hint", "prefetch hints"),
    "manifest": ("manifest", "manifests"), "meta": ("meta tag", "meta tags"),
}
_POLICY_LOADS = {"image": ("remote image", "remote images"), "css": ("remote CSS image", "remote CSS images"),
                 "media": ("remote media file", "remote media files"),
                 "unreadable-css": ("piece of CSS", "pieces of CSS")}
LEFT_MARK = "⚑"

# Why a policy finding happened, in the reader's words: only the reader's setting explains
# "remote image — removed" in --remote all; a script, a non-image load or an unreadable document
# goes in every mode, and saying "your setting" of those would be untrue.
_SETTING = {"policy:remote-all": "your setting: block every remote load",
            "policy:proxy": "your setting: load images through your proxy",
            "policy:proxy-images-only": "your proxy serves images only"}
_ALWAYS = {"policy:not-a-visible-image": "only images you see may load",
           "policy:remote-stylesheet": "a remote stylesheet cannot be checked without fetching it",
           "policy:no-link-element": "a remote stylesheet cannot be checked without fetching it",
           "policy:unreadable-css": "CSS that cannot be read safely is not passed on",
           "policy:went-with-css": "the CSS holding it was removed"}
_SCRIPT = "scripts never run in mail"
# A whole HTML part shown as its source text instead of cleaned (kind "object", where "document").
_DOCUMENT = {"policy:too-many-nodes": "it would build too many elements to check safely",
             "policy:too-deep": "it nests elements too deeply to check safely",
             "policy:unstable-markup": "a browser would read it differently each time",
             "policy:too-complex-css": "its CSS takes too long to check safely"}


def _policy_why(f: dict[str, Any]) -> str:
    reason = str(f.get("reason", ""))
    if reason in _SETTING:
        return _SETTING[reason]
    if reason in _ALWAYS:
        return _ALWAYS[reason]
    if f.get("kind") == "script" or "script" in reason or "handler" in reason:
        return _SCRIPT
    return "always removed: mail never needs it"


@dataclass
class Line:
    """One popup line and what it stands for."""

    text: str
    outcome: str                       # removed | cleaned | left, marked | proxied
    who: str | None                    # company (rule) or host (heuristic), None for generic
    count: int = 0
    rules: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _is_safelinks(f: dict[str, Any]) -> bool:
    text = f"{f.get('reason', '')} {f.get('tracker') or ''}".lower()
    return "safelinks" in text or "safe links" in text


def _who(f: dict[str, Any]) -> str | None:
    """A company from a rule ("Mailchimp"), or "from <host> (unknown tracker)" for a heuristic."""
    tracker = f.get("tracker")
    if not tracker:
        return None
    return tracker if f.get("certainty") == "rule" else f"from {tracker} (unknown tracker)"


def _noun(who: str | None, n: int, one: str, many: str) -> str:
    """"Mailchimp open pixel", "6 Mailchimp open pixels", "open pixel from x.example (unknown tracker)"."""
    base = one if n == 1 else f"{n} {many}"
    if not who:
        return base
    if who.startswith("from "):
        return f"{base} {who}"
    return f"{who} {one}" if n == 1 else f"{n} {who} {many}"


def _key(f: dict[str, Any]) -> tuple[str, str | None, str, str]:
    """(topic, who, kind, outcome): findings with the same key share one line."""
    outcome = OUTCOMES.get(f.get("action", ""), f.get("action", ""))
    kind = f.get("kind", "")
    if kind == "header":
        return ("receipt", None, kind, outcome)
    if kind == "link":
        if _is_safelinks(f):
            return ("safelinks", None, kind, outcome)
        if outcome == "cleaned" and not f.get("tracker"):
            return ("params", None, kind, outcome)
        return ("link", _who(f), kind, outcome)
    if f.get("reason") in _DOCUMENT:
        return ("document", _DOCUMENT[f["reason"]], kind, outcome)
    if f.get("certainty") == "policy":
        if f.get("reason") == "policy:unreadable-css":
            kind = "unreadable-css"
        return ("policy", _policy_why(f), kind, outcome)
    return ("load", _who(f), kind, outcome)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _text(topic: str, who: str | None, kind: str, outcome: str, n: int) -> str:
    mark = f" {LEFT_MARK}" if outcome == "left, marked" else ""
    if topic == "receipt":
        if outcome == "removed":
            return "read-receipt request — removed"
        return "read-receipt request — Thunderbird will ask before sending one"
    if topic == "safelinks":
        what = _count(n, "link", "links")
        if outcome == "cleaned":
            return (f"{what} — Microsoft Safe Links (your organisation's link scanner, not sender "
                    f"tracking) — unwrapped to the real address")
        return f"{what} — Microsoft Safe Links (your organisation's link scanner) — {outcome}{mark}"
    if topic == "params":
        return f"{_count(n, 'link', 'links')} — tracking parameters removed"
    if topic == "link":
        if outcome == "cleaned":
            return f"{_noun(who, n, 'tracked link', 'tracked links')} — cleaned (tracking removed, real address kept)"
        return f"{_noun(who, n, 'click-tracked link', 'click-tracked links')} — {outcome}{mark}"
    if topic == "document":
        parts = _count(n, "HTML part", "HTML parts")
        return f"{parts} of the message — {outcome}: shown as plain source text instead, nothing in it loads ({who})"
    one, many = (_POLICY_LOADS.get(kind) if topic == "policy" else None) or _LOADS.get(kind, (kind, kind + "s"))
    if topic == "policy":
        return f"{_noun(None, n, one, many)} — {outcome} ({who})"
    return f"{_noun(who, n, one, many)} — {outcome}{mark}"


def popup_lines(findings: list[dict[str, Any]]) -> list[Line]:
    """Findings grouped into the popup's lines, removed first, then left, then cleaned."""
    groups: dict[tuple[str, str | None, str, str], list[dict[str, Any]]] = {}
    for f in findings:
        groups.setdefault(_key(f), []).append(f)
    order = {"removed": 0, "left, marked": 1, "proxied": 2, "cleaned": 3}
    lines = []
    for (topic, who, kind, outcome), items in groups.items():
        company = who if topic in ("load", "link") else None
        lines.append(Line(
            _text(topic, who, kind, outcome, len(items)), outcome, company, len(items),
            list(dict.fromkeys(str(f.get("reason", "")) for f in items)),
            [str(f["url"]) for f in items if f.get("url")],
        ))
    lines.sort(key=lambda ln: (order.get(ln.outcome, 9), ln.who is None, (ln.who or "").startswith("from "),
                               ln.who or ""))
    return lines

"""Findings and per-message reports: the one place the report schema lives (JSON, table)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable

SCHEMA_VERSION = 2

# kind: what the blocked or changed thing is.
KINDS = (
    "pixel", "image", "css", "stylesheet", "font", "frame", "media", "object", "script",
    "link", "ping", "refresh", "base", "form", "prefetch", "manifest", "header", "meta",
)
# action: what tracker-block did about it, precisely.
ACTIONS = ("removed", "replaced", "proxied", "cleaned", "unwrapped", "left-marked")

# outcome: the same, in the one vocabulary the reader sees everywhere (CLI table and summary, JSON,
# dashboard, Thunderbird). "removed": it can no longer tell the sender anything; "cleaned": a link
# with its tracking parts removed (or unwrapped); "left, marked": still tracks if clicked;
# "proxied": a content image that loads through the user's own proxy.
OUTCOMES = {"removed": "removed", "replaced": "removed", "proxied": "proxied", "cleaned": "cleaned",
            "unwrapped": "cleaned", "left-marked": "left, marked"}
OUTCOME_WORDS = ("removed", "cleaned", "left, marked", "proxied")

# status: one word for a whole message.
#   clean        checked, nothing found
#   cleaned      something was found, and nothing that still tracks is left
#   tracked      something still tracks (a click-tracked link left in place, a kept read receipt)
#   allowlisted  the sender is allowlisted: not checked at all
#   unreadable   could not be read; nothing was checked
STATUSES = ("clean", "cleaned", "tracked", "allowlisted", "unreadable")


@dataclass
class Finding:
    """One blocked or changed thing in a message."""

    kind: str            # one of KINDS
    url: str | None      # the URL as written (entities and CSS escapes decoded), None for e.g. a handler
    where: str           # "img@src", "style@background-image", "<style>@import", "header:Disposition-Notification-To"
    action: str          # one of ACTIONS
    reason: str          # rule id ("rule:mailchimp/open") or heuristic name ("heuristic:tiny-image")
    tracker: str | None = None   # company / service name, or None when unknown
    certainty: str = "heuristic"  # "rule" | "heuristic" | "policy" (blocked by mode, not by judgement)
    part: str = ""       # MIME part path ("1.2"), "" for headers
    detail: str | None = None    # e.g. the cleaned/unwrapped URL, or "identifies recipient"

    @property
    def outcome(self) -> str:
        """The reader's word for what happened (see OUTCOMES)."""
        return OUTCOMES.get(self.action, self.action)

    def to_dict(self) -> dict[str, Any]:
        # Every field is a str or None, so a copy of the instance dict (fields in declaration
        # order) is what dataclasses.asdict builds, at a tenth of its cost: a mailbox scan
        # writes one per finding.
        return dict(self.__dict__)

    def __reduce__(self) -> tuple:
        # Reports cross from --jobs workers to the parent by pickle: positional fields unpickle
        # three times faster than the default per-instance __dict__ (the parent's time caps --jobs).
        return (Finding, (self.kind, self.url, self.where, self.action, self.reason, self.tracker, self.certainty,
                          self.part, self.detail))


@dataclass
class MessageReport:
    """Everything tracker-block found in (and did to) one message."""

    path: str | None = None
    message_id: str | None = None
    sender: str | None = None
    subject: str | None = None
    date: str | None = None
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)   # per-message or per-part problems, human readable
    allowlisted: bool = False   # the sender is allowlisted: nothing was checked
    unreadable: bool = False    # the message could not be read at all: nothing was checked

    @property
    def trackers(self) -> list[Finding]:
        """Findings that are tracking devices (not merely policy removals)."""
        return [f for f in self.findings if f.certainty in ("rule", "heuristic") or f.kind == "header"]

    @property
    def still_tracking(self) -> list[Finding]:
        """Findings that can still tell the sender something: links left in place, kept receipts."""
        return [f for f in self.findings if f.action == "left-marked"]

    @property
    def status(self) -> str:
        """One of STATUSES."""
        if self.unreadable:
            return "unreadable"
        if self.allowlisted:
            return "allowlisted"
        if self.still_tracking:
            return "tracked"
        return "cleaned" if self.findings else "clean"

    def summary(self) -> dict[str, int]:
        """Counts in the reader's words: trackers removed, other remote loads and scripts removed,
        links cleaned, links left (marked), images proxied."""
        out = {"trackers_removed": 0, "other_removed": 0, "links_cleaned": 0, "left_marked": 0, "proxied": 0}
        for f in self.findings:
            o = f.outcome
            if o == "removed":
                out["trackers_removed" if f.certainty in ("rule", "heuristic") or f.kind == "header"
                    else "other_removed"] += 1
            elif o == "cleaned":
                out["links_cleaned"] += 1
            elif o == "left, marked":
                out["left_marked"] += 1
            elif o == "proxied":
                out["proxied"] += 1
        return out

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.findings:
            out[f.kind] = out.get(f.kind, 0) + 1
        return out

    def companies(self) -> list[str]:
        seen: dict[str, None] = {}
        for f in self.findings:
            if f.tracker:
                seen.setdefault(f.tracker)
        return list(seen)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "message_id": self.message_id,
            "from": self.sender,
            "subject": self.subject,
            "date": self.date,
            "status": self.status,
            "tracked": self.status == "tracked",
            "summary": self.summary(),
            "counts": self.counts(),
            "companies": self.companies(),
            "findings": [dict(f.to_dict(), outcome=f.outcome) for f in self.findings],
            "errors": list(self.errors),
        }


def to_json(reports: Iterable[MessageReport], indent: int | None = 2) -> str:
    """The ``scan --json`` document: ``{"schema": 2, "messages": [...]}`` (docs/report-schema.md)."""
    return json.dumps(
        {"schema": SCHEMA_VERSION, "messages": [r.to_dict() for r in reports]},
        indent=indent, ensure_ascii=False,
    )


def _short(text: str | None, width: int) -> str:
    text = text or "-"
    return text if len(text) <= width else text[: width - 1] + "…"


def to_table(reports: Iterable[MessageReport]) -> str:
    """A readable per-message table for people."""
    lines: list[str] = []
    for r in reports:
        head = r.path or r.message_id or "<message>"
        lines.append(f"{head}  —  {_short(r.subject, 60)}  ({_short(r.sender, 40)})")
        if not r.findings and not r.errors:
            lines.append("    no trackers found")
        for f in r.findings:
            lines.append(
                f"    {f.action:<13} {f.kind:<10} {_short(f.tracker, 22):<22} "
                f"{_short(f.reason, 34):<34} {_short(f.url, 70)}"
            )
        for e in r.errors:
            lines.append(f"    error: {e}")
        lines.append("")
    return "\n".join(lines)

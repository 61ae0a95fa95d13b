"""Findings and per-message reports: the one place the report schema lives (JSON, table)."""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Callable, Iterable

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
    certainty: str = "heuristic"  # "rule" | "list" | "heuristic" | "policy" (blocked by mode, not by judgement)
    part: str = ""       # MIME part path ("1.2"), "" for headers
    detail: str | None = None    # e.g. the cleaned/unwrapped URL, or "identifies recipient"

    @property
    def company(self) -> str | None:
        """The company a rule names, or None: a heuristic's guess from the host name is not a
        name, and a link that only lost its utm_ parameters names nobody."""
        return self.tracker if self.certainty == "rule" and self.action != "cleaned" else None

    @property
    def is_tracker(self) -> bool:
        """A tracking device judged by a rule, a filter list or a heuristic, or a read-receipt request
        (not a load the mode or the policy removed)."""
        return self.certainty in ("rule", "list", "heuristic") or self.kind == "header"

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


class Later:
    """A report field's value worked out when it is first read (see ``_HeaderField``)."""

    __slots__ = ("compute",)

    def __init__(self, compute: Callable[[], str | None]) -> None:
        self.compute = compute


class _HeaderField:
    """A report field holding one of the message's header fields, decoded when first read.

    Decoding four header fields as ``policy.default`` does (address lists, dates, encoded words)
    took a tenth of the mail filter's time per message, and a filter never shows them. A ``Later``
    stored here is computed once, on the first read; any other value is stored as it is."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, objtype: type | None = None) -> str | None:
        if obj is None:
            return None                      # the dataclass default
        value = obj.__dict__.get(self.name)
        if isinstance(value, Later):
            value = obj.__dict__[self.name] = value.compute()
        return value

    def __set__(self, obj: Any, value: str | None | Later) -> None:
        obj.__dict__[self.name] = value


_HEADER_FIELDS = ("message_id", "sender", "subject", "date")


@dataclass
class MessageReport:
    """Everything tracker-block found in (and did to) one message."""

    path: str | None = None
    message_id: str | None = _HeaderField()   # type: ignore[assignment]
    sender: str | None = _HeaderField()       # type: ignore[assignment]
    subject: str | None = _HeaderField()      # type: ignore[assignment]
    date: str | None = _HeaderField()         # type: ignore[assignment]
    findings: list[Finding] = field(default_factory=list)
    # Recoverable problems ("warnings"): the message was processed, but a part was, e.g., decoded
    # with a guessed charset or could not be rewritten. Named ``errors`` in the Python API for
    # the callers that append to it; ``warnings`` in JSON, the table and on stderr.
    errors: list[str] = field(default_factory=list)
    allowlisted: bool = False   # the sender is allowlisted: nothing was checked
    unreadable: bool = False    # the message could not be read at all: nothing was checked
    error: str | None = None    # why it could not be read (with ``unreadable``)
    leaks: list[str] = field(default_factory=list)   # URLs that carry the reader's own address

    def __reduce__(self) -> tuple:
        # A mailbox scan's workers send every report to the main process, ~150 findings a newsletter.
        # They travel as one string of their fields (``_pack_findings``): pickle stores, and the
        # parent rebuilds, one object instead of ~1,350 strings.
        state = dict(self.__dict__)
        state.update((name, getattr(self, name)) for name in _HEADER_FIELDS)   # decoded in the worker
        state["findings"] = _pack_findings(self.findings)
        return (_report_from, (state,))

    @property
    def warnings(self) -> list[str]:
        """Recoverable problems, in the one word the reader sees."""
        return self.errors

    @property
    def trackers(self) -> list[Finding]:
        """Findings that are tracking devices (not merely policy removals)."""
        return [f for f in self.findings if f.is_tracker]

    @property
    def tracking(self) -> list[Finding]:
        """Tracking devices: trackers removed, click trackers unwrapped or left, marked, read-receipt
        requests. Not a link that only lost its ``utm_`` parameters: that is a link cleaned."""
        return [f for f in self.trackers if f.action != "cleaned"]

    @property
    def trackers_taken_out(self) -> bool:
        """Did this message carry a tracking device that cleaning took out (removed or unwrapped)?"""
        return any(f.action != "left-marked" for f in self.tracking)

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
                out["trackers_removed" if f.is_tracker else "other_removed"] += 1
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
        """Companies named by a rule (a heuristic's guess from the host name is not a name; a link
        that only lost its utm_ parameters names nobody)."""
        seen: dict[str, None] = {}
        for f in self.findings:
            if f.company:
                seen.setdefault(f.company)
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
            "identity_leaks": list(self.leaks),
            "findings": [dict(f.to_dict(), outcome=f.outcome) for f in self.findings],
            "warnings": list(self.errors),
            "error": self.error,
        }


def find_leaks(report: MessageReport, addresses: Iterable[str]) -> list[str]:
    """URLs in the findings that carry one of ``addresses`` (plain, encoded or hashed), whatever
    rule matched them first; an unsubscribe link names you because it has to, so it is no leak.
    One link is counted once (a cleaned link and what is left of it are the same link)."""
    identity = _identity(tuple(sorted({a.lower() for a in addresses})))
    if not identity:
        return []
    after_cleaning = {f.detail.split("  (removed:")[0] for f in report.findings
                      if f.action in ("cleaned", "unwrapped") and f.detail}
    out: dict[str, None] = {}
    asked: set[str] = set()      # a link is often in the text and the HTML part: search it once
    for f in report.findings:
        url = f.url
        if not url or f.kind == "header" or url in asked or (f.action == "left-marked" and url in after_cleaning):
            continue
        asked.add(url)
        if identity.find(url) and not is_unsubscribe_url(url):
            out[url] = None
    return list(out)


@functools.lru_cache(maxsize=64)
def _identity(addresses: tuple[str, ...]) -> Any:
    from tracker_block.engine.heuristics import Identity
    return Identity(addresses)


_UNSUBSCRIBE_HINTS = ("unsub", "opt-out", "optout", "opt_out", "/preferences", "manage-subscription",
                      "list-manage.com/profile", "abmelden", "abbestellen", "desabonner", "desinscri")


def is_unsubscribe_url(url: str) -> bool:
    """Does the URL itself say it unsubscribes or manages preferences?"""
    low = url.lower()
    return any(h in low for h in _UNSUBSCRIBE_HINTS)


def to_json(reports: Iterable[MessageReport], indent: int | None = 2) -> str:
    """The ``scan --json`` document: ``{"schema": 2, "messages": [...]}`` (docs/report-schema.md)."""
    return json.dumps(
        {"schema": SCHEMA_VERSION, "messages": [r.to_dict() for r in reports]},
        indent=indent, ensure_ascii=False,
    )


def plural(n: int, word: str, words: str | None = None) -> str:
    """ "1 message", "2 messages", "1,234 findings"."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


_FIELDS_PER_FINDING = 9
_SEP, _NONE = "\x1f", "\x1e"      # between two fields; a field that is None
_NONE_AS_TEXT, _TEXT_AS_NONE = {None: _NONE}, {_NONE: None}


def _pack_findings(findings: list[Finding]) -> str | list[tuple]:
    """Findings as one string: every field of every finding in order, joined by ``_SEP``, a None
    as ``_NONE``. Pickled, this costs the worker a third of what ~1,350 strings one by one did
    (0.11 against 0.32 ms a newsletter, a tenth of a ``--jobs`` worker's Python time). A field
    that holds either character itself, or is no string, sends them as tuples of their fields
    instead; the counts below catch every such case."""
    values = list(chain.from_iterable([f.__dict__.values() for f in findings]))
    if findings and len(values) == _FIELDS_PER_FINDING * len(findings):
        try:
            packed = _SEP.join(map(_NONE_AS_TEXT.get, values, values))
        except TypeError:                # a field that is no string (set by hand): not for this form
            packed = None
        if (packed is not None and packed.count(_SEP) == len(values) - 1
                and packed.count(_NONE) == values.count(None)):
            return packed
    return [tuple(f.__dict__.values()) for f in findings]


def _unpack_findings(packed: str | list[tuple]) -> list[Finding]:
    if not isinstance(packed, str):
        return [Finding(*f) for f in packed]
    fields = packed.split(_SEP)
    values = map(_TEXT_AS_NONE.get, fields, fields)
    return [Finding(*f) for f in zip(*[values] * _FIELDS_PER_FINDING)]


def _report_from(state: dict[str, Any]) -> MessageReport:
    """A pickled MessageReport back (see ``MessageReport.__reduce__``)."""
    state["findings"] = _unpack_findings(state["findings"])
    return MessageReport(**state)


# The status of a message as the table shows it.
STATUS_WORDS = {"clean": "clean", "cleaned": "cleaned", "tracked": "tracked",
                "allowlisted": "allowlisted", "unreadable": "could not read"}
STATUS_NOTE = {"clean": "no trackers found", "allowlisted": "allowlisted, not checked",
               "unreadable": "could not read"}
_COLORS = {"clean": "32", "cleaned": "32", "tracked": "33", "allowlisted": "36", "unreadable": "31",
           "removed": "32", "cleaned-link": "36", "left, marked": "33", "proxied": "36", "head": "1",
           "dim": "2"}
_COLUMNS = (("OUTCOME", 12), ("KIND", 7), ("TRACKER", 18), ("REASON", 28))


def _paint(text: str, key: str, color: bool) -> str:
    return f"\x1b[{_COLORS[key]}m{text}\x1b[0m" if color and key in _COLORS else text


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Text from mail made safe for a terminal: control characters (escape sequences that could
    recolour, retitle or rewrite the screen, newlines, bidi overrides) shown as ``\\xNN``."""
    if text.isascii() and text.isprintable():      # nearly every cell: no regex pass (a table has many)
        return text
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                        else f"\\u{ord(m.group()):04x}", text)


def _fit(text: str | None, width: int | None) -> str:
    text = printable(text or "-")
    if width is None or len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…"


def _widths(width: int | None) -> list[int]:
    """Column widths: the defaults, squeezed (tracker and reason first) to leave a URL 24 columns."""
    w = [n for _name, n in _COLUMNS]
    if width is not None:
        while 4 + sum(x + 1 for x in w) + 24 > width and (w[2] > 8 or w[3] > 12):
            if w[3] > 12:
                w[3] -= 1
            if w[2] > 8:
                w[2] -= 1
    return w


def table_header(*, width: int | None = None, color: bool = False) -> str:
    """The column heading printed once above the table."""
    cells = "".join(f"{name:<{w}} " for (name, _n), w in zip(_COLUMNS, _widths(width))) + "URL"
    return _paint("    " + cells, "head", color)


def table_rows(r: MessageReport, *, width: int | None = None, color: bool = False) -> str:
    """One message: a line with its status, then one line per finding.

    ``width``: fit every line to a terminal this wide (URLs cut with …); None: full URLs, for pipes.
    """
    status = r.status
    head = r.path or r.message_id or "<message>"
    title = f"{head}  —  {r.subject or '(no subject)'}  ({r.sender or 'no sender'})"
    lines = [_paint(f"{STATUS_WORDS[status]:<11}", status, color) + " " + _fit(title, width and max(width - 12, 20))]
    if status in STATUS_NOTE:
        lines.append("    " + _paint(STATUS_NOTE[status], "dim", color))
    fixed = 4 + sum(w + 1 for w in _widths(width))
    for f in r.findings:
        url = f.url if f.url is not None else (f.detail or "")
        lines.append(_row_start(f.outcome, f.kind, f.company, f.reason, width, color)
                     + _fit(url, max(width - fixed, 10) if width else None))
    return "\n".join(lines)


@functools.lru_cache(maxsize=4096)
def _row_start(o: str, kind: str, company: str | None, reason: str, width: int | None, color: bool) -> str:
    """A finding's line up to its URL. A newsletter repeats a few of these for its ~150 findings, and
    a mailbox scan's table formats every one of them."""
    widths = _widths(width)
    key = "cleaned-link" if o == "cleaned" else o
    cells = zip((o, kind, company, reason), widths)
    text = "".join(_fit(v, w if width else None).ljust(w) + " " for v, w in cells)
    cut = widths[0] + 1
    return "    " + _paint(text[:cut], key, color) + text[cut:]


def to_table(reports: Iterable[MessageReport], *, width: int | None = None, color: bool = False) -> str:
    """A readable per-message table for people: a heading, then each message and its findings."""
    parts = [table_header(width=width, color=color)]
    parts += [table_rows(r, width=width, color=color) for r in reports]
    return "\n".join(parts) + "\n"


def recipients_of(raw: bytes, options: Any) -> list[str]:
    """The reader's addresses: the message's recipient headers and --recipient."""
    from email.utils import getaddresses
    from tracker_block.engine.clean import RECIPIENT_HEADERS   # the engine imports this module
    from tracker_block.engine.mime import header_fields
    try:
        head = header_fields(raw, 65536)
        values = [str(v) for name in RECIPIENT_HEADERS for v in (head.get_all(name) or [])]
        found = [a for _n, a in getaddresses(values) if "@" in a]
    except Exception:  # noqa: BLE001 - a hostile header must not stop the report
        found = []
    return found + list(getattr(options, "recipients", ()))

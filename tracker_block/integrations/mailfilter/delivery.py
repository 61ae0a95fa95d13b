"""The one function every delivery path calls (SMTP filter, pipe filter): clean, never lose mail.

A delivery filter sits between the sender and the mailbox, so a failure here must never turn
into a lost or bounced message: whatever goes wrong, the original bytes go on, marked with an
``X-Tracker-Block: error <reason>`` header so the admin and the reader can see it was not cleaned.
"""
from __future__ import annotations

import re
from email.header import Header
from typing import NamedTuple

from tracker_block.engine.mime import is_charset_note
from tracker_block.integrations.mailfilter.orgpolicy import OrgPolicy
from tracker_block.engine.policy import Options, sender_allowed
from tracker_block.engine.report import MessageReport

HEADER = "X-Tracker-Block"
_EOL = re.compile(rb"\r?\n")
_FROM_LINE = re.compile(rb"From [^\r\n]*\r?\n")
_OUR_FIELD = re.compile(rb"x-tracker-block[ \t]*:", re.IGNORECASE)
_REASON_MAX = 200


def _problems(report: MessageReport) -> list[str]:
    """The report's real errors: a part decoded with a guessed charset was still cleaned."""
    return [e for e in report.errors if not is_charset_note(e)]


class FilterResult(NamedTuple):
    data: bytes                       # what to deliver: cleaned, or the original (flagged on error)
    report: MessageReport | None      # None when nothing was cleaned (opt-out, allowlist, error)
    error: str | None                 # why the message passed through uncleaned, if it did
    prefetched: int = 0               # proxied images fetched at delivery time


def _linesep(raw: bytes) -> bytes:
    m = _EOL.search(raw)
    return m.group() if m else b"\n"


def _head_start(raw: bytes) -> int:
    """Where the header block starts (after an mbox ``From `` line, as procmail hands it over)."""
    m = _FROM_LINE.match(raw)
    return m.end() if m else 0


def _field(value: str, linesep: bytes) -> bytes:
    """One folded header field; non-ASCII is RFC 2047-encoded so the header stays 7-bit."""
    if value.isascii() and value.isprintable() and len(HEADER) + 2 + len(value) <= 78:
        text = value    # what Header gives a printable ASCII value that fits one line, at a tenth of the cost
    else:
        text = Header(value, header_name=HEADER, maxlinelen=78).encode(linesep=linesep.decode())
    return f"{HEADER}: {text}".encode("ascii") + linesep


def add_header(raw: bytes, value: str) -> bytes:
    """Insert ``X-Tracker-Block: value`` at the top of the header block; every other byte unchanged."""
    sep = _linesep(raw)
    at = _head_start(raw)
    return raw[:at] + _field(value, sep) + raw[at:]


def _strip_ours(raw: bytes) -> bytes:
    """Drop ``X-Tracker-Block`` fields a sender put in, so a forged "0 trackers" cannot mislead."""
    start = _head_start(raw)
    m = re.search(rb"\r?\n\r?\n", raw[start:])
    end = start + (m.start() + len(_linesep(raw)) if m else len(raw))
    head = raw[start:end]
    if b"x-tracker-block" not in head.lower():
        return raw
    kept, dropping = [], False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = bool(_OUR_FIELD.match(line))
        if not dropping:
            kept.append(line)
    return raw[:start] + b"".join(kept) + raw[end:]


def _reason(exc: BaseException | str) -> str:
    from tracker_block.engine.mime import MessageError
    if isinstance(exc, str):
        text = exc
    elif isinstance(exc, MessageError):
        text = str(exc)                      # already says what is wrong with the input
    else:
        text = f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())  # one line, no CR/LF smuggled into the header
    text = text.encode("ascii", "replace").decode("ascii")
    return text[:_REASON_MAX]


def summary(report: MessageReport) -> str:
    """``3 trackers removed (Mailchimp, HubSpot)`` — what the reader's client shows on demand."""
    acted = [f for f in report.trackers if f.action != "left-marked"]
    companies = list(dict.fromkeys(f.tracker for f in acted if f.tracker))
    text = f"{len(acted)} tracker{'' if len(acted) == 1 else 's'} removed"
    if companies:
        shown = companies[:6]
        more = f", +{len(companies) - 6} more" if len(companies) > 6 else ""
        text += f" ({', '.join(shown)}{more})"
    problems = _problems(report)
    if problems:
        text += f"; {len(problems)} problem{'' if len(problems) == 1 else 's'} (see log)"
    return text


def _from_address(raw: bytes) -> str | None:
    from email.utils import getaddresses
    from tracker_block.engine.mime import header_fields
    try:
        msg = header_fields(raw[_head_start(raw):])
        found = [a for _, a in getaddresses([str(v) for v in msg.get_all("From", [])]) if a]
    except Exception:  # noqa: BLE001 - a header we cannot parse is no allowlist match
        return None
    return found[0] if found else None


def _prefetch(cleaned: bytes, report: MessageReport, options: Options, timeout: float) -> int:
    """Fetch, through our own proxy, exactly the images this message's cleaning signed.

    Each candidate URL is verified with our key and must point at an image the engine proxied
    in this very message: a sender cannot plant a URL that makes the server fetch a tracker.
    """
    from tracker_block.engine import mime
    from tracker_block.engine.urls import canonical, normalise
    targets = {canonical(normalise(f.url)) for f in report.findings if f.action == "proxied" and f.url}
    if not targets or not options.proxy_base or not options.keyring:
        return 0
    pattern = re.compile(re.escape(options.proxy_base.rstrip("/")) + r"/[A-Za-z0-9_-]{1,32}/[0-9]{1,12}/"
                         r"[A-Za-z0-9_-]+/[A-Za-z0-9_-]+")
    urls: list[str] = []
    for part in mime.parse(cleaned).parts:
        if part.is_attachment:
            continue
        for url in pattern.findall(part.text):
            if options.keyring.target_of(url, options.proxy_base) in targets:
                urls.append(url)
    if not urls:
        return 0
    from tracker_block.integrations.proxy.server import prefetch
    results = prefetch(dict.fromkeys(urls), timeout)
    return sum(1 for status in results.values() if 200 <= status < 300)


def filter_message(raw: bytes, policy: OrgPolicy, recipients: list[str], sender: str) -> FilterResult:
    """Clean one message for delivery. Never raises; on any failure returns the original, flagged."""
    try:
        raw = bytes(raw)
        if len(raw) > policy.max_size:
            return FilterResult(add_header(raw, f"error too large ({len(raw)} bytes), not cleaned"), None,
                                f"too large ({len(raw)} bytes)")
        options = policy.options_for(recipients, sender)
        if options is None:
            return FilterResult(raw, None, None)           # opted out: untouched
        if options.allow_senders and sender_allowed(_from_address(raw), options):
            return FilterResult(raw, None, None)           # allowlisted sender: untouched
        from tracker_block.engine.clean import clean_message
        cleaned, report = clean_message(raw, options)
    except Exception as exc:  # noqa: BLE001 - anything at all: deliver the original, flagged
        reason = _reason(exc)
        try:
            return FilterResult(add_header(raw, f"error {reason}"), None, reason)
        except Exception:  # noqa: BLE001 - raw is not even bytes-like: nothing sensible to add a header to
            return FilterResult(raw if isinstance(raw, bytes) else b"", None, reason)
    problems = _problems(report)
    if cleaned == raw and problems and not report.findings:
        # Nothing could be cleaned because part of it could not be read: say so, bytes untouched.
        reason = _reason(problems[0])
        return FilterResult(add_header(raw, f"error not cleaned: {reason}"), report, reason)
    prefetched = 0
    if policy.prefetch and options.mode == "proxy":
        try:
            prefetched = _prefetch(cleaned, report, options, policy.prefetch_timeout)
        except Exception as exc:  # noqa: BLE001 - prefetching is a bonus; delivery goes on
            report.errors.append(f"prefetch failed: {_reason(exc)}")
    try:
        if policy.summary_header:
            cleaned = add_header(_strip_ours(cleaned), summary(report))
    except Exception as exc:  # noqa: BLE001
        report.errors.append(f"summary header: {_reason(exc)}")
    return FilterResult(cleaned, report, None, prefetched)


__all__ = ["HEADER", "FilterResult", "add_header", "filter_message", "summary"]

"""Orchestration: message -> parts -> sites -> verdicts -> actions -> rewritten message + report.

``clean_html`` is the per-document pipeline; ``clean_message`` runs it over every part of a MIME
message and rebuilds the message, touching nothing it did not need to change.
"""
from __future__ import annotations

import functools
import re
import time
from email.utils import getaddresses
from typing import Callable, NamedTuple

from tracker_block.engine import mime
from tracker_block import _core
from tracker_block.engine.heuristics import Identity
from tracker_block.engine.mime import MessageError
from tracker_block.engine.policy import Options, sender_allowed
from tracker_block.engine.report import Finding, Later, MessageReport
from tracker_block.engine.rules import Rules, ensure_public_suffixes, load_rules

__all__ = ["HtmlResult", "MessageError", "clean_html", "clean_text", "clean_message", "clean_for_report",
           "read_receipt_findings",
           "READ_RECEIPT_HEADERS", "RECIPIENT_HEADERS"]

READ_RECEIPT_HEADERS = ("Disposition-Notification-To", "Return-Receipt-To", "X-Confirm-Reading-To",
                        "Generate-Delivery-Report", "Read-Receipt-To")
RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To")


class HtmlResult(NamedTuple):
    html: str
    findings: list[Finding]
    changed: bool


def _domain_of(address: str | None) -> str | None:
    """The domain of an e-mail address (None when there is none)."""
    if not address or "@" not in address:
        return None
    return address.rsplit("@", 1)[1].strip().strip(">").lower() or None


def _default_rules(options: Options) -> Rules:
    return load_rules(tuple(options.extra_rules))


@functools.lru_cache(maxsize=32)
def _identity(addresses: tuple[str, ...]) -> Identity:
    """One Identity per recipient set: its encoded forms and the core's automaton over them are built
    once, and shared by the parts of a message (and a mailbox for one person)."""
    return Identity(addresses)


def _judging(options: Options | None, recipients: tuple[str, ...]) -> tuple[Options, Rules, Identity]:
    """What a part is judged with: the options, the compiled rule set and the recipient identity."""
    opts = options or Options()
    ensure_public_suffixes()
    return opts, _default_rules(opts), _identity(tuple(recipients) + tuple(opts.recipients))


def _proxy(opts: Options) -> tuple | None:
    """What the core needs to sign proxied URLs (mode proxy), with the clock read once per document."""
    if opts.mode != "proxy":
        return None
    return (opts.proxy_base, list(opts.keyring.keys), opts.proxy_ttl, int(time.time()))


def _findings(raw: list[tuple], part: str) -> list[Finding]:
    return [Finding(kind, url, where, action, reason, tracker, certainty, part, detail)
            for kind, url, where, action, reason, tracker, certainty, detail in raw]


def clean_html(html_text: str, options: Options | None = None, *, recipients: tuple[str, ...] = (),
               unsubscribe: frozenset[str] = frozenset(), part: str = "", sender: str | None = None,
               link_plans: _core.LinkPlans | None = None) -> HtmlResult:
    """Clean one HTML document; the result keeps everything the policy allows, byte for byte when unchanged.

    The whole document pass (parse, find every site, judge, rewrite, serialise) runs in the Rust
    core (``core/src/engine``). ``sender`` (the From address) lets tracking subdomains of the
    sender's own domain count as a signal. ``link_plans``: link decisions shared with the other
    parts of the same message (same options, recipients and unsubscribe URLs)."""
    opts, rules, identity = _judging(options, recipients)
    out, raw = _core.clean_html(html_text, rules.judge, identity.core, _domain_of(sender), opts.mode,
                                opts.clean_links, sorted(unsubscribe), _proxy(opts), link_plans)
    return HtmlResult(out, _findings(raw, part), out != html_text)


def clean_text(text: str, options: Options | None = None, *, recipients: tuple[str, ...] = (),
               unsubscribe: frozenset[str] = frozenset(), part: str = "",
               link_plans: _core.LinkPlans | None = None) -> tuple[str, list[Finding]]:
    """Clean the links of a text/plain part (nothing in plain text loads by itself)."""
    opts, rules, identity = _judging(options, recipients)
    out, raw = _core.clean_text(text, rules.judge, identity.core, opts.clean_links, sorted(unsubscribe), link_plans)
    return out, _findings(raw, part)


def read_receipt_findings(get_all: Callable[[str], list], keep: bool) -> list[Finding]:
    """One finding per read-receipt request; ``get_all(name)`` gives a header's values (any case)."""
    return [Finding("header", str(value), f"header:{name}", "left-marked" if keep else "removed",
                    "rule:read-receipt-request", None, "rule", "")
            for name in READ_RECEIPT_HEADERS for value in get_all(name)]


def _raw_values(msg, name: str) -> list[str]:
    """A header's values as written (unfolded), without the stdlib's structured parsing, which can
    raise on malformed address headers (found by fuzzing)."""
    low = name.lower()
    return [" ".join(str(v).split()) for k, v in msg.raw_items() if k.lower() == low]


def _addresses(msg, names) -> list[str]:
    values = [v for n in names for v in _raw_values(msg, n)]
    try:
        return [a for _, a in getaddresses(values) if a and "@" in a]
    except Exception:  # noqa: BLE001 - a hostile header must not stop cleaning
        return []


def _header(msg, name: str) -> str | None:
    try:
        v = msg.get(name)
    except Exception:  # malformed header values must not stop cleaning
        return None
    return None if v is None else str(v)


def _header_later(msg, name: str) -> Later:
    """``_header`` worked out when the report's field is first read. Only the field's raw text is
    kept, not the message."""
    low = name.lower()
    field = next(((k, v) for k, v in msg.raw_items() if k.lower() == low), None)
    if field is None:
        return Later(lambda: None)
    decode = _decoded_sender if low == "from" else _decoded
    return Later(lambda: decode(*field))


def _decoded(name: str, value: str) -> str | None:
    """A header field as ``msg.get(name)`` gives it under ``policy.default``, as text."""
    try:
        return str(mime.POLICY.header_fetch_parse(name, value))
    except Exception:  # malformed header values must not stop cleaning
        return None


@functools.lru_cache(maxsize=1024)
def _decoded_sender(name: str, value: str) -> str | None:
    """``_decoded`` for From fields: a mailbox holds many messages from few senders, and parsing an
    address list as ``policy.default`` does took 60 us of a --jobs worker's ~3.5 ms a message."""
    return _decoded(name, value)


def clean_message(raw: bytes, options: Options | None = None, *, path: str | None = None
                  ) -> tuple[bytes, MessageReport]:
    """Clean a whole MIME message. Raises MessageError if ``raw`` is not a mail message at all."""
    return _clean_message(raw, options, path, write=True)


def _clean_message(raw: bytes, options: Options | None, path: str | None, *, write: bool
                   ) -> tuple[bytes, MessageReport]:
    """``clean_message``; with ``write`` False (a scan, which throws the bytes away) the message is
    not written back where writing it cannot fail, and ``raw`` comes back in its place."""
    opts = options or Options()
    _default_rules(opts)   # a broken rule file is a configuration error, not a per-part one
    parsed = mime.parse(raw)
    msg = parsed.msg
    report = MessageReport(path=path, message_id=_header_later(msg, "Message-ID"), sender=_header_later(msg, "From"),
                           subject=_header_later(msg, "Subject"), date=_header_later(msg, "Date"))
    report.errors.extend(parsed.errors)
    sender = (_addresses(msg, ("From",)) or [None])[0]
    if sender_allowed(sender, opts):
        report.allowlisted = True   # "allowlisted, not checked": never shown as "no trackers found"
        return raw, report
    recipients = tuple(_addresses(msg, RECIPIENT_HEADERS))
    unsub = frozenset(re.findall(r"<(https?://[^>]+)>", _header(msg, "List-Unsubscribe") or ""))
    receipts = read_receipt_findings(lambda name: _raw_values(msg, name), opts.keep_read_receipts)
    report.findings.extend(receipts)
    drop = [] if opts.keep_read_receipts else sorted({f.where.split(":", 1)[1] for f in receipts})
    new_texts: dict[str, str] = {}
    plans = _core.LinkPlans()      # the text and HTML alternatives carry the same links: judge each once
    for part in parsed.parts:
        if part.is_attachment:
            continue
        try:
            if part.subtype == "html":
                res = clean_html(part.text, opts, recipients=recipients, unsubscribe=unsub, part=part.path,
                                 sender=sender, link_plans=plans)
                new, findings, changed = res.html, res.findings, res.changed
            else:
                new, findings = clean_text(part.text, opts, recipients=recipients, unsubscribe=unsub,
                                           part=part.path, link_plans=plans)
                changed = new != part.text
        except Exception as exc:  # a bug on one part must not lose the message
            report.errors.append(f"part {part.path}: could not be cleaned ({type(exc).__name__}: {exc})")
            continue
        report.findings.extend(findings)
        if changed:
            new_texts[part.path] = new
    if not new_texts and not drop:
        return raw, report
    if not write and mime.rebuilds_in_place(parsed, new_texts):
        return raw, report       # the same report as writing: splicing bodies into the bytes never fails
    try:
        return mime.rebuild(parsed, new_texts, drop), report
    except MessageError as exc:
        # Cleaning found things but the message cannot be written back: say so, change nothing.
        report.errors.append(f"could not write the cleaned message ({exc}); left unchanged")
        return raw, report


def clean_for_report(raw: bytes, options: Options | None = None, *, path: str | None = None,
                     want_bytes: bool = True) -> tuple[bytes | None, MessageReport]:
    """``clean_message`` for callers that work through whole mailboxes (the CLI's workers, IMAP): it
    never raises. A message that cannot be read gives an ``unreadable`` report with its ``error``; a
    readable one also gets its identity leaks. The bytes are None when nothing changed, and always
    with ``want_bytes`` False (``scan``: the report is the same, writing the message back, a sixth
    of a newsletter's time, is skipped where it cannot fail)."""
    from tracker_block.engine.report import find_leaks, recipients_of   # the report module imports this one lazily too
    try:
        cleaned, report = _clean_message(raw, options, path, write=want_bytes)
    except MessageError as exc:
        error = "not a mail message: " + _without_path(str(exc), path)
    except RecursionError:
        error = "message too deeply nested to process"
    except Exception as exc:  # noqa: BLE001 - a bug must not end a 100,000-message run
        error = f"internal error ({type(exc).__name__}: {_without_path(str(exc), path)})"
    else:
        report.path = path
        if report.findings:
            report.leaks = find_leaks(report, recipients_of(raw, options))
        return (cleaned if want_bytes and cleaned != raw else None), report
    return None, MessageReport(path=path, unreadable=True, error=error)


def _without_path(text: str, path: str | None) -> str:
    """An error's text without the ``path: `` its caller will show anyway."""
    return text[len(path) + 2:] if path and text.startswith(path + ": ") else text or "unreadable"


def clear_caches() -> None:
    """Forget every per-URL and per-rule-set cache (benchmarks use this to time mail as never seen)."""
    from tracker_block.engine import heuristics, urls
    for module in (heuristics, urls):
        for value in vars(module).values():
            if hasattr(value, "cache_clear"):
                value.cache_clear()
    _identity.cache_clear()
    _decoded_sender.cache_clear()

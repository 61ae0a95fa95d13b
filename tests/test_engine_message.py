"""Whole messages through the engine: what a user of `tracker-block clean` gets."""
from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path

import pytest

from leakcheck import remote_loads
from tracker_block import MessageError, Options, clean_message

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _sample(name: str) -> bytes:
    return next(SAMPLES.glob(f"{name}*.eml")).read_bytes()


def _html_parts(raw: bytes) -> list[str]:
    msg = email.message_from_bytes(raw, policy=policy.default)
    return [p.get_content() for p in msg.walk() if p.get_content_type() == "text/html"]


def _leaves(raw: bytes):
    msg = email.message_from_bytes(raw, policy=policy.default)
    return [p for p in msg.walk() if not p.is_multipart() and p.get_content_type() != "message/rfc822"]


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.eml")), ids=lambda p: p.name)
def test_samples_clean_to_valid_mail_that_fetches_nothing_in_mode_all(path):
    raw = path.read_bytes()
    out, report = clean_message(raw, Options(mode="all"), path=str(path))
    assert report.errors == []
    for html in _html_parts(out):
        assert remote_loads(html) == []
    # structure survives: same leaves, same types, attachments byte-identical
    before, after = _leaves(raw), _leaves(out)
    assert [p.get_content_type() for p in before] == [p.get_content_type() for p in after]
    for a, b in zip(before, after):
        if a.get_content_maintype() not in ("text",):
            assert a.get_payload(decode=True) == b.get_payload(decode=True)


def test_newsletter_pixel_removed_and_reported_with_company():
    out, report = clean_message(_sample("01"))
    pixels = [f for f in report.findings if f.kind == "pixel"]
    assert pixels and all(f.tracker == "Mailchimp" and f.action == "removed" for f in pixels)
    assert b"track/open.php" not in out
    assert report.subject and report.sender and report.message_id


def test_untouched_message_is_byte_identical():
    raw = _sample("04")
    out, report = clean_message(raw)
    assert out == raw and report.findings == []


def test_read_receipt_headers_removed_by_default_and_kept_on_request():
    raw = _sample("05")
    out, report = clean_message(raw)
    heads = [f for f in report.findings if f.kind == "header"]
    assert {f.where for f in heads} >= {"header:Disposition-Notification-To", "header:Return-Receipt-To"}
    msg = email.message_from_bytes(out, policy=policy.default)
    assert msg["Disposition-Notification-To"] is None and msg["Return-Receipt-To"] is None
    assert msg["Subject"] == email.message_from_bytes(raw, policy=policy.default)["Subject"]
    kept, report2 = clean_message(raw, Options(keep_read_receipts=True))
    assert email.message_from_bytes(kept, policy=policy.default)["Disposition-Notification-To"] is not None
    assert all(f.action == "left-marked" for f in report2.findings if f.kind == "header")


def test_forwarded_message_inside_is_cleaned():
    raw = _sample("06")
    out, report = clean_message(raw)
    assert b"awstrack.me/I0/" not in out
    assert any(f.part.startswith("2") and f.kind == "pixel" for f in report.findings)
    assert any(f.action == "unwrapped" for f in report.findings)


def test_hashed_recipient_pixel_on_unknown_subdomain_is_caught():
    out, report = clean_message(_sample("07"))
    hits = [f for f in report.findings if f.reason.startswith("heuristic:recipient-id") and f.kind == "pixel"]
    assert hits and hits[0].action == "removed"


def test_other_headers_keep_order_and_values():
    raw = _sample("01")
    out, _ = clean_message(raw)
    head_in = raw.split(b"\r\n\r\n", 1)[0]
    head_out = out.split(b"\r\n\r\n", 1)[0]
    assert head_in == head_out


def test_allowlisted_sender_is_passed_through():
    raw = _sample("01")
    msg = email.message_from_bytes(raw, policy=policy.default)
    sender = msg["From"].addresses[0].addr_spec
    out, report = clean_message(raw, Options(allow_senders=("@" + sender.split("@")[1],)))
    assert out == raw and report.findings == []


@pytest.mark.parametrize("garbage", [b"", b"\x00\x01\x02\xff" * 100, b"\n\n\n"])
def test_not_a_message_is_a_clear_error(garbage):
    with pytest.raises(MessageError):
        clean_message(garbage)


def test_truncated_base64_part_is_reported_not_fatal():
    raw = (b"From: a@example.com\r\nTo: b@example.org\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           b"PGltZyBzcmM9Imh0dHBzOi8vdXMxLmxpc3QtbWFuYWdlLmNvbS90cmFjay9vcGVuLnBocD91PTEiPg=\r\n")
    out, report = clean_message(raw)
    assert isinstance(out, bytes)


@pytest.mark.parametrize("header", [
    b'From: "Shop" <orders@\r\n', b"To: <\r\n", b"Cc: a <b@\r\n", b'Disposition-Notification-To: "x" <\r\n',
    b"From: =?utf-8?q?broken\r\n", b"To: \xff\xfe@\xff\r\n",
])
def test_malformed_address_headers_do_not_stop_cleaning(header):
    # the stdlib's structured address parser raises IndexError on some of these (found by fuzzing)
    raw = (header + b"Subject: t\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
           b'<img src="https://us1.list-manage.com/track/open.php?u=1&amp;id=2">\r\n')
    out, report = clean_message(raw)
    assert b"list-manage" not in out
    assert any(f.kind == "pixel" for f in report.findings)


@pytest.mark.parametrize("mode", ["trackers", "all", "proxy"])
def test_parts_sharing_link_decisions_report_what_each_part_alone_would(mode: str) -> None:
    """clean_message lets a message's parts share link decisions (the text alternative repeats the
    HTML's links); the findings and bodies must be exactly those of cleaning each part on its own."""
    import sys

    from tracker_block.engine import mime
    from tracker_block.engine.clean import RECIPIENT_HEADERS, _addresses, clean_html, clean_text
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import gen
    from tracker_block.engine.signing import KeyRing
    opts = Options(mode=mode) if mode != "proxy" else Options(
        mode=mode, proxy_base="https://proxy.example.net/p", keyring=KeyRing((("k1", b"s" * 32),)))
    raws = [p.read_bytes() for p in sorted(SAMPLES.glob("*.eml"))] + list(gen.messages(8))
    for raw in raws:
        cleaned, report = clean_message(raw, opts)
        parsed = mime.parse(raw)
        recipients = tuple(_addresses(parsed.msg, RECIPIENT_HEADERS))
        sender = (_addresses(parsed.msg, ("From",)) or [None])[0]
        unsub = frozenset(re.findall(r"<(https?://[^>]+)>", str(parsed.msg.get("List-Unsubscribe") or "")))
        alone = []
        for part in parsed.parts:
            if part.is_attachment:
                continue
            if part.subtype == "html":
                alone += clean_html(part.text, opts, recipients=recipients, unsubscribe=unsub, part=part.path,
                                    sender=sender).findings
            else:
                alone += clean_text(part.text, opts, recipients=recipients, unsubscribe=unsub, part=part.path)[1]
        shared = [f for f in report.findings if f.kind != "header"]
        assert [f.to_dict() for f in shared] == [f.to_dict() for f in alone]


_SHOWN = {"message_id": "Message-ID", "sender": "From", "subject": "Subject", "date": "Date"}


@pytest.mark.parametrize("raw", [
    *(p.read_bytes() for p in sorted(SAMPLES.glob("*.eml"))),
    b'From: "Shop" <orders@\r\nSubject: =?utf-8?q?broken\r\nDate: not a date\r\nMessage-ID: <a b@>\r\n\r\nhi\r\n',
    b"From: =?utf-8?b?w7xiZXI=?= <a@b.example>, x\r\nSubject: \xff\xfe caf\xc3\xa9\r\nDate: Tue, 4 Mar 2024 8:26 -0000\r\n"
    b"Message-ID: <x@y>\r\nSubject: second\r\n\r\nhi\r\n",
    b"Subject: \r\n\r\nno sender, no date\r\n",
], ids=lambda r: r[:12].decode("ascii", "replace"))
def test_report_shows_header_fields_as_the_stdlib_decodes_them_when_read(raw: bytes) -> None:
    # The four shown fields are decoded when first read (a filter never reads them); what they
    # show is what policy.default's msg.get() gives, None where it raises or the field is absent.
    _, report = clean_message(raw)
    msg = email.message_from_bytes(raw, policy=policy.default)
    for attr, name in _SHOWN.items():
        try:
            want = msg.get(name)
        except Exception:   # noqa: BLE001 - the stdlib's structured parsers raise on some values
            want = None
        assert getattr(report, attr) == (None if want is None else str(want)), name
    assert report.to_dict()["from"] == report.sender


def test_a_cached_sender_reads_as_the_field_itself() -> None:
    # From fields are decoded once per distinct value (clean._decoded_sender): each message's report
    # must still give exactly what policy.default makes of its own field, odd ones included.
    from tracker_block.engine import clean, mime
    froms = ['"Northfold Outdoor" <news@northfold.example.com>', "=?utf-8?q?J=C3=BCrgen?= <j@example.com>",
             "undisclosed-recipients:;", "<>", "a@b, c@d", "\udcc3\udca4 <x@y>", "Bad <unclosed@x",
             "=?utf-8?b?broken?= <q@r>", "(comment) x@y (more)"]
    clean.clear_caches()
    for round_ in range(2):                      # the second round is answered from the cache
        for value in froms:
            raw = f"From: {value}\nSubject: s\n\n<p>x</p>\n".encode("utf-8", "surrogateescape")
            _, rep = clean.clean_message(raw)
            field = next(v for k, v in mime.parse(raw).msg.raw_items() if k == "From")
            try:
                want = str(mime.POLICY.header_fetch_parse("From", field))
            except Exception:  # noqa: BLE001
                want = None
            assert rep.sender == want, (round_, value)
    assert clean._decoded_sender.cache_info().hits >= len(froms)

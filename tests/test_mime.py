"""MIME walking and byte-preserving rebuild (tracker_block.engine.mime).

The corpus is hand-written raw MIME (so every byte is under our control: folding,
preamble, odd boundaries, line endings) plus messages built with the stdlib.
"""
from __future__ import annotations

import base64
import email
import os
import quopri
import random
import re
import time
from email import policy
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tracker_block.engine.mime import MessageError, ParsedMessage, parse, rebuild

RNG = random.Random(1234)
BINARY = bytes(RNG.randrange(256) for _ in range(3000))


def b64(data: bytes, eol: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", eol)


def msg(eol: bytes, *chunks: bytes) -> bytes:
    """Join template chunks written with '\n' using the wanted line ending."""
    return b"".join(chunks).replace(b"\n", eol)


def alternative_qp_b64(eol: bytes) -> bytes:
    html = "<html><body><p>Caf\u00e9 \u2603</p><img src=\"http://t.example/o.gif\"></body></html>\n"
    plain = "Caf\u00e9 cr\u00e8me \u2014 fin\n".encode("cp1252")
    return msg(eol, b"""Received: from mx.example.org (mx.example.org [192.0.2.1])
\tby mail.example.net with ESMTPS id abc123
\tfor <bob@example.net>; Mon, 1 Jan 2024 10:00:00 +0000
From: "Alice" <alice@example.org>
To: bob@example.net
Subject: =?utf-8?q?A_very_long_subject_that_is_folded_over_more_than_one_li?=
 =?utf-8?q?ne_because_it_is_long?=
Disposition-Notification-To: alice@example.org
MIME-Version: 1.0
Content-Type: multipart/alternative;
 boundary="=_alt 'boundary' (1)"

This is the preamble. MIME readers ignore it.

--=_alt 'boundary' (1)
Content-Type: text/plain; charset=windows-1252; format=flowed
Content-Transfer-Encoding: quoted-printable

""", quopri.encodestring(plain), b"""
--=_alt 'boundary' (1)
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64

""", b64(html.encode(), b"\n"), b"""
--=_alt 'boundary' (1)--
This is the epilogue.
It has two lines.
""")


def related_mixed(eol: bytes) -> bytes:
    return msg(eol, b"""From: shop@example.com
To: bob@example.net
Subject: Your receipt
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/related; boundary="rel"; type="multipart/alternative"

--rel
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Thanks for your order.
--alt
Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: 8bit

<html><body style="background:url(http://t.example/bg.png)">Gr\xfc\xdfe <img src="cid:logo@x"></body></html>
--alt--

--rel
Content-Type: image/png
Content-ID: <logo@x>
Content-Transfer-Encoding: base64

""", b64(BINARY[:500], b"\n"), b"""--rel--

--outer
Content-Type: application/octet-stream; name="data.bin"
Content-Disposition: attachment; filename="data.bin"
Content-Transfer-Encoding: base64

""", b64(BINARY, b"\n"), b"""--outer
Content-Type: text/plain; charset=utf-8; name="notes.txt"
Content-Disposition: attachment; filename="notes.txt"

attached text \xe2\x9c\x93
--outer--
""")


def forwarded(eol: bytes) -> bytes:
    inner_html = "<p>Gr\u00fc\u00df Gott \u2013 <img src=\"http://pixel.example/t.gif\" width=1 height=1></p>\n"
    return msg(eol, b"""From: carol@example.net
To: bob@example.net
Subject: Fwd: Fwd: newsletter
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fwd1"

--fwd1
Content-Type: text/plain

See below.
--fwd1
Content-Type: message/rfc822
Content-Disposition: inline

From: dave@example.org
Subject: Fwd: newsletter
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fwd2"

--fwd2
Content-Type: text/plain; charset=koi8-r
Content-Transfer-Encoding: 8bit

""", "\u041f\u0440\u0438\u0432\u0435\u0442\n".encode("koi8-r"), b"""
--fwd2
Content-Type: message/rfc822

From: news@example.com
Subject: newsletter
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="fwd3"

--fwd3
Content-Type: text/plain; charset=windows-1252
Content-Transfer-Encoding: quoted-printable

Gr=FC=DF Gott =96 see the web version.
--fwd3
Content-Type: text/html; charset=windows-1252
Content-Transfer-Encoding: quoted-printable

""", quopri.encodestring(inner_html.encode("cp1252")), b"""
--fwd3--

--fwd2--

--fwd1
Content-Type: message/rfc822; name="single.eml"
Content-Disposition: attachment; filename="single.eml"

From: erin@example.org
Subject: single part inside
Content-Type: text/html; charset=shift_jis
Content-Transfer-Encoding: base64

""", b64("<p>\u3053\u3093\u306b\u3061\u306f</p>\n".encode("shift_jis"), b"\n"), b"""--fwd1--
""")


def plain_lf_no_mime() -> bytes:
    return (b"From: bob@example.net\nTo: alice@example.org\nSubject: lunch?\n"
            b"Date: Tue, 2 Jan 2024 12:00:00 +0100\n\nAre you free at noon? http://example.org/menu\n")


def mbox_8bit_headers() -> bytes:
    return (b"From bob@example.net Tue Jan  2 12:00:00 2024\n"
            b"From: J\xc3\xbcrgen M\xfcller <j@example.de>\nSubject: Gr\xfc\xdfe \xe2\x80\x94 raw 8-bit\n"
            b"Content-Type: text/html\n\n<p>Gr\xc3\xbc\xc3\x9fe</p>\n")


def html_meta_charset() -> bytes:
    return (b"From: a@example.org\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            b"<html><head><meta charset=\"koi8-r\"></head><body>"
            + "\u041f\u0440\u0438\u0432\u0435\u0442".encode("koi8-r") + b"</body></html>\r\n")


def digest_and_report() -> bytes:
    return msg(b"\r\n", b"""From: list@example.org
Subject: digest
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=top

--top
Content-Type: multipart/digest; boundary=dig

--dig

Subject: first
Content-Type: text/html

<p>first <img src=http://t.example/1.gif></p>
--dig

Subject: second

second body
--dig--
--top
Content-Type: multipart/report; report-type=delivery-status; boundary=rep

--rep
Content-Type: text/plain

Delivery failed.
--rep
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; x@example.com
Action: failed
Status: 5.0.0
--rep--
--top--""")


def odd_boundaries() -> bytes:
    # whitespace after delimiters, doubled delimiter, no final newline
    return msg(b"\n", b"""From: a@example.org
Content-Type: multipart/alternative; boundary=b
Content-Transfer-Encoding: 7bit

--b  \t
Content-Type: text/plain

one

--b
--b
Content-Type: text/html

<b>two</b>
--b-- \t
epilogue without newline""")


def stdlib_built() -> bytes:
    m = EmailMessage()
    m["From"] = "Zo\u00eb <zoe@example.org>"
    m["To"] = "bob@example.net"
    m["Subject"] = "stdlib \u2014 built " + "long " * 30
    m.set_content("Plain \u00e9\u00e8 text\n", charset="iso-8859-1", cte="quoted-printable")
    m.add_alternative("<p>HTML \u00e9 <img src=\"https://t.example/x\"></p>\n", subtype="html", cte="base64")
    m.add_attachment(BINARY, maintype="application", subtype="pdf", filename="doc.pdf")
    return m.as_bytes(policy=policy.SMTP)


CORPUS = {
    "alt_crlf": alternative_qp_b64(b"\r\n"),
    "alt_lf": alternative_qp_b64(b"\n"),
    "related_crlf": related_mixed(b"\r\n"),
    "related_lf": related_mixed(b"\n"),
    "forwarded_crlf": forwarded(b"\r\n"),
    "forwarded_lf": forwarded(b"\n"),
    "plain_lf": plain_lf_no_mime(),
    "mbox_8bit_headers": mbox_8bit_headers(),
    "meta_charset": html_meta_charset(),
    "digest_report": digest_and_report(),
    "odd_boundaries": odd_boundaries(),
    "stdlib_built": stdlib_built(),
}


def texts(p: ParsedMessage) -> dict[str, str]:
    return {t.path: t.text for t in p.parts}


def std_leaves(raw: bytes) -> list[tuple[str, bytes]]:
    """(content type, decoded payload) of every stdlib leaf: the independent reference."""
    out: list[tuple[str, bytes]] = []

    def walk(part: email.message.Message) -> None:
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            out.append((ctype, b""))
        elif part.is_multipart():
            for sub in part.get_payload():
                walk(sub)
        else:
            out.append((ctype, part.get_payload(decode=True) or b""))

    walk(email.message_from_bytes(raw, policy=policy.default))
    return out


# ------------------------------------------------------------------ walking

def test_paths_and_decoding_of_nested_forward() -> None:
    p = parse(CORPUS["forwarded_crlf"])
    assert p.errors == []
    got = {t.path: (t.subtype, t.charset, t.is_attachment) for t in p.parts}
    assert got == {
        "1": ("plain", "us-ascii", False),
        "2.1": ("plain", "koi8-r", False),
        "2.2.1": ("plain", "windows-1252", False),
        "2.2.2": ("html", "windows-1252", False),
        "3.1": ("html", "shift_jis", False),
    }
    t = texts(p)
    assert t["2.1"] == "\u041f\u0440\u0438\u0432\u0435\u0442\r\n"
    assert "Gr\u00fc\u00df Gott \u2013" in t["2.2.2"] and "pixel.example" in t["2.2.2"]
    assert t["3.1"] == "<p>\u3053\u3093\u306b\u3061\u306f</p>\n"
    assert p.msg["Subject"] == "Fwd: Fwd: newsletter"


def test_charsets_attachments_and_meta() -> None:
    p = parse(CORPUS["related_lf"])
    t = {x.path: x for x in p.parts}
    assert set(t) == {"1.1.1", "1.1.2", "3"}
    assert "Gr\u00fc\u00dfe" in t["1.1.2"].text and t["1.1.2"].charset == "iso-8859-1"
    assert t["3"].is_attachment and t["3"].text == "attached text \u2713"  # EOL belongs to the delimiter
    p = parse(CORPUS["meta_charset"])
    assert p.parts[0].charset == "koi8-r" and "\u041f\u0440\u0438\u0432\u0435\u0442" in p.parts[0].text
    p = parse(CORPUS["digest_report"])
    assert [x.path for x in p.parts] == ["1.1.1", "1.2.1", "2.1"]
    assert "first" in p.parts[0].text and p.parts[1].text == "second body"


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_parse_agrees_with_stdlib_decoding(name: str) -> None:
    raw = CORPUS[name]
    p = parse(raw)
    assert p.errors == []
    ref = [data for ctype, data in std_leaves(raw) if ctype in ("text/html", "text/plain")]
    assert len(ref) == len(p.parts)
    for part, data in zip(p.parts, ref):
        assert part.text.encode(part.charset) == data


# ------------------------------------------------------------------ round trips

@pytest.mark.parametrize("name", sorted(CORPUS))
def test_unchanged_rebuild_is_byte_identical(name: str) -> None:
    raw = CORPUS[name]
    p = parse(raw)
    assert p._root is not None, "span tree must map onto the stdlib parse"
    assert rebuild(p, {}) == raw
    assert rebuild(p, texts(p)) == raw  # same text: parts are not touched at all


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_changing_one_part_touches_only_that_part(name: str) -> None:
    raw = CORPUS[name]
    p = parse(raw)
    ref = std_leaves(raw)
    for part in p.parts:
        new = part.text.replace("<p>", "<p>[cleaned] ", 1) if "<p>" in part.text else "[cleaned] " + part.text
        out = rebuild(p, {part.path: new})
        node = p._leaves[part.path].node
        # every byte before the entity and after it is untouched
        assert out.startswith(raw[:node.start])
        assert out.endswith(raw[node.end:])
        # the entity's own header block keeps every field except CTE / charset edits
        q = parse(out)
        assert q.errors == []
        assert texts(q) == {**texts(p), part.path: new}
        own = {"content-type", "content-transfer-encoding"} if node is p._root else set()
        assert [h for h in q.msg.items() if h[0].lower() not in own] == \
               [h for h in p.msg.items() if h[0].lower() not in own]
        # all non-text leaves (attachments, images) decode to identical bytes
        after = std_leaves(out)
        assert [x for x in after if not x[0].startswith("text/")] == \
               [x for x in ref if not x[0].startswith("text/")]


def test_change_html_keeps_charset_and_base64() -> None:
    raw = CORPUS["alt_crlf"]
    p = parse(raw)
    new = "<html><body><p>Caf\u00e9 \u2603</p></body></html>\r\n" + "<p>filler</p>" * 20
    out = rebuild(p, {"2": new})
    q = parse(out)
    assert texts(q)["2"] == new and q.parts[1].charset == "utf-8"
    part = email.message_from_bytes(out, policy=policy.default).get_payload(1)
    assert part["Content-Transfer-Encoding"] == "base64"
    body = part.get_payload()
    lines = body.split("\r\n")
    assert all(len(line) <= 76 for line in lines) and max(map(len, lines)) == 76
    assert b"\r\n" in out and b"\n" not in out.replace(b"\r\n", b"")  # no LF leaked into CRLF mail
    # plain part, all headers, preamble and epilogue unchanged
    assert out.split(b"--=_alt 'boundary' (1)\r\nContent-Type: text/html")[0] == \
           raw.split(b"--=_alt 'boundary' (1)\r\nContent-Type: text/html")[0]
    assert out.endswith(b"--=_alt 'boundary' (1)--\r\nThis is the epilogue.\r\nIt has two lines.\r\n")


def test_qp_and_8bit_keep_their_encoding_and_charset() -> None:
    p = parse(CORPUS["forwarded_lf"])
    new_html = texts(p)["2.2.2"].replace('<img src="http://pixel.example/t.gif" width=1 height=1>', "")
    new_koi = "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440\n"
    out = rebuild(p, {"2.2.2": new_html, "2.1": new_koi})
    assert b"pixel.example" not in out
    m = email.message_from_bytes(out, policy=policy.default)
    fwd2 = m.get_payload(1).get_payload(0)
    koi = fwd2.get_payload(0)
    assert koi["Content-Transfer-Encoding"] == "8bit" and koi.get_content_charset() == "koi8-r"
    assert koi.get_payload(decode=True) == new_koi.encode("koi8-r")
    html = fwd2.get_payload(1).get_payload(0).get_payload(1)
    assert html["Content-Transfer-Encoding"] == "quoted-printable"
    assert html.get_content_charset() == "windows-1252"
    assert html.get_payload(decode=True).decode("cp1252") == new_html
    assert texts(parse(out))["2.2.2"] == new_html


def test_charset_falls_back_to_utf8_rewriting_only_that_parameter() -> None:
    raw = CORPUS["alt_lf"]
    p = parse(raw)
    new = "Caf\u00e9 \u3053\u3093\u306b\u3061\u306f\n"  # not representable in windows-1252
    out = rebuild(p, {"1": new})
    assert b"Content-Type: text/plain; charset=utf-8; format=flowed\n" in out
    assert b"charset=windows-1252" not in out
    q = parse(out)
    assert texts(q)["1"] == new and q.parts[0].charset == "utf-8"
    m = email.message_from_bytes(out, policy=policy.default)
    assert m.get_payload(0)["Content-Transfer-Encoding"] == "quoted-printable"
    assert b"=E3=81=93" in out


def test_7bit_part_becomes_qp_when_text_needs_it() -> None:
    p = parse(CORPUS["related_crlf"])
    out = rebuild(p, {"1.1.1": "Thanks \u2014 order " + "x" * 1200 + "\r\n"})
    m = email.message_from_bytes(out, policy=policy.default)
    plain = m.get_payload(0).get_payload(0).get_payload(0)
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"
    assert plain.get_content_charset() == "utf-8"
    assert texts(parse(out))["1.1.1"].startswith("Thanks \u2014 order xxx")
    assert max(len(line) for line in out.split(b"\r\n")) <= 998
    # ASCII text with short lines stays 7bit
    out = rebuild(p, {"1.1.1": "Thanks.\r\n"})
    plain = email.message_from_bytes(out, policy=policy.default).get_payload(0).get_payload(0).get_payload(0)
    assert plain["Content-Transfer-Encoding"] == "7bit" and plain.get_payload() == "Thanks.\r\n"


def test_part_without_mime_headers_gains_them_when_needed() -> None:
    raw = CORPUS["plain_lf"]
    p = parse(raw)
    out = rebuild(p, {"1": "Are you free at noon? \u2615\n"})
    assert out.startswith(raw.partition(b"\n\n")[0] + b"\nContent-Type: text/plain; charset=\"utf-8\"\n"
                          b"Content-Transfer-Encoding: quoted-printable\n\nAre you free at noon? =E2=98=95\n")
    assert texts(parse(out))["1"] == "Are you free at noon? \u2615\n"


def test_nested_forward_single_part_html_replaced() -> None:
    raw = CORPUS["forwarded_crlf"]
    p = parse(raw)
    new = "<p>\u3053\u3093\u306b\u3061\u306f \u3055\u3088\u3046\u306a\u3089</p>\n"
    out = rebuild(p, {"3.1": new})
    q = parse(out)
    assert texts(q)["3.1"] == new and q.parts[-1].charset == "shift_jis"
    start = raw.index(b"Subject: single part inside")
    assert out[:start] == raw[:start]
    assert out.endswith(b"\r\n--fwd1--\r\n")


@pytest.mark.parametrize("lead", ["Thanks.\n", "", "Thanks.\r\n", "x--outer and --alt mid-line\n"])
def test_new_text_cannot_forge_a_delimiter_line(lead: str) -> None:
    raw = CORPUS["related_lf"]
    p = parse(raw)
    evil = lead + "--outer\nContent-Type: text/html\n\n<img src=http://t.example/x>\n--alt--\n"
    out = rebuild(p, {"1.1.1": evil})
    q = parse(out)
    assert [t.path for t in q.parts] == [t.path for t in p.parts]
    assert texts(q)["1.1.1"] == evil.replace("\r\n", "\n")      # line breaks are the message's own (LF)
    assert b"=2D-outer\n" in out and b"\n=2D-alt--\n" in out
    assert b"\n--outer\nContent-Type: text/html" not in out
    assert lead.rstrip("\r\n").encode() in out     # dashes inside a line are left as written
    plain = email.message_from_bytes(out, policy=policy.default).get_payload(0).get_payload(0).get_payload(0)
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"


def test_drop_headers_removes_only_their_lines() -> None:
    raw = msg(b"\r\n", b"""Return-Path: <a@example.org>
Disposition-Notification-To: "Alice Example"
  <alice@example.org>
Subject: hello
X-Confirm-Reading-To: alice@example.org
disposition-notification-to: second@example.org
Content-Type: message/rfc822

From: inner@example.org
Disposition-Notification-To: inner@example.org

inner body
""")
    p = parse(raw)
    out = rebuild(p, {}, ["Disposition-Notification-To", "x-confirm-reading-to", "Return-Receipt-To"])
    assert out == msg(b"\r\n", b"""Return-Path: <a@example.org>
Subject: hello
Content-Type: message/rfc822

From: inner@example.org
Disposition-Notification-To: inner@example.org

inner body
""")
    assert parse(out).msg["Disposition-Notification-To"] is None


def test_drop_and_change_top_level_single_part() -> None:
    raw = html_meta_charset().replace(b"From: a@example.org\r\n",
                                      b"From: a@example.org\r\nReturn-Receipt-To: a@example.org\r\n")
    p = parse(raw)
    new = "<html><head><meta charset=\"koi8-r\"></head><body>\u041c\u0438\u0440</body></html>\r\n"
    out = rebuild(p, {"1": new}, ["return-receipt-to"])
    assert out == (b"From: a@example.org\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                   + new.encode("koi8-r"))


# ------------------------------------------------------------------ broken input

@pytest.mark.parametrize("raw, reason", [
    (b"", "empty"),
    (b"  \r\n\r\n", "empty"),
    (bytes(RNG.randrange(256) for _ in range(4096)), "no header block"),
    (b"\x89PNG\r\n\x1a\n" + BINARY, "no header block"),
    (b"\nSubject: starts with a blank line\n\nbody", "no header block"),
    (b"just some text, no headers\n", "no header block"),
    (b"Subject: x\x00\x00\x00\n\nbody", "NUL"),
])
def test_unreadable_input_raises_message_error(raw: bytes, reason: str) -> None:
    with pytest.raises(MessageError, match=reason):
        parse(raw)


def test_truncated_base64_is_decoded_as_far_as_possible() -> None:
    html = b"<html><body><img src='http://t.example/p.gif'> and more text here</body></html>"
    enc = base64.b64encode(html)[:-7]
    raw = (b"From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=x\n\n"
           b"--x\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" + enc + b"\n--x--\n")
    p = parse(raw)
    assert p.parts[0].text.startswith("<html><body><img src='http://t.example/p.gif'> and more")
    assert any("part 1" in e and "truncated" in e for e in p.errors)
    assert rebuild(p, {}) == raw
    out = rebuild(p, {"1": "<html><body>clean</body></html>"})
    assert texts(parse(out))["1"] == "<html><body>clean</body></html>"
    assert parse(out).errors == []


def test_unknown_and_wrong_charsets_are_repaired_and_reported() -> None:
    raw = (b"From: a@example.org\nContent-Type: multipart/mixed; boundary=x\n\n"
           b"--x\nContent-Type: text/html; charset=x-made-up\n\n<p>Gr\xc3\xbc\xc3\x9fe</p>\n"
           b"--x\nContent-Type: text/plain; charset=us-ascii\n\nna\xefve caf\xe9 \x93quoted\x94\n"
           b"--x\nContent-Type: text/plain; charset=utf-8\n\nnot utf8: \xe9t\xe9\n--x--\n")
    p = parse(raw)
    t = {x.path: x for x in p.parts}
    assert t["1"].text == "<p>Gr\u00fc\u00dfe</p>" and t["1"].charset == "utf-8"
    assert "caf\u00e9 \u201cquoted\u201d" in t["2"].text
    assert "\u00e9t\u00e9" in t["3"].text
    assert any("part 1" in e and "unknown charset 'x-made-up'" in e for e in p.errors)
    assert any("part 2" in e and "not valid us-ascii" in e for e in p.errors)
    assert any("part 3" in e and "not valid utf-8" in e for e in p.errors)
    assert rebuild(p, {}) == raw
    # a changed repaired part is written in a charset that matches its header
    out = rebuild(p, {"2": t["2"].text.replace("quoted", "cited")})
    assert texts(parse(out))["2"] == t["2"].text.replace("quoted", "cited")
    assert b'Content-Type: text/plain; charset=utf-8\n' in out


def test_python_only_codecs_are_not_mail_charsets() -> None:
    # a reader does not know "unicode_escape"; decoding with it would hide what the reader sees
    raw = b"From: a@example.org\nContent-Type: text/html; charset=unicode_escape\n\n<img src=\\x68ttp://t.example/p>\n"
    p = parse(raw)
    assert p.parts[0].text == "<img src=\\x68ttp://t.example/p>\n"
    assert any("unknown charset 'unicode_escape'" in e for e in p.errors)
    raw = (b"From: a@example.org\nContent-Type: text/html; charset=utf-16\nContent-Transfer-Encoding: 8bit\n\n"
           + "<p>hi \u2603</p>\n".encode("utf-16"))
    out = rebuild(parse(raw), {"1": "<p>bye</p>\n"})
    assert b"Content-Transfer-Encoding: base64\n" in out and texts(parse(out))["1"] == "<p>bye</p>\n"


def test_missing_close_boundary_and_nested_truncation() -> None:
    raw = (b"From: a@example.org\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n"
           b"--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n"
           b"--i\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
           b"--i\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n"
           b"--o\r\nContent-Type: text/html\r\n\r\n<p>last, cut off")
    p = parse(raw)
    assert [x.path for x in p.parts] == ["1.1", "1.2", "2"]
    assert [x.text for x in p.parts] == ["plain", "<p>html</p>", "<p>last, cut off"]
    assert any("no closing boundary" in e for e in p.errors)
    assert rebuild(p, {}) == raw
    out = rebuild(p, {"1.2": "<p>HTML</p>", "2": "<p>LAST</p>"})
    assert out == raw.replace(b"<p>html</p>", b"<p>HTML</p>").replace(b"<p>last, cut off", b"<p>LAST</p>")


def test_header_only_and_garbage_bodies_do_not_crash() -> None:
    p = parse(b"Subject: only headers\r\nFrom: a@example.org\r\n")
    assert any("no body" in e for e in p.errors)
    assert [x.text for x in p.parts] == [""]
    out = rebuild(p, {"1": "hi"})
    assert out == b"Subject: only headers\r\nFrom: a@example.org\r\n\r\nhi"
    p = parse(b"Subject: no newline at all")
    assert parse(rebuild(p, {"1": "body"})).parts[0].text == "body"
    p = parse(b"Subject: x\nContent-Type: multipart/mixed\n\nno boundary parameter\n")
    assert any("without a boundary" in e for e in p.errors)
    p = parse(b"Subject: x\nContent-Type: multipart/mixed; boundary=zz\n\nboundary never used\n")
    assert any("never appears" in e for e in p.errors)
    p = parse(b"Subject: x\nContent-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 f\n`\nend\n")
    assert p.parts == [] and any("x-uuencode" in e for e in p.errors)
    p = parse(b"Subject: x\nContent-Type: text/html\nContent-Transfer-Encoding: 8-bit\n\n<p>\xe9</p>")
    assert p.parts[0].text == "<p>\u00e9</p>" and any("unknown Content-Transfer-Encoding" in e for e in p.errors)


@pytest.mark.parametrize("depth", [300, 3000])
def test_deep_nesting_is_walked_or_refused_cleanly(depth: int) -> None:
    raw = b"From: a@example.org\nContent-Type: multipart/mixed; boundary=b0\n\n"
    raw += b"".join(b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1) for i in range(depth))
    raw += b"--b%d\nContent-Type: text/html\n\n<p>deep</p>\n" % depth
    raw += b"".join(b"--b%d--\n" % i for i in range(depth, -1, -1))
    try:
        p = parse(raw)
    except MessageError as exc:  # a nesting bomb is refused with a reason, not a RecursionError
        assert depth > 1000 and "Recursion" in str(exc)
        return
    [part] = p.parts
    assert part.path == ".".join(["1"] * (depth + 1)) and part.text == "<p>deep</p>"
    out = rebuild(p, {part.path: "<p>x</p>"})
    assert out == raw.replace(b"<p>deep</p>", b"<p>x</p>")


def test_stdlib_fallback_when_spans_disagree() -> None:
    # feedparser moves a 'From ' line that ends the header block into the body; the
    # byte scanner cannot express that, so rebuild regenerates with the stdlib.
    raw = b"Subject: odd\nX-A: 1\nFrom nobody\n\n<p>body <img src=http://t.example/p></p>\n"
    p = parse(raw)
    assert any("could not be mapped" in e for e in p.errors)
    assert rebuild(p, {}) == raw
    assert rebuild(p, {}, ["X-A"]) == raw.replace(b"X-A: 1\n", b"")  # header-only edits stay byte-exact
    out = rebuild(p, {"1": "From nobody\n<p>body</p>\n"}, ["x-a"])
    q = parse(out)
    assert texts(q)["1"] == "From nobody\n<p>body</p>\n" and q.msg["X-A"] is None
    assert q.msg["Subject"] == "odd"


def assert_readings_agree(raw: bytes) -> None:
    """The span-first reading and the stdlib's full parse give the same parts, problems, header
    fields, spans and rebuilt bytes (or the span-first reading leaves the message to the stdlib)."""
    try:
        slow = parse(raw, fast=False)
    except MessageError:
        with pytest.raises(MessageError):
            parse(raw)
        return
    fast = parse(raw)
    assert fast.parts == slow.parts
    assert fast.errors == slow.errors
    assert list(fast.msg.raw_items()) == list(slow.msg.raw_items())
    assert fast.msg.get_unixfrom() == slow.msg.get_unixfrom()
    if slow._root is None:   # the stdlib read a shape the spans cannot express: so must the fast path
        assert fast._root is None
    spans = {k: (v.node.start, v.node.hdr_end, v.node.body_start, v.node.end) if v.node else None
             for k, v in slow._leaves.items()}
    assert {k: (v.node.start, v.node.hdr_end, v.node.body_start, v.node.end) if v.node else None
            for k, v in fast._leaves.items()} == spans
    new = {t.path: t.text + "\u2603 changed" for t in slow.parts}
    assert rebuild(fast, new, ["Disposition-Notification-To"]) == rebuild(slow, new, ["Disposition-Notification-To"])
    assert rebuild(fast, {}) == rebuild(slow, {}) == raw


def _every_test_message() -> dict[str, bytes]:
    import pathlib
    import sys
    root = pathlib.Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "benchmarks"))
    import gen
    out = {f"corpus:{k}": v for k, v in CORPUS.items()}
    out.update((f"sample:{p.name}", p.read_bytes()) for p in sorted((root / "samples").glob("*.eml")))
    out.update((f"gen:{i}", m) for i, m in enumerate(gen.messages(30)))
    out.update((f"gen-heavy:{i}", m) for i, m in enumerate(gen.messages(10, style="heavy")))
    return out


EVERY_MESSAGE = _every_test_message()


@pytest.mark.parametrize("name", sorted(EVERY_MESSAGE))
def test_span_first_reading_agrees_with_the_stdlib_parse(name: str) -> None:
    assert_readings_agree(EVERY_MESSAGE[name])


def test_span_first_reading_takes_ordinary_messages_and_leaves_odd_ones() -> None:
    """The fast reading must actually run on ordinary mail (or it would cost nothing and prove
    nothing), and hand the shapes it does not take on to the stdlib."""
    from tracker_block.engine import mime
    ordinary = [k for k, v in EVERY_MESSAGE.items() if mime._parse_spans(v, b"\n") is not None]
    assert all(k in ordinary for k in EVERY_MESSAGE if k.startswith("gen"))
    for odd in (CORPUS["digest_report"], CORPUS["forwarded_crlf"],
                b"Subject: odd\nX-A: 1\nFrom nobody\n\n<p>x</p>\n",
                b"Subject: x\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\n\nno close\n"):
        assert mime._parse_spans(odd, b"\n") is None


def test_unknown_path_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        rebuild(parse(CORPUS["plain_lf"]), {"9.9": "x"})


def _mutations(raw: bytes) -> st.SearchStrategy[bytes]:
    n = len(raw)
    cut = st.integers(0, n).map(lambda i: raw[:i])
    flip = st.tuples(st.integers(0, n - 1), st.binary(min_size=1, max_size=8)).map(
        lambda t: raw[:t[0]] + t[1] + raw[t[0] + len(t[1]):])
    hole = st.tuples(st.integers(0, n), st.integers(1, 400)).map(lambda t: raw[:t[0]] + raw[t[0] + t[1]:])
    return st.one_of(cut, flip, hole)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(CORPUS)).flatmap(lambda k: _mutations(CORPUS[k])))
def test_damaged_messages_never_crash(raw: bytes) -> None:
    assert_readings_agree(raw)
    try:
        p = parse(raw)
    except MessageError:
        return
    assert rebuild(p, {}) == raw
    new = {t.path: t.text + "\u2603 changed" for t in p.parts}
    out = rebuild(p, new, ["disposition-notification-to"])
    q = parse(out)
    assert {t.path for t in q.parts} >= set(new) or q.errors
    def norm(text: str) -> str:  # new body lines take the message's own line ending
        return re.sub(r"\r*\n", "\n", text).rstrip("\n")

    for t in q.parts:
        if t.path in new and p._root is not None:
            assert norm(t.text) == norm(new[t.path])


def assert_scan_reports_as_clean(raw: bytes) -> bool:
    """A scan (``clean_for_report`` without the bytes) reports exactly what cleaning reports, though it
    skips writing the message back where that cannot fail; returns whether it skipped."""
    from tracker_block.engine import mime
    from tracker_block.engine.clean import clean_for_report

    written: list[bool] = []
    real = mime.rebuild

    def spy(*args, **kw):
        written.append(True)
        return real(*args, **kw)

    _, full = clean_for_report(raw, path="box:1")
    mime.rebuild = spy
    try:
        nothing, scanned = clean_for_report(raw, path="box:1", want_bytes=False)
    finally:
        mime.rebuild = real
    assert nothing is None
    assert scanned.to_dict() == full.to_dict() and scanned.unreadable == full.unreadable
    return not written and bool(full.findings)


def test_a_scan_reports_what_cleaning_reports_without_writing_the_message() -> None:
    skipped = [name for name, raw in EVERY_MESSAGE.items() if assert_scan_reports_as_clean(raw)]
    assert all(name in skipped for name in EVERY_MESSAGE if name.startswith("gen"))   # the saving is real


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(CORPUS)).flatmap(lambda k: _mutations(CORPUS[k])))
def test_a_scan_of_damaged_messages_reports_what_cleaning_reports(raw: bytes) -> None:
    assert_scan_reports_as_clean(raw)


def test_a_message_the_spans_cannot_express_is_still_written_by_a_scan() -> None:
    # The stdlib generator, which can fail (and the report then says so), is never skipped.
    from tracker_block.engine.mime import rebuilds_in_place
    p = parse(b"Subject: odd\nX-A: 1\nFrom nobody\n\n<p>body <img src=http://t.example/p></p>\n")
    assert not rebuilds_in_place(p, {"1": "<p>body</p>"})
    assert rebuilds_in_place(parse(CORPUS["plain_lf"]), {"1": "x"})
    assert not rebuilds_in_place(parse(CORPUS["plain_lf"]), {"9.9": "x"})


# ------------------------------------------------------------------ size

def test_large_message_is_linear_and_fast() -> None:
    m = EmailMessage()
    m["From"] = "a@example.org"
    m["Subject"] = "big"
    m.set_content("plain " * 1000)
    m.add_alternative("<p>" + "<img src='http://t.example/p.gif'> text " * 40000 + "</p>", subtype="html")
    m.add_attachment(os.urandom(3 * 1024 * 1024), maintype="application", subtype="zip", filename="a.zip")
    raw = m.as_bytes(policy=policy.SMTP)
    assert len(raw) > 5_000_000  # the 50 MB figure lives in benchmarks/bench_mime.py
    t0 = time.perf_counter()
    p = parse(raw)
    html = p.parts[1].text.replace("<img src='http://t.example/p.gif'>", "")
    out = rebuild(p, {"1.2": html})
    elapsed = time.perf_counter() - t0
    assert texts(parse(out))["1.2"] == html
    att = raw.index(b'filename="a.zip"')
    assert out[-(len(raw) - att):] == raw[att:]
    assert elapsed < 3.0, f"parse+rebuild of {len(raw) / 1e6:.1f} MB took {elapsed:.2f}s"


def _mime_answers(m) -> tuple:
    """Every MIME question the readers ask of an entity's fields."""
    def ask(f):
        try:
            return f()
        except Exception as exc:  # noqa: BLE001 - both readings must fail alike
            return type(exc).__name__
    return (ask(m.get_content_type), ask(m.get_params), ask(m.get_boundary), ask(m.get_content_charset),
            ask(m.get_content_disposition), ask(m.get_filename), ask(lambda: str(m.get("content-transfer-encoding"))),
            ask(lambda: m.get_param("charset")))


def test_plain_mime_fields_are_answered_as_the_stdlib_parser_answers() -> None:
    """The span-first reading skips policy.default's parser for MIME fields of the plainest shape;
    on such values (and near misses, which take the parser) every answer must be the parser's."""
    from tracker_block.engine import mime
    rng = random.Random(99)
    tok = "abcXYZ019!#$%&'*+.^_`|~-"
    quoted = tok + " ;=/:,@<>?[]()'\t"

    def pick(chars: str, lo: int, hi: int) -> str:
        return "".join(rng.choice(chars) for _ in range(rng.randint(lo, hi)))

    def ws() -> str:
        return rng.choice(["", "", " ", "\t", " \r\n ", "\r\n\t", "  "])

    plain = 0
    for _ in range(4000):
        kind = rng.choice(["Content-Type", "Content-Disposition", "Content-Transfer-Encoding"])
        value = pick(tok, 1, 8) + ("/" + pick(tok, 1, 8) if kind == "Content-Type" and rng.random() < 0.95 else "")
        if kind != "Content-Transfer-Encoding" or rng.random() < 0.1:
            for _ in range(rng.randint(0, 3)):
                name = rng.choice(["charset", "boundary", "name", "filename", "format", pick(tok, 1, 6)])
                val = pick(tok, 1, 10) if rng.random() < 0.5 else '"' + pick(quoted, 0, 12) + '"'
                value += ws() + ";" + ws() + name + "=" + rng.choice(["", "", " "]) + val
        value = value.rstrip() + rng.choice(["", "", "", " ", ";", "\t"])
        fast, std = mime._Headers(), EmailMessage(policy=policy.default)
        for m in (fast, std):
            m.set_raw(kind, value)
        plain += bool(mime._PLAIN_FIELDS[kind.lower()].match(value.replace("\r", "").replace("\n", "")))
        assert _mime_answers(fast) == _mime_answers(std), (kind, value)
    assert plain > 1000       # the shortcut was exercised, not only the parser


def test_parts_are_encoded_as_the_stdlib_encodes_them() -> None:
    """Changed parts are re-encoded by the core: quoted-printable byte for byte as binascii.b2a_qp
    (quotetabs off, text mode) writes it, line lengths and trailing blanks included; base64 as
    base64.encodebytes writes it."""
    import binascii

    from tracker_block import _core
    rng = random.Random(3)
    pieces = [b" ", b"\t", b"\n", b"\r\n", b"\r", b".", b"=", b"\xc3\xa9", b"\x00", b"~", b"_"]
    for _ in range(20000):
        if rng.random() < 0.5:
            data = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 2, 75, 76, 77, 160])))
        else:
            data = b"".join(rng.choice(pieces + [b"a" * rng.randint(0, 90)]) for _ in range(rng.randint(0, 14)))
        assert _core.qp_encode(data) == binascii.b2a_qp(data, quotetabs=False, istext=True, header=False), data
    for n in [*range(0, 240), 57 * 1000, 57 * 1000 + 1, 100_003]:
        data = bytes(rng.randrange(256) for _ in range(n))
        assert _core.base64_lines(data) == base64.encodebytes(data), n


@pytest.mark.parametrize("name", ["From", "to", "SUBJECT", "Date", "Message-ID", "Content-Type", "content-disposition",
                                  "MIME-Version", "X-Mailer", "x-anything", "Received", "List-Unsubscribe"])
@pytest.mark.parametrize("value", ['"A, B" <a@b.example>', "=?utf-8?q?caf=C3=A9?= x", "Tue, 4 Mar 2024 8:26 -0000",
                                  "text/html; charset=\"utf-8\"", "<x@y>", "not < a > valid, header", ""])
def test_header_classes_made_once_read_as_policy_default(name: str, value: str) -> None:
    # mime.POLICY shares each header class instead of making one per field; it must read every
    # field as policy.default does (text, class, parameters and defects).
    from tracker_block.engine import mime
    ours, std = mime.POLICY.header_fetch_parse(name, value), policy.default.header_fetch_parse(name, value)
    assert (str(ours), type(ours).__name__, type(ours).__mro__[1:]) == (str(std), type(std).__name__, type(std).__mro__[1:])
    assert [type(d) for d in ours.defects] == [type(d) for d in std.defects]
    assert getattr(ours, "params", None) == getattr(std, "params", None)
    assert mime.POLICY.header_factory[name] is mime.POLICY.header_factory[name.swapcase()]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.integers(0, 40), st.integers(995, 1002)), st.sampled_from([b"\n", b"\r", b"\r\n", b""])), max_size=4),
       st.sampled_from([b"x", b"\x0b", b"\xff", b" "]))
def test_long_line_check_answers_as_the_regex_it_replaced(runs, fill) -> None:
    from tracker_block.engine import mime
    data = b"".join(fill * n + end for n, end in runs)
    assert mime._has_long_line(data) == bool(re.search(rb"[^\r\n]{999}", data))

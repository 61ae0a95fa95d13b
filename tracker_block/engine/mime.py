"""MIME walking and byte-preserving rebuilding.

Why byte-preserving: a cleaned message should differ from the original only where a
tracker was removed.  Re-serialising with the stdlib generator refolds headers,
renames boundaries, changes line endings and re-encodes attachments, which breaks
signatures users can see and makes diffs useless.  So the stdlib parse (policy.default)
tells us *what* the parts are, and a small span scanner that follows the same rules as
``email.feedparser`` tells us *where* their bytes are.  ``rebuild`` splices new bodies
into the original bytes.  When the two views disagree we fall back to the stdlib
generator and say so in ``errors``.
"""
from __future__ import annotations

import binascii
import codecs
import functools
import io
import re
from dataclasses import dataclass, field
from email import headerregistry as _headerregistry, policy as _email_policy
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from typing import Iterable

from tracker_block import _core


__all__ = ["MessageError", "TextPart", "ParsedMessage", "parse", "rebuild", "rebuilds_in_place", "header_fields"]


class MessageError(Exception):
    """The input cannot be read as a mail message at all."""


@dataclass
class TextPart:
    """A text/html or text/plain leaf, decoded; ``path`` is its IMAP-style section number."""
    path: str
    subtype: str
    text: str
    charset: str
    is_attachment: bool


@dataclass
class _Node:
    """Byte span of one entity: header fields [start, hdr_end), body [body_start, end)."""
    start: int
    hdr_end: int
    body_start: int
    end: int
    children: list["_Node"] = field(default_factory=list)
    glued: bool = False          # inner message of a message/* part whose header lacks its blank line
    ctype: str = ""              # the entity's content type, read once (policy.default re-parses per read)
    boundary: str = ""           # a multipart's boundary, likewise


@dataclass
class _Leaf:
    part: TextPart
    obj: Message                 # stdlib entity
    node: _Node | None           # None when byte spans could not be mapped
    cte: str                     # normalised transfer encoding as written
    declared: str | None         # charset parameter from the header, lowercased
    meta: str | None             # <meta charset> of an HTML part without header charset
    linesep: bytes
    body_ends_eol: bool
    boundaries: tuple[bytes, ...] = ()   # of every enclosing multipart: new lines must not match


@dataclass
class ParsedMessage:
    """``parse`` result: the stdlib message (for headers), its text parts, per-part problems."""
    msg: EmailMessage
    parts: list[TextPart]
    errors: list[str]
    _raw: bytes = field(default=b"", repr=False)
    _leaves: dict[str, _Leaf] = field(default_factory=dict, repr=False)
    _root: _Node | None = field(default=None, repr=False)
    _linesep: bytes = field(default=b"\r\n", repr=False)


# --------------------------------------------------------------------------- parse

class _HeaderClasses(_headerregistry.HeaderRegistry):
    """``policy.default``'s header classes, each made once: the stdlib makes a new class (``type()``)
    every time it parses a field, a third of the cost of parsing a plain one. Bounded: every name
    the registry does not know shares the one default class, as the stdlib's classes are alike."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str | None, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        key_or_default = key if key in self.registry else None
        cls = self._made.get(key_or_default)
        if cls is None:
            cls = self._made[key_or_default] = super().__getitem__(key)
        return cls


# policy.default, its header classes made once (the report's header fields are read through it too).
POLICY = _email_policy.default.clone(header_factory=_HeaderClasses())
_EOL = re.compile(rb"\r\n|\r|\n")
_BLANK_LINE = re.compile(rb"\n\r?\n")
_HEADER_LINE = re.compile(rb"From |[\x21-\x39\x3b-\x7e]*:|[ \t]")   # feedparser.headerRE
_FIRST_FIELD = re.compile(rb"[A-Za-z0-9][A-Za-z0-9_.\-]*[ \t]*:")
_TEXT_TYPES = {"text/html": "html", "text/plain": "plain"}
_UUENCODE = {"x-uuencode", "uuencode", "x-uue", "uue"}
_IDENTITY_CTE = {"7bit", "8bit", "binary"}
_DEFECT_NOTES = {
    "CloseBoundaryNotFoundDefect": "multipart has no closing boundary (message probably truncated)",
    "StartBoundaryNotFoundDefect": "multipart boundary never appears; body kept as one opaque part",
    "NoBoundaryInMultipartDefect": "multipart without a boundary parameter; body kept as one opaque part",
    "MultipartInvariantViolationDefect": "declared multipart but could not be split into parts",
}


def parse(raw: bytes, *, fast: bool = True) -> ParsedMessage:
    """Parse ``raw`` into its text parts; raise MessageError only for non-messages.

    A message of ordinary shape is read from its byte spans alone (``_parse_spans``), reading only
    its header blocks with the stdlib; anything unusual, and every case where ``fast`` is False,
    takes the stdlib's full parse, which costs a Python call per line of every part."""
    raw = bytes(raw)
    linesep = _check_readable(raw)
    if fast:
        parsed = _parse_spans(raw, linesep)
        if parsed is not None:
            return parsed
    try:
        msg = BytesParser(policy=POLICY).parsebytes(raw)
    except Exception as exc:  # stdlib header parser bugs on hostile input
        raise MessageError(f"cannot parse message structure: {type(exc).__name__}: {exc}") from exc
    errors: list[str] = []
    try:
        root: _Node | None = _map_entity(raw, 0, len(raw), msg)
    except (_Mismatch, RecursionError) as exc:
        root = None
        errors.append(f"MIME structure could not be mapped to bytes ({exc or 'too deep'}); "
                      "a changed message is regenerated with the stdlib generator")
    leaves: dict[str, _Leaf] = {}
    parts: list[TextPart] = []
    walker = _Walker(raw, linesep, errors, leaves, parts)
    try:
        walker.entity(msg, root, "1", top=True)
    except RecursionError:
        errors.append("MIME nesting too deep; inner parts ignored")
    if not msg.is_multipart() and root is not None and root.body_start >= len(raw):
        errors.append("message has no body (header block only)")
    return ParsedMessage(msg, parts, errors, raw, leaves, root, linesep)


def header_fields(raw: bytes, limit: int = 1 << 20) -> Message:
    """The top header block as the stdlib's compat32 header parser reads it (what callers that only
    look up a From or a To need). Only the block, up to ``limit`` bytes, is handed over: given the
    whole message, the parser would also split the body into lines."""
    blank = _BLANK_LINE.search(raw, 0, limit)
    return BytesHeaderParser(policy=_email_policy.compat32).parsebytes(raw[:blank.end()] if blank else raw[:limit])


def _check_readable(raw: bytes) -> bytes:
    """Reject what is not a message at all; return the message's own line ending."""
    if not raw or raw.isspace():
        raise MessageError("empty input")
    pos = 0
    if raw.startswith(b"From "):           # mbox envelope line
        m = _EOL.search(raw)
        pos = m.end() if m else len(raw)
    if not _FIRST_FIELD.match(raw, pos):
        raise MessageError("no header block: input does not start with a header field "
                           "such as 'From: ...' (not a mail message?)")
    blank = _BLANK_LINE.search(raw, pos, 1 << 20)     # the first "\n\n" or "\r\n\r\n"
    head = raw[pos:blank.start() if blank else min(len(raw), 1 << 20)]
    if b"\x00" in head:
        raise MessageError("header block contains NUL bytes (binary data, not a mail message)")
    m = _EOL.search(raw)
    return b"\n" if m and m.group() == b"\n" else b"\r\n"


class _Mismatch(Exception):
    pass


def _split_header(raw: bytes, start: int, end: int) -> tuple[int, int]:
    """Return (hdr_end, body_start) following feedparser's header rules."""
    pos = start
    while pos < end:
        m = _EOL.search(raw, pos, end)
        nxt = m.end() if m else end
        if m and m.start() == pos:              # empty line: separator, thrown away
            return pos, nxt
        if not _HEADER_LINE.match(raw, pos, end):
            return pos, pos                     # body starts without separator
        pos = nxt
    return end, end


def _strip_eol(raw: bytes, start: int, stop: int) -> int:
    if stop - start >= 2 and raw[stop - 2:stop] == b"\r\n":
        return stop - 2
    if stop > start and raw[stop - 1] in b"\r\n":
        return stop - 1
    return stop


def _split_multipart(raw: bytes, start: int, end: int, boundary: str
                     ) -> tuple[list[tuple[int, int]], bool] | None:
    """Spans of the body parts between delimiter lines, as feedparser splits them, and whether
    the closing delimiter was found."""
    try:
        bnd = boundary.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return None
    delims = _delimiter_lines(raw, start, end, b"--" + bnd)
    if not delims or delims[0][2]:
        return None
    spans: list[tuple[int, int]] = []
    i = 0
    while True:
        j = i + 1
        while j < len(delims) and delims[j][0] == delims[j - 1][1]:
            j += 1                              # runs of delimiter lines make no parts
        ps = delims[j - 1][1]
        if j < len(delims):
            spans.append((ps, _strip_eol(raw, ps, delims[j][0])))
        else:
            spans.append((ps, _strip_eol(raw, ps, end) if end == len(raw) else end))
            return spans, False
        if delims[j][2]:
            return spans, True
        i = j


def _delimiter_lines(raw: bytes, start: int, end: int, dashed: bytes) -> list[tuple[int, int, bool]]:
    """(start, end, closing) of every delimiter line in raw[start:end]: a line holding ``dashed``
    (``--`` and the boundary), an optional ``--``, blanks and the line's end, as the feedparser
    matches them. Found with ``bytes.find``: a regex compiled per boundary cost more than the scan."""
    out: list[tuple[int, int, bool]] = []
    n = len(dashed)
    i = raw.find(dashed, start, end)
    while i >= 0:
        j = i + n
        closing = raw.startswith(b"--", j, end)
        k = j + 2 if closing else j
        while k < end and raw[k] in b" \t":
            k += 1
        if k == end:
            stop = k
        elif raw[k] == 13:
            stop = k + 2 if k + 1 < end and raw[k + 1] == 10 else k + 1
        elif raw[k] == 10:
            stop = k + 1
        else:                                     # not a delimiter line: look further on
            i = raw.find(dashed, i + 1, end)
            continue
        if i == start or raw[i - 1] in b"\r\n":
            out.append((i, stop, closing))
        i = raw.find(dashed, stop, end)
    return out


def _ctype(obj: Message) -> str:
    try:
        return obj.get_content_type()
    except Exception:
        return "text/plain"


def _map_entity(raw: bytes, start: int, end: int, obj: Message) -> _Node:
    hdr_end, body_start = _split_header(raw, start, end)
    node = _Node(start, hdr_end, body_start, end)
    payload = obj._payload
    ctype = node.ctype = _ctype(obj)
    if isinstance(payload, list):
        if ctype == "message/delivery-status":
            return node                         # header blocks, no text; opaque
        if ctype.startswith("message/"):
            if len(payload) != 1:
                raise _Mismatch(f"{ctype} with {len(payload)} messages")
            inner = _map_entity(raw, body_start, end, payload[0])
            inner.glued = body_start == hdr_end
            node.children.append(inner)
        elif ctype.startswith("multipart/"):
            node.boundary = obj.get_boundary() or ""
            split = _split_multipart(raw, body_start, end, node.boundary)
            spans = split[0] if split is not None else []
            if len(spans) != len(payload) or not spans:
                raise _Mismatch(f"{ctype}: found {len(spans)} parts, stdlib found {len(payload)}")
            node.children = [_map_entity(raw, s, e, p) for (s, e), p in zip(spans, payload)]
        else:
            raise _Mismatch(f"{ctype} holds sub-messages")
        return node
    # Only text leaves are ever re-read from or written to these bytes, so only they must match.
    if ctype in _TEXT_TYPES and isinstance(payload, str) and not _same_body(raw, body_start, end, payload):
        raise _Mismatch(f"{ctype} body differs from the stdlib payload")
    return node


def _same_body(raw: bytes, start: int, end: int, payload: str) -> bool:
    try:
        pb = payload.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return False
    n = len(pb)
    if n == end - start:
        return raw[start:end] == pb
    if 0 < n - (end - start) <= 2:              # one trailing EOL attributed differently
        return raw[start:end] == pb[:end - start] and pb[end - start:] in (b"\r\n", b"\n", b"\r")
    if 0 < (end - start) - n <= 2:
        return raw[start:start + n] == pb and raw[start + n:end] in (b"\r\n", b"\n", b"\r")
    return False


# --------------------------------------------------------------------------- span-first reading

class _Unusual(Exception):
    """The message has a shape the span-first reading does not take on; the stdlib parse reads it."""


_ABSENT = object()
_TEXT_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_MAX_FAST_DEPTH = 32


_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
_PARAMS = r"(?:[ \t]*;[ \t]*[A-Za-z][A-Za-z0-9-]*=(?:[A-Za-z0-9._+-]+|\"[!#-\[\]-~](?:[ !#-\[\]-~]*[!#-\[\]-~])?\"))*[ \t]*\Z"
# Field values of the plainest shape (RFC 2045 tokens; parameters named without RFC 2231 '*', their
# values tokens or quoted printable ASCII without escapes, neither empty nor blank at either end), on
# which the stdlib's plain reading of the unfolded text answers every MIME question as policy.default's
# parser does (tests/test_mime.py checks that on generated values): for them the parser need not run.
_PLAIN_FIELDS = {
    "content-type": re.compile(r"[ \t]*" + _TOKEN + "/" + _TOKEN + _PARAMS),
    "content-disposition": re.compile(r"[ \t]*" + _TOKEN + _PARAMS),
    "content-transfer-encoding": re.compile(r"[ \t]*" + _TOKEN + r"[ \t]*\Z"),
}


_PARAM_NAME = re.compile(r";[ \t]*([A-Za-z][A-Za-z0-9-]*)=")


def _distinct_names(flat: str) -> bool:
    """No parameter named twice (the parser keeps only the first of a repeated one)."""
    names = [n.lower() for n in _PARAM_NAME.findall(flat)]
    return len(names) == len(set(names))


class _Headers(EmailMessage):
    """One entity's header fields (no body), read as ``policy.default`` reads them, each field parsed
    once (the stdlib parses Content-Type anew on every ``get``), and a plain MIME field not parsed
    at all (see ``_PLAIN_FIELDS``). Read only."""

    def __init__(self) -> None:
        super().__init__(policy=POLICY)
        self._memo: dict[str, object] = {}

    def get(self, name, failobj=None):  # type: ignore[override]
        key = name.lower()
        value = self._memo.get(key, _ABSENT)
        if value is _ABSENT:
            value = self._memo[key] = self._read(key)
        return failobj if value is _ABSENT else value

    def _read(self, key: str) -> object:
        shape = _PLAIN_FIELDS.get(key)
        if shape is not None:
            for k, v in self._headers:
                if k.lower() == key:
                    flat = v.replace("\r", "").replace("\n", "")      # as header_fetch_parse unfolds
                    if shape.match(flat) and _distinct_names(flat):
                        return flat
                    break
        return super().get(key, _ABSENT)


def _read_fields(raw: bytes, start: int, hdr_end: int, top: bool) -> _Headers:
    """An entity's header block as the feedparser stores it (``_parse_headers``); a field shape it
    would note as a defect, or push back into the body, is left to it."""
    head = _Headers()
    lines = _TEXT_LINES.findall(raw[start:hdr_end].decode("ascii", "surrogateescape"))
    field: list[str] = []
    for lineno, line in enumerate(lines):
        if line[0] in " \t":
            if not field:
                raise _Unusual("header block starts with a continuation line")
            field.append(line)
            continue
        if field:
            head.set_raw(*POLICY.header_source_parse(field))
            field = []
        if line.startswith("From "):
            if not (top and lineno == 0):
                raise _Unusual("'From ' line inside a header block")
            head.set_unixfrom(line.rstrip("\r\n"))
            continue
        if line.find(":") <= 0:
            raise _Unusual("header field without a name")
        field = [line]
    if field:
        head.set_raw(*POLICY.header_source_parse(field))
    return head


class _SpanReader:
    """Builds the span tree and the text leaves of a message of ordinary shape without the stdlib's
    line-by-line body parse: every entity has a header block ended by a blank line, every multipart
    a boundary, an opening and a closing delimiter, and no part is a message/* or a digest.

    Where those hold, the feedparser's split is the span scanner's (the slow path checks the two
    against each other on every message it reads); ``tests/test_mime.py`` runs both readings over
    every message the tests hold and requires the same parts, errors and rebuilt bytes."""

    def __init__(self, raw: bytes, linesep: bytes) -> None:
        self.raw = raw
        self.errors: list[str] = []
        self.leaves: dict[str, _Leaf] = {}
        self.parts: list[TextPart] = []
        self.walker = _Walker(raw, linesep, self.errors, self.leaves, self.parts)

    def entity(self, start: int, end: int, path: str, top: bool, bounds: tuple[bytes, ...],
               depth: int) -> tuple[_Node, _Headers]:
        if depth > _MAX_FAST_DEPTH:
            raise _Unusual("deep nesting")
        raw = self.raw
        hdr_end, body_start = _split_header(raw, start, end)
        if body_start == hdr_end and not (top and body_start == end):
            raise _Unusual("header block without its blank line")
        head = _read_fields(raw, start, hdr_end, top)
        node = _Node(start, hdr_end, body_start, end)
        ctype = node.ctype = _ctype(head)
        if ctype.startswith("multipart/"):
            boundary = head.get_boundary()
            if not boundary or ctype == "multipart/digest":
                raise _Unusual("multipart without a boundary, or a digest")
            try:
                bnd = boundary.encode("ascii")
            except UnicodeEncodeError:
                raise _Unusual("non-ASCII boundary") from None
            split = _split_multipart(raw, body_start, end, boundary)
            if split is None or not split[1] or bnd in bounds:
                raise _Unusual("multipart without opening or closing delimiter")
            node.boundary = boundary
            inner = bounds + (bnd,)
            for i, (s, e) in enumerate(split[0], 1):
                child, _ = self.entity(s, e, f"{i}" if top else f"{path}.{i}", False, inner, depth + 1)
                node.children.append(child)
        elif ctype.startswith("message/"):
            raise _Unusual("message/* part")
        elif ctype in _TEXT_TYPES:
            self.walker.leaf(head, raw[body_start:end], node, path, _TEXT_TYPES[ctype], bounds)
        return node, head


def _parse_spans(raw: bytes, linesep: bytes) -> ParsedMessage | None:
    """``parse`` for a message of ordinary shape (see ``_SpanReader``); None for any other."""
    reader = _SpanReader(raw, linesep)
    try:
        root, head = reader.entity(0, len(raw), "1", True, (), 0)
    except (_Unusual, RecursionError):
        return None
    if not root.children and root.body_start >= len(raw):
        reader.errors.append("message has no body (header block only)")
    return ParsedMessage(head, reader.parts, reader.errors, raw, reader.leaves, root, linesep)


class _Walker:
    """Assigns IMAP-style part paths and decodes every text/html and text/plain leaf."""

    def __init__(self, raw: bytes, linesep: bytes, errors: list[str],
                 leaves: dict[str, _Leaf], parts: list[TextPart]) -> None:
        self.raw, self.linesep, self.errors, self.leaves, self.parts = raw, linesep, errors, leaves, parts

    def entity(self, obj: Message, node: _Node | None, path: str, top: bool = False,
               bounds: tuple[bytes, ...] = ()) -> None:
        ctype = node.ctype if node is not None else _ctype(obj)
        label = "message" if top else f"part {path}"
        for d in getattr(obj, "defects", ()):
            note = _DEFECT_NOTES.get(type(d).__name__)
            if note:
                self.errors.append(f"{label} ({ctype}): {note}")
        payload = obj._payload
        kids = node.children if node is not None else None
        if isinstance(payload, list) and ctype.startswith("multipart/"):
            try:
                boundary = node.boundary if node is not None else (obj.get_boundary() or "")
                bounds = bounds + (boundary.encode("ascii", "surrogateescape"),)
            except Exception:
                pass
            for i, child in enumerate(payload, 1):
                sub = f"{i}" if top else f"{path}.{i}"
                self.entity(child, kids[i - 1] if kids is not None else None, sub, bounds=bounds)
        elif isinstance(payload, list) and ctype.startswith("message/") and ctype != "message/delivery-status":
            # IMAP numbering: a multipart inside message/rfc822 at P has children P.1, P.2 ...;
            # a single-part inner message has its body at P.1.
            inner = payload[0]
            inner_node = kids[0] if kids else None
            inner_type = inner_node.ctype if inner_node is not None else _ctype(inner)
            inner_multi = isinstance(inner._payload, list) and inner_type.startswith("multipart/")
            self.entity(inner, inner_node, path if inner_multi else f"{path}.1", bounds=bounds)
        elif ctype in _TEXT_TYPES and isinstance(payload, str):
            if node is not None:
                body = self.raw[node.body_start:node.end]
            else:
                body = payload.encode("ascii", "surrogateescape") if payload else b""
            self.leaf(obj, body, node, path, _TEXT_TYPES[ctype], bounds)

    def leaf(self, obj: Message, body: bytes, node: _Node | None, path: str, subtype: str,
             bounds: tuple[bytes, ...]) -> None:
        """Decode one text leaf; ``obj`` need only carry the entity's header fields."""
        linesep = self.linesep
        where = f"part {path} (text/{subtype})"
        cte = _cte(obj)
        if cte in _UUENCODE:
            self.errors.append(f"{where}: {cte} transfer encoding not supported; part left as is")
            return
        if cte == "base64":
            data, problem = _b64decode(body)
            if problem:
                self.errors.append(f"{where}: {problem}")
        elif cte == "quoted-printable":
            data = binascii.a2b_qp(body)
        else:
            if not cte:                           # no header: 7bit, or de-facto 8bit
                cte = "7bit" if body.isascii() else "8bit"
            elif cte not in _IDENTITY_CTE:
                self.errors.append(f"{where}: unknown Content-Transfer-Encoding {cte!r}; read as 8bit")
            data = body
        declared = _declared_charset(obj)
        text, charset, meta = _decode_text(data, declared, subtype, where, self.errors)
        try:
            is_att = obj.get_content_disposition() == "attachment"
        except Exception:
            is_att = False
        part = TextPart(path, subtype, text, charset, is_att)
        self.parts.append(part)
        self.leaves[path] = _Leaf(part, obj, node, cte, declared, meta, linesep,
                                  body.endswith((b"\n", b"\r")), tuple(b for b in bounds if b))


def _cte(obj: Message) -> str:
    try:
        value = str(obj.get("content-transfer-encoding", "") or "")
    except Exception:
        return ""
    m = re.match(r"\s*\"?([A-Za-z0-9_.\-]+)", value)
    return m.group(1).lower() if m else ""


def _declared_charset(obj: Message) -> str | None:
    try:
        cs = obj.get_content_charset()
    except Exception:
        return None
    if not cs:
        return None
    cs = cs.strip().strip('"').strip()
    return cs or None


# Python codecs no mail client knows: decoding with them would show the engine other text
# than the reader sees (unicode_escape turns "\\x68" into "h").
_NOT_MAIL_CHARSETS = {"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined",
                      "mbcs", "oem", "charmap", "utf-7", "palmos"}


def _codec(name: str | None) -> str | None:
    """Python codec name for a MIME charset label, or None if unknown or unsuitable."""
    if not name:
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, UnicodeError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name.replace("_", "-") in _NOT_MAIL_CHARSETS:
        return None
    return info.name


_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/=]+")
_B64_MID_PAD = re.compile(rb"=[^A-Za-z0-9+/]*[A-Za-z0-9+/]")


def _b64decode(body: bytes) -> tuple[bytes, str | None]:
    """Lenient base64: what a mail client would show, plus a note when it was broken."""
    if not _B64_MID_PAD.search(body):
        try:
            return binascii.a2b_base64(body), None
        except binascii.Error:
            pass
    clean = _B64_JUNK.sub(b"", body)
    out = []
    truncated = False
    for chunk in re.split(rb"(?<==)(?=[A-Za-z0-9+/])", clean):
        chunk = chunk.replace(b"=", b"")
        rem = len(chunk) % 4
        if rem == 1:
            chunk, truncated = chunk[:-1], True
        elif rem:
            truncated = truncated or not chunk.endswith(b"=")
            chunk += b"=" * (4 - rem)
        try:
            out.append(binascii.a2b_base64(chunk))
        except binascii.Error:
            truncated = True
    if truncated:
        return b"".join(out), "base64 body is truncated or malformed; decoded what was readable"
    return b"".join(out), "base64 body has padding inside it (joined chunks); decoded each chunk"


_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "shift_jis": "cp932", "euc_kr": "cp949",
              "big5": "big5hkscs", "iso8859-9": "cp1254", "tis-620": "cp874", "iso8859-11": "cp874"}


# A part read with a guessed charset is still cleaned: the report says so, but it is a note, not an error.
_GUESSED = ": decoded as "
_GUESSED_NOTE = re.compile(re.escape(_GUESSED) + r"[\w.:-]+$")


def is_charset_note(error: str) -> bool:
    """Is this report line only the note that a part's charset was guessed (the part was cleaned)?"""
    return _GUESSED_NOTE.search(error) is not None


def _decode_text(data: bytes, declared: str | None, subtype: str, where: str,
                 errors: list[str]) -> tuple[str, str, str | None]:
    """Decode body bytes; returns (text, charset used, meta charset or None)."""
    is_html = subtype == "html"
    exclude: list[str] = []
    meta = None
    if declared:
        codec = _codec(declared)
        if codec is None:
            errors.append(f"{where}: unknown charset {declared!r}")
        else:
            try:
                return data.decode(codec), declared, None
            except UnicodeError:
                sup = _SUPERSETS.get(codec)
                if sup:
                    try:
                        return data.decode(sup), sup, None
                    except UnicodeError:
                        pass
                errors.append(f"{where}: body is not valid {declared}")
                exclude.append(codec)
    else:
        if data.isascii():
            return data.decode("ascii"), "us-ascii", None
        if is_html:
            from bs4.dammit import EncodingDetector   # imported only when a charset must be found
            meta = EncodingDetector.find_declared_encoding(data, is_html=True)
            codec = _codec(meta)
            if codec:
                try:
                    return data.decode(codec), meta, meta
                except UnicodeError:
                    errors.append(f"{where}: body is not valid {meta} (from <meta charset>)")
                    exclude.append(codec)
                    meta = None
            else:
                meta = None
        try:
            return data.decode("utf-8"), "utf-8", meta
        except UnicodeError:
            exclude.append("utf-8")
    text, used = _guess(data, is_html, exclude)
    errors.append(f"{where}{_GUESSED}{used}")
    return text, used, meta


_PLAUSIBLE_LABELS = (
    "utf-8", "cp1252", "latin-1", "iso-8859-2", "iso-8859-5", "iso-8859-7", "iso-8859-15", "cp1250",
    "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "koi8-r", "koi8-u", "shift_jis", "cp932",
    "euc-jp", "iso-2022-jp", "gb2312", "gbk", "gb18030", "big5", "euc-kr", "cp949", "tis-620", "cp874")


@functools.cache
def _plausible() -> frozenset[str | None]:
    """Codecs a statistical guess may pick; built on first need (looking up the CJK codecs at import
    cost every start-up 12 ms)."""
    return frozenset(_codec(n) for n in _PLAUSIBLE_LABELS)


_HIGH = bytes(range(128, 256))


def _guess(data: bytes, is_html: bool, exclude: list[str]) -> tuple[str, str]:
    if "utf-8" not in exclude:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeError:
            pass
    sample = data if len(data) <= 262144 else data[:262144]
    # Detectors guess wildly on a few accented letters; below that, windows-1252 (what
    # browsers assume for unlabeled Western text) is the better bet.
    if len(sample) - len(sample.translate(None, _HIGH)) >= 32:
        # bs4's order: BOM, <meta> declaration, statistical guess, then utf-8/windows-1252
        from bs4.dammit import EncodingDetector
        for enc in EncodingDetector(sample, is_html=is_html, exclude_encodings=exclude).encodings:
            codec = _codec(enc)
            if codec in _plausible() and codec not in exclude:
                try:
                    return data.decode(codec), enc
                except UnicodeError:
                    continue
    for codec in ("cp1252", "latin-1"):
        try:
            return data.decode(codec), "windows-1252" if codec == "cp1252" else "iso-8859-1"
        except UnicodeError:
            continue
    return data.decode("latin-1"), "iso-8859-1"  # unreachable: latin-1 decodes every byte


# --------------------------------------------------------------------------- rebuild

def rebuilds_in_place(parsed: ParsedMessage, new_texts: dict[str, str]) -> bool:
    """Will ``rebuild`` splice these bodies into the original bytes (every part's span known)? That
    way raises nothing (only the stdlib generator's fallback can fail), so a caller that wants the
    report but not the bytes may skip it."""
    leaves = parsed._leaves
    return parsed._root is not None and all(p in leaves and leaves[p].node is not None for p in new_texts)


def rebuild(parsed: ParsedMessage, new_texts: dict[str, str], drop_headers: Iterable[str] = ()) -> bytes:
    """Original bytes with only changed text bodies re-encoded and dropped headers removed."""
    raw = parsed._raw
    changes: dict[str, str] = {}
    for path, text in new_texts.items():
        leaf = parsed._leaves.get(path)
        if leaf is None:
            raise KeyError(f"no text part with path {path!r}")
        if text != leaf.part.text:
            changes[path] = text
    drop = {h.strip().lower().encode("ascii", "replace") for h in drop_headers if h and h.strip()}
    if parsed._root is None:
        if not changes:
            # the top-level header block is found the same way whatever lies below it
            hdr_end, _ = _split_header(raw, 0, len(raw))
            block = _rewrite_headers(raw[:hdr_end], drop, None, None, "plain", parsed._linesep)
            return block + raw[hdr_end:] if drop else raw
        return _rebuild_stdlib(parsed, changes, drop)

    root = parsed._root
    hdr_edits: dict[int, dict] = {}
    bodies: list[tuple[_Node, bytes, bytes]] = []          # node, new body, line ending
    if drop:
        hdr_edits[id(root)] = {"node": root, "drop": drop}
    for path, text in changes.items():
        leaf = parsed._leaves[path]
        body, new_cte, new_charset = _encode_body(leaf, text)
        node = leaf.node
        assert node is not None
        if new_cte or new_charset:
            e = hdr_edits.setdefault(id(node), {"node": node})
            e["cte"], e["charset"], e["subtype"] = new_cte, new_charset, leaf.part.subtype
            e["linesep"] = leaf.linesep
        bodies.append((node, body, leaf.linesep))
    edits: list[tuple[int, int, int, bytes]] = []   # start, order at that offset, end, bytes
    blocks: dict[int, bytes] = {}
    for e in hdr_edits.values():
        node = e["node"]
        block = _rewrite_headers(raw[node.start:node.hdr_end], e.get("drop", set()), e.get("cte"),
                                 e.get("charset"), e.get("subtype", "plain"),
                                 e.get("linesep", parsed._linesep))
        blocks[id(node)] = block
        edits.append((node.start, 1, node.hdr_end, block))
    for node, body, linesep in bodies:
        if node.body_start == node.hdr_end and body:
            # header block without a separator line: add one so the body is not read as headers
            block = blocks.get(id(node), raw[node.start:node.hdr_end])
            sep = linesep * 2 if block and not _ends_line(block, linesep) else linesep
            body = sep + body
        start = node.body_start
        if start > node.hdr_end and raw[start - 1:start] == b"\r" and body.startswith(b"\n"):
            start, body = node.hdr_end, linesep + body     # a bare-CR separator would merge
        edits.append((start, 2, node.end, body))
    touched = {id(n): n for n, _, _ in bodies}
    touched.update((k, e["node"]) for k, e in hdr_edits.items())
    for node in touched.values():
        lead = _lead(raw, node, parsed._linesep)
        if lead:
            edits.append((node.start, 0, node.start, lead))
    edits.sort(key=lambda x: (x[0], x[1]))
    out = []
    pos = 0
    for start, _, end, data in edits:
        out.append(raw[pos:start])
        out.append(data)
        pos = end
    out.append(raw[pos:])
    return b"".join(out)


def _lead(raw: bytes, node: _Node, linesep: bytes) -> bytes:
    """Line breaks needed before new bytes at ``node.start``: a delimiter line cut off at
    EOF has no EOL, and an inner message glued to its message/* header needs a blank line."""
    lead = b"" if node.start == 0 or _ends_line(raw[node.start - 1:node.start], linesep) else linesep
    return lead + linesep if node.glued else lead


def _ends_line(data: bytes, linesep: bytes) -> bool:
    """True if new bytes starting with ``linesep`` can follow ``data`` as a new line
    (a bare CR followed by an inserted LF would merge into one CRLF)."""
    return data.endswith(b"\n") or (data.endswith(b"\r") and not linesep.startswith(b"\n"))


def _has_long_line(data: bytes) -> bool:
    """Does ``data`` hold a line over 998 bytes (SMTP's limit, RFC 5321 4.5.3.1.6)? The regex
    ``[^\r\n]{999}`` that asked this took 1.9 ms on a 70 KB body of 200-byte lines (it restarts at
    every byte); splitting at line ends takes 0.04 ms."""
    return len(data) > 998 and max(map(len, data.splitlines())) > 998


def _encode_body(leaf: _Leaf, text: str) -> tuple[bytes, str | None, str | None]:
    """Encode ``text`` like the original part; returns (body, new CTE or None, new charset or None)."""
    linesep = leaf.linesep
    new_charset = None
    candidates = [leaf.declared] if leaf.declared else []
    if not leaf.declared:
        if leaf.meta:
            candidates.append(leaf.meta)
        candidates.append("us-ascii")
    data = None
    codec = None
    for cand in candidates:
        codec = _codec(cand)
        if codec:
            try:
                data = text.encode(codec)
                break
            except UnicodeError:
                continue
    if data is None:
        codec, data = "utf-8", text.encode("utf-8", "surrogatepass")
        new_charset = "utf-8"
    cte = leaf.cte
    if cte == "base64" or "\n".encode(codec) != b"\n":    # UTF-16/32 only travel safely as base64
        out = _core.base64_lines(data).rstrip(b"\n")     # base64.encodebytes's bytes, faster
        if linesep != b"\n":
            out = out.replace(b"\n", linesep)
        if leaf.body_ends_eol and out:
            out += linesep
        return out, (None if cte == "base64" else "base64"), new_charset
    if cte == "binary" and not _delimiter_starts(data, leaf.boundaries):
        return data, None, new_charset
    lines = data.replace(b"\r\n", b"\n")
    needs_qp = cte == "quoted-printable" or _has_long_line(lines)
    if cte == "7bit" and not lines.isascii():
        needs_qp = True
    if not needs_qp and _delimiter_starts(lines, leaf.boundaries):   # a delimiter line would split the part
        needs_qp = True
    if not needs_qp:
        if linesep != b"\n":
            lines = lines.replace(b"\n", linesep)
        return lines, None, new_charset
    out = _qp(lines)
    out = _defuse_delimiters(out, _delimiter_starts(out, leaf.boundaries))
    if linesep != b"\n":
        out = out.replace(b"\n", linesep)
    if leaf.body_ends_eol and not out.endswith(linesep):
        out += b"=" + linesep                    # soft break: no extra newline in the text
    return out, (None if cte == "quoted-printable" else "quoted-printable"), new_charset


def _delimiter_starts(data: bytes, boundaries: tuple[bytes, ...]) -> list[int]:
    """Offsets of every line-starting ``--`` followed by a boundary of an enclosing multipart
    (prefix match, as lenient readers do): text holding one would split the part.
    ``bytes.find`` per boundary: a regex compiled per message cost more than the scan."""
    hits: set[int] = set()
    for bnd in boundaries:
        needle = b"--" + bnd
        i = data.find(needle)
        while i >= 0:
            if i == 0 or data[i - 1] in b"\r\n":
                hits.add(i)
            i = data.find(needle, i + 1)
    return sorted(hits)


def _defuse_delimiters(data: bytes, starts: list[int]) -> bytes:
    """Quoted-printable ``=2D`` for the first dash of each delimiter-like line start."""
    out, pos = [], 0
    for i in starts:
        out += (data[pos:i], b"=2D-")
        pos = i + 2
    out.append(data[pos:])
    return b"".join(out)


def _qp(data: bytes) -> bytes:
    """Quoted-printable with '\n' line breaks; bare CRs are encoded, not taken as breaks."""
    if b"\r" not in data:
        return _core.qp_encode(data)       # binascii.b2a_qp's bytes (quotetabs off, istext), ~5x faster
    # the encoder switches to CRLF mode when it sees '\r\n'; encode line by line instead
    return b"\n".join(_core.qp_encode(line).replace(b"\r", b"=0D") for line in data.split(b"\n"))


_FWS = rb"(?:[ \t\x0b\x0c\x1c-\x1f]|\r?\n[ \t])*"              # folding white space: never ends the field
_CHARSET_PARAM = re.compile(
    rb"([;:]" + _FWS + rb"charset)(\*[0-9]*\*?)?(" + _FWS + rb"=" + _FWS + rb")(\"(?:[^\"\\\r\n]|\\.)*\"|[^;\s()\"]*)",
    re.I)


def _header_fields(block: bytes) -> list[tuple[bytes | None, bytes]]:
    """Split a raw header block into (lowercased name or None, field bytes incl. folding)."""
    fields: list[tuple[bytes | None, bytes]] = []
    for line in _EOL_LINES.findall(block):
        if line[:1] in (b" ", b"\t") and fields:
            name, data = fields[-1]
            fields[-1] = (name, data + line)
            continue
        colon = line.find(b":")
        name = line[:colon].strip().lower() if colon > 0 and not line.startswith(b"From ") else None
        fields.append((name, line))
    return fields


_EOL_LINES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def _rewrite_headers(block: bytes, drop: set[bytes], cte: str | None, charset: str | None,
                     subtype: str, linesep: bytes) -> bytes:
    out: list[bytes] = []
    seen_cte = seen_ct = False
    for name, data in _header_fields(block):
        if name in drop:
            continue
        if cte and name == b"content-transfer-encoding":
            seen_cte = True
            colon = data.index(b":")
            data = data[:colon + 1] + b" " + cte.encode() + _trailing_eol(data, linesep)
        elif charset and name == b"content-type":
            seen_ct = True
            new = _set_charset(data, charset.encode(), linesep)
            if _read_content_type(new, linesep) != (f"text/{subtype}", charset):
                # odd syntax defeated the in-place edit: write a clean field instead
                new = (b"Content-Type: text/" + subtype.encode() + b'; charset="' + charset.encode() + b'"'
                       + (_trailing_eol(data, linesep) or linesep))
            data = new
        out.append(data)
    if out and not out[-1].endswith((b"\n", b"\r")):
        out[-1] += linesep
    if charset and not seen_ct:
        out.append(b"Content-Type: text/" + subtype.encode() + b'; charset="' + charset.encode() + b'"' + linesep)
    if cte and not seen_cte:
        out.append(b"Content-Transfer-Encoding: " + cte.encode() + linesep)
    return b"".join(out)


def _read_content_type(field_bytes: bytes, linesep: bytes) -> tuple[str, str | None]:
    """How the stdlib (and so most readers) understands one Content-Type field (read as the span-first
    reading reads header blocks when it can, by the stdlib's parser otherwise)."""
    data = field_bytes.rstrip(b"\r\n") + linesep
    try:
        try:
            if _split_header(data, 0, len(data))[0] != len(data):
                raise _Unusual("not a header field")
            m: Message = _read_fields(data, 0, len(data), False)
        except _Unusual:
            m = BytesParser(policy=POLICY).parsebytes(data + linesep)
        return m.get_content_type(), m.get_content_charset()
    except Exception:
        return "", None


def _trailing_eol(data: bytes, linesep: bytes) -> bytes:
    m = re.search(rb"(\r\n|\r|\n)\Z", data)
    return m.group(1) if m else b""


def _set_charset(field_bytes: bytes, charset: bytes, linesep: bytes) -> bytes:
    def repl(m: re.Match) -> bytes:
        if m.group(2):                            # RFC 2231 form: write a plain parameter
            return m.group(1)[:1] + b" charset=" + charset
        value = m.group(4)
        new = b'"' + charset + b'"' if value.startswith(b'"') else charset
        return m.group(1) + m.group(3) + new
    new, n = _CHARSET_PARAM.subn(repl, field_bytes)
    if n:
        return new
    eol = _trailing_eol(field_bytes, linesep)
    body = field_bytes[:len(field_bytes) - len(eol)].rstrip()
    body = body.rstrip(b";").rstrip()
    return body + b'; charset="' + charset + b'"' + eol


def _rebuild_stdlib(parsed: ParsedMessage, changes: dict[str, str], drop: set[bytes]) -> bytes:
    """Fallback when byte spans are unknown: regenerate with the stdlib generator."""
    msg = BytesParser(policy=POLICY).parsebytes(parsed._raw)
    leaves: dict[str, _Leaf] = {}
    _Walker(parsed._raw, parsed._linesep, [], leaves, []).entity(msg, None, "1", top=True)
    for path, text in changes.items():
        leaf = leaves[path]
        body, new_cte, new_charset = _encode_body(leaf, text)
        obj = leaf.obj
        obj.set_payload(body.decode("ascii", "surrogateescape"))
        if new_cte:
            if "content-transfer-encoding" in obj:
                obj.replace_header("Content-Transfer-Encoding", new_cte)
            else:
                obj["Content-Transfer-Encoding"] = new_cte
        if new_charset:
            if "content-type" not in obj:
                obj["Content-Type"] = f"text/{leaf.part.subtype}"
            obj.set_param("charset", new_charset)
    for name in drop:
        del msg[name.decode("ascii", "replace")]
    buf = io.BytesIO()
    pol = POLICY.clone(refold_source="none", linesep=parsed._linesep.decode())
    try:
        _Generator(buf, mangle_from_=False, policy=pol).flatten(msg)
    except Exception as exc:
        raise MessageError(f"cannot regenerate message: {type(exc).__name__}: {exc}") from exc
    return buf.getvalue()


class _Generator(BytesGenerator):
    def _handle_multipart(self, msg: Message) -> None:
        # A multipart whose boundary never appears keeps its body as a string;
        # get_payload() would re-decode it lossily (and then fail to encode it).
        if isinstance(msg._payload, str):
            self.write(msg._payload)
            return
        super()._handle_multipart(msg)

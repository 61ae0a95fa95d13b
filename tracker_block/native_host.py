"""Native-messaging host for the Thunderbird bridge (``tracker-block native-host``).

Thunderbird starts this process once per extension (``runtime.connectNative``) and talks to it
with length-prefixed JSON on stdin/stdout: a 4-byte native-endian length, then UTF-8 JSON.
Anything else on stdout would corrupt the stream, so stdout is taken over at start-up and
stray prints go to stderr; logs go to a file. Host-to-extension messages are capped at 1 MiB by
Thunderbird, so large replies are split into ``{"id", "chunk", "chunks", "data"}`` pieces that
the extension joins and parses.

Requests are ``{"id": any, "type": str, ...}``; every request gets exactly one reply (possibly
chunked) ``{"id": same, "ok": bool, ...}``. Types: ``hello``, ``ping``, ``clean``,
``fetch_images``, ``test_report`` (test mode only), ``log``.
"""
from __future__ import annotations

import base64
import collections
import concurrent.futures
import http.client
import json
import logging
import os
import secrets
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from .netguard import Guard

HOST_NAME = "tracker_block"
EXTENSION_ID = "thunderbird-bridge@tracker-block"
PROTOCOL_VERSION = 1

MAX_REQUEST = 64 * 1024 * 1024        # we refuse (and skip) larger incoming messages
MAX_REPLY = 1024 * 1024               # Thunderbird's cap on host -> extension messages
CHUNK_CHARS = 150_000                 # <= 6 UTF-8 bytes per char after JSON escaping: < 1 MiB

TEST_ENV = "TRACKER_BLOCK_TB_TEST"    # path of a JSON test config; switches test mode on
LOG_ENV = "TRACKER_BLOCK_LOG"         # log file path override

_LEN = struct.Struct("=I")            # native byte order, 4 bytes, as Thunderbird writes it

log = logging.getLogger("tracker_block.native_host")


class FramingError(Exception):
    """The stream cannot be read any further (EOF inside a message)."""


class Oversized(Exception):
    """A well-framed message larger than MAX_REQUEST; its bytes were skipped."""

    def __init__(self, size: int) -> None:
        super().__init__(f"message of {size} bytes exceeds the {MAX_REQUEST}-byte limit")
        self.size = size


# --- framing ---------------------------------------------------------------------------------

def _read_exact(stream: BinaryIO, n: int) -> bytes | None:
    """Read exactly n bytes across partial reads; None on clean EOF before the first byte."""
    buf = bytearray()
    while len(buf) < n:
        piece = stream.read(n - len(buf))
        if not piece:
            if not buf:
                return None
            raise FramingError(f"EOF after {len(buf)} of {n} bytes")
        buf += piece
    return bytes(buf)


def _skip(stream: BinaryIO, n: int) -> None:
    while n > 0:
        piece = stream.read(min(n, 1 << 16))
        if not piece:
            raise FramingError("EOF while skipping an oversized message")
        n -= len(piece)


def read_message(stream: BinaryIO, limit: int = MAX_REQUEST) -> bytes | None:
    """One framed message body, or None at EOF between messages.

    Raises Oversized (stream still in sync) or FramingError (stream unusable).
    """
    head = _read_exact(stream, _LEN.size)
    if head is None:
        return None
    (size,) = _LEN.unpack(head)
    if size > limit:
        _skip(stream, size)
        raise Oversized(size)
    body = _read_exact(stream, size)
    if body is None:
        raise FramingError(f"EOF before a {size}-byte body")
    return body


def encode_frames(reply: dict[str, Any], max_bytes: int = MAX_REPLY,
                  chunk_chars: int = CHUNK_CHARS) -> list[bytes]:
    """Frame a reply; split it into chunk messages when it would exceed Thunderbird's cap."""
    text = json.dumps(reply, ensure_ascii=False, separators=(",", ":"))
    data = text.encode("utf-8")
    if len(data) + _LEN.size <= max_bytes:
        return [_LEN.pack(len(data)) + data]
    pieces = [text[i:i + chunk_chars] for i in range(0, len(text), chunk_chars)]
    frames = []
    for i, piece in enumerate(pieces):
        msg = {"id": reply.get("id"), "chunk": i, "chunks": len(pieces), "data": piece}
        raw = json.dumps(msg, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        assert len(raw) + _LEN.size <= max_bytes, "chunk_chars too large for max_bytes"
        frames.append(_LEN.pack(len(raw)) + raw)
    return frames


def iter_requests(stream: BinaryIO, limit: int = MAX_REQUEST) -> Iterator[dict[str, Any] | Exception]:
    """Decoded requests; recoverable problems are yielded as exceptions to answer with errors."""
    while True:
        try:
            body = read_message(stream, limit)
        except Oversized as exc:
            yield exc
            continue
        if body is None:
            return
        try:
            msg = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            yield ValueError(f"malformed JSON: {exc}")
            continue
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            yield ValueError("a request must be a JSON object with a string 'type'")
            continue
        yield msg


# --- safe image fetching ---------------------------------------------------------------------

IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGES_MAX_TOTAL = 20 * 1024 * 1024
IMAGES_MAX_COUNT = 50
FETCH_TIMEOUT = 10.0
USER_AGENT = "Mozilla/5.0 (compatible)"
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


def sniff_image(data: bytes) -> str | None:
    """The image type from magic bytes (never trusting Content-Type); SVG is refused."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    return None


def _fetch(url: str, guard: Guard, limit: int) -> bytes:
    """GET without cookies, referrer or identifying headers; follows up to 3 redirects.

    Every hop is checked by the netguard, and the socket only ever connects to an address the
    guard validated (no DNS rebinding to the reader's own network).
    """
    for _ in range(4):
        guard.check_url(url)
        parts = urllib.parse.urlsplit(url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        kwargs: dict[str, Any] = {"timeout": FETCH_TIMEOUT}
        if cls is http.client.HTTPSConnection:
            kwargs["context"] = ssl.create_default_context()
        conn = cls(parts.hostname, parts.port, **kwargs)
        conn._create_connection = (  # type: ignore[attr-defined]
            lambda address, timeout=None, source_address=None: guard.create_connection(*address, timeout))
        try:
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "image/*"})
            resp = conn.getresponse()
            if resp.status in (301, 302, 303, 307, 308) and resp.getheader("Location"):
                url = urllib.parse.urljoin(url, resp.getheader("Location", ""))
                continue
            if resp.status != 200:
                raise ValueError(f"HTTP {resp.status}")
            length = resp.getheader("Content-Length")
            if length and length.isdigit() and int(length) > limit:
                raise ValueError("image too large")
            data = resp.read(limit + 1)
            if len(data) > limit:
                raise ValueError("image too large")
            return data
        finally:
            conn.close()
    raise ValueError("too many redirects")


def fetch_image(url: str, *, guard: Guard | None = None, limit: int = IMAGE_MAX_BYTES) -> str:
    """Fetch one image the way the user asked for ("show safe images") and return a data: URI."""
    from .netguard import Guard

    data = _fetch(url, guard or Guard(), limit)
    mime = sniff_image(data)
    if mime is None:
        raise ValueError("not a supported image type")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


# --- request handling ------------------------------------------------------------------------

_KIND_LABELS = {
    "pixel": "open pixel", "link": "click tracking", "header": "read-receipt request",
    "css": "CSS load", "stylesheet": "remote stylesheet", "font": "remote font",
    "image": "remote image", "frame": "frame", "media": "remote media", "ping": "link ping",
    "refresh": "meta refresh", "prefetch": "prefetch", "form": "form",
}


def _header_values(headers: dict[str, Any], name: str) -> list[str]:
    for key, value in headers.items():
        if key.lower() == name:
            return [str(v) for v in (value if isinstance(value, list) else [value])]
    return []


def recipients_from_headers(headers: dict[str, Any]) -> tuple[str, ...]:
    """Addresses the message was sent to, for the engine's recipient-identity heuristic."""
    from email.utils import getaddresses

    from .engine import RECIPIENT_HEADERS

    found: dict[str, None] = {}
    for name in RECIPIENT_HEADERS:
        for _, addr in getaddresses(_header_values(headers, name.lower())):
            if "@" in addr:
                found.setdefault(addr.strip().lower())
    return tuple(found)


def sender_from_headers(headers: dict[str, Any]) -> str | None:
    """The From address, lower-cased: what the trusted-senders list is matched against."""
    from email.utils import getaddresses

    for _, addr in getaddresses(_header_values(headers, "from")):
        if "@" in addr:
            return addr.strip().lower()
    return None


def header_findings(headers: dict[str, Any]) -> list[dict[str, Any]]:
    """Read-receipt requests, reported (Thunderbird itself decides whether to answer them)."""
    from .engine import read_receipt_findings

    found = read_receipt_findings(lambda name: _header_values(headers, name.lower()), keep=True)
    return [f.to_dict() for f in found]


def finding_label(f: dict[str, Any]) -> str:
    kind = _KIND_LABELS.get(f.get("kind", ""), f.get("kind", "tracker"))
    return f"{f['tracker']} {kind}" if f.get("tracker") else kind


def is_tracker(f: dict[str, Any]) -> bool:
    """Same rule as MessageReport.trackers: judged trackers, not mere policy removals."""
    return f.get("certainty") in ("rule", "heuristic") or f.get("kind") == "header"


def banner_text(findings: list[dict[str, Any]]) -> str:
    """The one-line banner: "3 trackers blocked — Mailchimp open pixel, ..."."""
    trackers = [f for f in findings if is_tracker(f)]
    others = len(findings) - len(trackers)
    labels = list(dict.fromkeys(finding_label(f) for f in trackers))
    parts = []
    if trackers:
        n = len(trackers)
        parts.append(f"{n} tracker{'s' if n != 1 else ''} blocked — " + ", ".join(labels))
    if others:
        parts.append(f"{others} remote item{'s' if others != 1 else ''} blocked by policy")
    return "; ".join(parts) if parts else "No trackers found"


def remote_images(html: str) -> list[str]:
    """http(s) <img> sources left in cleaned HTML: the only URLs "show safe images" may fetch."""
    from selectolax.lexbor import LexborHTMLParser

    urls: dict[str, None] = {}
    for node in LexborHTMLParser(html).css("img[src]"):
        src = (node.attributes.get("src") or "").strip()
        if src.lower().startswith(("http://", "https://")):
            urls.setdefault(src)
    return list(urls)


class Host:
    """State for one host process: options, safe-image tokens, test mode."""

    def __init__(self, test_config: dict[str, Any] | None = None) -> None:
        self.test = test_config
        self.tokens: collections.OrderedDict[str, frozenset[str]] = collections.OrderedDict()
        self.lock = threading.Lock()

    # Each handler returns the reply body (without id); exceptions become error replies.
    def handle(self, msg: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, "do_" + msg["type"], None)
        if handler is None:
            raise ValueError(f"unknown request type {msg['type']!r}")
        return handler(msg)

    def do_ping(self, msg: dict[str, Any]) -> dict[str, Any]:
        return {"pong": True}

    def do_hello(self, msg: dict[str, Any]) -> dict[str, Any]:
        from . import __version__

        reply: dict[str, Any] = {"host_version": __version__, "protocol": PROTOCOL_VERSION}
        if self.test:
            reply["test"] = _test_plan(self.test)
        return reply

    def do_log(self, msg: dict[str, Any]) -> dict[str, Any]:
        log.log(logging.WARNING if msg.get("level") == "error" else logging.INFO,
                "extension: %s", str(msg.get("message"))[:2000])
        return {}

    def do_clean(self, msg: dict[str, Any]) -> dict[str, Any]:
        from . import clean_html
        from .policy import Options, sender_allowed

        html = msg.get("html")
        if not isinstance(html, str):
            raise TypeError("clean needs 'html' (a string)")
        opts = msg.get("options") or {}
        mode = opts.get("mode", "trackers")
        if mode not in ("trackers", "all"):
            raise ValueError(f"mode must be 'trackers' or 'all', not {mode!r}")
        headers = msg.get("headers") or {}
        sender = sender_from_headers(headers)
        allow = opts.get("allow_senders") or []
        if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
            raise TypeError("options.allow_senders must be a list of strings")
        if sender_allowed(sender, Options(allow_senders=tuple(allow))):
            # Same rule as the CLI and the mail filter: an allowlisted sender is never cleaned.
            # No token: "show safe images" must not fetch from a message nobody checked.
            return {"html": html, "changed": False, "findings": [], "untouched": True,
                    "banner": f"Not checked: {sender} is on your list of trusted senders",
                    "token": None, "remote_images": 0}
        recipients = recipients_from_headers(headers)
        result = clean_html(html, Options(mode=mode), recipients=recipients)
        findings = [f.to_dict() for f in result.findings] + header_findings(headers)
        images = remote_images(result.html)
        token = secrets.token_urlsafe(12)
        with self.lock:
            self.tokens[token] = frozenset(images)
            while len(self.tokens) > 256:
                self.tokens.popitem(last=False)
        return {
            "html": result.html, "changed": result.changed, "findings": findings,
            "banner": banner_text(findings), "token": token, "remote_images": len(images),
            "untouched": False,
        }

    def do_fetch_images(self, msg: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            allowed = self.tokens.get(str(msg.get("token")))
        if allowed is None:
            raise ValueError("unknown or expired token; clean the message first")
        urls = [u for u in msg.get("urls") or [] if isinstance(u, str)]
        from .netguard import Guard

        # Test mode only: the e2e test's content server is on loopback, which is otherwise refused.
        guard = Guard(allow=("127.0.0.0/8",) if self.test and self.test.get("allow_loopback") else ())
        images: dict[str, str] = {}
        errors: dict[str, str] = {}
        total = 0
        for url in urls[:IMAGES_MAX_COUNT]:
            if url not in allowed:
                errors[url] = "not a safe image of this message"
                continue
            try:
                uri = fetch_image(url, guard=guard,
                                  limit=min(IMAGE_MAX_BYTES, IMAGES_MAX_TOTAL - total))
            except Exception as exc:  # noqa: BLE001 - per-image failures are reported, not fatal
                errors[url] = str(exc)[:200] or type(exc).__name__
                continue
            total += len(uri)
            images[url] = uri
        return {"images": images, "errors": errors}

    def do_test_report(self, msg: dict[str, Any]) -> dict[str, Any]:
        if not self.test or not self.test.get("report"):
            raise ValueError("test_report outside test mode")
        with self.lock, open(self.test["report"], "a", encoding="utf-8") as fh:
            fh.write(json.dumps({**(msg.get("report") or {}), "host_time": time.time()},
                                ensure_ascii=False) + "\n")
        return {}


def _test_plan(config: dict[str, Any]) -> dict[str, Any]:
    """What the extension does in test mode, step by step, each step after the previous one is
    done: open a fixture message (sent as bytes), fill in and save the options page
    (``{"options": {...}}``), or open a fixture while the extension is not running
    (``"before_extension": true``, then the extension reloads: only as the last step)."""
    steps = []
    for step in config.get("steps") or config.get("fixtures", []):
        if "path" in step:
            data = Path(step["path"]).read_bytes()
            step = {**{k: v for k, v in step.items() if k != "path"},
                    "name": step.get("name") or Path(step["path"]).name,
                    "eml_b64": base64.b64encode(data).decode("ascii")}
        steps.append(step)
    return {"steps": steps, "prefs": config.get("prefs", {}), "run_id": config.get("run_id", "")}


def serve(instream: BinaryIO, outstream: BinaryIO, host: Host, workers: int = 4,
          limit: int = MAX_REQUEST) -> int:
    """Answer requests until EOF. Requests run on a small pool so a slow image fetch does not
    hold up cleaning the next message; replies carry the request id."""
    write_lock = threading.Lock()

    def send(reply: dict[str, Any]) -> None:
        frames = encode_frames(reply)
        with write_lock:
            outstream.writelines(frames)
            outstream.flush()

    def run(msg: dict[str, Any]) -> None:
        try:
            body = host.handle(msg)
            send({"id": msg.get("id"), "ok": True, **body})
        except Exception as exc:
            log.exception("request %r failed", msg.get("type"))
            send({"id": msg.get("id"), "ok": False, "error": f"{type(exc).__name__}: {exc}"})

    status = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        try:
            for item in iter_requests(instream, limit):
                if isinstance(item, Exception):
                    log.warning("bad request: %s", item)
                    send({"id": None, "ok": False, "error": str(item)})
                else:
                    pool.submit(run, item)
        except FramingError as exc:
            log.error("input stream broken: %s", exc)
            status = 1
    return status


def _log_path() -> Path:
    if os.environ.get(LOG_ENV):
        return Path(os.environ[LOG_ENV])
    import platformdirs

    return Path(platformdirs.user_log_dir("tracker-block")) / "native-host.log"


def main(argv: list[str] | None = None) -> int:
    """Entry point Thunderbird runs (argv: manifest path, extension id; both ignored)."""
    if sys.platform == "win32":  # pragma: no cover - no CRLF translation on the framed streams
        import msvcrt

        msvcrt.setmode(sys.stdin.fileno(), os.O_BINARY)
        msvcrt.setmode(sys.stdout.fileno(), os.O_BINARY)
    # Own the real stdout; anything printed by accident goes to stderr instead.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    instream = os.fdopen(os.dup(sys.stdin.fileno()), "rb", buffering=0)

    try:
        path = _log_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logging.getLogger("tracker_block").addHandler(handler)
    logging.getLogger("tracker_block").setLevel(logging.INFO)

    test_config = None
    if os.environ.get(TEST_ENV):
        test_config = json.loads(Path(os.environ[TEST_ENV]).read_text(encoding="utf-8"))
        log.info("test mode: %s", os.environ[TEST_ENV])
    log.info("native host started (pid %d)", os.getpid())
    status = serve(instream, out, Host(test_config))
    log.info("native host exiting (%d)", status)
    return status


if __name__ == "__main__":
    sys.exit(main())

"""Native-messaging host for the Thunderbird bridge (``tracker-block native-host``).

Thunderbird starts this process once per extension (``runtime.connectNative``) and talks to it
with length-prefixed JSON on stdin/stdout: a 4-byte native-endian length, then UTF-8 JSON.
Anything else on stdout would corrupt the stream, so stdout is taken over at start-up and
stray prints go to stderr; logs go to a file. Host-to-extension messages are capped at 1 MiB by
Thunderbird, so large replies are split into ``{"id", "chunk", "chunks", "data"}`` pieces that
the extension joins and parses.

Requests are ``{"id": any, "type": str, ...}``; every request gets exactly one reply (possibly
chunked) ``{"id": same, "ok": bool, ...}``. Types: ``hello``, ``ping``, ``clean``,
``fetch_images``, ``prefetch`` (a message that just arrived), ``cache_info``, ``cache_clear``,
``test_report`` (test mode only), ``log``. ``fetch_images`` and ``prefetch`` send
``{"id", "progress": {"done", "total"}}`` messages before their reply.
"""
from __future__ import annotations

import base64
import collections
import concurrent.futures
import json
import logging
import os
import secrets
import struct
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from tracker_block.integrations.thunderbird.image_cache import USER_AGENT, ImageCache, sniff_image  # noqa: F401 - USER_AGENT, sniff_image: public

HOST_NAME = "tracker_block"
EXTENSION_ID = "thunderbird-bridge@tracker-block"
PROTOCOL_VERSION = 1

MAX_REQUEST = 64 * 1024 * 1024        # we refuse (and skip) larger incoming messages
MAX_REPLY = 1024 * 1024               # Thunderbird's cap on host -> extension messages
CHUNK_CHARS = 150_000                 # <= 6 UTF-8 bytes per char after JSON escaping: < 1 MiB

TEST_ENV = "TRACKER_BLOCK_TB_TEST"    # path of a JSON test config; switches test mode on
LOG_ENV = "TRACKER_BLOCK_LOG"         # log file path override

_LEN = struct.Struct("=I")            # native byte order, 4 bytes, as Thunderbird writes it

log = logging.getLogger("tracker_block.integrations.thunderbird.native_host")


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


# --- request handling ------------------------------------------------------------------------

def _header_values(headers: dict[str, Any], name: str) -> list[str]:
    for key, value in headers.items():
        if key.lower() == name:
            return [str(v) for v in (value if isinstance(value, list) else [value])]
    return []


def recipients_from_headers(headers: dict[str, Any]) -> tuple[str, ...]:
    """Addresses the message was sent to, for the engine's recipient-identity heuristic."""
    from email.utils import getaddresses

    from tracker_block.engine.clean import RECIPIENT_HEADERS

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
    from tracker_block.engine.clean import read_receipt_findings

    found = read_receipt_findings(lambda name: _header_values(headers, name.lower()), keep=True)
    return [f.to_dict() for f in found]


def verdict(findings: list[dict[str, Any]]) -> dict[str, Any]:
    """Status, counts and popup lines in the report's words (report.MessageReport, wording)."""
    from tracker_block.engine.report import Finding, MessageReport
    from tracker_block.cli.wording import popup_lines

    report = MessageReport(findings=[Finding(**{k: f.get(k) for k in Finding.__dataclass_fields__})
                                     for f in findings])
    summary = report.summary()
    return {"status": report.status, "summary": summary,
            "removed": summary["trackers_removed"] + summary["other_removed"],
            # links that still track if clicked (left_marked also counts a kept read receipt)
            "links_left": sum(1 for f in report.still_tracking if f.kind == "link"),
            "lines": [ln.to_dict() for ln in popup_lines(findings)]}


def remote_images(html: str) -> list[str]:
    """http(s) <img> sources left in cleaned HTML: the only URLs safe-image fetching may touch (read
    by the engine's own parser, as it judged them)."""
    from tracker_block import _core

    urls: dict[str, None] = {}
    sites, _ = _core.collect_sites(html)
    for (_kind, where, _attr, url, *_), _rest in sites:
        src = (url or "").strip()
        if where == "img@src" and src.lower().startswith(("http://", "https://")):
            urls.setdefault(src)
    return list(urls)


def message_html_parts(raw: bytes) -> list[str]:
    """The text/html bodies of a raw MIME message (what Thunderbird would display)."""
    import email
    import email.policy

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    out = []
    for part in msg.walk():
        if part.get_content_type() == "text/html" and not part.is_attachment():
            try:
                out.append(part.get_content())
            except (LookupError, ValueError):   # unknown charset: decode leniently
                out.append((part.get_payload(decode=True) or b"").decode("utf-8", "replace"))
    return out


def raw_headers(raw: bytes) -> dict[str, list[str]]:
    """A raw message's header block as name -> values (what messages.getFull gives)."""
    from tracker_block.engine.mime import header_fields

    msg = header_fields(raw, len(raw))
    out: dict[str, list[str]] = {}
    for name, value in msg.items():
        out.setdefault(name.lower(), []).append(" ".join(str(value).split()))
    return out


def _site(url: str) -> str:
    return urllib.parse.urlsplit(url).hostname or url[:60]


class Host:
    """State for one host process: safe-image tokens, the image cache, test mode."""

    def __init__(self, test_config: dict[str, Any] | None = None, cache: ImageCache | None = None) -> None:
        self.test = test_config
        self.cache = cache or ImageCache()
        self.tokens: collections.OrderedDict[str, frozenset[str]] = collections.OrderedDict()
        self.lock = threading.Lock()
        # Set by serve(): sends an extra message (progress) before a request's reply.
        self.notify: Any = lambda msg_id, body: None

    # Each handler returns the reply body (without id); exceptions become error replies.
    def handle(self, msg: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, "do_" + msg["type"], None)
        if handler is None:
            raise ValueError(f"unknown request type {msg['type']!r}")
        return handler(msg)

    def do_ping(self, msg: dict[str, Any]) -> dict[str, Any]:
        return {"pong": True}

    def do_hello(self, msg: dict[str, Any]) -> dict[str, Any]:
        from tracker_block import __version__

        reply: dict[str, Any] = {"host_version": __version__, "protocol": PROTOCOL_VERSION,
                                 "log": str(_log_path()), "python": sys.executable}
        if self.test:
            reply["test"] = _test_plan(self.test)
        return reply

    def do_log(self, msg: dict[str, Any]) -> dict[str, Any]:
        log.log(logging.WARNING if msg.get("level") == "error" else logging.INFO,
                "extension: %s", str(msg.get("message"))[:2000])
        return {}

    def _options(self, msg: dict[str, Any]) -> tuple[str, list[str]]:
        opts = msg.get("options") or {}
        mode = opts.get("mode", "trackers")
        if mode not in ("trackers", "all"):
            raise ValueError(f"mode must be 'trackers' or 'all', not {mode!r}")
        allow = opts.get("allow_senders") or []
        if not isinstance(allow, list) or not all(isinstance(a, str) for a in allow):
            raise TypeError("options.allow_senders must be a list of strings")
        return mode, allow

    def do_clean(self, msg: dict[str, Any]) -> dict[str, Any]:
        from tracker_block import clean_html
        from tracker_block.engine.policy import Options, sender_allowed

        started = time.monotonic()
        html = msg.get("html")
        if not isinstance(html, str):
            raise TypeError("clean needs 'html' (a string)")
        mode, allow = self._options(msg)
        headers = msg.get("headers") or {}
        sender = sender_from_headers(headers)
        subject = "; ".join(_header_values(headers, "message-id"))[:120] or "(no Message-ID)"
        if sender_allowed(sender, Options(allow_senders=tuple(allow))):
            # Same rule as the CLI and the mail filter: an allowlisted sender is never cleaned.
            # No token: safe images must not be fetched for a message nobody checked.
            log.info("message %s from %s: allowlisted, not checked", subject, sender)
            return {"html": html, "changed": False, "findings": [], "untouched": True,
                    "status": "allowlisted", "summary": {}, "removed": 0, "links_left": 0, "lines": [],
                    "sender": sender, "token": None, "remote_images": [], "cached": {}}
        recipients = recipients_from_headers(headers)
        result = clean_html(html, Options(mode=mode), recipients=recipients)
        findings = [f.to_dict() for f in result.findings] + header_findings(headers)
        images = remote_images(result.html)
        token = secrets.token_urlsafe(12)
        with self.lock:
            self.tokens[token] = frozenset(images)
            while len(self.tokens) > 256:
                self.tokens.popitem(last=False)
        cached: dict[str, str] = {}
        if msg.get("use_cache", True):
            for url in images:
                uri = self.cache.get(url)
                if uri:
                    cached[url] = uri
        out = {"html": result.html, "changed": result.changed, "findings": findings, "sender": sender,
               "token": token, "remote_images": images, "cached": cached, "untouched": False,
               **verdict(findings)}
        log.info("message %s from %s: %s, %d removed, %d left marked, %d cleaned; %d of %d images "
                 "from the local copy (%.0f ms)", subject, sender, out["status"], out["removed"],
                 out["summary"]["left_marked"], out["summary"]["links_cleaned"], len(cached),
                 len(images), (time.monotonic() - started) * 1000)
        return out

    def _guard(self) -> Any:
        from tracker_block.integrations.proxy.netguard import Guard

        # Test mode only: the e2e test's image server is on loopback, which is otherwise refused.
        return Guard(allow=("127.0.0.0/8",) if self.test and self.test.get("allow_loopback") else ())

    def _fetch(self, msg: dict[str, Any], urls: list[str], what: str) -> dict[str, Any]:
        """Fetch into the cache, in parallel, with a progress message after each image."""
        from tracker_block.integrations.thunderbird.image_cache import IMAGES_MAX_COUNT, data_uri, fetch_all

        images: dict[str, str] = {}
        errors: dict[str, str] = {}
        todo = [u for u in dict.fromkeys(urls)][:IMAGES_MAX_COUNT]
        for url in todo:
            uri = self.cache.get(url)
            if uri:
                images[url] = uri
        todo = [u for u in todo if u not in images]
        done = len(images)
        total = done + len(todo)

        def on_result(url: str, data: bytes | None, error: str | None) -> None:
            nonlocal done
            done += 1
            if data is not None:
                self.cache.put(url, data)
                images[url] = data_uri(data)
            else:
                errors[url] = error or "failed"
                log.warning("%s: image %s not fetched: %s", what, _site(url), error)
            self.notify(msg.get("id"), {"progress": {"done": done, "total": total}})

        upstream = (msg.get("options") or {}).get("upstream") or None
        if todo:
            fetch_all(todo, guard=self._guard(), upstream=upstream, on_result=on_result)
            self.cache.prune()
        log.info("%s: %d of %d images fetched%s", what, len(images), total,
                 f" through {urllib.parse.urlsplit(upstream).scheme} proxy" if upstream else "")
        return {"images": images, "errors": errors}

    def do_fetch_images(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Images of a cleaned message, by its token: only URLs the engine left in it."""
        with self.lock:
            allowed = self.tokens.get(str(msg.get("token")))
        if allowed is None:
            raise ValueError("unknown or expired token; clean the message first")
        urls = [u for u in msg.get("urls") or [] if isinstance(u, str)]
        refused = {u: "not a safe image of this message" for u in urls if u not in allowed}
        reply = self._fetch(msg, [u for u in urls if u in allowed], "fetch on request")
        reply["errors"].update(refused)
        return reply

    def do_prefetch(self, msg: dict[str, Any]) -> dict[str, Any]:
        """A message that just arrived: clean it like the display will, fetch its safe images
        into the cache now, so that opening it later touches no network."""
        from tracker_block import clean_html
        from tracker_block.engine.policy import Options, sender_allowed

        raw = msg.get("raw")
        if not isinstance(raw, str):
            raise TypeError("prefetch needs 'raw' (the message, base64)")
        data = base64.b64decode(raw)
        mode, allow = self._options(msg)
        headers = msg.get("headers") or raw_headers(data)
        sender = sender_from_headers(headers)
        what = "arrival of " + ("; ".join(_header_values(headers, "message-id"))[:120] or "(no Message-ID)")
        if sender_allowed(sender, Options(allow_senders=tuple(allow))):
            log.info("%s from %s: allowlisted, nothing fetched", what, sender)
            return {"images": {}, "errors": {}, "skipped": "allowlisted"}
        recipients = recipients_from_headers(headers)
        urls: list[str] = []
        for html in message_html_parts(data):
            urls += remote_images(clean_html(html, Options(mode=mode), recipients=recipients).html)
        reply = self._fetch(msg, urls, what)
        return {"images": {u: True for u in reply["images"]}, "errors": reply["errors"]}

    def do_cache_info(self, msg: dict[str, Any]) -> dict[str, Any]:
        return self.cache.stats()

    def do_cache_clear(self, msg: dict[str, Any]) -> dict[str, Any]:
        n = self.cache.clear()
        log.info("image cache cleared (%d images)", n)
        return {"removed": n}

    def do_test_break(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Test mode only: remove the launcher and exit, so the host can no longer start."""
        if not self.test or not self.test.get("launcher"):
            raise ValueError("test_break outside test mode")
        Path(self.test["launcher"]).unlink()
        log.info("test mode: launcher removed, exiting")
        threading.Timer(0.3, lambda: os._exit(0)).start()
        return {}

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
    return {"steps": steps, "prefs": config.get("prefs", {}), "run_id": config.get("run_id", ""),
            "report_url": config.get("report_url")}


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

    host.notify = lambda msg_id, body: send({"id": msg_id, **body})

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

"""The native host's wire protocol, as Thunderbird would drive it (a real host process where it
matters: partial writes, EOF, stray prints), plus its safe-image fetching and cache, and the popup's words."""
from __future__ import annotations

import http.server
import io
import json
import os
import subprocess
import textwrap
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest

from tracker_block.integrations.thunderbird import native_host as nh

LEN = nh._LEN


def frame(obj: object) -> bytes:
    body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return LEN.pack(len(body)) + body


def unframe_all(data: bytes) -> list[dict]:
    out, pos = [], 0
    while pos < len(data):
        (n,) = LEN.unpack(data[pos:pos + 4])
        out.append(json.loads(data[pos + 4:pos + 4 + n]))
        pos += 4 + n
    assert pos == len(data), "trailing bytes on stdout"
    return out


def join_chunks(replies: list[dict]) -> list[dict]:
    """What background.js does: chunk pieces become one reply again."""
    done, parts = [], {}
    for r in replies:
        if "chunk" in r:
            parts.setdefault(r["id"], {})[r["chunk"]] = r["data"]
            if len(parts[r["id"]]) == r["chunks"]:
                done.append(json.loads("".join(parts[r["id"]][i] for i in range(r["chunks"]))))
        else:
            done.append(r)
    return done


def start_host(tmp_path: Path, *code: str, env: dict | None = None) -> subprocess.Popen:
    args = [sys.executable, "-m", "tracker_block.integrations.thunderbird.native_host"] if not code else [sys.executable, "-c", "\n".join(code)]
    return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "TRACKER_BLOCK_LOG": str(tmp_path / "host.log"), **(env or {})})


@pytest.fixture(autouse=True)
def _image_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every Host in these tests keeps its image cache in the test's directory."""
    cache = tmp_path / "image-cache"
    monkeypatch.setenv("TRACKER_BLOCK_IMAGE_CACHE", str(cache))
    return cache


def serve_bytes(data: bytes, host: nh.Host | None = None, limit: int = nh.MAX_REQUEST,
                progress: list | None = None) -> tuple[int, list[dict]]:
    """Replies (chunks joined); progress messages go to ``progress`` when given."""
    out = io.BytesIO()
    status = nh.serve(io.BytesIO(data), out, host or nh.Host(), limit=limit)
    replies = join_chunks(unframe_all(out.getvalue()))
    if progress is not None:
        progress += [r["progress"] for r in replies if "progress" in r]
    return status, [r for r in replies if "progress" not in r]


# --- framing over a real process ---------------------------------------------------------------

def test_partial_writes_many_messages_and_clean_exit(tmp_path: Path) -> None:
    proc = start_host(tmp_path)
    stream = b"".join(frame({"id": i, "type": "ping"}) for i in range(300))
    # Dribble the bytes in odd-sized pieces so lengths and bodies are split across reads.
    for i in range(0, len(stream), 7):
        proc.stdin.write(stream[i:i + 7])
        if i % 700 == 0:
            proc.stdin.flush()
            time.sleep(0.001)
    proc.stdin.close()
    replies = unframe_all(proc.stdout.read())
    assert proc.wait(10) == 0
    assert sorted(r["id"] for r in replies) == list(range(300))
    assert all(r["ok"] and r["pong"] for r in replies)
    assert "native host started" in (tmp_path / "host.log").read_text()


def test_eof_inside_a_message_exits_without_garbage(tmp_path: Path) -> None:
    proc = start_host(tmp_path)
    out, _ = proc.communicate(frame({"id": 1, "type": "ping"}) + LEN.pack(100) + b'{"id": 2', timeout=10)
    assert proc.returncode == 1
    assert unframe_all(out) == [{"id": 1, "ok": True, "pong": True}]
    assert "input stream broken" in (tmp_path / "host.log").read_text()


def test_stray_prints_never_reach_stdout(tmp_path: Path) -> None:
    proc = start_host(
        tmp_path,
        "import sys",
        "from tracker_block.integrations.thunderbird import native_host as h",
        "orig = h.Host.do_ping",
        "h.Host.do_ping = lambda self, m: (print('stray print from a library'), orig(self, m))[1]",
        "sys.exit(h.main())",
    )
    out, err = proc.communicate(frame({"id": 7, "type": "ping"}), timeout=10)
    assert unframe_all(out) == [{"id": 7, "ok": True, "pong": True}]
    assert b"stray print from a library" in err


# --- framing in process ------------------------------------------------------------------------

def test_bad_json_and_bad_shapes_get_error_replies_and_the_stream_continues() -> None:
    data = (frame(b"{not json") + frame(b"\xff\xfe") + frame([1, 2]) + frame({"id": 3})
            + frame({"id": 4, "type": "no-such-thing"}) + frame({"id": 5, "type": "ping"}))
    status, replies = serve_bytes(data)
    assert status == 0
    errors = [r for r in replies if not r["ok"]]
    assert len(errors) == 5
    assert "malformed JSON" in errors[0]["error"]
    assert any(r["id"] == 4 and "unknown request type" in r["error"] for r in errors)
    assert {"id": 5, "ok": True, "pong": True} in replies


def test_oversized_message_is_skipped_with_an_error_and_stream_stays_in_sync() -> None:
    big = frame({"id": 1, "type": "ping", "pad": "x" * 5000})
    status, replies = serve_bytes(big + frame({"id": 2, "type": "ping"}), limit=1000)
    assert status == 0
    assert replies[0]["ok"] is False and "exceeds" in replies[0]["error"]
    assert replies[1] == {"id": 2, "ok": True, "pong": True}


def test_oversized_length_with_truncated_body_is_a_broken_stream() -> None:
    status, replies = serve_bytes(LEN.pack(10_000) + b"x" * 10, limit=1000)
    assert status == 1 and replies == []


def test_empty_input_is_a_clean_exit() -> None:
    assert serve_bytes(b"") == (0, [])


def test_large_replies_are_chunked_under_one_mebibyte() -> None:
    reply = {"id": 9, "ok": True, "html": "<p>é\"\\\x01😀</p>" * 200_000}
    frames = nh.encode_frames(reply)
    assert len(frames) > 1
    assert all(len(f) <= nh.MAX_REPLY for f in frames)
    assert join_chunks(unframe_all(b"".join(frames))) == [reply]
    small = nh.encode_frames({"id": 1, "ok": True})
    assert len(small) == 1


def test_clean_request_over_the_cap_round_trips(tmp_path: Path) -> None:
    html = "<p>" + "Long newsletter text. " * 80_000 + '</p><img src="https://t.example/open.gif" width="1" height="1">'
    _, replies = serve_bytes(frame({"id": 1, "type": "clean", "html": html,
                                         "headers": {"to": ["Bob <bob@example.com>"]}}))
    (reply,) = replies
    assert reply["ok"], reply
    assert len(reply["html"]) > 1_500_000
    assert "open.gif" not in reply["html"]
    assert reply["findings"] and reply["removed"] == 1 and reply["status"] == "cleaned"


# --- requests ----------------------------------------------------------------------------------

def test_a_large_message_then_a_small_one_in_fresh_worker_threads_does_not_crash() -> None:
    """Each request is cleaned on a worker thread. With mimalloc 3 as the core's allocator, the
    thread that cleaned a 1.7 MB message exited and the next worker's first allocation crashed the
    host (SIGSEGV in mi_thread_init). Run in a process of its own: a crash must fail this test, not
    the suite."""
    script = textwrap.dedent("""
        import io, json, struct
        from tracker_block.integrations.thunderbird import native_host as nh
        big = "<p>" + "Long newsletter text. " * 80_000 + '</p><img src="https://t.example/o.gif" width="1" height="1">'
        for html in (big, "<p><a href='https://shop.example/go?u=1'>Shop</a></p>", big, "<p>x</p>"):
            body = json.dumps({"id": 1, "type": "clean", "html": html, "headers": {}}).encode()
            out = io.BytesIO()
            nh.serve(io.BytesIO(struct.pack("<I", len(body)) + body), out, nh.Host())
            reply = out.getvalue().replace(b" ", b"").replace(b'\\"', b'"')
            print(len(reply) > 100 and b'"ok":false' not in reply)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True"] * 4, done.stdout


def test_clean_reports_read_receipts_and_recipient_links() -> None:
    html = '<p><a href="https://shop.example/go?u=bob%40example.com">Shop</a></p>'
    headers = {"to": ["Bob <Bob@Example.com>"], "disposition-notification-to": ["news@shop.example"]}
    _, (reply,) = serve_bytes(frame({"id": 1, "type": "clean", "html": html, "headers": headers}))
    assert reply["ok"], reply
    kinds = {f["kind"] for f in reply["findings"]}
    assert "header" in kinds
    assert "read-receipt request — Thunderbird will ask before sending one" in [ln["text"] for ln in reply["lines"]]
    # The receipt is Thunderbird's to answer and the link is left in place: nothing was removed.
    assert reply["removed"] == 0 and reply["status"] == "tracked" and reply["summary"]["left_marked"] == 2
    assert any(f["reason"].startswith("heuristic:recipient") for f in reply["findings"]), reply["findings"]


def test_clean_rejects_unknown_mode() -> None:
    _, (reply,) = serve_bytes(frame({"id": 1, "type": "clean", "html": "<p>x</p>", "options": {"mode": "proxy"}}))
    assert reply["ok"] is False and "mode" in reply["error"]


def test_trusted_sender_is_shown_untouched_and_gets_no_safe_images_token() -> None:
    html = '<p><img src="https://t.example/open.gif?u=bob%40example.com" width="1" height="1"></p>'
    headers = {"from": ["Ann <Ann@Friend.example>"], "to": ["bob@example.com"]}
    for allow in (["@friend.example"], ["ann@friend.example"]):
        _, (reply,) = serve_bytes(frame({"id": 1, "type": "clean", "html": html, "headers": headers,
                                         "options": {"allow_senders": allow}}))
        assert reply["ok"] and reply["untouched"] is True, reply
        assert reply["html"] == html and reply["findings"] == [] and reply["token"] is None
        assert reply["remote_images"] == [] and reply["status"] == "allowlisted"
        assert reply["sender"] == "ann@friend.example" and reply["lines"] == []
    # Another sender, or no list: cleaned as usual.
    for opts, hdrs in (({"allow_senders": ["@friend.example"]}, {"from": ["x@other.example"]}), ({}, headers)):
        _, (reply,) = serve_bytes(frame({"id": 1, "type": "clean", "html": html, "headers": hdrs,
                                         "options": opts}))
        assert reply["ok"] and reply["untouched"] is False and "open.gif" not in reply["html"], reply
    _, (reply,) = serve_bytes(frame({"id": 1, "type": "clean", "html": html, "headers": headers,
                                     "options": {"allow_senders": "@friend.example"}}))
    assert reply["ok"] is False and "allow_senders" in reply["error"]


def test_test_plan_sends_fixture_bytes_and_keeps_other_steps(tmp_path: Path) -> None:
    eml = tmp_path / "a.eml"
    eml.write_bytes(b"From: a@b.example\r\n\r\nhi")
    plan = nh._test_plan({"run_id": "r", "steps": [{"options": {"mode": "all"}},
                                                   {"path": str(eml), "actions": ["report"]}]})
    assert plan["run_id"] == "r" and plan["steps"][0] == {"options": {"mode": "all"}}
    fx = plan["steps"][1]
    assert fx["name"] == "a.eml" and "path" not in fx and fx["actions"] == ["report"]
    assert fx["eml_b64"] == "RnJvbTogYUBiLmV4YW1wbGUNCg0KaGk="
    # The older "fixtures" key still works.
    assert nh._test_plan({"fixtures": [{"path": str(eml)}]})["steps"][0]["name"] == "a.eml"


def test_recipients_and_popup_lines_by_company_in_the_reports_words() -> None:
    headers = {"To": ["A <a@x.org>, b@y.org"], "cc": "C <c@z.org>", "Delivered-To": ["a@x.org"]}
    assert nh.recipients_from_headers(headers) == ("a@x.org", "b@y.org", "c@z.org")
    click = {"kind": "link", "tracker": "Mailchimp", "certainty": "rule", "action": "left-marked",
             "reason": "rule:mailchimp/click", "url": "https://x.list-manage.com/track/click?u=1"}
    findings = [
        {"kind": "pixel", "tracker": "Mailchimp", "certainty": "rule", "action": "removed", "reason": "rule:mailchimp/open"},
        *[dict(click, url=f"{click['url']}&n={i}") for i in range(6)],
        *[{"kind": "link", "tracker": None, "certainty": "rule", "action": "cleaned", "reason": "rule:tracking-params"}] * 3,
        {"kind": "link", "tracker": None, "certainty": "rule", "action": "unwrapped", "reason": "rule:outlook-safelinks"},
        {"kind": "header", "tracker": None, "certainty": "rule", "action": "left-marked", "reason": "rule:read-receipt-request"},
        {"kind": "image", "tracker": None, "certainty": "policy", "action": "removed", "reason": "policy:remote-all"},
        {"kind": "pixel", "tracker": "t.example", "certainty": "heuristic", "action": "removed", "reason": "heuristic:tiny-image"},
    ]
    v = nh.verdict(findings)
    assert v["status"] == "tracked" and v["removed"] == 3 and v["links_left"] == 6
    assert v["summary"] == {"trackers_removed": 2, "other_removed": 1, "links_cleaned": 4, "left_marked": 7, "proxied": 0}
    assert [ln["text"] for ln in v["lines"]] == [
        "Mailchimp open pixel — removed",
        "open pixel from t.example (unknown tracker) — removed",
        "remote image — removed (your setting: block every remote load)",
        "6 Mailchimp click-tracked links — left, marked ⚑",
        "read-receipt request — Thunderbird will ask before sending one",
        "3 links — tracking parameters removed",
        "1 link — Microsoft Safe Links (your organisation's link scanner, not sender tracking) — unwrapped to the real address",
    ]
    # Rule ids and URLs stay with each line, for the popup's advanced view only.
    six = v["lines"][3]
    assert six["rules"] == ["rule:mailchimp/click"] and len(six["urls"]) == 6 and six["count"] == 6
    assert not any("rule:" in ln["text"] or "click tracking" in ln["text"] for ln in v["lines"])
    assert nh.verdict([])["status"] == "clean" and nh.verdict([])["lines"] == []


def test_popup_says_why_each_policy_removal_happened_and_blames_the_setting_only_for_its_own() -> None:
    """A script or a video goes in every mode: the popup must not say "your setting" of it. A
    whole HTML part shown as text says so, and why."""
    from tracker_block import Options, clean_html
    html = ('<script>x</script><video src="https://v.example/a.mp4"></video>'
            '<img src="https://x.example/a.png" width=200 height=100><a href="https://x.example/" ping="https://p.example/">a</a>')
    lines = {mode: [ln["text"] for ln in nh.verdict([f.__dict__ for f in clean_html(html, Options(mode=mode)).findings])["lines"]]
             for mode in ("trackers", "all")}
    assert lines["trackers"] == ["script — removed (scripts never run in mail)",
                                 "remote media file — removed (only images you see may load)",
                                 "link ping — removed (always removed: mail never needs it)"]
    assert sorted(lines["all"]) == sorted(lines["trackers"] + ["remote image — removed (your setting: block every remote load)"])
    deep = clean_html("<div>" * 600, Options(mode="trackers")).findings
    assert [ln["text"] for ln in nh.verdict([f.__dict__ for f in deep])["lines"]] == [
        "1 HTML part of the message — removed: shown as plain source text instead, nothing in it loads "
        "(it nests elements too deeply to check safely)"]


def test_test_report_is_refused_outside_test_mode() -> None:
    _, (reply,) = serve_bytes(frame({"id": 1, "type": "test_report", "report": {}}))
    assert reply["ok"] is False


# --- safe images -------------------------------------------------------------------------------

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


class _Origin(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[dict]] = []

    def do_GET(self) -> None:
        _Origin.seen.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}})
        if self.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", "/img.png")
            self.end_headers()
            return
        body = PNG if self.path.startswith("/img") else b"<html>not an image</html>"
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Set-Cookie", "id=1")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a: object) -> None:
        pass


@pytest.fixture
def origin():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    _Origin.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _clean_then_fetch(host: nh.Host, html: str, urls: list[str], progress: list | None = None) -> dict:
    _, (cleaned,) = serve_bytes(frame({"id": 1, "type": "clean", "html": html}), host)
    assert cleaned["ok"], cleaned
    _, (reply,) = serve_bytes(frame({"id": 2, "type": "fetch_images", "token": cleaned["token"], "urls": urls}),
                              host, progress=progress)
    return reply


def test_safe_images_fetch_only_kept_images_without_identifying_headers(origin: str, tmp_path: Path) -> None:
    host = nh.Host({"allow_loopback": True})
    img, other, redirect = f"{origin}/img.png", f"{origin}/img-not-in-message.png", f"{origin}/redirect"
    text = f"{origin}/page"
    html = f'<img src="{img}" width="40" height="30"><img src="{redirect}" width="40" height="30"><img src="{text}" width="40" height="30">'
    progress: list = []
    reply = _clean_then_fetch(host, html, [img, redirect, text, other], progress)
    assert reply["ok"], reply
    # One progress message per image fetched (in parallel, finishing in any order).
    assert sorted(p["done"] for p in progress) == [1, 2, 3] and {p["total"] for p in progress} == {3}
    assert reply["images"][img].startswith("data:image/png;base64,")
    assert reply["images"][redirect] == reply["images"][img]
    assert "not a supported image type" in reply["errors"][text]
    assert "not a safe image" in reply["errors"][other]
    assert all(s["path"] != "/img-not-in-message.png" for s in _Origin.seen)
    for s in _Origin.seen:
        assert "cookie" not in s["headers"] and "referer" not in s["headers"]
        assert s["headers"]["user-agent"] == nh.USER_AGENT


def test_safe_images_refuse_loopback_outside_test_mode(origin: str) -> None:
    img = f"{origin}/img.png"
    reply = _clean_then_fetch(nh.Host(), f'<img src="{img}" width="40" height="30">', [img])
    assert reply["images"] == {} and "refused" in reply["errors"][img] and "127.0.0.1" in reply["errors"][img]
    assert _Origin.seen == []


def test_fetch_images_needs_a_token_from_a_clean() -> None:
    _, (reply,) = serve_bytes(frame({"id": 1, "type": "fetch_images", "token": "made-up", "urls": ["https://x.example/a.png"]}))
    assert reply["ok"] is False and "token" in reply["error"]


def test_sniff_image() -> None:
    assert nh.sniff_image(PNG) == "image/png"
    assert nh.sniff_image(b"\xff\xd8\xff\xe0....") == "image/jpeg"
    assert nh.sniff_image(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert nh.sniff_image(b"<svg xmlns='http://www.w3.org/2000/svg'/>") is None


def _newsletter(origin: str, sender: str = "news@shop.example") -> bytes:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Message-ID"] = sender, "bob@example.com", "<n1@shop.example>"
    msg.set_content("text")
    msg.add_alternative(f'<p><img src="{origin}/img.png" width="40" height="30"></p>'
                        f'<img src="{origin}/open.gif?u=bob%40example.com" width="1" height="1">', subtype="html")
    return msg.as_bytes()


def test_prefetch_at_arrival_fills_the_cache_and_clean_serves_from_it(origin: str, tmp_path: Path) -> None:
    import base64

    host = nh.Host({"allow_loopback": True})
    raw = base64.b64encode(_newsletter(origin)).decode()
    _, (arrived,) = serve_bytes(frame({"id": 1, "type": "prefetch", "raw": raw}), host)
    assert arrived["ok"] and arrived["images"] == {f"{origin}/img.png": True} and arrived["errors"] == {}, arrived
    # The pixel (it carries the reader's address) was never requested; the content image once.
    assert [s["path"] for s in _Origin.seen] == ["/img.png"]
    # Opening: the cleaned copy comes with the image from the cache, and nothing is fetched.
    html = nh.message_html_parts(_newsletter(origin))[0]
    _, (opened,) = serve_bytes(frame({"id": 2, "type": "clean", "html": html,
                                      "headers": {"from": ["news@shop.example"], "to": ["bob@example.com"]}}), host)
    assert opened["cached"][f"{origin}/img.png"].startswith("data:image/png;base64,")
    assert opened["remote_images"] == [f"{origin}/img.png"] and opened["removed"] == 1
    assert len(_Origin.seen) == 1
    _, (info,) = serve_bytes(frame({"id": 3, "type": "cache_info"}), host)
    assert info["images"] == 1 and info["bytes"] == len(PNG)
    # use_cache false (images off for this sender): nothing from the cache.
    _, (off,) = serve_bytes(frame({"id": 4, "type": "clean", "html": html, "use_cache": False}), host)
    assert off["cached"] == {}
    _, (cleared,) = serve_bytes(frame({"id": 5, "type": "cache_clear"}), host)
    assert cleared["removed"] == 1


def test_prefetch_skips_trusted_senders_and_logs_each_failure(origin: str, tmp_path: Path, caplog) -> None:
    import base64
    import logging

    host = nh.Host({"allow_loopback": True})
    raw = base64.b64encode(_newsletter(origin, sender="ann@friend.example")).decode()
    _, (reply,) = serve_bytes(frame({"id": 1, "type": "prefetch", "raw": raw,
                                     "options": {"allow_senders": ["@friend.example"]}}), host)
    assert reply["skipped"] == "allowlisted" and _Origin.seen == []
    dead = _newsletter("http://127.0.0.1:9")
    with caplog.at_level(logging.INFO, logger="tracker_block.integrations.thunderbird.native_host"):
        _, (reply,) = serve_bytes(frame({"id": 2, "type": "prefetch", "raw": base64.b64encode(dead).decode()}), host)
    assert reply["images"] == {} and "cannot connect to 127.0.0.1" in reply["errors"]["http://127.0.0.1:9/img.png"]
    assert any("image 127.0.0.1 not fetched" in r.getMessage() for r in caplog.records), caplog.text


def test_image_cache_evicts_least_recently_used(tmp_path: Path) -> None:
    import time as _time

    from tracker_block.integrations.thunderbird.image_cache import ImageCache

    cache = ImageCache(tmp_path / "c", max_bytes=len(PNG) * 2)
    for i in range(3):
        cache.put(f"https://x.example/{i}.png", PNG)
        os.utime(cache._path(f"https://x.example/{i}.png"), (_time.time() - 100 + i, _time.time() - 100 + i))
    assert cache.get("https://x.example/0.png")          # used now: kept
    assert cache.prune() == 1
    assert cache.get("https://x.example/1.png") is None and cache.get("https://x.example/2.png")
    cache.put("https://x.example/svg", b"<svg/>")
    assert cache.get("https://x.example/svg") is None     # never served as an image


def test_test_break_is_refused_outside_test_mode() -> None:
    _, (reply,) = serve_bytes(frame({"id": 1, "type": "test_break"}))
    assert reply["ok"] is False and "test mode" in reply["error"]


def test_images_go_through_the_socks_upstream_when_set(origin: str) -> None:
    """The options page's proxy (e.g. Tor): image fetches are tunnelled through it."""
    import asyncio
    import base64

    from test_proxy import Socks5

    socks = Socks5(None)
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    server = asyncio.run_coroutine_threadsafe(asyncio.start_server(socks.handle, "127.0.0.1", 0), loop).result()
    port = server.sockets[0].getsockname()[1]
    try:
        host = nh.Host({"allow_loopback": True})
        raw = base64.b64encode(_newsletter(origin)).decode()
        _, (reply,) = serve_bytes(frame({"id": 1, "type": "prefetch", "raw": raw,
                                         "options": {"upstream": f"socks5://127.0.0.1:{port}"}}), host)
        assert reply["images"] == {f"{origin}/img.png": True}, reply
        assert [(atyp, h) for atyp, h, _ in socks.asked] == [(1, "127.0.0.1")]
        assert [s["path"] for s in _Origin.seen] == ["/img.png"]
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)

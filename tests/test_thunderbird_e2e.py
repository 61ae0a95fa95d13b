"""End to end in real Thunderbird: the bridge cleans a displayed message and nothing leaks.

Thunderbird (Debian package ``thunderbird``) runs headless in a throw-away HOME and profile. The
native-host manifest is written by the real installer code (``thunderbird.plan``/``apply``), the
unsigned .xpi goes into ``<profile>/extensions/<id>.xpi``. The host runs in test mode: its hello
tells the extension what to do, step by step: open fixture messages with
``messageDisplay.open({file})``, fill in and save the real options page, or open a message before
the extension starts; the display script reports what the rendered message looks like. Two loopback HTTP servers record requests:
one plays the tracker, one serves the content image.
"""
from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
import zlib
from email.message import EmailMessage
from pathlib import Path

import pytest

from tracker_block import thunderbird
from tracker_block.native_host import EXTENSION_ID

LAUNCH_TIMEOUT = 45.0

USER_PREFS = {
    # the add-on is side-loaded unsigned into the profile
    "extensions.autoDisableScopes": 0,
    "extensions.enabledScopes": 15,
    "xpinstall.signatures.required": False,
    # no first-run UI, no default-client check, no start page, no account wizard
    "mail.shell.checkDefaultClient": False,
    "mailnews.start_page.enabled": False,
    "mail.provider.suppress_dialog_on_startup": True,
    "mail.spotlight.firstRunDone": True,
    "mail.winsearch.firstRunDone": True,
    "mail.rights.version": 1,
    "mail.openMessageBehavior": 2,   # open messages in a tab
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "app.update.enabled": False,
    "extensions.update.enabled": False,
    "extensions.getAddons.cache.enabled": False,
    "extensions.blocklist.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "services.settings.server": "http://127.0.0.1:9/",
    # anything that is not loopback goes to a dead proxy: the test never reaches the internet
    "network.proxy.type": 1,
    "network.proxy.http": "127.0.0.1",
    "network.proxy.http_port": 9,
    "network.proxy.ssl": "127.0.0.1",
    "network.proxy.ssl_port": 9,
    # Thunderbird's remote-content blocking: the design relies on it being on (the default)
    "mailnews.message_display.disable_remote_image": True,
}


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


CONTENT_PNG = _png(40, 20, (20, 120, 200))
LOGO_PNG = _png(16, 16, (200, 40, 40))


class Recorder(http.server.ThreadingHTTPServer):
    """Loopback server that remembers every request it sees."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "t": time.time()})
        body = CONTENT_PNG
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _fixture(tracker: str, content: str, filler: int = 0, sender: str = "news@shop.example",
             number: int = 1) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Newsletter <{sender}>"
    msg["To"] = "Bob Reader <bob@example.com>"
    msg["Subject"] = f"Spring sale {number}"
    msg["Message-ID"] = f"<fixture-{number}@{sender.split('@')[1]}>"
    msg["Date"] = "Mon, 01 Jan 2024 10:00:00 +0000"
    msg["Disposition-Notification-To"] = "news@shop.example"
    msg.set_content("Spring sale! View in an HTML capable reader.")
    html = f"""<html><head><style>.hero {{ color: #222; }}</style></head><body>
<p class="hero">Spring sale: everything must go.</p>
<p><img id="logo" src="cid:logo@fixture" width="16" height="16" alt="logo"></p>
<p><img id="photo" src="{content}/images/photo{number}.png" width="40" height="20" alt="photo"></p>
<p><a href="{tracker}/click?email=bob@example.com&amp;id=42">Shop now</a></p>
<img src="{tracker}/track/open.php?u=bob%40example.com&amp;c=9912" width="1" height="1" alt="" style="display:block">
{"<p>Terms and conditions apply to every item in this sale.</p>" * (filler // 60)}
</body></html>"""
    msg.add_alternative(html, subtype="html")
    msg.get_payload()[1].add_related(LOGO_PNG, "image", "png", cid="<logo@fixture>", filename="logo.png")
    return msg.as_bytes()


def _user_js(prefs: dict) -> str:
    return "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in prefs.items())


def _thunderbird() -> str:
    exe = shutil.which("thunderbird")
    assert exe, "Thunderbird is not installed: `apt-get install -y thunderbird` (CI installs it)"
    return exe


def run_thunderbird(tmp_path: Path, steps: list[dict], expected_reports: int, prefs: dict | None = None,
                    user_prefs: dict | None = None, launch: int = 1) -> tuple[list[dict], float]:
    """Launch Thunderbird once, wait for the extension's reports, return them and the run time.

    ``steps`` run one after the other: ``{"path", "name", "actions"}`` opens a fixture message,
    ``{"options": {...}}`` fills in and saves the real options page, ``"before_extension": True``
    opens a fixture while the extension is not running (then reloads it; last step only).
    ``launch`` > 1 starts Thunderbird again with the profile (and extension storage) of the
    previous launch."""
    exe = _thunderbird()
    home = tmp_path / "home"
    profile = tmp_path / "profile"
    if launch == 1:
        (profile / "extensions").mkdir(parents=True)
        home.mkdir()
        # The real installer logic writes the host manifest and launcher into the temporary HOME.
        plan = thunderbird.plan("linux", home=home, env={}, python=sys.executable)
        thunderbird.apply(plan)
        shutil.copy(plan.xpi_path, profile / "extensions" / f"{EXTENSION_ID}.xpi")
        (profile / "user.js").write_text(_user_js({**USER_PREFS, **(user_prefs or {})}), encoding="utf-8")

    report = tmp_path / f"reports-{launch}.jsonl"
    config = tmp_path / f"test-config-{launch}.json"
    config.write_text(json.dumps({
        "run_id": f"{tmp_path.name}-{launch}", "report": str(report), "steps": steps,
        "prefs": prefs or {}, "allow_loopback": True,
    }), encoding="utf-8")
    env = {
        "HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "TMPDIR": str(tmp_path), "LANG": "C.UTF-8",
        "MOZ_HEADLESS": "1", "MOZ_CRASHREPORTER_DISABLE": "1", "MOZ_DISABLE_AUTO_SAFE_MODE": "1",
        "TRACKER_BLOCK_TB_TEST": str(config),
        "TRACKER_BLOCK_LOG": str(tmp_path / "native-host.log"),
        "PYTHONPATH": str(Path(thunderbird.__file__).resolve().parent.parent),
    }
    reports: list[dict] = []
    with open(tmp_path / f"thunderbird-{launch}.log", "wb") as log:
        started = time.monotonic()
        proc = subprocess.Popen([exe, "--headless", "--no-remote", "--profile", str(profile)],
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            while time.monotonic() - started < LAUNCH_TIMEOUT:
                if report.exists():
                    complete = report.read_text(encoding="utf-8").split("\n")[:-1]  # skip a half-written line
                    reports = [json.loads(line) for line in complete if line.strip()]
                    if len(reports) >= expected_reports:
                        break
                if proc.poll() is not None:
                    break
                time.sleep(0.2)
        finally:
            elapsed = time.monotonic() - started
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, 9)
                    proc.wait()
    if len(reports) < expected_reports:
        tail = (tmp_path / f"thunderbird-{launch}.log").read_text(errors="replace")[-3000:]
        host_log = tmp_path / "native-host.log"
        host_tail = host_log.read_text(errors="replace")[-2000:] if host_log.exists() else "(no host log)"
        pytest.fail(f"got {len(reports)} of {expected_reports} reports after {elapsed:.1f}s "
                    f"(exit {proc.returncode})\n--- thunderbird ---\n{tail}\n--- host ---\n{host_tail}\n"
                    f"--- reports ---\n{json.dumps(reports, indent=1)[:3000]}")
    return reports, elapsed


@pytest.fixture
def servers():
    tracker, content = Recorder(), Recorder()
    for server in (tracker, content):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tracker, content
    for server in (tracker, content):
        server.shutdown()
        server.server_close()


def test_thunderbird_shows_cleaned_message_and_nothing_leaks(tmp_path: Path, servers) -> None:
    tracker, content = servers
    eml = tmp_path / "sale.eml"
    eml.write_bytes(_fixture(tracker.base, content.base))
    # A body over Thunderbird's 1 MiB host->extension cap: the cleaned copy comes back in chunks.
    big = tmp_path / "big.eml"
    big.write_bytes(_fixture(tracker.base, content.base, filler=1_300_000))
    reports, elapsed = run_thunderbird(
        tmp_path,
        steps=[{"path": str(eml), "name": "sale.eml", "actions": ["report", "show_safe_images"]},
               {"path": str(big), "name": "big.eml", "actions": ["report"]}],
        prefs={"mode": "trackers", "safeImages": "per-message"},
        expected_reports=3,
    )
    print(f"Thunderbird run: {elapsed:.1f}s")
    by_name = {(r["fixture"], r["phase"]): r for r in reports}
    cleaned, safe = by_name["sale.eml", "cleaned"], by_name["sale.eml", "safe-images"]
    large = by_name["big.eml", "cleaned"]
    assert not large["error"], large["banner"]
    assert "open pixel" in large["banner"] and large["bodyLength"] > 1_300_000, large["banner"]
    assert not any("/track/" in i["src"] for i in large["images"])
    assert cleaned["phase"] == "cleaned", cleaned
    assert not cleaned["error"], cleaned["banner"]

    # The banner names what was blocked, including the read-receipt request from the headers.
    assert cleaned["banner"] and "blocked" in cleaned["banner"], cleaned
    assert "read-receipt request" in cleaned["banner"], cleaned["banner"]
    assert any("/track/open.php" in d for d in cleaned["details"]), cleaned["details"]
    assert cleaned["bodyVisibility"] == "visible"
    assert not cleaned["warning"], "remote content was blocked: no 'trackers may have fired' warning"

    # The tracker pixel is gone from the rendered DOM; the tracked link no longer carries the address.
    srcs = [i["src"] for i in cleaned["images"]]
    assert not any("/track/" in s for s in srcs), srcs
    assert "/track/open.php" not in cleaned["html"]
    # The tracked link that carries the reader's address is marked.
    assert cleaned["identifyMarkers"] == 1, cleaned
    # The cid: image was rewritten to a mailbox: part URL by Thunderbird and still displays.
    logo = [i for i in cleaned["images"] if i["src"].startswith(("mailbox:", "cid:"))]
    assert logo and logo[0]["naturalWidth"] == 16, cleaned["images"]
    # The content image is still there (blocked by Thunderbird, not loaded).
    photo = [i for i in cleaned["images"] if "/images/photo1.png" in i["src"]]
    assert photo and photo[0]["naturalWidth"] == 0, cleaned["images"]

    # "Show safe images": the content image now shows inline as data:, fetched by the host.
    safe_photo = [i for i in safe["images"] if i["src"].startswith("data:image/png")]
    assert safe_photo and safe_photo[0]["naturalWidth"] == 40, safe
    assert not any("/track/" in i["src"] for i in safe["images"])

    # The tracker server saw nothing at all; the content server saw only the host's one fetch,
    # after the first report, without cookies or referrer and with the generic user agent.
    assert tracker.requests == [], tracker.requests
    assert len(content.requests) == 1, content.requests
    req = content.requests[0]
    assert req["t"] > cleaned["host_time"]
    headers = {k.lower(): v for k, v in req["headers"].items()}
    assert "cookie" not in headers and "referer" not in headers
    assert headers["user-agent"] == "Mozilla/5.0 (compatible)"


def test_mode_all_and_warning_when_remote_content_was_allowed(tmp_path: Path, servers) -> None:
    """If the user let Thunderbird load remote content, images load before any extension script
    can run: the bridge still removes every remote element but must say trackers may have fired."""
    tracker, content = servers
    eml = tmp_path / "sale.eml"
    eml.write_bytes(_fixture(tracker.base, content.base))
    # Mode "all" is chosen on the real options page (filled in and saved through its form).
    reports, _ = run_thunderbird(
        tmp_path,
        steps=[{"options": {"mode": "all", "safeImages": "always"}},
               {"path": str(eml), "name": "sale.eml", "actions": ["report"]}],
        expected_reports=2,
        user_prefs={"mailnews.message_display.disable_remote_image": False},
    )
    saved, cleaned = reports
    assert saved["phase"] == "options-saved", saved
    assert saved["stored"]["mode"] == "all" and saved["stored"]["safeImages"] == "always", saved
    assert not cleaned["error"], cleaned["banner"]
    assert cleaned["warning"], cleaned
    # mode "all": no remote image is left, so there is nothing for "safe images" to fetch either.
    remote = [i["src"] for i in cleaned["images"] if i["src"].startswith("http")]
    assert remote == [], cleaned["images"]
    assert not re.search(r'\ssrc="http', cleaned["html"]) and "/track/" not in cleaned["html"]
    assert [i["naturalWidth"] for i in cleaned["images"] if i["src"].startswith("mailbox:")] == [16]
    assert "blocked by policy" in cleaned["banner"], cleaned["banner"]


def _by_phase(reports: list[dict], expected_failures: tuple[tuple[str, str], ...] = ()) -> dict:
    out = {(r["fixture"], r["phase"]): r for r in reports}
    failed = [r for r in reports if r["phase"].endswith("-failed")
              and (r["fixture"], r["phase"]) not in expected_failures]
    assert not failed, failed
    return out


def test_options_page_policies_and_always_for_sender(tmp_path: Path, servers) -> None:
    """Settings made on the real options page change what the next message looks like:
    safe images never / per sender (with "Always for <sender>" remembered for the sender's next
    message, also after Thunderbird restarts) / always, and a trusted sender's message is shown
    as sent."""
    tracker, content = servers
    paths = {}
    for name, sender, number in [("never.eml", "news@shop.example", 1), ("first.eml", "news@shop.example", 2),
                                 ("second.eml", "news@shop.example", 3), ("friend.eml", "ann@friend.example", 4),
                                 ("always.eml", "deals@other.example", 5),
                                 ("restart.eml", "news@shop.example", 6), ("other.eml", "deals@other.example", 7)]:
        paths[name] = tmp_path / name
        paths[name].write_bytes(_fixture(tracker.base, content.base, sender=sender, number=number))

    def fx(name: str, *actions: str) -> dict:
        return {"path": str(paths[name]), "name": name, "actions": list(actions)}

    reports, elapsed = run_thunderbird(tmp_path, steps=[
        {"options": {"mode": "trackers", "safeImages": "never", "safeImageSenders": "", "allowSenders": ""}},
        fx("never.eml", "report", "show_safe_images"),
        {"options": {"safeImages": "per-sender", "allowSenders": "@friend.example\nnot-an-address"}},
        fx("first.eml", "report", "always_for_sender"),
        fx("second.eml", "report"),
        fx("friend.eml", "report"),
        {"options": {"safeImages": "always", "allowSenders": ""}},
        fx("always.eml", "report"),
    ], expected_reports=10)
    print(f"Thunderbird run: {elapsed:.1f}s")
    r = _by_phase(reports, expected_failures=(("never.eml", "show_safe_images-failed"),))
    saved = [x["stored"] for x in reports if x["phase"] == "options-saved"]
    assert [s["safeImages"] for s in saved] == ["never", "per-sender", "always"], saved
    assert saved[1]["allowSenders"] == ["@friend.example"], saved  # the form drops a non-address line
    assert saved[2]["safeImageSenders"] == ["news@shop.example"], saved  # kept from "Always for"

    def photo(report: dict) -> dict:
        (img,) = [i for i in report["images"] if "photo" in i["src"] or i["src"].startswith("data:image/png")
                  and i["naturalWidth"] == 40]
        return img

    # never: no safe-images button, and the background refuses a fetch if one is attempted.
    never = r["never.eml", "cleaned"]
    assert "blocked" in never["banner"] and never["buttons"] == ["Details"], never
    assert "/images/photo1.png" in photo(never)["src"] and photo(never)["naturalWidth"] == 0
    refused = r["never.eml", "show_safe_images-failed"]
    assert "switched off" in refused["error"], refused

    # per-sender, sender not listed yet: both buttons, the image stays blocked until a click.
    first = r["first.eml", "cleaned"]
    assert first["buttons"] == ["Details", "Show safe images (1)", "Always for news@shop.example"], first
    assert photo(first)["naturalWidth"] == 0
    clicked = r["first.eml", "always-for-sender"]
    assert clicked["fetched"]["images"] == 1 and photo(clicked)["naturalWidth"] == 40, clicked
    assert clicked["buttons"] == ["Details"], clicked
    # ... and the sender's next message shows its safe images without a click.
    second = r["second.eml", "cleaned"]
    assert photo(second)["src"].startswith("data:image/png") and photo(second)["naturalWidth"] == 40, second
    assert "open pixel" in second["banner"] and not any("/track/" in i["src"] for i in second["images"])

    # A trusted sender (@friend.example on the options page): shown as sent, nothing removed,
    # no safe-images offer; Thunderbird's own blocking keeps the pixel from loading.
    friend = r["friend.eml", "cleaned"]
    assert friend["untouched"] and "not checked" in friend["banner"].lower(), friend
    assert friend["buttons"] == [] and friend["identifyMarkers"] == 0, friend
    assert "/track/open.php" in friend["html"] and "/click?email=bob@example.com" in friend["html"]
    assert [i["naturalWidth"] for i in friend["images"] if i["src"].startswith("http")] == [0, 0]
    assert friend["bodyVisibility"] == "visible"

    # always: safe images load by themselves for any sender.
    always = r["always.eml", "cleaned"]
    assert photo(always)["src"].startswith("data:image/png") and photo(always)["naturalWidth"] == 40, always

    # Thunderbird restarts with the same profile. The options page shows the stored sender list
    # (saving it again with "per sender" keeps it), and "Always for" still applies to that sender
    # only.
    reports2, elapsed2 = run_thunderbird(tmp_path, steps=[
        {"options": {"safeImages": "per-sender"}},
        fx("restart.eml", "report"),
        fx("other.eml", "report"),
    ], expected_reports=3, launch=2)
    print(f"Thunderbird restart: {elapsed2:.1f}s")
    r2 = _by_phase(reports2)
    assert r2["options", "options-saved"]["stored"]["safeImageSenders"] == ["news@shop.example"], reports2
    restarted = r2["restart.eml", "cleaned"]
    assert photo(restarted)["src"].startswith("data:image/png") and photo(restarted)["naturalWidth"] == 40
    other = r2["other.eml", "cleaned"]
    assert "/images/photo7.png" in photo(other)["src"] and photo(other)["naturalWidth"] == 0, other
    assert other["buttons"][-1] == "Always for deals@other.example", other

    # The tracker never saw a request; the content server saw exactly the four host fetches.
    assert tracker.requests == [], tracker.requests
    assert sorted(q["path"] for q in content.requests) == [
        "/images/photo2.png", "/images/photo3.png", "/images/photo5.png", "/images/photo6.png"], content.requests
    assert all(q["headers"].get("User-Agent") == "Mozilla/5.0 (compatible)" for q in content.requests)


def test_message_open_before_extension_starts_is_cleaned(tmp_path: Path, servers) -> None:
    """A message already on screen when the extension starts (installed, enabled or updated
    while Thunderbird runs) gets no registered display script: start() injects it."""
    tracker, content = servers
    eml = tmp_path / "early.eml"
    eml.write_bytes(_fixture(tracker.base, content.base))
    reports, elapsed = run_thunderbird(
        tmp_path, steps=[{"path": str(eml), "name": "early.eml", "actions": ["report"],
                          "before_extension": True}], expected_reports=2)
    print(f"Thunderbird run: {elapsed:.1f}s")
    r = _by_phase(reports)
    opened, cleaned = r["early.eml", "opened-without-extension"], r["early.eml", "cleaned"]
    assert cleaned["injectedAfterStart"] is True, cleaned   # cleaned through executeScript
    assert cleaned["host_time"] > opened["host_time"]
    assert not cleaned["error"] and "open pixel" in cleaned["banner"], cleaned
    assert "read-receipt request" in cleaned["banner"]
    assert not any("/track/" in i["src"] for i in cleaned["images"]) and "/track/" not in cleaned["html"]
    assert [i["naturalWidth"] for i in cleaned["images"] if i["src"].startswith("mailbox:")] == [16]
    assert cleaned["identifyMarkers"] == 1 and cleaned["bodyVisibility"] == "visible"
    assert tracker.requests == [] and content.requests == []

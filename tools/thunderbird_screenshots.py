"""Screenshots of the Thunderbird bridge's main states, for docs/thunderbird.md.

Runs real Thunderbird (not headless) on a private Xvfb display with the e2e test's harness
(tests/test_thunderbird_e2e.py: throw-away profile, host in test mode, network cut to loopback)
and grabs the screen with ``xwd`` when each state is on screen. Needs Xvfb and xwd
(Debian: ``apt-get install -y xvfb x11-apps``).

    .venv/bin/python tools/thunderbird_screenshots.py [--out docs/img]
"""
from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import test_thunderbird_e2e as e2e  # noqa: E402

SIZE = (1280, 860)


def xwd_rows(xwd: bytes) -> list[bytes]:
    """RGB rows of a 24/32-bit TrueColor ZPixmap XWD dump (what xwd writes for Xvfb)."""
    fields = struct.unpack(">25I", xwd[:100])
    header_size, width, height = fields[0], fields[4], fields[5]
    byte_order, bpp, bytes_per_line, ncolors = fields[7], fields[11], fields[12], fields[19]
    if bpp not in (24, 32):
        raise ValueError(f"unsupported XWD: {bpp} bits per pixel")
    step = bpp // 8
    data = xwd[header_size + ncolors * 12:]
    rows = []
    for y in range(height):
        line = data[y * bytes_per_line:y * bytes_per_line + width * step]
        rgb = bytearray(width * 3)
        if byte_order == 0:       # LSBFirst: B G R [X]
            rgb[0::3], rgb[1::3], rgb[2::3] = line[2::step], line[1::step], line[0::step]
        else:                     # MSBFirst: [X] R G B
            o = step - 3
            rgb[0::3], rgb[1::3], rgb[2::3] = line[o::step], line[o + 1::step], line[o + 2::step]
        rows.append(bytes(rgb))
    return rows


def trim(rows: list[bytes]) -> list[bytes]:
    """Drop the black strip right of the Thunderbird window (the screen is wider)."""
    width = len(rows[0]) // 3
    while width > 1 and all(row[(width - 1) * 3:width * 3] == b"\x00\x00\x00" for row in rows[::8]):
        width -= 1
    return [row[:width * 3] for row in rows]


def png(rows: list[bytes]) -> bytes:
    rows = trim(rows)
    height, width = len(rows), len(rows[0]) // 3

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def screen(display: str) -> list[bytes]:
    xwd = subprocess.run(["xwd", "-root", "-silent", "-display", display], capture_output=True, check=True).stdout
    return xwd_rows(xwd)


def grab(display: str, out: Path) -> None:
    out.write_bytes(png(screen(display)))
    print("wrote", out)


# Xvfb (no compositor) paints Thunderbird's popup panels black. So the message is captured, then
# the popup page for that message is shown in a tab and drawn where the panel opens.
POPUP = "popup_tab"
PANEL = (596, 117, 458, 470)      # where the panel opens under the button: x, y, width, height
CONTENT = (46, 118)               # top left of a tab's page below the address bar


def composite(message: list[bytes], popup_tab: list[bytes]) -> list[bytes]:
    """The message screen with the popup page (taken from its tab) drawn where the panel opens,
    with a 1px grey border."""
    x, y, w, h = PANEL
    cx, cy = CONTENT
    background = popup_tab[cy + h - 1][cx * 3:cx * 3 + 3]
    used = [dy for dy in range(h) if popup_tab[cy + dy][cx * 3:(cx + w) * 3] != background * w]
    h = min(h, (used[-1] + 12) if used else h)   # the panel is as tall as its content
    out = [bytearray(row) for row in message]
    for dy in range(h):
        out[y + dy][x * 3:(x + w) * 3] = popup_tab[cy + dy][cx * 3:(cx + w) * 3]
    grey = bytes((0x9a, 0xa0, 0xa6))
    for dy in (0, h - 1):
        out[y + dy][x * 3:(x + w) * 3] = grey * w
    for dy in range(h):
        out[y + dy][x * 3:x * 3 + 3] = grey
        out[y + dy][(x + w - 1) * 3:(x + w) * 3] = grey
    return [bytes(row) for row in out]


def newsletter(content: str, *, number: int, clean: bool = False, spoof: bool = False) -> bytes:
    """A Mailchimp-style newsletter (or a plain note when ``clean``)."""
    msg = EmailMessage()
    msg["From"] = "Shop Example <news@shop.example>" if not clean else "Ann Friend <ann@friend.example>"
    msg["To"] = "Bob Reader <bob@example.com>"
    msg["Subject"] = "Spring sale: everything must go" if not clean else "Lunch on Friday?"
    msg["Message-ID"] = f"<shot-{number}@shop.example>"
    msg["Date"] = "Mon, 01 Apr 2024 10:00:00 +0000"
    if not clean:
        msg["Disposition-Notification-To"] = "news@shop.example"
    msg.set_content("Spring sale!")
    if clean:
        html = "<p>Hi Bob,</p><p>Lunch on Friday at the usual place? 12:30 works for me.</p><p>Ann</p>"
    else:
        mc = "https://shopexample.us1.list-manage.com/track"
        fake = ('<div style="background:#e7f6e7;border:1px solid #9c9;padding:6px 10px;font:13px system-ui">'
                '<b>tracker-block:</b> No trackers found ✓</div>') if spoof else ""
        html = f"""<html><head><style>body{{font-family:system-ui,sans-serif}} h1{{color:#b03a2e}}
{"#tracker-block-banner{display:none!important} tracker-block-mark{display:none!important}" if spoof else ""}</style></head>
<body>{fake}<h1>Spring sale</h1>
<p><img src="{content}/images/hero{number}.png" width="320" height="120" alt="Spring collection"></p>
<p>Everything must go. <a href="{mc}/click?u=abc&amp;id=1&amp;e=bob">Shop the sale</a> ·
<a href="{mc}/click?u=abc&amp;id=2&amp;e=bob">New arrivals</a> ·
<a href="https://shop.example/spring?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=spring">Lookbook</a></p>
<img src="{mc}/open.php?u=abc&amp;id=9&amp;e=bob" width="1" height="1" alt="">
</body></html>"""
    msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "img"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for tool in ("Xvfb", "xwd"):
        if not shutil.which(tool):
            print(f"error: {tool} not found (apt-get install -y xvfb x11-apps)", file=sys.stderr)
            return 1
    display = ":97"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{SIZE[0]}x{SIZE[1]}x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    content = e2e.Recorder()
    reports_server = e2e.Recorder()
    content_png = e2e._png(320, 120, (64, 140, 110))

    class Handler(e2e._Handler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(content_png)))
            self.end_headers()
            self.wfile.write(content_png)

    content.RequestHandlerClass = Handler
    for server in (content, reports_server):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    shots = {("options", "options-holding"): "thunderbird-options.png",
             ("newsletter.eml", "popup-tab"): "thunderbird-popup.png",
             ("clean.eml", "cleaned"): "thunderbird-clean.png",
             ("spoof.eml", "popup-tab"): "thunderbird-spoof.png",
             ("missing.eml", "popup-tab"): "thunderbird-host-missing.png"}
    try:
        time.sleep(1)
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp)
            files = {}
            for name, kwargs in (("newsletter.eml", {"number": 1}), ("clean.eml", {"number": 2, "clean": True}),
                                 ("spoof.eml", {"number": 3, "spoof": True}), ("missing.eml", {"number": 4})):
                files[name] = tmp_path / name
                files[name].write_bytes(newsletter(content.base, **kwargs))

            underneath: dict[str, list[bytes]] = {}

            def on_report(r: dict) -> None:
                name = shots.get((r.get("fixture"), r.get("phase")))
                if r.get("phase") == "cleaned" and (r["fixture"], "popup-tab") in shots:
                    time.sleep(0.3)
                    underneath[r["fixture"]] = screen(display)
                elif r.get("phase") == "popup-tab":
                    time.sleep(0.3)
                    (out / name).write_bytes(png(composite(underneath[r["fixture"]], screen(display))))
                    print("wrote", out / name)
                elif name:
                    time.sleep(0.3)   # let the page finish painting
                    grab(display, out / name)

            def fx(name: str, *actions: str, **extra: object) -> dict:
                return {"path": str(files[name]), "name": name, "actions": list(actions), **extra}

            e2e.LAUNCH_TIMEOUT = 90.0
            e2e.run_thunderbird(tmp_path, steps=[
                {"options": {}, "hold": 2500},
                fx("newsletter.eml", POPUP, arrive=True, message_id="shot-1@shop.example", close=True),
                fx("clean.eml", "report", "wait:3000", close=True),
                fx("spoof.eml", POPUP, close=True),
                {"break_host": True},
                fx("missing.eml", POPUP),
            ], expected_reports=14, display=display, report_server=reports_server, on_report=on_report,
                user_prefs={"mail.openMessageBehavior": 2, "widget.use-argb-visuals": False, "widget.transparent-windows": False,
                            "gfx.webrender.software": True})
    finally:
        for server in (content, reports_server):
            server.shutdown()
            server.server_close()
        xvfb.terminate()
        xvfb.wait(10)
    missing = [n for n in shots.values() if not (out / n).exists()]
    if missing:
        print("error: not captured:", ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`--prefetch`: proxied images are fetched through the proxy at scan time; trackers never are."""
from __future__ import annotations

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tracker_block.engine.signing import KeyRing

MSG = (b"From: Shop <news@shop.example.com>\r\nTo: ana@example.org\r\nSubject: Sale\r\n"
       b"Message-ID: <p1@shop.example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
       b'<p><img src="https://cdn.shop.example.com/hero.jpg" width="600" height="300">'
       b'<img src="https://us1.list-manage.com/track/open.php?u=1&amp;id=2" width="1" height="1"></p>\r\n')


def test_prefetch_warms_only_proxied_images(tmp_path):
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            seen.append(self.path)
            body = b"GIF89a"
            self.send_response(200)
            self.send_header("Content-Type", "image/gif")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        keyfile = tmp_path / "keys"
        keyfile.write_text("k1 " + "ab" * 32 + "\n")
        (tmp_path / "m.eml").write_bytes(MSG)
        base = f"http://127.0.0.1:{server.server_address[1]}/p"
        p = subprocess.run([sys.executable, "-m", "tracker_block.cli.main", "scan", "m.eml", "--remote", "proxy",
                            "--proxy-url", base, "--proxy-key", str(keyfile), "--prefetch", "-q", "--json"],
                           cwd=tmp_path, capture_output=True, timeout=60)
        assert p.returncode == 0, p.stderr.decode()
    finally:
        server.shutdown()
    ring = KeyRing.from_file(keyfile)
    assert [ring.verify(path[len("/p"):]) for path in seen] == ["https://cdn.shop.example.com/hero.jpg"]
    p2 = subprocess.run([sys.executable, "-m", "tracker_block.cli.main", "scan", "m.eml", "--prefetch"],
                        cwd=tmp_path, capture_output=True, timeout=60)
    assert p2.returncode == 2 and b"--remote proxy" in p2.stderr

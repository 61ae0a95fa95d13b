"""``tracker-block rules update`` against a real HTTP server on loopback.

Why: the update is the only network code in the rules, run only by the user. It must send
If-Modified-Since and accept 304, swap a good list in atomically, and keep the previous copy
whenever the download is too large, is not a filter list, or cannot be fetched.
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tracker_block.engine.rules import load_rules
from tracker_block.cli.rules_cli import main as rules_main

GOOD = "! Title: test list\n||tracker.update.example^\n/beacon-upd.gif\n"
NEWER = "! Title: test list v2\n||tracker.update.example^\n||second.update.example^\n"
LAST_MODIFIED = "Wed, 02 Dec 2026 10:00:00 GMT"


class Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes]] = {}
    seen: list[dict] = []

    def do_GET(self):  # noqa: N802 - http.server API
        Handler.seen.append({"path": self.path, "ims": self.headers.get("If-Modified-Since")})
        code, body = Handler.routes.get(self.path, (404, b"no"))
        if code == 200 and self.headers.get("If-Modified-Since") == LAST_MODIFIED and self.path == "/list.txt":
            code, body = 304, b""
        self.send_response(code)
        if code == 200:
            self.send_header("Last-Modified", LAST_MODIFIED)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):  # quiet
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    Handler.seen.clear()
    Handler.routes = {"/list.txt": (200, GOOD.encode())}
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def user(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    load_rules.cache_clear()
    yield tmp_path
    load_rules.cache_clear()


def config(tmp, url: str):
    cfg = tmp / "config.toml"
    cfg.write_text(f'filter_lists = ["{url}"]\n')
    return str(cfg)


def check(cfg: str, url: str, capsys) -> str:
    load_rules.cache_clear()
    assert rules_main(["--config", cfg, "check", url]) == 0
    return capsys.readouterr().out


def test_download_then_304_then_newer(server, user, capsys):
    url = server + "/list.txt"
    cfg = config(user, url)
    # never downloaded: a clear error, not a silent pass
    assert rules_main(["--config", cfg, "check", "https://tracker.update.example/p.gif"]) == 1
    assert "not downloaded yet: run `tracker-block rules update`" in capsys.readouterr().err
    assert rules_main(["--config", cfg, "update", url]) == 0
    assert "updated (2 filters)" in capsys.readouterr().out
    assert "TRACKER  list:" in check(cfg, "https://a.tracker.update.example/p.gif", capsys)
    assert rules_main(["--config", cfg, "update", url]) == 0
    assert "not modified" in capsys.readouterr().out
    assert Handler.seen[-1]["ims"] == LAST_MODIFIED
    Handler.routes["/list.txt"] = (200, NEWER.encode())
    Handler.seen.clear()
    import os
    from tracker_block.cli.listupdate import cache_dir, cache_name
    os.utime(cache_dir() / cache_name(url), (0, 0))   # our copy is old: the server sends the new one
    assert rules_main(["--config", cfg, "update", url]) == 0
    assert "updated (2 filters)" in capsys.readouterr().out
    assert "TRACKER  list:" in check(cfg, "https://second.update.example/p.gif", capsys)
    # roll back to the copy the update replaced
    assert rules_main(["--config", cfg, "update", "--rollback", url]) == 0
    assert "rolled back" in capsys.readouterr().out
    assert "content / unknown" in check(cfg, "https://second.update.example/p.gif", capsys)


@pytest.mark.parametrize("route, body, why", [
    ("/big.txt", ("! big\n" + "".join(f"||x{i}.example^\n" for i in range(3000))).encode(), "limit"),
    ("/page.txt", b"<!DOCTYPE html><html><body>Rate limited</body></html>", "not a filter list"),
    ("/empty.txt", b"! only a comment\n", "no filters"),
    ("/binary.txt", b"\xff\xfe\x00garbage", "not UTF-8"),
    ("/gone.txt", None, "HTTP 404"),
])
def test_bad_download_keeps_the_old_list(server, user, capsys, route, body, why):
    url = server + route
    cfg = config(user, url)
    Handler.routes[route] = (200, GOOD.encode())
    assert rules_main(["--config", cfg, "update", url]) == 0
    capsys.readouterr()
    if body is None:
        Handler.routes.pop(route)
    else:
        Handler.routes[route] = (200, body)
    from tracker_block.cli.listupdate import cache_dir, cache_name
    import os
    os.utime(cache_dir() / cache_name(url), (0, 0))
    assert rules_main(["--config", cfg, "update", "--max-bytes", "20000", url]) == 1
    out = capsys.readouterr().out
    assert "kept" in out and why in out
    assert "TRACKER  list:" in check(cfg, "https://tracker.update.example/p.gif", capsys)
    assert not [p for p in cache_dir().iterdir() if p.name.endswith(".part")]


def test_network_error_keeps_old_list(user, capsys):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                   # nothing listens there now
    url = f"http://127.0.0.1:{port}/list.txt"
    cfg = config(user, url)
    from tracker_block.cli.listupdate import cache_dir, cache_name
    cache_dir().mkdir(parents=True)
    (cache_dir() / cache_name(url)).write_text(GOOD)
    assert rules_main(["--config", cfg, "update", url]) == 1
    assert "kept: cannot fetch" in capsys.readouterr().out
    assert "TRACKER  list:" in check(cfg, "https://tracker.update.example/p.gif", capsys)


def test_update_unknown_list_is_a_usage_error(user, capsys):
    assert rules_main(["update", "nonsense.txt"]) == 2
    err = capsys.readouterr().err
    assert "unknown list 'nonsense.txt'" in err and "easyprivacy_general_emailtrackers.txt" in err


def test_updated_bundled_list_replaces_the_snapshot(server, user, capsys, monkeypatch):
    """A bundled list's fetched copy is what the engine uses afterwards; the snapshot is the fallback."""
    import tracker_block.cli.listupdate as U
    real = U.targets
    monkeypatch.setattr(U, "targets", lambda lists: [
        (n, server + "/list.txt" if n == "tracker-block-filters.txt" else u, d) for n, u, d in real(lists)
        if n == "tracker-block-filters.txt"] or [])
    from tracker_block.engine.rules import bundled_lists
    monkeypatch.setattr("tracker_block.engine.rules.bundled_lists", lambda: [
        dict(e, update_url=server + "/list.txt") if e["file"] == "tracker-block-filters.txt" else e
        for e in bundled_lists()])
    assert rules_main(["update", "tracker-block-filters.txt"]) == 0
    load_rules.cache_clear()
    rules = load_rules()
    assert rules.filters.match("https://tracker.update.example/x", "tracker.update.example") is not None
    assert rules.filters.match("https://s.example/piwik.php?rec=1", "s.example") is None   # replaced


def test_update_runs_only_when_asked():
    """Nothing but the `rules update` command imports the fetching code's network calls."""
    import pathlib
    src = pathlib.Path(__file__).resolve().parent.parent / "tracker_block"
    users = [p.name for p in src.rglob("*.py") if "fetch(" in p.read_text() and "listupdate" in p.read_text()]
    assert users == ["rules_cli.py"], users
    assert "urlopen" not in "".join(p.read_text() for p in src.glob("*.py") if p.name != "listupdate.py"
                                    and p.name not in ("netguard.py", "proxy.py", "native_host.py"))

"""The privacy image proxy against real loopback origins.

Origins listen on 127.0.0.2, which the test guard treats as "public"; a "secret" internal
service listens on 127.0.0.1 (same port), which must never be reached. A tripwire guard records
any attempt to contact an address outside 127/8, so a guard bug fails the test instead of
sending a packet anywhere.
"""
from __future__ import annotations

import asyncio
import signal
import socket
import ssl
import struct
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import aiohttp
import pytest
import trustme
from aiohttp import web

from tracker_block.integrations.proxy import server as proxy
from tracker_block.integrations.proxy.netguard import BlockedAddress, Guard
from tracker_block.engine.signing import KeyRing, SignatureError

PNG = proxy.PLACEHOLDER_PNG[:-12] + b"REALIMAGE!!!"  # distinguishable from the placeholder
KEY1 = KeyRing.from_text("k1 " + "11" * 32)
KEY2 = KeyRing.from_text("k2 " + "22" * 32 + "\nk1 " + "11" * 32)


class TripwireGuard(Guard):
    """The real guard, plus a record of any non-loopback address it was asked to allow."""

    def __init__(self, **kw):
        super().__init__(allow=["127.0.0.2/32"], **kw)
        self.outside: list[str] = []

    def check_ip(self, ip: str) -> None:
        super().check_ip(ip)
        if not ip.startswith("127."):
            self.outside.append(ip)
            raise BlockedAddress("tripwire: test would have left loopback")


class Stub:
    """Resolver stub: fixed names, plus 'rebind.test' answering public first, private after."""

    def __init__(self):
        self.calls: dict[str, int] = {}

    def __call__(self, host: str, port: int):
        n = self.calls[host] = self.calls.get(host, 0) + 1
        table = {"origin.test": ["127.0.0.2"], "secret.test": ["127.0.0.1"],
                 "metadata.test": ["169.254.169.254"], "mixed.test": ["127.0.0.2", "127.0.0.1"],
                 "mapped.test": ["::ffff:127.0.0.1"],
                 "rebind.test": ["127.0.0.2"] if n == 1 else ["127.0.0.1"]}
        table.update(getattr(self, "table_extra", {}))
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return table[host]


# -- fixture origins ---------------------------------------------------------------------------

class Origin:
    """An aiohttp origin that records every request it gets."""

    def __init__(self):
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.app = web.Application()
        self.app.router.add_get("/{tail:.*}", self.handle)

    def hits(self, fragment: str = "") -> int:
        return sum(1 for path, _ in self.requests if fragment in path)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.path_qs, dict(request.headers)))
        q, name = request.query, request.path.strip("/").split("/")[0]
        if name == "img":
            resp = web.Response(body=PNG, content_type="image/png")
            resp.set_cookie("track", "reader-42")
            resp.headers["X-Secret-Upstream"] = "leak"
            if "close" in q:
                resp.force_close()  # no keep-alive: the next fetch needs a new connection
            return resp
        if name == "sized":
            return web.Response(body=b"\x89PNG" + b"x" * (int(q["n"]) - 4), content_type="image/png")
        if name == "typed":
            return web.Response(body=PNG, headers={"Content-Type": q["ct"]} if "ct" in q else {})
        if name == "redirect":
            resp = web.Response(status=int(q.get("code", 302)), headers={"Location": q["to"]})
            resp.set_cookie("hop", "one")
            return resp
        if name == "chain":  # /chain?n=2 -> 3 redirects, then the image
            n = int(q["n"])
            to = "/img" if n == 0 else f"/chain?n={n - 1}&x={q.get('x', '')}"
            return web.Response(status=302, headers={"Location": to})
        if name == "html":
            return web.Response(text="<script>UPSTREAM-SECRET</script>", content_type="text/html")
        if name == "svg":
            return web.Response(text="<svg onload='alert(1)'/>", content_type="image/svg+xml")
        if name == "status":
            return web.Response(status=int(q["code"]), body=b"UPSTREAM-ERROR-TEXT",
                                content_type="image/png")
        if name == "stream":  # chunked, no Content-Length, n bytes
            resp = web.StreamResponse(headers={"Content-Type": "image/png"})
            await resp.prepare(request)
            with_delay = float(q.get("delay", 0))
            for _ in range(int(q["n"]) // 65536):
                await resp.write(b"x" * 65536)
                if with_delay:
                    await asyncio.sleep(with_delay)
            return resp
        if name == "liar":  # claims an enormous Content-Length
            resp = web.StreamResponse(headers={"Content-Type": "image/png",
                                               "Content-Length": str(500 * 1024 * 1024)})
            await resp.prepare(request)
            await resp.write(PNG)
            return resp
        if name == "stall":  # headers never come
            await asyncio.sleep(30)
        return web.Response(status=404)


class Loop:
    """A background event loop thread hosting origins and helper servers."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runners = []

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def serve(self, app: web.Application, host: str, port: int = 0, ssl_context=None) -> int:
        async def start():
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
            await runner.setup()
            await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()
            self.runners.append(runner)
            return runner.addresses[0][1]
        return self.run(start())

    def close(self):
        """Stop the servers, end every task still running on the loop (a helper server's handlers
        wait on connections the proxy keeps open), then close the loop: nothing left to warn at exit."""
        for runner in self.runners:
            self.run(runner.cleanup())

        async def drain():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self.run(drain())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def net():
    """Origin on 127.0.0.2:P and a secret service on 127.0.0.1:P (same port)."""
    bg = Loop()
    origin, secret = Origin(), Origin()
    for _ in range(20):
        port = bg.serve(origin.app, "127.0.0.2")
        try:
            bg.serve(secret.app, "127.0.0.1", port)
            break
        except OSError:
            bg.run(bg.runners.pop().cleanup())
    else:
        pytest.fail("no common free port")
    yield type("Net", (), dict(bg=bg, origin=origin, secret=secret, port=port))
    bg.close()


@pytest.fixture
def make_proxy(tmp_path):
    stops = []

    def make(**overrides):
        stub = overrides.pop("stub", None) or Stub()
        guard = overrides.pop("guard", None) or TripwireGuard(resolver=stub)
        cfg = dict(keyring=KEY1, cache_dir=tmp_path / "cache", timeout=5.0, guard=guard)
        cfg.update(overrides)
        host, port, stop = proxy.start_server(proxy.ProxyConfig(**cfg))
        stops.append(stop)
        p = type("P", (), {})()
        p.base, p.guard, p.stub, p.server, p.stop = f"http://{host}:{port}/p", guard, stub, stop.server, stop
        return p

    yield make
    for stop in stops:
        stop()


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def fetch(p, url: str, ring: KeyRing = KEY1, **kw):
    return get(ring.sign(url, p.base), **kw)


def assert_placeholder(status, headers, body, code, reason):
    assert (status, body, headers["Content-Type"]) == (code, proxy.PLACEHOLDER_PNG, "image/png")
    assert headers["X-Proxy-Error"] == reason
    assert b"UPSTREAM" not in body


# -- what a reader's request carries, and what comes back ----------------------------------------

def test_image_served_without_reader_identity(net, make_proxy):
    p = make_proxy()
    status, headers, body = fetch(p, f"http://origin.test:{net.port}/img?t=ident", headers={
        "Cookie": "session=reader", "Authorization": "Basic cmVhZGVyOnB3", "Referer": "https://mail/inbox",
        "User-Agent": "Thunderbird/128 reader-laptop", "Accept-Language": "de-CH",
        "X-Forwarded-For": "203.0.113.9"})
    assert (status, body) == (200, PNG)
    _, sent = [r for r in net.origin.requests if "t=ident" in r[0]][-1]
    lower = {k.lower(): v for k, v in sent.items()}
    for leaked in ("cookie", "authorization", "referer", "accept-language", "x-forwarded-for", "forwarded"):
        assert leaked not in lower
    assert lower["user-agent"] == proxy.UPSTREAM_HEADERS["User-Agent"]
    assert "set-cookie" not in {k.lower() for k in headers}
    assert "X-Secret-Upstream" not in headers
    assert headers["Content-Security-Policy"] == "default-src 'none'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_cookie_from_redirect_hop_not_replayed(net, make_proxy):
    p = make_proxy()
    status, _, body = fetch(p, f"http://origin.test:{net.port}/redirect?to=/img%3Fhop2%3D1")
    assert (status, body) == (200, PNG)
    _, sent = [r for r in net.origin.requests if "hop2=1" in r[0]][-1]
    assert "cookie" not in {k.lower() for k in sent}


# -- SSRF -------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "http://127.0.0.1:{port}/img",            # loopback literal
    "http://secret.test:{port}/img",          # name resolving to loopback
    "http://[::ffff:127.0.0.1]:{port}/img",   # IPv4-mapped IPv6
    "http://mapped.test:{port}/img",
    "http://mixed.test:{port}/img",           # public + private answer
    "http://2130706433:{port}/img",           # decimal 127.0.0.1
    "http://127.1:{port}/img",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.test/computeMetadata/v1/",
    "http://localhost:{port}/img",
    "http://user:pw@origin.test:{port}/img",  # userinfo
    "file:///etc/passwd",
    "ftp://origin.test/img",
])
def test_redirects_to_private_targets_refused(net, make_proxy, target):
    p = make_proxy()
    to = target.format(port=net.port)
    before = net.secret.hits()
    status, headers, body = fetch(p, f"http://origin.test:{net.port}/redirect?to={urllib.request.quote(to, safe='')}")
    assert_placeholder(status, headers, body, 502, "blocked-address")
    assert net.secret.hits() == before
    assert p.guard.outside == []
    # and asked directly, not via a redirect
    status, headers, body = fetch(p, to)
    assert_placeholder(status, headers, body, 502, "blocked-address")
    assert net.secret.hits() == before and p.guard.outside == []


def test_dns_rebinding_cannot_reach_private_service(net, make_proxy):
    """The name answers public once, then private: a check-then-connect proxy would hit the secret."""
    p = make_proxy(cache_dir=None)
    status, _, body = fetch(p, f"http://rebind.test:{net.port}/img?rb=1&close")
    assert (status, body) == (200, PNG)
    assert p.stub.calls["rebind.test"] == 1  # resolved once; connected to what was checked
    status, headers, body = fetch(p, f"http://rebind.test:{net.port}/img?rb=2&close")
    assert_placeholder(status, headers, body, 502, "blocked-address")
    assert net.secret.hits() == 0
    assert net.origin.hits("rb=1") == 1 and net.origin.hits("rb=2") == 0


def test_redirect_limit(net, make_proxy):
    p = make_proxy()
    status, _, body = fetch(p, f"http://origin.test:{net.port}/chain?n=2&x=ok")
    assert (status, body) == (200, PNG)
    status, headers, body = fetch(p, f"http://origin.test:{net.port}/chain?n=3&x=many")
    assert_placeholder(status, headers, body, 502, "too-many-redirects")


# -- content type, size, time ---------------------------------------------------------------------

@pytest.mark.parametrize("ctype,ok", [
    ("image/png", True), ("IMAGE/JPEG; charset=binary", True), ("image/gif", True),
    ("image/webp", True), ("image/avif", True),
    ("image/svg+xml", False), ("text/html", False), ("application/octet-stream", False),
    ("image/png, text/html", False), (None, False),
])
def test_content_type_by_header_only(net, make_proxy, ctype, ok):
    p = make_proxy()
    query = f"?ct={urllib.request.quote(ctype)}" if ctype else "?none"
    status, headers, body = fetch(p, f"http://origin.test:{net.port}/typed{query}")
    if ok:
        assert (status, body) == (200, PNG)
        assert headers["Content-Type"] == ctype.split(";")[0].lower()
    else:
        assert_placeholder(status, headers, body, 502, "not-image")


@pytest.mark.parametrize("path,reason", [
    ("/html", "not-image"), ("/svg", "not-image"), ("/status?code=404", "upstream-status"),
    ("/status?code=500", "upstream-status"),
])
def test_upstream_body_never_relayed(net, make_proxy, path, reason):
    p = make_proxy()
    assert_placeholder(*fetch(p, f"http://origin.test:{net.port}{path}"), 502, reason)


def test_oversized_streams_cut(net, make_proxy, tmp_path):
    p = make_proxy(max_bytes=256 * 1024)
    t0 = time.monotonic()
    status, headers, body = fetch(p, f"http://origin.test:{net.port}/stream?n={64 * 1024 * 1024}")
    assert_placeholder(status, headers, body, 502, "too-large")
    assert_placeholder(*fetch(p, f"http://origin.test:{net.port}/liar"), 502, "too-large")
    assert time.monotonic() - t0 < 5
    status, _, body = fetch(p, f"http://origin.test:{net.port}/sized?n={256 * 1024}")
    assert status == 200 and len(body) == 256 * 1024
    leftovers = [f for f in (tmp_path / "cache").rglob("*") if f.is_file() and f.stat().st_size > 256 * 1024]
    assert leftovers == []  # no partial spool files left behind


def test_slow_origins_time_out(net, make_proxy):
    p = make_proxy(timeout=1.0)
    for path in ("/stall", f"/stream?n={4 * 65536}&delay=1"):
        t0 = time.monotonic()
        assert_placeholder(*fetch(p, f"http://origin.test:{net.port}{path}"), 502, "timeout")
        assert time.monotonic() - t0 < 3


# -- signatures -------------------------------------------------------------------------------

def test_bad_missing_and_expired_signatures(net, make_proxy):
    p = make_proxy()
    url = f"http://origin.test:{net.port}/img?sig=1"
    good = KEY1.sign(url, p.base)
    kid, expiry, sig, enc = good.rsplit("/", 4)[1:]
    forged = KeyRing.from_text("k1 " + "33" * 32).sign(url, p.base)
    other_url = KEY1.sign(f"http://origin.test:{net.port}/img?sig=2", p.base).rsplit("/", 1)[1]
    cases = [
        p.base + "/", p.base + "/k1/0/" + enc,                           # missing parts
        forged,                                                           # wrong key
        good.replace(f"/{sig}/", f"/{sig[:-1]}{'A' if sig[-1] != 'A' else 'B'}/"),  # flipped
        good.rsplit("/", 1)[0] + "/" + other_url,                         # swapped target
        good.replace("/k1/0/", "/k1/99/"),                                # changed expiry
        good.replace("/k1/", "/k9/"),                                     # unknown key
        KEY1.sign(url, p.base, ttl=60, now=time.time() - 120),            # expired
        good.replace("/k1/0/", "/k1/%C2%B2/"),                            # unicode "digit"
        good.replace("/k1/0/", "/k1/-1/"),
    ]
    for bad in cases:
        status, headers, body = get(bad)
        assert (status, body, headers["X-Proxy-Error"]) == (403, proxy.PLACEHOLDER_PNG, "bad-signature"), bad
    assert net.origin.hits("sig=") == 0
    with pytest.raises(SignatureError):  # a raw "²" passes str.isdigit() but not int()
        KEY1.verify(good.replace("/k1/0/", "/k1/\u00b2/").split("/p", 1)[1])
    assert get(KEY1.sign(url, p.base, ttl=60))[0] == 200
    assert get(good)[0] == 200


def test_key_rotation(net, make_proxy, tmp_path):
    key_file = tmp_path / "keys"
    key_file.write_text("k1 " + "11" * 32 + "\n")
    p = make_proxy(keyring=KeyRing.from_file(key_file), key_file=key_file)
    old = KEY1.sign(f"http://origin.test:{net.port}/img?rot=old", p.base)
    new = KEY2.sign(f"http://origin.test:{net.port}/img?rot=new", p.base)
    assert get(old)[0] == 200 and get(new)[0] == 403
    key_file.write_text("k2 " + "22" * 32 + "\nk1 " + "11" * 32 + "\n")  # k2 signs, k1 still verifies
    p.server.reload_keys()
    assert get(old)[0] == 200 and get(new)[0] == 200
    key_file.write_text("k2 " + "22" * 32 + "\n")  # k1 retired
    p.server.reload_keys()
    assert get(KEY1.sign(f"http://origin.test:{net.port}/img?rot=old2", p.base))[0] == 403
    assert get(new)[0] == 200


# -- cache ------------------------------------------------------------------------------------

def test_cache_hit_never_reaches_origin(net, make_proxy, tmp_path):
    p = make_proxy()
    url = f"http://origin.test:{net.port}/img?c=1"
    for _ in range(3):
        assert fetch(p, url)[:3:2] == (200, PNG)
    assert net.origin.hits("c=1") == 1
    p.stop()
    p2 = make_proxy()  # same cache directory, fresh process state
    assert fetch(p2, url)[:3:2] == (200, PNG)
    assert net.origin.hits("c=1") == 1


def test_cache_is_size_bounded(net, make_proxy, tmp_path):
    p = make_proxy(cache_size=40 * 1024)
    urls = [f"http://origin.test:{net.port}/sized?n={10 * 1024}&b={i}" for i in range(8)]
    for url in urls:
        assert fetch(p, url)[0] == 200
    files = [f for f in (tmp_path / "cache").rglob("*") if f.is_file()]
    assert 0 < sum(f.stat().st_size for f in files) <= 40 * 1024
    assert fetch(p, urls[-1])[0] == 200 and net.origin.hits("b=7") == 1  # recent: still cached
    assert fetch(p, urls[0])[0] == 200 and net.origin.hits("b=0") == 2   # oldest: evicted


def test_concurrent_opens_of_one_image_fetch_once(net, make_proxy):
    p = make_proxy()
    signed = KEY1.sign(f"http://origin.test:{net.port}/stream?n={8 * 65536}&delay=0.02&one=1", p.base)

    async def burst():
        async with aiohttp.ClientSession() as s:
            async def one():
                async with s.get(signed) as r:
                    return r.status, len(await r.read())
            return await asyncio.gather(*(one() for _ in range(20)))

    assert set(asyncio.run(burst())) == {(200, 8 * 65536)}
    assert net.origin.hits("one=1") == 1


def test_prefetch_warms_cache(net, make_proxy):
    p = make_proxy()
    urls = [KEY1.sign(f"http://origin.test:{net.port}/img?pf={i}", p.base) for i in range(5)]
    bad = KEY1.sign(f"http://origin.test:{net.port}/html?pf=x", p.base)
    result = proxy.prefetch(urls + [bad], timeout=10)
    assert [result[u] for u in urls] == [200] * 5 and result[bad] == 502
    assert net.origin.hits("pf=") == 6
    for u in urls:  # the reader opens the mail later: nothing reaches the origin
        assert get(u)[0] == 200
    assert net.origin.hits("pf=") == 6


# -- upstream SOCKS5 --------------------------------------------------------------------------

class Socks5:
    """Minimal no-auth SOCKS5 CONNECT server recording the destinations it was asked for."""

    def __init__(self, stub):
        self.stub, self.asked = stub, []

    async def handle(self, reader, writer):
        try:
            await reader.readexactly((await reader.readexactly(2))[1])  # greeting: methods
            writer.write(b"\x05\x00")
            ver, cmd, _, atyp = await reader.readexactly(4)
            if atyp == 1:
                host = socket.inet_ntoa(await reader.readexactly(4))
                ip = host
            else:
                host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
                ip = self.stub(host, 0)[0]
            port = struct.unpack("!H", await reader.readexactly(2))[0]
            self.asked.append((atyp, host, port))
            up_r, up_w = await asyncio.open_connection(ip, port)
            writer.write(b"\x05\x00\x00\x01" + socket.inet_aton("0.0.0.0") + b"\x00\x00")

            async def pipe(src, dst):
                try:
                    while data := await src.read(65536):
                        dst.write(data)
                        await dst.drain()
                except OSError:
                    pass  # one side went away: the other is closed below
                finally:
                    dst.close()
            # both directions run to their end: neither is left pending with an error nobody reads
            await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer), return_exceptions=True)
        except (OSError, asyncio.IncompleteReadError):
            writer.close()


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
def test_socks5_upstream(net, make_proxy, scheme):
    stub = Stub()
    socks = Socks5(Stub())  # the upstream resolves with its own resolver
    server = net.bg.run(asyncio.start_server(socks.handle, "127.0.0.1", 0))
    sport = server.sockets[0].getsockname()[1]
    try:
        p = make_proxy(stub=stub, upstream=f"{scheme}://127.0.0.1:{sport}")
        status, _, body = fetch(p, f"http://origin.test:{net.port}/img?socks={scheme}")
        assert (status, body) == (200, PNG)
        if scheme == "socks5":  # resolved and checked here: the proxy only sees the vetted IP
            assert socks.asked == [(1, "127.0.0.2", net.port)]
            assert_placeholder(*fetch(p, f"http://secret.test:{net.port}/img"), 502, "blocked-address")
            assert len(socks.asked) == 1
        else:  # remote DNS: the name goes to the proxy, no local lookup (no DNS leak)
            assert socks.asked == [(3, "origin.test", net.port)]
            assert "origin.test" not in p.stub.calls
        assert_placeholder(*fetch(p, f"http://127.0.0.1:{net.port}/img"), 502, "blocked-address")
        assert net.secret.hits() == 0
    finally:
        server.close()


# -- HTTPS: the proxy connects to the vetted IP but verifies the certificate for the hostname -------

@pytest.fixture(scope="module")
def tls(net):
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("origin.test").configure_cert(server_ctx)
    port = net.bg.serve(net.origin.app, "127.0.0.2", 0, ssl_context=server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    return port, client_ctx


def test_https_keeps_hostname_verification(net, make_proxy, tls):
    port, ctx = tls
    stub = Stub()
    stub.table_extra = {"other.test": ["127.0.0.2"]}
    p = make_proxy(ssl_context=ctx, stub=stub)
    status, _, body = fetch(p, f"https://origin.test:{port}/img?tls=1")
    assert (status, body) == (200, PNG)
    # same vetted address, but the certificate is not for this name: refused
    assert_placeholder(*fetch(p, f"https://other.test:{port}/img?tls=2"), 502, "upstream-error")
    assert net.origin.hits("tls=2") == 0
    # a proxy without the private CA (system trust) refuses the self-made certificate
    q = make_proxy()
    assert_placeholder(*fetch(q, f"https://origin.test:{port}/img?tls=3"), 502, "upstream-error")


def test_https_through_socks5_verifies_hostname(net, make_proxy, tls):
    port, ctx = tls
    socks = Socks5(Stub())
    server = net.bg.run(asyncio.start_server(socks.handle, "127.0.0.1", 0))
    sport = server.sockets[0].getsockname()[1]
    try:
        stub = Stub()
        stub.table_extra = {"other.test": ["127.0.0.2"]}
        p = make_proxy(stub=stub, ssl_context=ctx, upstream=f"socks5://127.0.0.1:{sport}")
        status, _, body = fetch(p, f"https://origin.test:{port}/img?tls=socks")
        assert (status, body) == (200, PNG)
        assert socks.asked == [(1, "127.0.0.2", port)]
        assert_placeholder(*fetch(p, f"https://other.test:{port}/img?tls=socks2"), 502, "upstream-error")
        assert net.origin.hits("tls=socks2") == 0
    finally:
        server.close()


# -- 200 concurrent requests, in a separate process so its memory can be measured -------------------

SERVER_SCRIPT = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from tracker_block.integrations.proxy import server as proxy
    from tracker_block.integrations.proxy.netguard import Guard
    from tracker_block.engine.signing import KeyRing, SignatureError
    cfg = proxy.ProxyConfig(keyring=KeyRing.from_text("k1 " + "11" * 32), cache_dir=Path(sys.argv[1]),
                            cache_size=1 << 30, concurrency=200, timeout=30,
                            guard=Guard(allow=["127.0.0.2/32"]))
    async def main():
        runner, server, port = await proxy.serve(cfg, "127.0.0.1", 0)
        print(port, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await runner.cleanup()
    asyncio.run(main())
""")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_200_concurrent_requests_bounded_memory(net, tmp_path, capsys):
    script = tmp_path / "server.py"
    script.write_text(SERVER_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "cache")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        base = f"http://127.0.0.1:{port}/p"
        size, n = 1024 * 1024, 200
        urls = [KEY1.sign(f"http://127.0.0.2:{net.port}/sized?n={size}&load={i}", base) for i in range(n)]

        async def burst():
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=n)) as s:
                async def one(u):
                    async with s.get(u) as r:
                        got = 0
                        async for chunk in r.content.iter_chunked(65536):
                            got += len(chunk)
                        return r.status, got
                return await asyncio.gather(*(one(u) for u in urls))

        assert get(KEY1.sign(f"http://127.0.0.2:{net.port}/img?warm", base))[0] == 200
        base_rss = _peak_rss_mb(proc.pid)
        t0 = time.perf_counter()
        assert set(asyncio.run(burst())) == {(200, size)}
        uncached = time.perf_counter() - t0
        peak = _peak_rss_mb(proc.pid)
        t0 = time.perf_counter()
        assert set(asyncio.run(burst())) == {(200, size)}
        cached = time.perf_counter() - t0
        assert net.origin.hits("load=") == n  # second burst came from the cache
        with capsys.disabled():
            print(f"\n[proxy load] {n} x {size >> 20} MiB concurrent: uncached {n / uncached:.0f} req/s, "
                  f"cached {n / cached:.0f} req/s, server peak RSS {base_rss:.0f} -> {peak:.0f} MiB")
        # 200 MiB went through; spooling to disk keeps growth far below that
        assert peak - base_rss < 80
    finally:
        proc.stdin.close()
        proc.wait(10)
        proc.stdout.close()


# -- command line -----------------------------------------------------------------------------

def test_cli_new_key_then_serve(net, tmp_path):
    keys = tmp_path / "keys"
    assert proxy.cli_main(["--key-file", str(keys), "--new-key"]) == 0
    assert oct(keys.stat().st_mode & 0o777) == "0o600"
    assert proxy.cli_main(["--key-file", str(keys), "--new-key"]) == 0
    ring = KeyRing.from_file(keys)
    assert [kid for kid, _ in ring.keys] == ["k2", "k1"]
    assert proxy.cli_main(["--key-file", str(keys), "--upstream", "ftp://x"]) == 2
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from tracker_block.integrations.proxy.server import cli_main; sys.exit(cli_main(sys.argv[1:]))",
         "--listen", "127.0.0.1:0", "--key-file", str(keys), "--cache-dir", str(tmp_path / "c"),
         "--log-file", str(tmp_path / "log")],
        stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("tracker-block proxy listening on http://127.0.0.1:")
        base = line.split()[-1] + "/p"
        # the real guard: even a loopback origin is refused
        status, headers, _ = get(ring.sign(f"http://127.0.0.2:{net.port}/img?cli", base))
        assert (status, headers["X-Proxy-Error"]) == (502, "blocked-address")
        assert net.origin.hits("cli") == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        log = (tmp_path / "log").read_text()
        assert "blocked-address" in log and "origin" not in log and "127.0.0.2" not in log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()

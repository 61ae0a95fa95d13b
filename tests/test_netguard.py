"""Address policy and connect-time checking of tracker_block.integrations.proxy.netguard (loopback only)."""
from __future__ import annotations

import asyncio
import socket
import threading

import aiohttp
import pytest
from aiohttp import web

from tracker_block.integrations.proxy.netguard import BlockedAddress, Guard, check_upstream, is_public, refusal_reason


@pytest.mark.parametrize("ip", [
    "127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1",
    "169.254.169.254", "169.254.0.1", "100.64.0.1", "100.100.100.200", "0.0.0.0", "192.0.0.192",
    "192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1", "224.0.0.251", "239.255.255.250",
    "240.0.0.1", "255.255.255.255",
    "::", "::1", "::ffff:127.0.0.1", "::ffff:8.8.8.8", "::127.0.0.1", "fe80::1", "fe80::1%eth0",
    "fc00::1", "fd00:ec2::254", "fec0::1", "ff02::1", "2001:db8::1", "2001::1", "2002:c0a8:101::1",
    "64:ff9b::a00:1", "64:ff9b::7f00:1", "100::1",
])
def test_non_public_addresses_refused(ip):
    assert not is_public(ip), refusal_reason(ip)
    with pytest.raises(BlockedAddress):
        Guard().check_ip(ip)


@pytest.mark.parametrize("ip", ["8.8.8.8", "1.1.1.1", "93.184.215.14", "172.32.0.1", "100.128.0.1",
                                "2606:4700:4700::1111", "2a00:1450:4001::200e", "64:ff9b::808:808"])
def test_public_addresses_allowed(ip):
    assert is_public(ip)
    Guard().check_ip(ip)


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "gopher://example.com/", "ftp://example.com/x.png", "data:image/png;base64,AA",
    "http://user@example.com/a.png", "http://user:pw@example.com/", "http://@example.com/",
    "http:///nohost", "http://localhost/", "http://foo.localhost/", "http://127.0.0.1/",
    "http://[::1]:8080/", "http://[::ffff:7f00:1]/", "http://2130706433/", "http://0x7f000001/",
    "http://127.1/", "http://017700000001/", "http://10.1/", "http://example.com:99999/",
    "http://169.254.169.254/latest/meta-data/",
])
def test_unsafe_urls_refused(url):
    with pytest.raises(BlockedAddress):
        Guard().check_url(url)


def test_safe_urls_accepted():
    g = Guard()
    assert g.check_url("https://images.example.com/a.png?x=1") == ("https", "images.example.com", 443)
    assert g.check_url("HTTP://Example.COM.:8080/a") == ("http", "example.com", 8080)
    assert g.check_url("http://8.8.8.8/x") == ("http", "8.8.8.8", 80)


def test_name_with_any_private_answer_is_refused():
    answers = {"mixed.example": ["93.184.215.14", "10.0.0.5"], "ok.example": ["93.184.215.14"],
               "none.example": []}
    g = Guard(resolver=lambda host, port: answers[host])
    assert g.resolve("ok.example", 80) == ["93.184.215.14"]
    with pytest.raises(BlockedAddress, match="10.0.0.5"):
        g.resolve("mixed.example", 80)
    with pytest.raises(BlockedAddress, match="no address"):
        g.resolve("none.example", 80)


def test_resolver_failure_is_a_refusal():
    def fail(host, port):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    with pytest.raises(BlockedAddress, match="cannot resolve"):
        Guard(resolver=fail).resolve("nx.example", 80)


def test_connect_time_check_on_exact_socket_address():
    g = Guard()
    with pytest.raises(BlockedAddress):
        g.socket_for((socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 80)))
    with pytest.raises(BlockedAddress):
        g.socket_for((socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::ffff:127.0.0.1", 80, 0, 0)))
    sock = Guard(allow=["127.0.0.2/32"]).socket_for(
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", 80)))
    sock.close()


@pytest.fixture
def listeners():
    """A TCP listener on 127.0.0.2:P ('public' for the tests) and one on 127.0.0.1:P ('private')."""
    for _ in range(20):
        pub = socket.create_server(("127.0.0.2", 0))
        port = pub.getsockname()[1]
        try:
            priv = socket.create_server(("127.0.0.1", port))
            break
        except OSError:
            pub.close()
    accepted = {"127.0.0.2": 0, "127.0.0.1": 0}

    def accept(server, name):
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            accepted[name] += 1
            conn.close()

    stop = threading.Event()
    threads = [threading.Thread(target=accept, args=(s, n), daemon=True)
               for s, n in ((pub, "127.0.0.2"), (priv, "127.0.0.1"))]
    for t in threads:
        t.start()
    yield port, accepted
    stop.set()
    for t in threads:
        t.join()
    pub.close()
    priv.close()


def test_sync_create_connection_connects_only_to_checked_address(listeners):
    port, accepted = listeners
    calls = []

    def rebinding(host, port):
        calls.append(host)
        return ["127.0.0.2"] if len(calls) == 1 else ["127.0.0.1"]

    g = Guard(resolver=rebinding, allow=["127.0.0.2/32"])
    g.create_connection("rebind.example", port, timeout=2).close()
    with pytest.raises(BlockedAddress):
        g.create_connection("rebind.example", port, timeout=2)
    with pytest.raises(BlockedAddress):
        g.create_connection("127.0.0.1", port, timeout=2)
    threading.Event().wait(0.5)
    assert accepted == {"127.0.0.2": 1, "127.0.0.1": 0}


def test_aiohttp_connector_refuses_private_literals_and_names():
    """IP-literal URLs bypass aiohttp's resolver; the socket factory still refuses them."""
    hits = []

    async def main():
        async def private(_request):
            hits.append(1)
            return web.Response(text="private")

        app = web.Application()
        app.router.add_get("/", private)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        guard = Guard(resolver=lambda h, p: ["127.0.0.1"])
        outcomes = []
        async with aiohttp.ClientSession(connector=guard.aiohttp_connector()) as s:
            for url in (f"http://127.0.0.1:{port}/", f"http://[::ffff:127.0.0.1]:{port}/",
                        f"http://internal.example:{port}/"):
                try:
                    async with s.get(url) as r:
                        outcomes.append(r.status)
                except aiohttp.ClientError as exc:
                    outcomes.append(type(exc).__name__)
        await runner.cleanup()
        return outcomes

    outcomes = asyncio.run(main())
    assert all(isinstance(o, str) for o in outcomes), outcomes
    assert hits == []


@pytest.mark.parametrize("url,ok", [
    ("socks5://127.0.0.1:9050", True), ("socks5h://127.0.0.1:9050", True), ("http://proxy:3128", True),
    ("socks4://h:1080", True), ("https://proxy:443", False), ("socks5://127.0.0.1", False), ("tor", False),
])
def test_upstream_urls(url, ok):
    if ok:
        assert check_upstream(url) == url.split(":")[0]
    else:
        with pytest.raises(ValueError):
            check_upstream(url)

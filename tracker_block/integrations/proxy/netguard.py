"""Which network addresses a fetch on behalf of an email may reach, checked at connect time.

A remote image URL comes from a stranger (the sender). Fetching it from a proxy or a mail
client must never reach the reader's own machine, LAN, or cloud metadata service (SSRF). A
check done on the *name* is useless: DNS can answer a public address to the check and a
private one to the connect (rebinding). So :class:`Guard` resolves once, refuses the name if
any answer is non-public, and connects only to the addresses it validated; the same check runs
again on the exact socket address at connect time (aiohttp ``socket_factory``), which also
covers IP literals and every redirect hop.

Stdlib only at import; :meth:`Guard.aiohttp_connector` imports aiohttp lazily so that sync
users (the Thunderbird native host) can use :meth:`Guard.create_connection` without it.
"""
from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # pragma: no cover
    import aiohttp

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Iterable[str]]

# Every IPv4 range that is not ordinary public unicast (IANA special-purpose registry).
_V4_REFUSED = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8",        # "this network"
    "10.0.0.0/8",       # RFC 1918
    "100.64.0.0/10",    # CGNAT shared space (also Alibaba metadata 100.100.100.200)
    "127.0.0.0/8",      # loopback
    "169.254.0.0/16",   # link-local, cloud metadata 169.254.169.254
    "172.16.0.0/12",    # RFC 1918
    "192.0.0.0/24",     # IETF protocol assignments (Oracle metadata 192.0.0.192)
    "192.0.2.0/24",     # TEST-NET-1
    "192.88.99.0/24",   # 6to4 relay anycast
    "192.168.0.0/16",   # RFC 1918
    "198.18.0.0/15",    # benchmarking
    "198.51.100.0/24",  # TEST-NET-2
    "203.0.113.0/24",   # TEST-NET-3
    "224.0.0.0/4",      # multicast
    "240.0.0.0/4",      # reserved, broadcast
))
# IPv6: only global unicast 2000::/3 is acceptable, minus the special blocks inside it.
_V6_GLOBAL = ipaddress.ip_network("2000::/3")
_V6_REFUSED = tuple(ipaddress.ip_network(n) for n in (
    "2001::/23",        # IETF protocol assignments, Teredo 2001::/32
    "2001:db8::/32",    # documentation
    "2002::/16",        # 6to4 (embeds an arbitrary IPv4 address)
    "3fff::/20",        # documentation
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix: judged by its IPv4 part
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*\.?$", re.IGNORECASE)


class BlockedAddress(OSError):
    """The destination is not a public address (or the URL is unsafe to fetch).

    An OSError so that connection code (happy eyeballs, aiohttp) treats it as a failed connect.
    """


def refusal_reason(ip: str | IPAddress) -> str | None:
    """Why ``ip`` must not be contacted, or None when it is an ordinary public address."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0] if isinstance(ip, str) else ip)
    except ValueError:
        return "not an IP address"
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return "IPv4-mapped IPv6 address"
        if addr in _NAT64:
            inner = refusal_reason(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
            return f"NAT64 of {inner}" if inner else None
        if addr not in _V6_GLOBAL:
            return "non-global IPv6 address (loopback, ULA, link-local, multicast or reserved)"
        for net in _V6_REFUSED:
            if addr in net:
                return f"special-purpose IPv6 range {net}"
        return None
    for net in _V4_REFUSED:
        if addr in net:
            return f"special-purpose IPv4 range {net}"
    return None


def is_public(ip: str | IPAddress) -> bool:
    """True when ``ip`` is ordinary public unicast that a fetch may reach."""
    return refusal_reason(ip) is None


def _default_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


class Guard:
    """Address policy plus resolution; one instance is shared by all fetches.

    ``resolver`` (host, port) -> addresses and ``allow`` (networks treated as public) exist for
    tests, which must run origins on loopback; production code passes neither.
    """

    def __init__(self, *, resolver: Resolver | None = None,
                 allow: Iterable[str] = ()) -> None:
        self._resolver = resolver or _default_resolver
        self._allow = tuple(ipaddress.ip_network(n) for n in allow)

    # -- policy -------------------------------------------------------------------------
    def check_ip(self, ip: str) -> None:
        """Raise BlockedAddress unless ``ip`` may be contacted."""
        addr = _literal_ip(ip)
        if addr is None:
            raise BlockedAddress(f"not an IP address: {ip!r}")
        if any(addr in net for net in self._allow):
            return
        reason = refusal_reason(addr)
        if reason:
            raise BlockedAddress(f"refused {addr}: {reason}")

    def check_url(self, url: str) -> tuple[str, str, int]:
        """Validate a URL to fetch; return (scheme, host, port). Raise BlockedAddress."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise BlockedAddress("malformed URL") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise BlockedAddress(f"scheme {scheme!r} not allowed")
        if "@" in parts.netloc:
            raise BlockedAddress("userinfo in URL not allowed")
        host = (parts.hostname or "").rstrip(".")
        if not host:
            raise BlockedAddress("URL has no host")
        if any(c.isspace() or c in "\\%" for c in host):
            raise BlockedAddress("malformed host")
        if host == "localhost" or host.endswith(".localhost"):
            raise BlockedAddress("localhost not allowed")
        if _literal_ip(host) is not None:
            self.check_ip(host)
        elif _NUMERIC_HOST.match(host):
            # 2130706433, 0x7f.1, 127.1: forms inet_aton would turn into an address.
            raise BlockedAddress("non-canonical numeric host")
        return scheme, host, port or (443 if scheme == "https" else 80)

    # -- resolution -----------------------------------------------------------------------
    def resolve(self, host: str, port: int) -> list[str]:
        """Addresses for ``host``, all validated; refuse the name if any answer is non-public.

        Refusing the whole answer (not just filtering) defeats names that mix a public and a
        private address to win a race.
        """
        if _literal_ip(host) is not None:
            self.check_ip(host.strip("[]"))
            return [host.strip("[]")]
        try:
            ips = list(dict.fromkeys(str(ip).split("%", 1)[0] for ip in self._resolver(host, port)))
        except OSError as exc:
            raise BlockedAddress(f"cannot resolve {host}: {exc.strerror or exc}") from None
        if not ips:
            raise BlockedAddress(f"no address for {host}")
        for ip in ips:
            self.check_ip(ip)
        return ips

    async def aresolve(self, host: str, port: int) -> list[str]:
        """:meth:`resolve` without blocking the event loop."""
        return await asyncio.get_running_loop().run_in_executor(None, self.resolve, host, port)

    def socket_for(self, addr_info: Sequence[Any]) -> socket.socket:
        """Connect-time check: a socket for ``addr_info`` only if its address is allowed.

        Matches aiohappyeyeballs' ``socket_factory``: it is called with the exact address
        about to be connected, after any resolution or caching.
        """
        family, type_, proto, _canon, sockaddr = addr_info
        self.check_ip(sockaddr[0])
        return socket.socket(family=family, type=type_, proto=proto)

    def create_connection(self, host: str, port: int, timeout: float | None = None) -> socket.socket:
        """Sync: resolve once, validate, connect to a validated address (for http.client users)."""
        last: OSError | None = None
        for ip in self.resolve(host, port):
            family = socket.AF_INET6 if ":" in ip else socket.AF_INET
            for info in socket.getaddrinfo(ip, port, family, socket.SOCK_STREAM,
                                           flags=socket.AI_NUMERICHOST):
                sock = self.socket_for(info)
                try:
                    sock.settimeout(timeout)
                    sock.connect(info[4])
                    return sock
                except OSError as exc:
                    sock.close()
                    last = exc
        raise last or BlockedAddress(f"cannot connect to {host}")

    # -- aiohttp --------------------------------------------------------------------------
    def aiohttp_connector(self, upstream: str | None = None, **kwargs: Any) -> "aiohttp.TCPConnector":
        """An aiohttp connector that can only reach addresses this guard allows.

        ``upstream`` routes through ``socks5://`` / ``socks4://`` / ``http://`` (CONNECT) with
        local resolution: the proxy is given the validated IP, TLS still verifies the hostname.
        ``socks5h://`` lets the proxy resolve (no DNS leak, e.g. Tor); then only IP-literal
        URLs are checked here and SSRF protection rests on the upstream (Tor exits refuse
        private addresses).
        """
        return _make_connector(self, upstream, **kwargs)


def check_upstream(upstream: str) -> str:
    """Validate an upstream proxy URL; return its scheme or raise ValueError."""
    try:
        parts = urlsplit(upstream)
        port = parts.port
    except ValueError:
        port = None
        parts = urlsplit("")
    scheme = parts.scheme.lower()
    if scheme not in ("socks5", "socks5h", "socks4", "http") or not parts.hostname or not port:
        raise ValueError("upstream must be socks5://, socks5h://, socks4:// or http://HOST:PORT")
    return scheme


def _make_connector(guard: Guard, upstream: str | None, **kwargs: Any) -> "aiohttp.TCPConnector":
    from aiohttp import TCPConnector

    kwargs.setdefault("use_dns_cache", False)
    if upstream is None:
        return TCPConnector(resolver=_aiohttp_resolver(guard), socket_factory=guard.socket_for,
                            **kwargs)
    remote_dns = check_upstream(upstream) == "socks5h"
    resolver = _hostname_resolver() if remote_dns else _aiohttp_resolver(guard)
    return _upstream_connector_class()(guard, upstream, remote_dns, resolver=resolver, **kwargs)


def _aiohttp_resolver(guard: Guard) -> Any:
    from aiohttp.abc import AbstractResolver

    class GuardResolver(AbstractResolver):
        async def resolve(self, host: str, port: int = 0,
                          family: socket.AddressFamily = socket.AF_UNSPEC) -> list[dict[str, Any]]:
            ips = await guard.aresolve(host, port)
            out = []
            for ip in ips:
                fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
                if family in (socket.AF_UNSPEC, fam):
                    out.append({"hostname": host, "host": ip, "port": port, "family": fam,
                                "proto": 0, "flags": socket.AI_NUMERICHOST})
            if not out:
                raise BlockedAddress(f"no usable address for {host}")
            return out

        async def close(self) -> None:
            pass

    return GuardResolver()


def _hostname_resolver() -> Any:
    from aiohttp.abc import AbstractResolver

    class PassThrough(AbstractResolver):
        """Hands the name to the upstream proxy unresolved (socks5h)."""

        async def resolve(self, host: str, port: int = 0,
                          family: socket.AddressFamily = socket.AF_UNSPEC) -> list[dict[str, Any]]:
            return [{"hostname": host, "host": host, "port": port, "family": socket.AF_INET,
                     "proto": 0, "flags": 0}]

        async def close(self) -> None:
            pass

    return PassThrough()


_UPSTREAM_CLS: Any = None


def _upstream_connector_class() -> Any:
    """TCPConnector whose connections are tunnelled through a SOCKS/HTTP proxy (python-socks).

    Built lazily so that importing this module never needs aiohttp or python-socks.
    """
    global _UPSTREAM_CLS
    if _UPSTREAM_CLS is not None:
        return _UPSTREAM_CLS
    import python_socks
    from aiohttp import ClientConnectorError, TCPConnector
    from aiohttp.client_proto import ResponseHandler
    from python_socks import ProxyType
    from python_socks.async_.asyncio.v2 import Proxy

    types = {"socks5": ProxyType.SOCKS5, "socks5h": ProxyType.SOCKS5,
             "socks4": ProxyType.SOCKS4, "http": ProxyType.HTTP}

    class _Handler(ResponseHandler):
        # Keep the StreamWriter alive, or its __del__ closes the transport (py>=3.11.5).
        def __init__(self, loop: asyncio.AbstractEventLoop, writer: Any) -> None:
            super().__init__(loop)
            self._writer = writer

    class UpstreamConnector(TCPConnector):
        def __init__(self, guard: Guard, upstream: str, remote_dns: bool, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            parts = urlsplit(upstream)
            self._guard = guard
            self._remote_dns = remote_dns
            self._proxy_args = dict(
                proxy_type=types[parts.scheme.lower()], host=parts.hostname, port=parts.port,
                username=parts.username, password=parts.password, rdns=remote_dns)

        async def _wrap_create_connection(self, *args: Any, addr_infos: list[Any], req: Any,
                                          timeout: Any, client_error: type[Exception] = ClientConnectorError,
                                          **kwargs: Any) -> tuple[asyncio.Transport, ResponseHandler]:
            host, port = addr_infos[0][4][0], addr_infos[0][4][1]
            try:
                if not self._remote_dns or _literal_ip(host) is not None:
                    self._guard.check_ip(host)  # connect-time check, as in the direct path
                stream = await Proxy(**self._proxy_args).connect(
                    dest_host=host, dest_port=port, timeout=timeout.sock_connect)
                ssl_ctx = kwargs.get("ssl")
                if ssl_ctx:
                    # TLS to the origin inside the tunnel, verified against the *hostname*.
                    await stream.start_tls(hostname=kwargs.get("server_hostname") or req.host,
                                           ssl_context=ssl_ctx)
            except (OSError, python_socks.ProxyError, python_socks.ProxyTimeoutError) as exc:
                err = exc if isinstance(exc, OSError) else OSError(str(exc))
                raise client_error(req.connection_key, err) from exc
            transport = stream.writer.transport
            protocol = _Handler(self._loop, stream.writer)
            transport.set_protocol(protocol)
            protocol.connection_made(transport)
            return transport, protocol

    _UPSTREAM_CLS = UpstreamConnector
    return _UPSTREAM_CLS

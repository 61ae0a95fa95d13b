"""Privacy image proxy: serves the remote images the engine signed, without the reader's IP,
cookies, user agent or open time reaching the sender.

``GET <any prefix>/<kid>/<expiry>/<sig>/<b64url(url)>`` (see :mod:`signing`) fetches ``url``
through :class:`~tracker_block.integrations.proxy.netguard.Guard` (public addresses only, checked at connect time
on every redirect hop), accepts only raster image content types, caps size and time, stores
the result in a size-bounded disk cache and answers it with fixed, privacy-preserving headers.
Every failure answers the same placeholder PNG (403 for a bad signature, 502 for anything
upstream, ``X-Proxy-Error`` names our own reason), never upstream bytes or error text.

Bodies are spooled to disk, never held whole in memory, so memory stays flat under load.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import signal
import ssl
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urljoin

import aiohttp
from aiohttp import web

from tracker_block.integrations.proxy.netguard import BlockedAddress, Guard, check_upstream
from tracker_block.engine.signing import KeyRing, new_key_line

log = logging.getLogger("tracker_block.integrations.proxy.server")

#: 1x1 fully transparent PNG answered on every failure.
PLACEHOLDER_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
#: Parsed Content-Type -> cache file extension. SVG is absent on purpose (script, external loads).
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif",
               "image/webp": "webp", "image/avif": "avif"}
_EXT_TYPES = {ext: ctype for ctype, ext in IMAGE_TYPES.items()}
#: What the origin sees: the same for every reader, no cookies, no referrer, no language.
UPSTREAM_HEADERS = {
    "User-Agent": "Mozilla/5.0 (compatible; image-proxy)",
    "Accept": "image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9",
    "Accept-Encoding": "identity",
}
#: Added to every answer: the body can never run as a document or leak a referrer.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "cross-origin",
}
_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 64 * 1024


class FetchError(Exception):
    """An upstream fetch that must be answered with the placeholder; ``reason`` is ours."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ProxyConfig:
    """Everything the server needs; defaults suit one user on loopback."""

    keyring: KeyRing
    cache_dir: Path | None = None          # None: no cache (each open re-fetches)
    cache_size: int = 256 * 1024 * 1024    # bytes
    max_bytes: int = 10 * 1024 * 1024      # largest image accepted
    connect_timeout: float = 5.0
    timeout: float = 20.0                  # whole fetch, redirects and queueing included
    concurrency: int = 64                  # simultaneous upstream fetches
    max_redirects: int = 3
    upstream: str | None = None            # socks5://, socks5h://, socks4://, http://
    guard: Guard = field(default_factory=Guard)
    ssl_context: ssl.SSLContext | None = None  # None: system trust store (set for a private CA)
    key_file: Path | None = None           # re-read on SIGHUP


# -- cache ----------------------------------------------------------------------------------

class DiskCache:
    """Size-bounded cache of fetched images, ``<dir>/<h[:2]>/<sha256(url)>.<ext>``.

    Writes are atomic (spooled to a temp file in the same directory, then ``os.replace``), so a
    reader never sees a partial image, even after a crash. Least recently used files are
    evicted once the total exceeds ``limit``. One process per directory.
    """

    def __init__(self, root: Path, limit: int) -> None:
        self.root = Path(root)
        self.limit = limit
        self.root.mkdir(parents=True, exist_ok=True)
        self._sizes: OrderedDict[Path, int] = OrderedDict()
        self.total = 0
        entries = []
        for path in self.root.glob("??/*.*"):
            if path.suffix.lstrip(".") in _EXT_TYPES:
                st = path.stat()
                entries.append((st.st_mtime, path, st.st_size))
        for stale in self.root.glob(".tmp*"):
            stale.unlink(missing_ok=True)  # spool files left by a crash mid-fetch
        for _mtime, path, size in sorted(entries):
            self._sizes[path] = size
            self.total += size
        self._evict()

    @staticmethod
    def key(url: str) -> str:
        return hashlib.sha256(url.encode("utf-8")).hexdigest()

    def spool(self) -> BinaryIO:
        """A temp file on the cache's filesystem, for :meth:`put` to rename into place."""
        return tempfile.NamedTemporaryFile(dir=self.root, prefix=".tmp", delete=False)

    def open(self, key: str) -> tuple[BinaryIO, str, int] | None:
        """(open file, content type, size) of a cached image, or None."""
        for ext, ctype in _EXT_TYPES.items():
            path = self.root / key[:2] / f"{key}.{ext}"
            try:
                fobj = open(path, "rb")
            except FileNotFoundError:
                continue
            size = os.fstat(fobj.fileno()).st_size
            if path in self._sizes:
                self._sizes.move_to_end(path)
            with contextlib.suppress(OSError):
                os.utime(path)  # recency survives restarts
            return fobj, ctype, size
        return None

    def put(self, key: str, ctype: str, spooled: str, size: int) -> Path:
        path = self.root / key[:2] / f"{key}.{IMAGE_TYPES[ctype]}"
        path.parent.mkdir(exist_ok=True)
        os.replace(spooled, path)
        self.total += size - self._sizes.pop(path, 0)
        self._sizes[path] = size
        self._evict()
        return path

    def _evict(self) -> None:
        while self.total > self.limit and self._sizes:
            path, size = self._sizes.popitem(last=False)
            self.total -= size
            path.unlink(missing_ok=True)  # an open reader keeps its data (POSIX)


# -- fetching -------------------------------------------------------------------------------

class Fetcher:
    """Fetches one image through the guard: redirects by hand, type and size enforced."""

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        extra = {"ssl": config.ssl_context} if config.ssl_context else {}
        connector = config.guard.aiohttp_connector(config.upstream, limit=config.concurrency, **extra)
        self.session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),   # a cookie set on hop 1 is never sent on hop 2
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=config.connect_timeout,
                                          sock_read=config.timeout),
            trust_env=False,                        # no silent HTTP(S)_PROXY from the environment
            headers=UPSTREAM_HEADERS,
        )

    async def close(self) -> None:
        await self.session.close()

    async def fetch(self, url: str, out: BinaryIO) -> tuple[str, int]:
        """Write the image at ``url`` to ``out``; return (content type, size) or raise FetchError."""
        cfg = self.config
        for _hop in range(cfg.max_redirects + 1):
            try:
                cfg.guard.check_url(url)
            except BlockedAddress:
                raise FetchError("blocked-address") from None
            try:
                async with self.session.get(url, allow_redirects=False) as resp:
                    if resp.status in _REDIRECTS:
                        location = resp.headers.get("Location")
                        if not location:
                            raise FetchError("bad-redirect")
                        url = urljoin(str(resp.url), location)
                        continue
                    if resp.status != 200:
                        raise FetchError("upstream-status")
                    ctype = resp.content_type  # parsed: lower-case, parameters dropped
                    if ctype not in IMAGE_TYPES:
                        raise FetchError("not-image")
                    if resp.content_length is not None and resp.content_length > cfg.max_bytes:
                        raise FetchError("too-large")
                    size = 0
                    async for chunk in resp.content.iter_chunked(_CHUNK):
                        size += len(chunk)
                        if size > cfg.max_bytes:  # Content-Length can lie or be absent
                            raise FetchError("too-large")
                        out.write(chunk)
                    if size == 0:
                        raise FetchError("empty")
                    return ctype, size
            except FetchError:
                raise
            except Exception as exc:  # noqa: BLE001 - every upstream failure looks the same
                raise FetchError(_classify(exc)) from None
        raise FetchError("too-many-redirects")


def _classify(exc: BaseException) -> str:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, BlockedAddress):
            return "blocked-address"
        if isinstance(seen, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
            return "timeout"
        inner = getattr(seen, "os_error", None)
        seen = inner if isinstance(inner, BaseException) else (seen.__cause__ or seen.__context__)
    return "upstream-error"


# -- server ---------------------------------------------------------------------------------

class ProxyServer:
    """The aiohttp application and its shared state (cache, fetcher, in-flight fetches)."""

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.keyring = config.keyring
        self.cache = (DiskCache(config.cache_dir, config.cache_size)
                      if config.cache_dir and config.cache_size > 0 else None)
        self._spool_dir = None if self.cache else tempfile.TemporaryDirectory(prefix="tb-proxy-")
        self._slots = asyncio.Semaphore(config.concurrency)
        self._inflight: dict[str, asyncio.Future[str | None]] = {}
        self.fetcher: Fetcher | None = None
        self.stats = {"hits": 0, "fetches": 0, "failures": 0}
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._health)
        self.app.router.add_get("/{tail:.*}", self._handle)
        self.app.on_startup.append(self._startup)
        self.app.on_cleanup.append(self._cleanup)

    async def _startup(self, _app: web.Application) -> None:
        self.fetcher = Fetcher(self.config)

    async def _cleanup(self, _app: web.Application) -> None:
        if self.fetcher:
            await self.fetcher.close()
        if self._spool_dir:
            self._spool_dir.cleanup()

    def reload_keys(self) -> None:
        """Re-read the key file (SIGHUP): add a new signing key without a restart."""
        if self.config.key_file:
            self.keyring = KeyRing.from_file(self.config.key_file)
            log.info("reloaded %d key(s)", len(self.keyring.keys))

    async def _health(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok\n", headers=SECURITY_HEADERS)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        path = request.raw_path.split("?", 1)[0]
        try:
            url = self.keyring.verify("/".join(path.split("/")[-4:]))
        except ValueError:  # SignatureError, and anything else a hostile path could provoke
            return self._fail(403, "bad-signature", "-", started)
        return await self._serve_url(request, url, DiskCache.key(url), started)

    async def _serve_url(self, request: web.Request, url: str, key: str,
                         started: float) -> web.StreamResponse:
        if self.cache:
            hit = self.cache.open(key)
            if hit:
                self.stats["hits"] += 1
                return await self._send(request, *hit, key=key, how="hit", started=started)
            pending = self._inflight.get(key)
            if pending is not None:  # the same image is being fetched: wait for it
                reason = await asyncio.shield(pending)
                hit = None if reason else self.cache.open(key)
                if hit:
                    return await self._send(request, *hit, key=key, how="shared", started=started)
                return self._fail(502, reason or "evicted", key, started)
            future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
            self._inflight[key] = future
        else:
            future = None
        reason: str | None = "aborted"
        try:
            result = await self._fetch(url, key)
            if isinstance(result, str):
                reason = result
                return self._fail(502, reason, key, started)
            reason = None
            return await self._send(request, *result, key=key, how="fetch", started=started)
        finally:
            if future is not None:
                self._inflight.pop(key, None)
                future.set_result(reason)

    async def _fetch(self, url: str, key: str) -> tuple[BinaryIO, str, int] | str:
        """Fetch into a spool file; return (open file, type, size) or a failure reason."""
        assert self.fetcher is not None
        spool = (self.cache.spool() if self.cache
                 else tempfile.NamedTemporaryFile(dir=self._spool_dir.name, delete=False))  # type: ignore[union-attr]
        try:
            try:
                # One deadline for queueing, redirects and body: a slow origin cannot pin a slot.
                async with asyncio.timeout(self.config.timeout), self._slots:
                    self.stats["fetches"] += 1
                    with spool:
                        ctype, size = await self.fetcher.fetch(url, spool)
            except FetchError as exc:
                return exc.reason
            except TimeoutError:
                return "timeout"
            if self.cache:
                path = self.cache.put(key, ctype, spool.name, size)
                return open(path, "rb"), ctype, size  # opened before any later eviction
            return open(spool.name, "rb"), ctype, size
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(spool.name)  # no-op once renamed into the cache

    async def _send(self, request: web.Request, fobj: BinaryIO, ctype: str, size: int, *,
                    key: str, how: str, started: float) -> web.StreamResponse:
        with fobj:
            resp = web.StreamResponse(status=200, headers={
                **SECURITY_HEADERS, "Content-Type": ctype,
                "Cache-Control": "private, max-age=604800, immutable"})
            resp.content_length = size
            await resp.prepare(request)
            if request.method != "HEAD":
                while chunk := fobj.read(_CHUNK):
                    await resp.write(chunk)
            await resp.write_eof()
        _log(200, how, key, size, started)
        return resp

    def _fail(self, status: int, reason: str, key: str, started: float) -> web.Response:
        self.stats["failures"] += 1
        _log(status, reason, key, len(PLACEHOLDER_PNG), started)
        return web.Response(status=status, body=PLACEHOLDER_PNG, headers={
            **SECURITY_HEADERS, "Content-Type": "image/png", "Cache-Control": "no-store",
            "X-Proxy-Error": reason})


def _log(status: int, how: str, key: str, size: int, started: float) -> None:
    # Never the URL or the client address: the log must not become a reading record.
    log.info("%d %s %s %dB %.0fms", status, how, key[:16], size, (time.monotonic() - started) * 1000)


# -- running --------------------------------------------------------------------------------

async def serve(config: ProxyConfig, host: str, port: int) -> tuple[web.AppRunner, ProxyServer, int]:
    """Start listening; return (runner to clean up, server, bound port)."""
    server = ProxyServer(config)
    runner = web.AppRunner(server.app, access_log=None, handle_signals=False,
                           shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    bound = runner.addresses[0][1]
    return runner, server, bound


def start_server(config: ProxyConfig, host: str = "127.0.0.1",
                 port: int = 0) -> tuple[str, int, Callable[[], None]]:
    """Run the proxy in a background thread (tests, embedding); return (host, port, stop).

    ``stop.server`` is the :class:`ProxyServer`, e.g. for ``reload_keys()`` or ``stats``.
    """
    loop = asyncio.new_event_loop()
    ready: dict[str, object] = {}
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            runner, server, bound = loop.run_until_complete(serve(config, host, port))
            ready.update(server=server, port=bound, done=asyncio.Event())
        except BaseException as exc:  # noqa: BLE001 - reported to the caller
            ready["error"] = exc
            started.set()
            return
        started.set()
        loop.run_until_complete(ready["done"].wait())  # type: ignore[union-attr]
        loop.run_until_complete(runner.cleanup())
        pending = asyncio.all_tasks(loop)   # handlers of clients that never finished: end them cleanly
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    thread = threading.Thread(target=run, name="tracker-block-proxy", daemon=True)
    thread.start()
    started.wait()
    if "error" in ready:
        raise ready["error"]  # type: ignore[misc]

    def stop() -> None:
        if thread.is_alive():
            loop.call_soon_threadsafe(ready["done"].set)  # type: ignore[union-attr]
            thread.join(10)

    stop.server = ready["server"]  # type: ignore[attr-defined]
    return host, int(ready["port"]), stop  # type: ignore[arg-type]


async def aprefetch(urls: Iterable[str], timeout: float = 20.0,
                    concurrency: int = 8) -> dict[str, int]:
    """GET already-signed proxy URLs so the proxy caches them; return url -> HTTP status (0 = no answer)."""
    slots = asyncio.Semaphore(concurrency)
    results: dict[str, int] = {}
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(timeout=client_timeout, trust_env=False,
                                     cookie_jar=aiohttp.DummyCookieJar()) as session:
        async def one(url: str) -> None:
            async with slots:
                try:
                    async with session.get(url) as resp:
                        await resp.read()
                        results[url] = resp.status
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    results[url] = 0
        await asyncio.gather(*(one(u) for u in dict.fromkeys(urls)))
    return results


def prefetch(urls: Iterable[str], timeout: float = 20.0) -> dict[str, int]:
    """Warm the proxy's cache at delivery time, so opening the mail later reveals nothing.

    Only fetch what the engine already signed: trackers are never signed, so never prefetched.
    """
    return asyncio.run(aprefetch(list(urls), timeout))


# -- command line ---------------------------------------------------------------------------

def _default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("tracker-block")) / "proxy"


def _parse_listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, e.g. 127.0.0.1:8088")
    return host.strip("[]"), int(port)


def _build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tracker-block proxy",
                                description="Privacy image proxy for signed image URLs.")
    p.add_argument("--listen", type=_parse_listen, default=("127.0.0.1", 8088), metavar="HOST:PORT")
    p.add_argument("--key-file", type=Path, required=True,
                   help="keys, one 'KID HEXSECRET' per line; the first signs, all verify")
    p.add_argument("--new-key", action="store_true",
                   help="write a fresh key file (or put a new signing key first in an existing one) and exit")
    p.add_argument("--cache-dir", type=Path, default=None, help="default: the user cache directory")
    p.add_argument("--cache-size", type=float, default=256, metavar="MB", help="0 disables the cache")
    p.add_argument("--max-bytes", type=int, default=10 * 1024 * 1024)
    p.add_argument("--timeout", type=float, default=20.0, help="seconds for a whole fetch")
    p.add_argument("--connect-timeout", type=float, default=5.0)
    p.add_argument("--concurrency", type=int, default=64, help="simultaneous upstream fetches")
    p.add_argument("--upstream", default=None,
                   help="socks5://, socks5h:// (remote DNS, e.g. Tor), socks4:// or http:// proxy")
    p.add_argument("--log-file", type=Path, default=None)
    return p


def _write_new_key(path: Path) -> str:
    """Create the key file, or prepend a new signing key with a fresh id (rotation)."""
    if path.exists():
        ring = KeyRing.from_file(path)
        used = {kid for kid, _ in ring.keys}
        n = 1
        while f"k{n}" in used:
            n += 1
        kid = f"k{n}"
        text = new_key_line(kid) + path.read_text(encoding="utf-8")
    else:
        kid, text = "k1", new_key_line("k1")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return kid


def cli_main(argv: list[str]) -> int:
    """``tracker-block proxy ...``: run the proxy until interrupted (or write a key)."""
    args = _build_parser().parse_args(argv)
    if args.new_key:
        kid = _write_new_key(args.key_file)
        print(f"{args.key_file}: key {kid} now signs; older keys still verify")
        return 0
    try:
        keyring = KeyRing.from_file(args.key_file)
    except (OSError, ValueError) as exc:
        print(f"tracker-block proxy: cannot read key file: {exc}", file=sys.stderr)
        return 2
    handler: logging.Handler = (logging.FileHandler(args.log_file) if args.log_file
                                else logging.StreamHandler(sys.stderr))
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    if args.upstream:
        try:
            check_upstream(args.upstream)
        except ValueError as exc:
            print(f"tracker-block proxy: {exc}", file=sys.stderr)
            return 2
    config = ProxyConfig(
        keyring=keyring, key_file=args.key_file,
        cache_dir=args.cache_dir or _default_cache_dir(),
        cache_size=int(args.cache_size * 1024 * 1024), max_bytes=args.max_bytes,
        connect_timeout=args.connect_timeout, timeout=args.timeout,
        concurrency=args.concurrency, upstream=args.upstream)
    try:
        asyncio.run(_run_forever(config, *args.listen))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"tracker-block proxy: {exc}", file=sys.stderr)
        return 1
    return 0


async def _run_forever(config: ProxyConfig, host: str, port: int) -> None:
    runner, server, bound = await serve(config, host, port)
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    loop.add_signal_handler(signal.SIGHUP, server.reload_keys)
    shown = f"[{host}]" if ":" in host else host
    print(f"tracker-block proxy listening on http://{shown}:{bound}", flush=True)
    try:
        await done.wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(cli_main(sys.argv[1:]))

"""Safe images for the Thunderbird bridge: fetched once, kept on disk, shown from there.

The bridge fetches the images the engine left in a message (content, not trackers) when the
message *arrives*, so opening it later touches no network and the sender cannot learn when it was
read. This module is the two halves of that: :class:`ImageCache`, a size-capped directory of image
bytes keyed by URL hash, and :func:`fetch_all`, a bounded parallel fetcher that goes through the
netguard (public addresses only, checked at connect time, on every redirect) and optionally a
SOCKS/HTTP upstream (e.g. Tor).
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracker_block.integrations.proxy.netguard import Guard

IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGES_MAX_COUNT = 50                 # per message
FETCH_TIMEOUT = 15.0                  # per image, whole request
PARALLEL = 4                          # images fetched at once
MAX_REDIRECTS = 3
USER_AGENT = "Mozilla/5.0 (compatible)"
CACHE_MAX_BYTES = 256 * 1024 * 1024
CACHE_MAX_AGE = 90 * 24 * 3600        # seconds an unused image is kept
CACHE_ENV = "TRACKER_BLOCK_IMAGE_CACHE"

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


def sniff_image(data: bytes) -> str | None:
    """The image type from magic bytes (never trusting Content-Type); SVG is refused."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in (b"ftypavif", b"ftypavis"):
        return "image/avif"
    return None


def data_uri(data: bytes) -> str:
    mime = sniff_image(data)
    if mime is None:
        raise ValueError("not a supported image type")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def default_cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    import platformdirs

    return Path(platformdirs.user_cache_dir("tracker-block")) / "images"


class ImageCache:
    """Image bytes on disk, one file per URL (named by its SHA-256), least recently used evicted.

    Only images that passed :func:`sniff_image` are stored, so reading one back needs no checks.
    """

    def __init__(self, root: Path | None = None, max_bytes: int = CACHE_MAX_BYTES,
                 max_age: float = CACHE_MAX_AGE) -> None:
        self.root = root or default_cache_dir()
        self.max_bytes = max_bytes
        self.max_age = max_age

    def _path(self, url: str) -> Path:
        return self.root / hashlib.sha256(url.encode("utf-8")).hexdigest()

    def get(self, url: str) -> str | None:
        """The cached image as a data: URI, or None."""
        path = self._path(url)
        try:
            data = path.read_bytes()
            os.utime(path)          # recently used: evicted last
        except OSError:
            return None
        try:
            return data_uri(data)
        except ValueError:
            return None

    def put(self, url: str, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self._path(url)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def stats(self) -> dict[str, int | str]:
        files = list(self._files())
        return {"images": len(files), "bytes": sum(s.st_size for _, s in files), "path": str(self.root)}

    def clear(self) -> int:
        n = 0
        for path, _ in self._files():
            path.unlink(missing_ok=True)
            n += 1
        return n

    def prune(self) -> int:
        """Drop images unused for max_age, then the least recently used until under max_bytes."""
        files = sorted(self._files(), key=lambda f: f[1].st_mtime)
        now, total, removed = time.time(), sum(s.st_size for _, s in files), 0
        for path, st in files:
            if now - st.st_mtime <= self.max_age and total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= st.st_size
            removed += 1
        return removed

    def _files(self) -> Iterable[tuple[Path, os.stat_result]]:
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return
        for e in entries:
            if e.is_file() and not e.name.endswith(".tmp"):
                try:
                    yield Path(e.path), e.stat()
                except OSError:
                    continue


async def _fetch_one(session, url: str, limit: int) -> bytes:
    async with session.get(url, max_redirects=MAX_REDIRECTS, allow_redirects=True) as resp:
        if resp.status != 200:
            raise ValueError(f"the server answered HTTP {resp.status}")
        if resp.content_length is not None and resp.content_length > limit:
            raise ValueError("image too large")
        data = await resp.content.read(limit + 1)
        if len(data) > limit:
            raise ValueError("image too large")
        if sniff_image(data) is None:
            raise ValueError("not a supported image type")
        return data


def describe_error(exc: BaseException) -> str:
    """A fetch failure in words a reader can act on."""
    import aiohttp

    from tracker_block.integrations.proxy.netguard import BlockedAddress

    if isinstance(exc, asyncio.TimeoutError):
        return f"no answer within {FETCH_TIMEOUT:.0f} s"
    if isinstance(exc, BlockedAddress):
        return f"refused: {exc}"
    if isinstance(exc, aiohttp.TooManyRedirects):
        return "too many redirects"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ClientError):
        return f"network error: {exc}" if str(exc) else f"network error ({type(exc).__name__})"
    return str(exc)[:200] or type(exc).__name__


async def _fetch_all(urls: list[str], guard: Guard, upstream: str | None,
                     on_result: Callable[[str, bytes | None, str | None], None]) -> None:
    import aiohttp

    sem = asyncio.Semaphore(PARALLEL)
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT)
    async with aiohttp.ClientSession(
            connector=guard.aiohttp_connector(upstream), cookie_jar=aiohttp.DummyCookieJar(),
            timeout=timeout, headers={"User-Agent": USER_AGENT, "Accept": "image/*"},
            auto_decompress=True) as session:

        async def one(url: str) -> None:
            async with sem:
                try:
                    data = await _fetch_one(session, url, IMAGE_MAX_BYTES)
                except Exception as exc:  # noqa: BLE001 - per-image failures are reported
                    on_result(url, None, describe_error(exc))
                else:
                    on_result(url, data, None)

        await asyncio.gather(*(one(u) for u in urls))


def fetch_all(urls: list[str], *, guard: Guard | None = None, upstream: str | None = None,
              on_result: Callable[[str, bytes | None, str | None], None]) -> None:
    """Fetch ``urls`` at most PARALLEL at a time: no cookies, no Referer, a generic user agent.

    ``on_result(url, data, error)`` is called once per URL as each finishes (progress)."""
    from tracker_block.integrations.proxy.netguard import Guard

    if upstream:
        from tracker_block.integrations.proxy.netguard import check_upstream

        check_upstream(upstream)
    asyncio.run(_fetch_all(list(dict.fromkeys(urls)), guard or Guard(), upstream, on_result))

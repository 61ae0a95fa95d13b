"""``tracker-block rules update``: the only code that fetches filter lists, and only when the user runs it.

Why a separate step: cleaning mail never touches the network. The shipped snapshot works offline;
a user who wants newer lists runs ``rules update``, which fetches each list from its upstream URL
(``If-Modified-Since``, a size limit), checks it parses as an Adblock Plus list with filters in it,
and swaps it in atomically. A bad download never replaces a good copy: the previous copy stays,
and the old one is kept as ``.bak`` so a bad but well-formed update can be rolled back.
"""
from __future__ import annotations

import email.utils
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tracker_block.engine.filterlist import FilterSyntaxError, parse

MAX_BYTES = 8 * 1024 * 1024        # EasyPrivacy's largest file is ~1 MB
TIMEOUT = 30
APP = "tracker-block"


def cache_dir() -> Path:
    """Where updated and downloaded lists live (``$XDG_CACHE_HOME/tracker-block/filter-lists``)."""
    from platformdirs import user_cache_path
    return user_cache_path(APP, appauthor=False) / "filter-lists"


def cache_name(url: str) -> str:
    """A stable file name for a user list URL: readable stem plus a short hash."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", url.rstrip("/").rsplit("/", 1)[-1])[:60] or "list"
    return f"{hashlib.sha256(url.encode()).hexdigest()[:12]}-{stem}"


def updated_copy(name: str) -> Path | None:
    """The copy of bundled list ``name`` that ``rules update`` fetched, if the user ever ran it."""
    p = cache_dir() / name
    return p if p.is_file() else None


@dataclass
class Outcome:
    name: str
    status: str          # "updated", "not modified", "kept (reason)", "rolled back"
    filters: int = 0


def _check(text: str, name: str) -> int:
    """Number of filters in a downloaded list; raises ValueError when it is not a usable list."""
    res = parse(text, name)      # FilterSyntaxError (a ValueError) for HTML pages, JSON, binaries
    if not res.loaded:
        raise ValueError("no filters in it")
    return len(res.loaded)


def _write_atomic(dest: Path, data: bytes, mtime: float | None) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mtime is not None:
            os.utime(tmp, (mtime, mtime))
        if dest.exists():
            os.replace(dest, dest.with_name(dest.name + ".bak"))
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fetch(url: str, dest: Path, max_bytes: int = MAX_BYTES, timeout: float = TIMEOUT) -> Outcome:
    """Fetch one list into ``dest`` unless the copy there is current; never leaves a bad file."""
    import urllib.error     # here, not at the top: every start-up reads this module, few fetch
    import urllib.request
    req = urllib.request.Request(url, headers={"User-Agent": f"{APP} rules update"})
    if dest.is_file():
        req.add_header("If-Modified-Since", email.utils.formatdate(dest.stat().st_mtime, usegmt=True))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - user-run, http(s) only
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                return Outcome(dest.name, f"kept: {int(length)} bytes is over the {max_bytes}-byte limit")
            data = resp.read(max_bytes + 1)
            modified = resp.headers.get("Last-Modified")
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Outcome(dest.name, "not modified")
        return Outcome(dest.name, f"kept: HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return Outcome(dest.name, f"kept: cannot fetch ({reason})")
    if len(data) > max_bytes:
        return Outcome(dest.name, f"kept: over the {max_bytes}-byte limit")
    try:
        text = data.decode("utf-8")
        n = _check(text, dest.name)
    except (UnicodeDecodeError, FilterSyntaxError, ValueError) as exc:
        msg = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
        return Outcome(dest.name, f"kept: the download is not a filter list ({msg})")
    mtime = None
    if modified:
        try:
            mtime = email.utils.parsedate_to_datetime(modified).timestamp()
        except (TypeError, ValueError):
            mtime = None
    _write_atomic(dest, data, mtime)
    return Outcome(dest.name, "updated", n)


def rollback(dest: Path) -> bool:
    """Put back the copy an update replaced; False when there is none."""
    bak = dest.with_name(dest.name + ".bak")
    if not bak.is_file():
        return False
    os.replace(bak, dest)
    return True


def targets(user_lists: tuple[str, ...]) -> list[tuple[str, str, Path]]:
    """(name, URL, local copy) for every list that has an upstream URL: bundled lists, then
    the user's ``filter_lists`` that are URLs."""
    from tracker_block.engine.rules import bundled_lists
    out = [(e["file"], e["update_url"], cache_dir() / e["file"]) for e in bundled_lists() if e.get("update_url")]
    for item in user_lists:
        if is_url(item):
            out.append((item, item, cache_dir() / cache_name(item)))
    return out


def is_url(item: str) -> bool:
    return item.startswith(("http://", "https://"))


__all__ = ["MAX_BYTES", "Outcome", "cache_dir", "cache_name", "fetch", "is_url", "rollback", "targets",
           "updated_copy"]

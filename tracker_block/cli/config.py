"""The user's config file: defaults a person sets once instead of repeating flags.

Location: ``platformdirs.user_config_path("tracker-block") / "config.toml"`` (e.g.
``~/.config/tracker-block/config.toml`` on Linux), or ``--config FILE``. Example::

    mode = "trackers"                 # trackers | all | proxy
    keep_read_receipts = false
    clean_links = true
    recipients = ["me@example.org"]   # extra addresses to look for in URLs
    allow_senders = ["friend@example.org"]   # never cleaned
    allow_domains = ["my-bank.example"]      # never cleaned (any sender @ this domain)
    extra_rules = ["~/my-trackers.toml"]     # relative paths are relative to this file
    filter_lists = ["~/my-filters.txt", "https://example.org/list.txt"]   # Adblock Plus lists;
                                      # URLs are fetched only by `tracker-block rules update`
    proxy_url = "https://img.example.net/p"  # for mode = "proxy"
    proxy_key = "~/.config/tracker-block/proxy.keys"

Command-line flags override the file. Every key is documented for users in docs/config.md.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

APP = "tracker-block"
_KEYS = {
    "mode": str, "keep_read_receipts": bool, "clean_links": bool, "recipients": list,
    "allow_senders": list, "allow_domains": list, "extra_rules": list, "proxy_url": str,
    "proxy_key": str, "proxy_ttl": int, "filter_lists": list,
}


class ConfigError(ValueError):
    """The config file is unreadable or has a wrong key or value (a usage error)."""


@dataclass
class Config:
    """What the file said, paths already expanded; every field optional."""

    path: Path | None = None
    mode: str | None = None
    keep_read_receipts: bool | None = None
    clean_links: bool | None = None
    recipients: tuple[str, ...] = ()
    allow_senders: tuple[str, ...] = ()
    allow_domains: tuple[str, ...] = ()
    extra_rules: tuple[str, ...] = ()
    filter_lists: tuple[str, ...] = ()    # as written: paths (expanded) and URLs
    proxy_url: str | None = None
    proxy_key: str | None = None
    proxy_ttl: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def default_path() -> Path:
    """Where the config lives when ``--config`` is not given."""
    from platformdirs import user_config_path
    return user_config_path(APP, appauthor=False) / "config.toml"


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Read the config; a missing default file is an empty config, a missing ``--config`` is an error."""
    explicit = path is not None
    p = Path(path).expanduser() if explicit else default_path()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{p}: config file not found") from None
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read config ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML ({exc})") from None
    return parse(data, p)


def parse(data: dict[str, Any], path: Path | None = None) -> Config:
    where = f"{path}: " if path else ""
    cfg = Config(path=path)
    for key, value in data.items():
        want = _KEYS.get(key)
        if want is None:
            raise ConfigError(f"{where}unknown key {key!r} (known: {', '.join(sorted(_KEYS))})")
        if not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise ConfigError(f"{where}{key} must be a {want.__name__}")
        if want is list:
            if not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}{key} must be a list of strings")
            value = tuple(value)
        setattr(cfg, key, value)
    base = path.parent if path else Path.cwd()
    cfg.extra_rules = tuple(str((base / Path(r).expanduser()).resolve()) for r in cfg.extra_rules)
    from tracker_block.cli.listupdate import is_url
    cfg.filter_lists = tuple(f if is_url(f) else str((base / Path(f).expanduser()).resolve()) for f in cfg.filter_lists)
    if cfg.proxy_key:
        cfg.proxy_key = str((base / Path(cfg.proxy_key).expanduser()).resolve())
    from tracker_block.engine.policy import MODES
    if cfg.mode is not None and cfg.mode not in MODES:
        raise ConfigError(f"{where}mode must be one of {', '.join(MODES)}, not {cfg.mode!r}")
    return cfg


def build_options(cfg: Config, *, mode: str | None = None, proxy_url: str | None = None,
                  proxy_key: str | None = None, keep_read_receipts: bool | None = None,
                  clean_links: bool | None = None, recipients: tuple[str, ...] = ()):
    """Merge config and command-line flags (flags win; lists add up) into ``policy.Options``."""
    from tracker_block.engine.policy import Options
    mode = mode or cfg.mode or "trackers"
    keyring = None
    key_path = proxy_key or cfg.proxy_key
    base = proxy_url or cfg.proxy_url
    if mode == "proxy":
        if not base or not key_path:
            raise ConfigError("--remote proxy needs --proxy-url and --proxy-key (or proxy_url/proxy_key in the config)")
        from tracker_block.engine.signing import KeyRing
        try:
            keyring = KeyRing.from_file(key_path)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{key_path}: cannot use proxy key file ({exc})") from None
    allow = tuple(cfg.allow_senders) + tuple(d if d.startswith("@") else "@" + d for d in cfg.allow_domains)
    opts = Options(
        mode=mode,
        proxy_base=base if mode == "proxy" else None,
        keyring=keyring,
        proxy_ttl=cfg.proxy_ttl,
        keep_read_receipts=bool(keep_read_receipts if keep_read_receipts is not None else cfg.keep_read_receipts),
        clean_links=clean_links if clean_links is not None else (cfg.clean_links if cfg.clean_links is not None else True),
        recipients=tuple(dict.fromkeys(tuple(cfg.recipients) + tuple(recipients))),
        allow_senders=allow,
        extra_rules=cfg.extra_rules + filter_list_paths(cfg),
    )
    return opts


def filter_list_paths(cfg: Config) -> tuple[str, ...]:
    """The local files of the config's filter lists (a URL's copy lives in the cache)."""
    from tracker_block.cli.listupdate import cache_dir, cache_name, is_url
    return tuple(str(cache_dir() / cache_name(f)) if is_url(f) else f for f in cfg.filter_lists)


__all__ = ["Config", "filter_list_paths", "ConfigError", "default_path", "load", "parse", "build_options"]

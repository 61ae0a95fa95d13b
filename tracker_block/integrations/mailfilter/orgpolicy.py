"""Organisation policy for delivery-time cleaning: who gets which mode, who opts out.

A mail server cleans mail for many people at once, so the choices a single user makes with flags
(``--remote``, allowlists) become a per-recipient and per-sender policy, read once from TOML::

    mode = "trackers"              # default for every recipient: trackers | all | proxy
    summary_header = true          # add "X-Tracker-Block: 2 trackers removed (Mailchimp)"
    keep_read_receipts = false
    clean_links = true
    max_size_mb = 50               # larger messages pass through untouched (flagged)
    allow_senders = ["billing@bank.example", "@partner.example"]   # From: never cleaned

    [domains]                      # mode per recipient domain
    "example.org" = "all"
    "kids.example.org" = "proxy"

    [opt_out]                      # mail passes through untouched
    recipients = ["ceo@example.org", "@legal.example.org"]   # envelope recipients
    senders = ["@lists.example.org"]                          # envelope sender (MAIL FROM)

    [proxy]                        # needed when any mode is "proxy"
    url = "https://img.example.org/p"
    key_file = "/etc/tracker-block/proxy.keys"   # relative paths: relative to this file
    ttl = 0                        # seconds a signed URL stays valid; 0 = forever
    prefetch = true                # fetch proxied images at delivery, so opening reveals nothing
    prefetch_timeout = 10

An address entry is ``user@domain``; a domain entry is ``@domain`` or ``domain`` (exact domain).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker_block.engine.policy import MODES, Options

# Stricter modes win when one message goes to recipients with different modes.
_STRICTNESS = {"trackers": 0, "proxy": 1, "all": 2}


class PolicyError(ValueError):
    """The organisation config is unreadable or has a wrong key or value."""


def _addr(a: str) -> str:
    return a.strip().strip("<>").lower()


def _domain(a: str) -> str:
    return _addr(a).rpartition("@")[2]


def _matches(address: str, entries: frozenset[str]) -> bool:
    """Exact address, or its domain written as ``@domain`` or ``domain``."""
    if not address or not entries:
        return False
    a = _addr(address)
    d = _domain(a)
    return a in entries or ("@" + d) in entries or d in entries


@dataclass(frozen=True)
class OrgPolicy:
    """Parsed organisation policy; ``options_for`` turns it into per-message ``Options``."""

    mode: str = "trackers"
    domain_modes: dict[str, str] = field(default_factory=dict)
    opt_out_recipients: frozenset[str] = frozenset()
    opt_out_senders: frozenset[str] = frozenset()
    allow_senders: tuple[str, ...] = ()
    summary_header: bool = True
    keep_read_receipts: bool = False
    clean_links: bool = True
    max_size: int = 50 * 1024 * 1024
    proxy_url: str | None = None
    proxy_key_file: str | None = None
    proxy_ttl: int | None = None
    prefetch: bool = False
    prefetch_timeout: float = 10.0
    extra_rules: tuple[str, ...] = ()
    path: str | None = None

    def mode_for(self, recipient: str) -> str | None:
        """The recipient's mode, or None when the recipient opted out."""
        if _matches(recipient, self.opt_out_recipients):
            return None
        return self.domain_modes.get(_domain(recipient), self.mode)

    def options_for(self, recipients: list[str] | tuple[str, ...], sender: str) -> Options | None:
        """Options for one delivery, or None when it must pass through untouched (opt-out).

        One cleaned copy serves every recipient of a transaction, so the strictest mode among
        recipients who did not opt out applies; an opted-out recipient shares the cleaned copy
        unless everyone opted out. Give per-recipient policies exact effect with
        ``smtp-filter_destination_recipient_limit = 1`` in Postfix (see docs/mail-server.md).
        """
        if _matches(sender, self.opt_out_senders):
            return None
        modes = [self.mode_for(r) for r in recipients] if recipients else [self.mode]
        active = [m for m in modes if m is not None]
        if not active:
            return None
        mode = max(active, key=_STRICTNESS.__getitem__)
        return self._options(mode, tuple(recipients))

    def _options(self, mode: str, recipients: tuple[str, ...]) -> Options:
        keyring = _keyring(self.proxy_key_file) if mode == "proxy" else None
        return Options(
            mode=mode,
            proxy_base=self.proxy_url if mode == "proxy" else None,
            keyring=keyring,
            proxy_ttl=self.proxy_ttl,
            keep_read_receipts=self.keep_read_receipts,
            clean_links=self.clean_links,
            recipients=tuple(_addr(r) for r in recipients),
            allow_senders=self.allow_senders,
            extra_rules=self.extra_rules,
        )


_KEYRINGS: dict[str, Any] = {}


def _keyring(path: str | None):
    """Key rings are read once per process (the filter handles thousands of messages)."""
    from tracker_block.engine.signing import KeyRing
    if not path:
        raise PolicyError("mode 'proxy' needs [proxy] url and key_file")
    if path not in _KEYRINGS:
        _KEYRINGS[path] = KeyRing.from_file(path)
    return _KEYRINGS[path]


_TOP = {"mode": str, "summary_header": bool, "keep_read_receipts": bool, "clean_links": bool,
        "max_size_mb": (int, float), "allow_senders": list, "extra_rules": list,
        "domains": dict, "opt_out": dict, "proxy": dict}
_OPT_OUT = {"recipients": list, "senders": list}
_PROXY = {"url": str, "key_file": str, "ttl": int, "prefetch": bool, "prefetch_timeout": (int, float)}


def _check(table: dict[str, Any], schema: dict[str, Any], where: str) -> None:
    for key, value in table.items():
        want = schema.get(key)
        if want is None:
            raise PolicyError(f"{where}unknown key {key!r} (known: {', '.join(sorted(schema))})")
        if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
            raise PolicyError(f"{where}{key!r} has the wrong type")
        if want is list and not all(isinstance(v, str) for v in value):
            raise PolicyError(f"{where}{key!r} must be a list of strings")


def _mode(value: Any, where: str) -> str:
    if value not in MODES:
        raise PolicyError(f"{where}mode must be one of {', '.join(MODES)}, not {value!r}")
    return value


def parse(data: dict[str, Any], path: Path | None = None) -> OrgPolicy:
    """Validate a TOML document; every mistake is reported with the file name."""
    where = f"{path}: " if path else ""
    _check(data, _TOP, where)
    opt_out = data.get("opt_out", {})
    proxy = data.get("proxy", {})
    _check(opt_out, _OPT_OUT, where + "[opt_out] ")
    _check(proxy, _PROXY, where + "[proxy] ")
    domains = {}
    for dom, m in data.get("domains", {}).items():
        domains[dom.strip().lstrip("@").lower()] = _mode(m, f"{where}[domains] {dom}: ")
    mode = _mode(data.get("mode", "trackers"), where)
    base = path.parent if path else Path.cwd()
    key_file = proxy.get("key_file")
    if key_file:
        key_file = str((base / Path(key_file).expanduser()).resolve())
    uses_proxy = mode == "proxy" or "proxy" in domains.values()
    if uses_proxy and not (proxy.get("url") and key_file):
        raise PolicyError(f"{where}mode 'proxy' needs [proxy] url and key_file")
    if uses_proxy:
        try:
            _keyring(key_file)
        except (OSError, ValueError) as exc:
            raise PolicyError(f"{where}cannot use proxy key file {key_file} ({exc})") from None
    ttl = proxy.get("ttl") or None
    allow = tuple(a if "@" in a else "@" + a for a in data.get("allow_senders", ()))
    return OrgPolicy(
        mode=mode,
        domain_modes=domains,
        opt_out_recipients=frozenset(_addr(a) for a in opt_out.get("recipients", ())),
        opt_out_senders=frozenset(_addr(a) for a in opt_out.get("senders", ())),
        allow_senders=allow,
        summary_header=data.get("summary_header", True),
        keep_read_receipts=data.get("keep_read_receipts", False),
        clean_links=data.get("clean_links", True),
        max_size=int(float(data.get("max_size_mb", 50)) * 1024 * 1024),
        proxy_url=proxy.get("url"),
        proxy_key_file=key_file,
        proxy_ttl=ttl,
        prefetch=bool(proxy.get("prefetch", False)) and uses_proxy,
        prefetch_timeout=float(proxy.get("prefetch_timeout", 10.0)),
        extra_rules=tuple(str((base / Path(r).expanduser()).resolve()) for r in data.get("extra_rules", ())),
        path=str(path) if path else None,
    )


def load(path: str | os.PathLike[str] | None) -> OrgPolicy:
    """Read the organisation policy; no path means the defaults (clean trackers for everyone)."""
    if path is None:
        return OrgPolicy()
    import tomllib                 # only with a config file: ``pipe`` starts once per message
    p = Path(path).expanduser()
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"{p}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{p}: cannot read config ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{p}: invalid TOML ({exc})") from None
    return parse(data, p)


__all__ = ["OrgPolicy", "PolicyError", "load", "parse"]

"""What to do with each verdict, per mode: the only place modes are interpreted."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tracker_block.engine.signing import KeyRing

MODES = ("trackers", "all", "proxy")


@dataclass(frozen=True)
class Options:
    """How to clean. The defaults are the safe everyday choice."""

    mode: str = "trackers"                 # trackers | all | proxy
    proxy_base: str | None = None          # e.g. "https://img.example.net/p" (mode=proxy)
    keyring: "KeyRing | None" = None       # signs proxied URLs (mode=proxy)
    proxy_ttl: int | None = None           # seconds until a proxied URL expires; None = never
    keep_read_receipts: bool = False       # keep Disposition-Notification-To & co in the cleaned copy
    clean_links: bool = True               # strip tracking parameters / unwrap redirects in links
    recipients: tuple[str, ...] = ()       # extra recipient addresses to look for in URLs
    allow_senders: tuple[str, ...] = field(default=())  # sender addresses or @domains never cleaned
    extra_rules: tuple[str, ...] = ()      # paths of extra rule TOML files (user config)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; expected one of {', '.join(MODES)}")
        if self.mode == "proxy" and not (self.proxy_base and self.keyring):
            raise ValueError("mode 'proxy' needs a proxy base URL and a key ring")


# Which loads may happen at all (only an image the reader sees; every other remote load goes in
# every mode) and what each mode does with them is decided in the Rust core:
# core/src/engine/policy.rs (``load_action``, ``is_visible_image``, ``css_is_visible_image``).


def sender_allowed(sender: str | None, options: Options) -> bool:
    """Allowlisted senders (full address or @domain) are passed through untouched."""
    if not sender or not options.allow_senders:
        return False
    sender = sender.strip().lower()
    domain = "@" + sender.rsplit("@", 1)[-1]
    allowed = {a.strip().lower() for a in options.allow_senders}
    return sender in allowed or domain in allowed or domain[1:] in allowed

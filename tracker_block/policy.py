"""What to do with each verdict, per mode: the only place modes are interpreted."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .signing import KeyRing

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


# What a proxy may carry: images only (the proxy refuses everything else).
PROXYABLE_KINDS = frozenset({"image", "pixel", "css"})
# Loads that cannot be inspected without fetching them: they could load anything, so they never load.
UNINSPECTABLE_KINDS = frozenset({"stylesheet"})


# ---------------------------------------------------------------- what may load at all
# Only an image a reader sees may load (when judged content; proxied in mode proxy). Every other remote
# load -- audio and video media, fonts, cursors, ``content:``, ``border-image``, masks, shapes, filters,
# SVG references (``<image>``/``<use>``/``<feImage>`` href, ``fill="url()"``), IE behaviors -- tells the
# sender the message was opened and shows the reader nothing they need: it goes in every mode, like a
# script. This table is the one place that says which load is which.
#
# Element attributes that load a visible image: ``<img>`` (``src``, ``srcset``, ``lowsrc``), a
# ``<picture>``'s ``<source srcset>``, ``<input type=image>``, ``background=`` on any element, a video's
# ``poster`` (a still image shown in the video's place: it is judged like an ``<img>``, while the
# video's own ``src``/``<source>`` go), and VML image fills in Outlook markup.
VISIBLE_IMAGE_ATTRS = frozenset({("img", "src"), ("img", "srcset"), ("img", "lowsrc"), ("source", "srcset"),
                                 ("input", "src"), ("video", "poster")})
# CSS properties whose URLs are images painted on the element: backgrounds and list markers. A URL in a
# custom property (``--x: url()``) is not known to be one (``var()`` can put it in ``cursor``), nor is one
# in a selector (never fetched; judged as before so nothing changes there).
VISIBLE_IMAGE_CSS = frozenset({"background", "background-image", "list-style", "list-style-image", "selector"})
# Tags inside Outlook conditional comments whose URLs are not images (the rest is VML, <img>, tables).
COMMENT_NON_IMAGE_TAGS = frozenset({"video", "audio", "source", "track", "image", "feimage", "use", "script",
                                    "iframe", "frame", "object", "embed", "applet", "bgsound"})
NOT_A_VISIBLE_IMAGE = "policy:not-a-visible-image"


def is_visible_image(tag: str, attr: str) -> bool:
    """Does this element attribute load an image the reader sees?"""
    return attr == "background" or (tag, attr) in VISIBLE_IMAGE_ATTRS or (tag[:2] == "v:" and attr == "src")


def css_is_visible_image(prop: str) -> bool:
    """Does a URL in this CSS property (lowercased name) load an image painted on the element?"""
    return prop in VISIBLE_IMAGE_CSS


def load_action(kind: str, tracker: bool, options: Options, *, placeholder_ok: bool = False,
                image: bool = True) -> tuple[str, str | None]:
    """(action, policy reason) for a remote load. Actions: keep, remove, placeholder, proxy.

    ``image``: the load is a visible image (see ``is_visible_image``); any other load goes in every mode.
    The policy reason is None when the verdict itself (a tracker) is the reason.
    """
    if tracker:
        return "remove", None
    if kind in UNINSPECTABLE_KINDS:
        return "remove", "policy:remote-stylesheet"
    if not image:
        return "remove", NOT_A_VISIBLE_IMAGE
    if options.mode == "trackers":
        return "keep", None
    if options.mode == "proxy" and kind in PROXYABLE_KINDS:
        return "proxy", "policy:proxy"
    if options.mode == "proxy":
        return "remove", "policy:proxy-images-only"
    return ("placeholder" if placeholder_ok else "remove"), "policy:remote-all"


def sender_allowed(sender: str | None, options: Options) -> bool:
    """Allowlisted senders (full address or @domain) are passed through untouched."""
    if not sender or not options.allow_senders:
        return False
    sender = sender.strip().lower()
    domain = "@" + sender.rsplit("@", 1)[-1]
    allowed = {a.strip().lower() for a in options.allow_senders}
    return sender in allowed or domain in allowed or domain[1:] in allowed

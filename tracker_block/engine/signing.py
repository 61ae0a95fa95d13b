"""Signed privacy-proxy URLs, shared by the engine (signs) and the proxy server (verifies).

URL format, defined once here::

    BASE/<kid>/<expiry>/<sig>/<b64url(url)>

* ``kid``     key id (``[A-Za-z0-9_-]{1,32}``) naming which key signed;
* ``expiry``  unix seconds after which the URL is refused, or ``0`` for never;
* ``sig``     base64url (no padding) HMAC-SHA256 over ``kid \\n expiry \\n url``;
* last part   the target URL (already canonical, see ``urls.canonical``) base64url, no padding.

A key file holds one key per line, ``KID HEXSECRET`` (at least 32 bytes); blank lines and ``#``
comments are ignored. The first key signs; every key listed verifies, which is how keys rotate.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

_KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class SignatureError(ValueError):
    """A proxy path that is malformed, unsigned, signed by an unknown key, or expired."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise SignatureError("bad base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class KeyRing:
    """Ordered keys: ``keys[0]`` signs, all verify."""

    keys: tuple[tuple[str, bytes], ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("a key ring needs at least one key")
        for kid, secret in self.keys:
            if not _KID.match(kid):
                raise ValueError(f"bad key id {kid!r}")
            if len(secret) < 32:
                raise ValueError(f"key {kid!r} is shorter than 32 bytes")

    @classmethod
    def from_text(cls, text: str) -> "KeyRing":
        keys = []
        for lineno, line in enumerate(text.splitlines(), 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                kid, hexsecret = line.split()
                keys.append((kid, bytes.fromhex(hexsecret)))
            except ValueError:
                raise ValueError(f"key file line {lineno}: expected 'KID HEXSECRET'") from None
        return cls(tuple(keys))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> "KeyRing":
        return cls.from_text(Path(path).read_text(encoding="utf-8"))

    def sign(self, url: str, base: str, ttl: int | None = None, now: float | None = None) -> str:
        kid, secret = self.keys[0]
        expiry = 0 if ttl is None else int((time.time() if now is None else now) + ttl)
        sig = _mac(secret, kid, expiry, url)
        return f"{base.rstrip('/')}/{kid}/{expiry}/{sig}/{b64url(url.encode('utf-8'))}"

    def target_of(self, url: str, base: str, now: float | None = None) -> str | None:
        """The URL a proxied ``url`` (as ``sign(…, base)`` made it) stands for; None when it is not
        one of ours: another base, an unknown key, a bad signature, expired."""
        prefix = base.rstrip("/") + "/"
        if not url.startswith(prefix):
            return None
        try:
            return self.verify(url[len(prefix) - 1:], now)
        except ValueError:   # SignatureError
            return None

    def verify(self, path: str, now: float | None = None) -> str:
        """Return the target URL of a proxy path (``/kid/expiry/sig/b64``), or raise SignatureError."""
        parts = path.lstrip("/").split("/")
        if len(parts) != 4:
            raise SignatureError("malformed proxy path")
        kid, expiry_s, sig, encoded = parts
        if not re.fullmatch(r"[0-9]{1,12}", expiry_s):  # str.isdigit() also admits "²"
            raise SignatureError("malformed expiry")
        secret = dict(self.keys).get(kid)
        if secret is None:
            raise SignatureError("unknown key id")
        try:
            url = unb64url(encoded).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise SignatureError("malformed URL") from None
        expected = _mac(secret, kid, int(expiry_s), url)
        if not hmac.compare_digest(expected.encode(), sig.encode()):
            raise SignatureError("bad signature")
        expiry = int(expiry_s)
        if expiry and (time.time() if now is None else now) > expiry:
            raise SignatureError("expired")
        return url


def _mac(secret: bytes, kid: str, expiry: int, url: str) -> str:
    msg = f"{kid}\n{expiry}\n{url}".encode("utf-8")
    return b64url(hmac.new(secret, msg, hashlib.sha256).digest())


def new_key_line(kid: str = "k1") -> str:
    """A fresh key-file line, for ``tracker-block proxy --new-key``."""
    return f"{kid} {secrets.token_hex(32)}\n"

"""Which ``data:`` URLs may stay where something loads: those that can neither run script nor load more.

A ``data:`` URL fetches nothing from the network, but it is a document of its own: an SVG or XML one
can carry script, ``javascript:`` links and further references (``<use href="data:image/svg+xml,…">``,
``<foreignObject xlink:href="data:text/xml,…<script>">``). Binary image, font and media types are kept;
an SVG document is decoded and kept only when it holds nothing that runs or refers elsewhere; every
other type (HTML, XML, script, CSS, unknown or malformed ones) goes.
"""
from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote_to_bytes

# Types that cannot run script or refer to anything (their decoders read pixels, glyphs or samples).
_INERT_TYPE = re.compile(
    r"(?:image/(?:png|x-png|apng|gif|jpe?g|pjpeg|webp|bmp|x-ms-bmp|x-icon|vnd\.microsoft\.icon|avif|tiff)"
    r"|font/[a-z0-9.+-]+|application/(?:x-)?font-[a-z0-9.+-]+|application/vnd\.ms-fontobject"
    r"|audio/[a-z0-9.+-]+|video/[a-z0-9.+-]+|text/plain)")
# Anything in an SVG document that runs, or reaches outside it (a reference not to "#id" inside it).
_SVG_RISK = re.compile(
    rb"<\s*script|<\s*foreignobject|<\s*(?:iframe|embed|object|handler|listener)\b|<!entity|xml-stylesheet"
    rb"|\bon[a-z]+\s*=|(?:java|vb|live)script\s*:|@import|expression\s*\("
    rb"|(?:href|src)\s*=\s*[\"']?\s*(?!#)[^\s\"'>]|url\s*\(\s*[\"']?\s*(?!#)[^\s\"')]",
    re.IGNORECASE)
SCRIPTABLE_DATA = "policy:scriptable-data-url"


def unsafe_reason(url: str) -> str | None:
    """None when the (normalised) ``data:`` URL is inert; otherwise the policy reason it goes."""
    head, comma, body = url[5:].partition(",")
    if not comma:
        return None   # not a data: URL a browser would load: nothing at all
    params = head.lower().split(";")
    mediatype = params[0].strip() or "text/plain"
    if _INERT_TYPE.fullmatch(mediatype):
        return None
    if mediatype != "image/svg+xml":
        return SCRIPTABLE_DATA
    data = unquote_to_bytes(body)
    if "base64" in (p.strip() for p in params[1:]):
        try:
            data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
            data = base64.b64decode(data + b"=" * (-len(data) % 4))
        except (binascii.Error, ValueError):
            return SCRIPTABLE_DATA
    return SCRIPTABLE_DATA if _SVG_RISK.search(data) else None
